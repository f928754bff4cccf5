-- Consent events written in the same transaction as the change that made
-- them, waiting to be shipped to the audit log (ClickHouse).

-- +goose Up
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

-- The relay reads only what waits.
CREATE INDEX consent_outbox_unshipped_idx ON consent_outbox (seq) WHERE shipped_at IS NULL;

-- +goose Down
DROP TABLE consent_outbox;
