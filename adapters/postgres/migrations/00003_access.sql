-- API keys (hashed) and idempotency keys of writes.

-- +goose Up
CREATE TABLE api_keys (
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    scopes     text[]      NOT NULL,
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_hash_key UNIQUE (hash)
);

-- The first response to a write sent with an Idempotency-Key. Entries older
-- than 24 hours are ignored and replaced.
CREATE TABLE idempotency_keys (
    scope       text        NOT NULL,
    key         text        NOT NULL,
    fingerprint bytea       NOT NULL,
    finished    boolean     NOT NULL DEFAULT false,
    status      integer     NOT NULL DEFAULT 0,
    headers     jsonb       NOT NULL DEFAULT '{}',
    body        bytea,
    -- When the claim was made; the 24 hours run from here.
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- When the stored response was made (StoredResponse.Created).
    response_at timestamptz,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
