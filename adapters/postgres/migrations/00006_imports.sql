-- Spreadsheet imports (issue 7): the import's record, its uploaded file in
-- chunks (so that a worker on any instance can read it after a restart),
-- and its rejected rows as they were.

-- +goose Up
CREATE TABLE imports (
    id               uuid        PRIMARY KEY,
    status           text        NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    dry_run          boolean     NOT NULL,
    atomic           boolean     NOT NULL,
    -- The name of the API key that uploaded the file.
    actor            text        NOT NULL,
    -- The key could see customers under a restriction (admin).
    see_restricted   boolean     NOT NULL,
    -- The API key's id and the request's Idempotency-Key, when given: a
    -- retried upload finds its import.
    key_id           uuid,
    idempotency_key  text,
    filename         text        NOT NULL,
    file_size        bigint      NOT NULL,
    digest           text        NOT NULL,
    -- The file's header row, as written (for the rejected rows file).
    header           jsonb,
    -- ports.ImportProgress: counts, the last row done, the first errors.
    progress         jsonb       NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE UNIQUE INDEX imports_idempotency_key ON imports (key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX imports_created_at ON imports (created_at);

CREATE TABLE import_files (
    import_id uuid    NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (import_id, seq)
);
-- An .xlsx is compressed already: store the chunks without trying again.
ALTER TABLE import_files ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE import_rejected_rows (
    import_id uuid    NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_num   integer NOT NULL,
    -- The row's cells, encoded by the spreadsheet adapter.
    cells     jsonb   NOT NULL,
    reason    text    NOT NULL,
    PRIMARY KEY (import_id, row_num)
);

-- +goose Down
DROP TABLE import_rejected_rows;
DROP TABLE import_files;
DROP TABLE imports;
