-- API keys can be revoked (kirjuri apikey revoke, or a replaced bootstrap
-- key), and show when they were last used.

-- +goose Up
ALTER TABLE api_keys
    ADD COLUMN revoked_at   timestamptz,
    -- Set when a lookup reaches the database, so exact to within the API's
    -- key cache lifetime.
    ADD COLUMN last_used_at timestamptz;
CREATE INDEX api_keys_name_idx ON api_keys (name);

-- +goose Down
DROP INDEX api_keys_name_idx;
ALTER TABLE api_keys DROP COLUMN last_used_at, DROP COLUMN revoked_at;
