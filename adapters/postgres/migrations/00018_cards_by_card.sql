-- customer_cards is there for the uniqueness of a card (its primary key);
-- the cards themselves are read from customers.customer_cards. Every
-- statement on it names the card (the checks of a batch, the deletes of a
-- change or an erasure: customer_id AND card), so the index on customer_id
-- served none of them, and it cost 110 ms per 100,000 cards written
-- (INSERT ... SELECT of the same rows into a copy of the table: 150-165 ms
-- without it, 260-320 ms with it).

-- +goose Up
DROP INDEX customer_cards_customer_idx;

-- +goose Down
CREATE INDEX customer_cards_customer_idx ON customer_cards (customer_id);
