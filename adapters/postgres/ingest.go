package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

var _ ports.IngestStore = (*Store)(nil)

// CustomersByPhone returns the customers that have phone among their phone
// numbers (the GIN index on phone_numbers), in number order.
func (s *Store) CustomersByPhone(ctx context.Context, phone string) ([]*customer.Customer, error) {
	cs, err := s.queryCustomers(ctx, "phone_numbers @> ARRAY[$1::text] ORDER BY number", phone)
	return cs, wrap("customers by phone", err)
}

// CreateFromSource is Create that also records st as the source time of
// its link (customer_links.source_updated_at) and stores jobs, in the same
// transaction.
func (s *Store) CreateFromSource(ctx context.Context, c *customer.Customer, events []consent.Event, st ports.SourceTime, jobs []ports.Job) error {
	return s.create(ctx, c, events, &st, jobs)
}

// UpdateFromSource is Update whose fn also gets what is kept with st's
// link and returns jobs, and that records st in the change's transaction.
func (s *Store) UpdateFromSource(ctx context.Context, id uuid.UUID, st ports.SourceTime, fn func(c *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.updateFrom(ctx, id, &st, fn)
}

// RecordEcho keeps echo with st's link on customer id
// (customer_links.echo_fingerprint) and records st, under the customer's
// row lock, so that it waits for a change of the customer under way; in
// a transaction of its own, a savepoint within a session.
func (s *Store) RecordEcho(ctx context.Context, id uuid.UUID, st ports.SourceTime, echo []byte) error {
	err := pgx.BeginFunc(ctx, s.beginner(ctx), func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM customers WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return notFound(err, id.String())
		}
		if _, err := tx.Exec(ctx, `UPDATE customer_links SET echo_fingerprint = $4
			WHERE system_id = $1 AND identifier = $2 AND customer_id = $3`,
			int32(st.Link.SystemID), st.Link.Identifier, id, echo); err != nil {
			return err
		}
		return recordSource(ctx, tx, id, &st)
	})
	return wrap("record the echo of a push", err)
}

// sourceAt reads what is kept with st's link on customer id: nothing when
// st is nil, the customer does not hold the link, or nothing is recorded.
func sourceAt(ctx context.Context, q querier, id uuid.UUID, st *ports.SourceTime) (ports.LinkSource, error) {
	if st == nil {
		return ports.LinkSource{}, nil
	}
	var (
		at   *time.Time
		echo []byte
	)
	err := q.QueryRow(ctx, `SELECT source_updated_at, echo_fingerprint FROM customer_links
		WHERE system_id = $1 AND identifier = $2 AND customer_id = $3`,
		int32(st.Link.SystemID), st.Link.Identifier, id).Scan(&at, &echo)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ports.LinkSource{}, nil
	case err != nil:
		return ports.LinkSource{}, err
	}
	out := ports.LinkSource{Echo: echo}
	if at != nil {
		out.At = at.UTC()
	}
	return out, nil
}

// recordSource sets the source time of st's link, when customer id holds
// it and st.At is later than the time recorded (it never moves back).
func recordSource(ctx context.Context, tx pgx.Tx, id uuid.UUID, st *ports.SourceTime) error {
	if st == nil || st.At.IsZero() {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE customer_links SET source_updated_at = $4
		WHERE system_id = $1 AND identifier = $2 AND customer_id = $3
		AND (source_updated_at IS NULL OR source_updated_at < $4)`,
		int32(st.Link.SystemID), st.Link.Identifier, id, st.At.UTC())
	return err
}
