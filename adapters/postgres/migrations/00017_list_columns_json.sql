-- The four list columns of customers (external_systems, addresses,
-- e_invoice, contacts) were jsonb. Nothing queries inside them but one
-- jsonb_array_length of the export (now json_array_length): they are read
-- whole and decoded by the service (decodeLists). jsonb parses every value
-- into its binary form on the way in and prints it back on the way out;
-- json only checks the text and keeps it. Casting 100,000 customers' four
-- lists took 255 ms as jsonb and 131 ms as json, a twentieth of
-- PostgreSQL's share of a 100,000-row import (issue 7), and the rows are
-- smaller (two addresses: 257 bytes as jsonb, about 200 as text).
--
-- json has no equality operator: no query compares these columns (the
-- search trigger compares the search column only).

-- +goose Up
ALTER TABLE customers
    ALTER COLUMN external_systems TYPE json USING external_systems::json,
    ALTER COLUMN external_systems SET DEFAULT '[]',
    ALTER COLUMN addresses TYPE json USING addresses::json,
    ALTER COLUMN addresses SET DEFAULT '[]',
    ALTER COLUMN e_invoice TYPE json USING e_invoice::json,
    ALTER COLUMN e_invoice SET DEFAULT '{}',
    ALTER COLUMN contacts TYPE json USING contacts::json,
    ALTER COLUMN contacts SET DEFAULT '[]';

-- +goose Down
ALTER TABLE customers
    ALTER COLUMN external_systems TYPE jsonb USING external_systems::jsonb,
    ALTER COLUMN external_systems SET DEFAULT '[]',
    ALTER COLUMN addresses TYPE jsonb USING addresses::jsonb,
    ALTER COLUMN addresses SET DEFAULT '[]',
    ALTER COLUMN e_invoice TYPE jsonb USING e_invoice::jsonb,
    ALTER COLUMN e_invoice SET DEFAULT '{}',
    ALTER COLUMN contacts TYPE jsonb USING contacts::jsonb,
    ALTER COLUMN contacts SET DEFAULT '[]';
