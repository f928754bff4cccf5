-- +goose NO TRANSACTION
-- +goose Up

-- The consent audit log, append-only. Written at least once by the relay from
-- the PostgreSQL outbox, so a retried batch can land twice: ReplacingMergeTree
-- collapses copies of an event (same sorting key, event_id last) when parts
-- merge, but only then, so every query deduplicates on its own as well.
-- Ordered by customer: one customer's history and state read a few granules.
-- DateTime64 does not exist on ClickHouse 18.16, so the sub-second part of
-- occurred_at lives in occurred_nanos and takes part in every ordering.
CREATE TABLE IF NOT EXISTS consent_events (
    event_id         UUID,
    occurred_at      DateTime('UTC'),
    occurred_nanos   UInt32,
    customer_id      UUID,
    customer_number  Int64,
    consent          Enum8('marketingEmail' = 1, 'marketingSms' = 2, 'gdprRestricted' = 3, 'erased' = 4),
    old_value        UInt8,
    new_value        UInt8,
    source           Enum8('api' = 1, 'import' = 2, 'connector' = 3, 'erasure' = 4),
    source_system_id UInt16,
    actor            String,
    request_id       String,
    import_id        String,
    evidence         String,
    inserted_at      DateTime DEFAULT now()
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (customer_id, occurred_at, occurred_nanos, event_id);

-- The same events ordered by time, for the compliance listing and the daily
-- summary over a period: its primary key turns a time window into a few
-- granules, where consent_events (ordered by customer) can only prune whole
-- months. Filled by the materialized view below from every insert into
-- consent_events, so a retried batch is duplicated here too, and collapsed the
-- same way.
CREATE TABLE IF NOT EXISTS consent_events_by_time (
    event_id         UUID,
    occurred_at      DateTime('UTC'),
    occurred_nanos   UInt32,
    customer_id      UUID,
    customer_number  Int64,
    consent          Enum8('marketingEmail' = 1, 'marketingSms' = 2, 'gdprRestricted' = 3, 'erased' = 4),
    old_value        UInt8,
    new_value        UInt8,
    source           Enum8('api' = 1, 'import' = 2, 'connector' = 3, 'erasure' = 4),
    source_system_id UInt16,
    actor            String,
    request_id       String,
    import_id        String,
    evidence         String,
    inserted_at      DateTime
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (occurred_at, occurred_nanos, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS consent_events_by_time_mv
TO consent_events_by_time
AS SELECT
    event_id, occurred_at, occurred_nanos, customer_id, customer_number,
    consent, old_value, new_value, source, source_system_id,
    actor, request_id, import_id, evidence, inserted_at
FROM consent_events;

-- +goose Down
DROP TABLE IF EXISTS consent_events_by_time_mv;
DROP TABLE IF EXISTS consent_events_by_time;
DROP TABLE IF EXISTS consent_events;
