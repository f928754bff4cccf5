package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"kirjuri/ports"
)

var _ ports.ExportStore = (*Store)(nil)

// ExportShape counts the customers Find lists under q and the most customer
// cards, addresses and phone numbers one of them has, in one pass over the
// same condition (q.Limit and q.Cursor are ignored).
func (s *Store) ExportShape(ctx context.Context, q ports.CustomerQuery) (ports.ExportShape, error) {
	q.Cursor = ""
	w, err := findWhere(q)
	if err != nil {
		return ports.ExportShape{}, err
	}
	sql := `SELECT count(*),
		coalesce(max(cardinality(customer_cards)), 0),
		coalesce(max(jsonb_array_length(addresses)), 0),
		coalesce(max(cardinality(phone_numbers)), 0)
		FROM customers WHERE ` + w.sql()
	var shape ports.ExportShape
	err = s.pool.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, w.args...)...).
		Scan(&shape.Customers, &shape.CustomerCards, &shape.Addresses, &shape.PhoneNumbers)
	if err != nil {
		return ports.ExportShape{}, wrap("plan an export", err)
	}
	return shape, nil
}
