-- Connectors (issue 8): pulls. A sync is one backfill or catch-up of a
-- connector, run by a job that stores its progress (the cursor reached and
-- the counts) after each page, so that a restart resumes after the last
-- page it finished. connector_pulls keeps, per connector, where the next
-- catch-up starts and when the last sync succeeded.

-- +goose Up
CREATE TABLE connector_syncs (
    id          uuid        PRIMARY KEY,
    connector   text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    mode        text        NOT NULL CHECK (mode IN ('catch-up', 'full')),
    -- Who asked for it ("apikey:<name>").
    actor       text        NOT NULL,
    -- The cursor it started from ('' is the first page).
    from_cursor text        NOT NULL,
    -- The job that runs it: a sync whose job has ended without finishing
    -- it would never finish, and must not block the next one.
    job_id      bigint,
    -- ports.SyncProgress: the cursor reached, pages, counts by outcome,
    -- the first rejections, the last retried error.
    progress    jsonb       NOT NULL DEFAULT '{}',
    -- Why a failed sync failed.
    error       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz,
    updated_at  timestamptz NOT NULL
);
-- One sync per connector at a time: two would pull the same pages and move
-- the connector's cursor in turn.
CREATE UNIQUE INDEX connector_syncs_active ON connector_syncs (connector) WHERE status IN ('queued', 'running');
-- A connector's syncs, newest first.
CREATE INDEX connector_syncs_connector ON connector_syncs (connector, created_at DESC, id DESC);

CREATE TABLE connector_pulls (
    connector text        PRIMARY KEY,
    -- Where the next catch-up starts: the cursor the last successful
    -- sync ended at.
    cursor    text        NOT NULL,
    last_pull timestamptz NOT NULL,
    sync_id   uuid        NOT NULL
);

-- +goose Down
DROP TABLE connector_pulls;
DROP TABLE connector_syncs;
