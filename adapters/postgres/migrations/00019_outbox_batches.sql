-- The outbox holds a change's consent events as one row, not a row each.
-- A spreadsheet batch of 2,000 new customers made about 1,700 events: as
-- rows with three indexes (the sequence, the unique event id, the unshipped
-- ones) they cost PostgreSQL about 0.3 s per 100,000 customers imported,
-- a tenth of its work; as one row per batch, 15 ms (INSERT ... SELECT of
-- the same 83,586 events, both ways). The audit log (ClickHouse) keeps
-- every event once whatever the relay sends twice, so the event id's
-- uniqueness in PostgreSQL guarded nothing the events' ids do not.
--
-- events is a JSON array of the events in the order they were made, each
-- an object whose keys are the columns of the view consent_outbox below;
-- bytea, not json: PostgreSQL need not parse it on the way in, only the
-- view does. lz4 compresses it (the ids and evidence of an import repeat)
-- at a fraction of pglz's cost. The relay ships a row's events in order,
-- possibly over several calls: shipped counts those shipped, oldest is the
-- earliest occurrence of those that are not.

-- +goose Up
CREATE TABLE consent_outbox_batches (
    seq        bigserial   PRIMARY KEY,
    events     bytea       COMPRESSION lz4 NOT NULL,
    count      integer     NOT NULL CHECK (count > 0),
    shipped    integer     NOT NULL DEFAULT 0 CHECK (shipped >= 0 AND shipped <= count),
    oldest     timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    shipped_at timestamptz -- when events of it were last shipped
);

-- The relay reads only what waits.
CREATE INDEX consent_outbox_batches_unshipped_idx ON consent_outbox_batches (seq) WHERE shipped < count;

-- The events still waiting, each a row of its own, in their order; the
-- shipped ones are in the audit log and go.
INSERT INTO consent_outbox_batches (events, count, oldest, created_at)
SELECT convert_to(json_build_array(json_build_object(
        'event_id', event_id, 'occurred_at', occurred_at, 'customer_id', customer_id,
        'customer_number', customer_number, 'consent', consent, 'old_value', old_value,
        'new_value', new_value, 'source', source, 'source_system_id', source_system_id,
        'actor', actor, 'request_id', request_id, 'import_id', import_id, 'evidence', evidence))::text, 'UTF8'),
    1, occurred_at, created_at
FROM consent_outbox WHERE shipped_at IS NULL ORDER BY seq;

DROP TABLE consent_outbox;

-- The events one by one, as the outbox held them before, for people and
-- tests reading it: seq orders them (the row's, then the event's place).
-- shipped_at is the last shipping of the row for the events shipped.
CREATE VIEW consent_outbox AS
SELECT b.seq * 1000000 + e.ord AS seq, e.event_id, e.occurred_at, e.customer_id, e.customer_number,
    e.consent, e.old_value, e.new_value, e.source, e.source_system_id, e.actor, e.request_id,
    e.import_id, e.evidence, b.created_at,
    CASE WHEN e.ord <= b.shipped THEN b.shipped_at END AS shipped_at
FROM consent_outbox_batches b,
    ROWS FROM (json_to_recordset(convert_from(b.events, 'UTF8')::json) AS (
        event_id uuid, occurred_at timestamptz, customer_id uuid, customer_number bigint,
        consent text, old_value boolean, new_value boolean, source text, source_system_id integer,
        actor text, request_id text, import_id text, evidence text)) WITH ORDINALITY AS e(
        event_id, occurred_at, customer_id, customer_number, consent, old_value, new_value,
        source, source_system_id, actor, request_id, import_id, evidence, ord);

-- +goose Down
-- The view already expands the rows: it fills the table that takes its
-- name, with the events still waiting.
ALTER VIEW consent_outbox RENAME TO consent_outbox_events;
CREATE TABLE consent_outbox (
    seq              bigserial   NOT NULL,
    event_id         uuid        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    customer_id      uuid        NOT NULL,
    customer_number  bigint      NOT NULL,
    consent          text        NOT NULL,
    old_value        boolean     NOT NULL,
    new_value        boolean     NOT NULL,
    source           text        NOT NULL,
    source_system_id integer     NOT NULL DEFAULT 0,
    actor            text        NOT NULL DEFAULT '',
    request_id       text        NOT NULL DEFAULT '',
    import_id        text        NOT NULL DEFAULT '',
    evidence         text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    shipped_at       timestamptz,
    CONSTRAINT consent_outbox_pkey PRIMARY KEY (seq),
    CONSTRAINT consent_outbox_event_id_key UNIQUE (event_id)
);
CREATE INDEX consent_outbox_unshipped_idx ON consent_outbox (seq) WHERE shipped_at IS NULL;
INSERT INTO consent_outbox (event_id, occurred_at, customer_id, customer_number, consent, old_value,
    new_value, source, source_system_id, actor, request_id, import_id, evidence, created_at)
SELECT event_id, occurred_at, customer_id, customer_number, consent, old_value,
    new_value, source, source_system_id, actor, request_id, import_id, evidence, created_at
FROM consent_outbox_events
WHERE shipped_at IS NULL
ORDER BY seq;
DROP VIEW consent_outbox_events;
DROP TABLE consent_outbox_batches;
