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
// numbers (found as find's phone filter finds them: phoneCond), in number
// order.
func (s *Store) CustomersByPhone(ctx context.Context, phone string) ([]*customer.Customer, error) {
	w := &where{}
	cond := phoneCond(w, phone)
	cs, err := s.queryCustomers(ctx, cond+" ORDER BY number", w.args...)
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

// CustomersByLinks reads the customers holding these links, each with
// what is kept with its link, in one query.
func (s *Store) CustomersByLinks(ctx context.Context, links []customer.ExternalLink) ([]ports.LinkedCustomer, error) {
	if len(links) == 0 {
		return nil, nil
	}
	sys, ids := splitLinks(links)
	rows, err := s.db(ctx).Query(ctx, `SELECT `+readColumns+`, k_system, k_identifier, k_at, k_echo FROM customers
		JOIN (SELECT l.system_id AS k_system, l.identifier AS k_identifier, l.customer_id AS k_owner,
				l.source_updated_at AS k_at, l.echo_fingerprint AS k_echo
			FROM unnest($1::int[], $2::text[]) AS u(system_id, identifier)
			JOIN customer_links l ON l.system_id = u.system_id AND l.identifier = u.identifier) AS k ON k.k_owner = customers.id
		WHERE erased_at IS NULL`, sys, ids)
	if err != nil {
		return nil, wrap("customers by links", err)
	}
	defer rows.Close()
	var out []ports.LinkedCustomer
	for rows.Next() {
		var (
			lc  ports.LinkedCustomer
			sys int32
			at  *time.Time
		)
		lc.Customer, err = s.scanCustomer(withExtra{rows, []any{&sys, &lc.Link.Identifier, &at, &lc.Kept.Echo}})
		if err != nil {
			return nil, wrap("customers by links", err)
		}
		lc.Link.SystemID = customer.SystemID(sys)
		if at != nil {
			lc.Kept.At = at.UTC()
		}
		out = append(out, lc)
	}
	return out, wrap("customers by links", rows.Err())
}

// withExtra is a row whose Scan fills, after the destinations it is
// given (scanCustomer's), the columns that follow them.
type withExtra struct {
	row   pgx.Row
	extra []any
}

func (r withExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }
