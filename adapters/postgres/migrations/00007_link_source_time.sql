-- The source's own update time of the customer behind each external-system
-- link, as the register last took a draft from it (connectors): a draft
-- older than this changes nothing. NULL: unknown, or the link was made by
-- the API or an import. It is kept with the link, not in the customer's
-- row, so it never shows in the API and changing it alone changes no
-- version; a link that is removed takes it along.

-- +goose Up
ALTER TABLE customer_links ADD COLUMN source_updated_at timestamptz;

-- +goose Down
ALTER TABLE customer_links DROP COLUMN source_updated_at;
