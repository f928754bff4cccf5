-- The GIN index on customers.phone_numbers cost a tenth of a bulk write:
-- 100,000 customers with two phone numbers each took 0.42-0.59 s more to
-- insert with it than without it (INSERT ... SELECT of the same rows into a
-- copy of the table, one index at a time; the heap alone took 0.24-0.31 s).
-- Its pending list is flushed entry by entry, and every phone number is a
-- key of its own.
--
-- The lookups by phone number (find's phone filter, a connector's match
-- by phone) find their candidates through the search text instead, which
-- holds every phone number of the customer and whose copies already have a
-- trigram index (customer_search, and customer_search_pending for the
-- copies not made yet): see phoneCond in find.go.

-- +goose Up
DROP INDEX customers_phone_numbers_idx;

-- +goose Down
CREATE INDEX customers_phone_numbers_idx ON customers USING gin (phone_numbers);
