-- Claiming a batch of deliveries (Drain) asks for the oldest received ones
-- ORDER BY received_at, id. The index (connector, status, received_at)
-- gave received_at but not id, so PostgreSQL fetched every received
-- delivery and sorted them for each claim: with a backlog of 10,000 to
-- 16,000 deliveries under the connector benchmark, 35-60 ms and 2,000-8,000
-- buffers a claim (EXPLAIN ANALYZE during the load), 37.6 ms a call on
-- average (pg_stat_statements), more than any other statement. The claims
-- slowed as the backlog grew, so the backlog grew faster.
--
-- This index holds the received deliveries only, in the claim's order, so
-- a claim reads the first rows it can lock and stops. A delivery leaves it
-- when it is processed (its old entry goes with vacuum; scans mark it dead
-- meanwhile).

-- +goose Up
CREATE INDEX connector_inbox_due ON connector_inbox (connector, received_at, id) WHERE status = 'received';

-- +goose Down
DROP INDEX connector_inbox_due;
