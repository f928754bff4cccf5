-- Connectors (issue 8): the inbox is the queue of its deliveries. A
-- delivery used to have a job of its own in River (a row in river_job with
-- its indexes, a fetch, a lock and a completion on top of the delivery's own
-- reads and writes); now a drain of the connector claims its received
-- deliveries in batches (FOR UPDATE SKIP LOCKED), and the inbox keeps the
-- retries: when a delivery is tried next.

-- +goose Up
-- When a received delivery is due (its next attempt, after a failed one;
-- its arrival otherwise). Deliveries waiting now are due at once.
ALTER TABLE connector_inbox ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now();
-- The attempts made before an admin's last retry: the attempts since then
-- count against the limit, the attempts column keeps them all.
ALTER TABLE connector_inbox ADD COLUMN retry_base integer NOT NULL DEFAULT 0;

-- One row per connector: whether a drain is requested, that is, a drain job
-- is waiting or running and will look for deliveries again before it ends.
-- A delivery stored while one is requested needs no job of its own. Null:
-- none is; a request older than a few minutes is taken for lost (its job
-- was deleted or its instance died) and made again.
CREATE TABLE connector_drains (
    connector    text        PRIMARY KEY,
    requested_at timestamptz
);

-- Jobs of single deliveries queued before this version are done by the
-- drains (their deliveries are still received): remove them, so that no
-- worker looks for their kind. River's tables come after these migrations
-- on a new database; they are here only on an existing one.
-- +goose StatementBegin
DO $$
BEGIN
    IF to_regclass('river_job') IS NOT NULL THEN
        DELETE FROM river_job WHERE kind = 'connector.delivery'
            AND state IN ('available', 'scheduled', 'retryable', 'pending');
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE connector_drains;
ALTER TABLE connector_inbox DROP COLUMN retry_base;
ALTER TABLE connector_inbox DROP COLUMN next_attempt_at;
