-- Idempotency records: an owner token per claim, the customer a stored
-- response is about, and no personal data in plain text (issue 6, items 9
-- and 13).
--
-- The responses stored so far hold customer bodies in plain text, identity
-- codes of pii:read keys among them, and survive erasures: they are dropped.
-- A client retrying a write of the last 24 hours with its old key has it
-- run again (a create makes a second customer, or meets its own email as a
-- conflict).

-- +goose Up
DELETE FROM idempotency_keys;

ALTER TABLE idempotency_keys
    -- Who holds the claim: Finish and Abandon act only with this token, so a
    -- request whose claim was taken over after the lease changes nothing.
    ADD COLUMN token            uuid    NOT NULL,
    -- The customer the response is about (created, or of the path), and the
    -- version of it the response shows (its ETag); both null when none.
    ADD COLUMN customer_id      uuid,
    ADD COLUMN customer_version bigint,
    -- The customer was erased after the response was made: headers and body
    -- are gone, and a replay answers 410.
    ADD COLUMN erased           boolean NOT NULL DEFAULT false;

-- body now holds the response body sealed with AES-256-GCM (the identity-code
-- key), the token as additional data.
COMMENT ON COLUMN idempotency_keys.fingerprint IS 'HMAC-SHA256 (the identity-code key) of the request fingerprint, so a small body cannot be guessed back from it';
COMMENT ON COLUMN idempotency_keys.body IS 'response body, AES-256-GCM sealed, token as additional data; null until finished and once erased';

CREATE INDEX idempotency_keys_customer_idx ON idempotency_keys (customer_id) WHERE customer_id IS NOT NULL;

-- +goose Down
DROP INDEX idempotency_keys_customer_idx;
DELETE FROM idempotency_keys;
ALTER TABLE idempotency_keys
    DROP COLUMN token,
    DROP COLUMN customer_id,
    DROP COLUMN customer_version,
    DROP COLUMN erased;
COMMENT ON COLUMN idempotency_keys.body IS NULL;
COMMENT ON COLUMN idempotency_keys.fingerprint IS NULL;
