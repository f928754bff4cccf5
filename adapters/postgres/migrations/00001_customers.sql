-- The customer register: one row per customer, read with one single-row
-- query. Lists are kept denormalised on the row; the side tables exist only
-- to make identifiers unique across customers.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE SEQUENCE customer_number_seq AS bigint START 10000;

CREATE TABLE customers (
    id               uuid        PRIMARY KEY,
    number           bigint      NOT NULL,
    type             text        NOT NULL,
    first_name       text        NOT NULL DEFAULT '',
    last_name        text        NOT NULL DEFAULT '',
    company_name     text        NOT NULL DEFAULT '',
    business_id      text        NOT NULL DEFAULT '',
    vat_number       text        NOT NULL DEFAULT '',
    vat_status       smallint    NOT NULL DEFAULT 1,
    -- Identifiers that must be unique are NULL when absent.
    email            text,
    language         text        NOT NULL DEFAULT 'fi',
    -- The personal identity code: AES-256-GCM ciphertext (never the
    -- plaintext) and an HMAC-SHA256 of the canonical code for lookup and
    -- uniqueness.
    ssn_enc          bytea,
    ssn_hash         bytea,
    marketing_email  boolean     NOT NULL DEFAULT false,
    marketing_sms    boolean     NOT NULL DEFAULT false,
    gdpr_restricted  boolean     NOT NULL DEFAULT false,
    credit_allowed   boolean     NOT NULL DEFAULT false,
    external_id      text,
    netvisor_id      text,
    external_systems jsonb       NOT NULL DEFAULT '[]',
    customer_cards   text[]      NOT NULL DEFAULT '{}',
    groups           text[]      NOT NULL DEFAULT '{}',
    addresses        jsonb       NOT NULL DEFAULT '[]',
    phone_numbers    text[]      NOT NULL DEFAULT '{}',
    e_invoice        jsonb       NOT NULL DEFAULT '{}',
    contacts         jsonb       NOT NULL DEFAULT '[]',
    version          bigint      NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    erased_at        timestamptz,
    -- Lower-cased names, company, email, phone numbers (with and without +)
    -- and the number, for free-text search.
    search           text        NOT NULL DEFAULT '',

    CONSTRAINT customers_type_check CHECK (type IN ('person', 'company')),
    CONSTRAINT customers_vat_status_check CHECK (vat_status BETWEEN 1 AND 7),
    CONSTRAINT customers_language_check CHECK (language IN ('fi', 'sv', 'en')),
    CONSTRAINT customers_ssn_pair_check CHECK ((ssn_enc IS NULL) = (ssn_hash IS NULL)),
    CONSTRAINT customers_version_check CHECK (version > 0)
);

CREATE UNIQUE INDEX customers_number_key ON customers (number);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email));
CREATE UNIQUE INDEX customers_external_id_key ON customers (external_id);
CREATE UNIQUE INDEX customers_netvisor_id_key ON customers (netvisor_id);
CREATE UNIQUE INDEX customers_ssn_hash_key ON customers (ssn_hash);

-- Find filters. Listings are ordered by number, so composite indexes end
-- with it.
CREATE INDEX customers_business_id_idx ON customers (business_id, number);
CREATE INDEX customers_type_idx ON customers (type, number);
CREATE INDEX customers_updated_at_idx ON customers (updated_at);
CREATE INDEX customers_groups_idx ON customers USING gin (groups);
CREATE INDEX customers_phone_numbers_idx ON customers USING gin (phone_numbers);
CREATE INDEX customers_search_idx ON customers USING gin (search gin_trgm_ops);
-- LIKE '%term%' is estimated from the histogram of search; the default 100
-- entries cannot tell a last name shared by 2 % of customers from a rare
-- one, and the planner then picks a bitmap scan of thousands of rows over a
-- short walk of the number index.
ALTER TABLE customers ALTER COLUMN search SET STATISTICS 1000;

-- An external-system link (systemId + identifier) belongs to one customer.
CREATE TABLE customer_links (
    system_id   integer NOT NULL,
    identifier  text    NOT NULL,
    customer_id uuid    NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT customer_links_pkey PRIMARY KEY (system_id, identifier)
);
CREATE INDEX customer_links_customer_idx ON customer_links (customer_id);

-- A loyalty card belongs to one customer.
CREATE TABLE customer_cards (
    card        text NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT customer_cards_pkey PRIMARY KEY (card)
);
CREATE INDEX customer_cards_customer_idx ON customer_cards (customer_id);

CREATE TABLE customer_groups (
    external_id text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customer_groups_pkey PRIMARY KEY (external_id)
);

-- +goose Down
DROP TABLE customer_groups;
DROP TABLE customer_cards;
DROP TABLE customer_links;
DROP TABLE customers;
DROP SEQUENCE customer_number_seq;
