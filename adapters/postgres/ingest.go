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
// its link (customer_links.source_updated_at), in the same transaction.
func (s *Store) CreateFromSource(ctx context.Context, c *customer.Customer, events []consent.Event, st ports.SourceTime) error {
	return s.create(ctx, c, events, &st)
}

// UpdateFromSource is Update whose fn also gets the source time of st's
// link, and that records st in the change's transaction.
func (s *Store) UpdateFromSource(ctx context.Context, id uuid.UUID, st ports.SourceTime, fn func(c *customer.Customer, last time.Time) ([]consent.Event, error)) (*customer.Customer, error) {
	return s.updateFrom(ctx, id, &st, func(c *customer.Customer, last time.Time) ([]consent.Event, []ports.Job, error) {
		events, err := fn(c, last)
		return events, nil, err
	})
}

// sourceAt reads the source time of st's link on customer id: zero when
// st is nil, the customer does not hold the link, or none is recorded.
func sourceAt(ctx context.Context, q querier, id uuid.UUID, st *ports.SourceTime) (time.Time, error) {
	if st == nil {
		return time.Time{}, nil
	}
	var at *time.Time
	err := q.QueryRow(ctx, `SELECT source_updated_at FROM customer_links
		WHERE system_id = $1 AND identifier = $2 AND customer_id = $3`,
		int32(st.Link.SystemID), st.Link.Identifier, id).Scan(&at)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return time.Time{}, nil
	case err != nil:
		return time.Time{}, err
	case at == nil:
		return time.Time{}, nil
	}
	return at.UTC(), nil
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
