-- The bulk path (WriteBatch) listed every customer it created in
-- customer_search_pending, one row each, for the search.index job to copy
-- its search text (00011). Those rows cost PostgreSQL about 0.2 s per
-- 100,000 imported customers (an INSERT of the same rows into a copy of the
-- table: 195-200 ms), 7 % of its share of an import that must take at most
-- 3 s (issue 7).
--
-- A batch's new customers have numbers taken together from
-- customer_number_seq, so it now lists them as one row: the range of their
-- numbers (a few rows when the numbers have gaps, see queueSearch). The
-- customers a batch updates whose text changed are still listed one by
-- one in customer_search_pending: they are few, and their stale copies are
-- deleted as before.
--
-- A range may also hold customers made meanwhile by other paths (an API
-- create took a number between the batch's). That is harmless: a pending
-- customer is matched on its own search column, which is right for any
-- customer, and copying one whose copy is current changes nothing (a copy
-- never replaces one of a later version). Readers start from these few
-- rows and read the customers by number (see findSQL, addSearch and
-- phoneCond in find.go, IndexSearch in search.go).

-- +goose Up
CREATE TABLE customer_search_pending_ranges (
    id        bigserial   PRIMARY KEY,
    -- The first and last customer number of the range, both included.
    lo        bigint      NOT NULL,
    hi        bigint      NOT NULL,
    -- As customer_search_pending's: the job waits while ranges keep coming.
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT customer_search_pending_ranges_check CHECK (lo <= hi)
);

-- +goose Down
-- The customers of the ranges are listed one by one again, so that nothing
-- pending is lost.
INSERT INTO customer_search_pending (customer_id, queued_at)
    SELECT c.id, r.queued_at FROM customer_search_pending_ranges r
    JOIN customers c ON c.number BETWEEN r.lo AND r.hi
    ON CONFLICT DO NOTHING;
DROP TABLE customer_search_pending_ranges;
