-- Connectors (issue 8): pushes. A push is a River job (kind connector.push)
-- stored in the transaction of the change that causes it; its dead letters
-- are its discarded and cancelled jobs. Kept here beside them:
--
-- the fingerprint of the echo awaited from a link after a push (the draft
-- its system answered with): an inbound draft of the link with the same
-- fingerprint is the push's echo and changes nothing. It is kept with the
-- link's source time (00007), so a link that is removed takes it along;
--
-- per connector, when a push last succeeded (its health).

-- +goose Up
ALTER TABLE customer_links ADD COLUMN echo_fingerprint bytea;

CREATE TABLE connector_pushes (
    connector text        PRIMARY KEY,
    last_push timestamptz NOT NULL
);

-- +goose Down
DROP TABLE connector_pushes;
ALTER TABLE customer_links DROP COLUMN echo_fingerprint;
