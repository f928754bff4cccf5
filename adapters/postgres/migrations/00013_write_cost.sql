-- What every new customer costs to write (issue 7: 100,000 rows imported in
-- at most 3 s; issue 8: 1,000 connector deliveries a second). Measured on
-- 100,000 imported customers, INSERT ... SELECT into copies of the tables
-- with one index at a time (bench-out/excel: see README):
--
--   heap alone 155 ms; lower(email) in the C.UTF-8 collation +178 ms (the
--   number's index: +32 ms); (business_id, number) and (type, number)
--   +140 ms; the unique indexes of netvisor_id and ssn_hash, NULL for
--   nearly every customer, +54 ms; customer_cards with its foreign key
--   663 ms, without it 213 ms (the check locks the customer's row for each
--   card: FOR KEY SHARE, a tuple lock and its WAL record).
--
-- So:
-- * Keys compare as bytes (COLLATE "C"): emails are ASCII only (the core
--   refuses others), so lower() and equality mean what they meant, and no
--   listing is ordered by these columns.
-- * Unique keys that most customers lack are indexed where they are set;
--   the queries that look them up say so (IS NOT NULL), so the planner
--   uses the partial index with generic plans too.
-- * The business id's index holds companies only (persons have ''), the
--   type's is the companies' numbers (a listing of persons reads the
--   number index, nearly every customer being a person); find says
--   business_id <> '' and type = 'company' literally.
-- * Cards and links have no foreign key to customers: the store writes
--   them only in the transaction that writes their customer, customers are
--   never deleted (erasure empties the row and deletes its cards and
--   links), and the check cost more than the card's own row.

-- +goose Up
ALTER TABLE customers
    ALTER COLUMN email TYPE text COLLATE "C",
    ALTER COLUMN external_id TYPE text COLLATE "C",
    ALTER COLUMN netvisor_id TYPE text COLLATE "C",
    ALTER COLUMN business_id TYPE text COLLATE "C";
ALTER TABLE customer_cards ALTER COLUMN card TYPE text COLLATE "C";
ALTER TABLE customer_links ALTER COLUMN identifier TYPE text COLLATE "C";

DROP INDEX customers_netvisor_id_key;
CREATE UNIQUE INDEX customers_netvisor_id_key ON customers (netvisor_id) WHERE netvisor_id IS NOT NULL;
DROP INDEX customers_ssn_hash_key;
CREATE UNIQUE INDEX customers_ssn_hash_key ON customers (ssn_hash) WHERE ssn_hash IS NOT NULL;
DROP INDEX customers_business_id_idx;
CREATE INDEX customers_business_id_idx ON customers (business_id, number) WHERE business_id <> '';
DROP INDEX customers_type_idx;
CREATE INDEX customers_company_number_idx ON customers (number) WHERE type = 'company';

ALTER TABLE customer_cards DROP CONSTRAINT customer_cards_customer_id_fkey;
ALTER TABLE customer_links DROP CONSTRAINT customer_links_customer_id_fkey;

-- +goose Down
DELETE FROM customer_cards k WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = k.customer_id);
DELETE FROM customer_links l WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = l.customer_id);
ALTER TABLE customer_links ADD CONSTRAINT customer_links_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
ALTER TABLE customer_cards ADD CONSTRAINT customer_cards_customer_id_fkey
    FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
DROP INDEX customers_company_number_idx;
CREATE INDEX customers_type_idx ON customers (type, number);
DROP INDEX customers_business_id_idx;
CREATE INDEX customers_business_id_idx ON customers (business_id, number);
DROP INDEX customers_ssn_hash_key;
CREATE UNIQUE INDEX customers_ssn_hash_key ON customers (ssn_hash);
DROP INDEX customers_netvisor_id_key;
CREATE UNIQUE INDEX customers_netvisor_id_key ON customers (netvisor_id);
ALTER TABLE customer_links ALTER COLUMN identifier TYPE text COLLATE "default";
ALTER TABLE customer_cards ALTER COLUMN card TYPE text COLLATE "default";
ALTER TABLE customers
    ALTER COLUMN email TYPE text COLLATE "default",
    ALTER COLUMN external_id TYPE text COLLATE "default",
    ALTER COLUMN netvisor_id TYPE text COLLATE "default",
    ALTER COLUMN business_id TYPE text COLLATE "default";
