-- Free-text search (find's q) moves its trigram index off the customers
-- table, so that the bulk path (imports) can defer it. Maintaining the
-- pg_trgm index was most of the cost of writing a customer: some sixty
-- trigrams a customer, 2.9 s of PostgreSQL's CPU per 100,000 customers
-- against 2.1 s for the row and every other index together; a pending list
-- or one set-based statement cost about as much (bench:excel, issue 7).
--
-- customers.search stays, written with every change as before: it is the
-- search text as of the row. customer_search holds a copy of it under the
-- trigram index, with the version it was taken from. Every write keeps the
-- copy current in its own transaction (the trigger below), except the bulk
-- path (WriteBatch), which sets kirjuri.search_deferred for its
-- transaction: it only lists its customers in customer_search_pending (and
-- deletes their copies that became stale), and a job (search.index) copies
-- their text later. Find matches the copies, and the pending customers by
-- their own search column, so an answer never misses a change nor shows a
-- stale match; it is only slower while many customers are pending.
--
-- An erasure sets search to '': the copy becomes '' in the erasure's
-- transaction (a row that keeps the version, so that a copy taken before
-- the erasure can never be written over it).

-- +goose Up
CREATE TABLE customer_search (
    customer_id     uuid   NOT NULL,
    -- The customer's number (it never changes): a find that many customers
    -- match walks the copies in number order, matching each on its own
    -- narrow row, and reads only the matching customers.
    customer_number bigint NOT NULL,
    -- The customer's version the text was taken from: a copy is only ever
    -- replaced by one of a later version.
    version         bigint NOT NULL,
    search          text   NOT NULL,
    -- No foreign key: checking it would lock every customer the job copies
    -- (a row lock written to each customer's page). Customers are never
    -- deleted (an erasure empties the text here in its own transaction),
    -- and a find reads a copy only together with its customer.
    CONSTRAINT customer_search_pkey PRIMARY KEY (customer_id)
);
CREATE INDEX customer_search_number_idx ON customer_search (customer_number);
-- LIKE '%term%' is estimated from the histogram of search; the default 100
-- entries cannot tell a last name shared by 2 % of customers from a rare
-- one (see 00001).
ALTER TABLE customer_search ALTER COLUMN search SET STATISTICS 1000;

-- Customers written by the bulk path whose copy is missing or stale. No
-- foreign key either: an id whose customer is gone is simply dropped by the
-- job. queued_at tells the job whether bulk writes are still arriving: it
-- waits for them to pause (see SearchIndexWorker).
CREATE TABLE customer_search_pending (
    customer_id uuid        NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT customer_search_pending_pkey PRIMARY KEY (customer_id)
);
CREATE INDEX customer_search_pending_queued_idx ON customer_search_pending (queued_at);

INSERT INTO customer_search (customer_id, customer_number, version, search)
    SELECT id, number, version, search FROM customers;
CREATE INDEX customer_search_idx ON customer_search USING gin (search gin_trgm_ops);
DROP INDEX customers_search_idx;
-- Only pending customers are matched on customers.search now, by id.
ALTER TABLE customers ALTER COLUMN search SET STATISTICS -1;

-- +goose StatementBegin
CREATE FUNCTION customer_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_search (customer_id, customer_number, version, search)
        VALUES (NEW.id, NEW.number, NEW.version, NEW.search)
        ON CONFLICT (customer_id) DO UPDATE
            SET version = EXCLUDED.version, search = EXCLUDED.search
            WHERE customer_search.version < EXCLUDED.version;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- One trigger per operation, so that an update that leaves the search text
-- as it was (a consent, a restriction) does nothing here. The condition is
-- checked before the trigger is queued: a deferred bulk write pays no
-- function call per row.
CREATE TRIGGER customers_search_insert AFTER INSERT ON customers FOR EACH ROW
    WHEN (current_setting('kirjuri.search_deferred', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION customer_search_copy();
CREATE TRIGGER customers_search_update AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.search IS DISTINCT FROM NEW.search
        AND current_setting('kirjuri.search_deferred', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION customer_search_copy();

-- +goose Down
DROP TRIGGER customers_search_update ON customers;
DROP TRIGGER customers_search_insert ON customers;
DROP FUNCTION customer_search_copy();
ALTER TABLE customers ALTER COLUMN search SET STATISTICS 1000;
CREATE INDEX customers_search_idx ON customers USING gin (search gin_trgm_ops);
DROP TABLE customer_search_pending;
DROP TABLE customer_search;
