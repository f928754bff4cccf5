-- Connectors (issue 8): the inbox of inbound deliveries. A webhook is
-- verified, stored here with a unique delivery key per connector (a replay
-- finds its row and changes nothing) and a job in the same transaction,
-- answered, and then processed by the job.

-- +goose Up
CREATE TABLE connector_inbox (
    id           uuid        PRIMARY KEY,
    connector    text        NOT NULL,
    delivery_key text        NOT NULL CHECK (delivery_key <> '' AND length(delivery_key) <= 300),
    received_at  timestamptz NOT NULL,
    -- The request headers the connector keeps for parsing (not all).
    headers      jsonb       NOT NULL DEFAULT '{}',
    -- The raw body as received and verified; it may hold personal data.
    body         bytea       NOT NULL CHECK (octet_length(body) <= 1048576),
    status       text        NOT NULL CHECK (status IN ('received', 'processed', 'rejected', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text        NOT NULL DEFAULT '',
    processed_at timestamptz,
    outcome      text        NOT NULL DEFAULT '',
    CONSTRAINT connector_inbox_delivery_key UNIQUE (connector, delivery_key)
);
-- Health and dead letters: a connector's backlog and failures, its last
-- delivery.
CREATE INDEX connector_inbox_status ON connector_inbox (connector, status, received_at);

-- +goose Down
DROP TABLE connector_inbox;
