-- +goose NO TRANSACTION
-- +goose Up

-- Edited in place (index_granularity of consent_events) before the first
-- release: no installation has run an earlier version of this migration.
-- A development database made by the earlier one is dropped and migrated
-- again (DROP DATABASE kirjuri, CREATE DATABASE kirjuri, kirjuri migrate).

-- The consent audit log, append-only. Written at least once by the relay from
-- the PostgreSQL outbox, so a retried batch can land twice: ReplacingMergeTree
-- collapses copies of an event (same sorting key, event_id last) when parts
-- merge, but only then, so every query deduplicates on its own as well.
-- DateTime64 does not exist on ClickHouse 18.16, so the sub-second part of
-- occurred_at lives in occurred_nanos and takes part in every ordering.
--
-- Ordered by customer and partitioned by month. One customer's history or
-- state reads, in every active part, the granule or two holding that
-- customer: the cost grows with the number of parts, not with the customer's
-- events. Two things keep the parts few and each read small:
--   - clickhouse.Audit.Compact (hourly housekeeping) merges every month
--     before the current one into a single part (OPTIMIZE ... PARTITION ...
--     FINAL), so a lookup opens one part per retained month plus the few
--     the current month's inserts have left;
--   - granules of 1024 rows instead of 8192: the rows read per part are 8
--     times fewer, the time about a fifth less, because what a part costs
--     is mostly opening its 14 column files and decompressing one block of
--     each, and a compressed block is 64 KiB or more whatever the granule.
--     Measured on 10M events over 25 months, one part per closed month
--     (26 parts, 2 cores, 18.16), a history page at the median: 8192 rows
--     20.5 ms, 1024 16.0 ms, 512 15.9 ms, 256 16.4 ms; smaller granules
--     gain nothing more and make the primary key and marks bigger.
-- Each retained month adds about 0.6 ms to every lookup: about 40 ms at the
-- median for 5 years (see app/cmd/kirjuri-bench-audit/README.md).
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
ORDER BY (customer_id, occurred_at, occurred_nanos, event_id)
SETTINGS index_granularity = 1024;

-- The same events ordered by time, for the compliance listing and the daily
-- summary over a period: its primary key turns a time window into a few
-- granules, where consent_events (ordered by customer) can only prune whole
-- months. Filled by the materialized view below from every insert into
-- consent_events, so a retried batch is duplicated here too, and collapsed the
-- same way (Compact merges its closed months into one part each as well).
-- Granules of 8192 rows: its reads are ranges of time, where a larger granule
-- costs nothing extra.
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
