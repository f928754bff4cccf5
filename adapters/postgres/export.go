package postgres

import (
	"context"
	"errors"
	"slices"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
	"kirjuri/ports"
)

var _ ports.ExportStore = (*Store)(nil)

// Export reads the set in one read-only REPEATABLE READ transaction, whose
// snapshot is taken by its first query: the shape (the count and the
// widest sections, in one pass over Find's condition), the groups, then
// the rows from one query in number order, which pgx reads from the
// connection as they arrive (the server waits while the client is slow, so
// memory does not grow with the set). The transaction is held as long as
// the export runs, and with it the snapshot (vacuum cannot remove rows
// changed since); it only reads, so it blocks no writer.
func (s *Store) Export(ctx context.Context, q ports.ExportQuery, start func(ports.ExportShape) error, row func(*customer.Customer) error) (err error) {
	cq := q.CustomerQuery
	cq.Cursor, cq.Limit = "", 0
	w, err := findWhere(cq)
	if err != nil {
		return err
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return wrap("begin an export", err)
	}
	defer func() {
		// Read-only: a rollback loses nothing.
		_ = tx.Rollback(context.WithoutCancel(ctx))
	}()

	args := append([]any{pgx.QueryExecModeCacheDescribe}, w.args...)
	var shape ports.ExportShape
	err = tx.QueryRow(ctx, `SELECT count(*),
		coalesce(max(cardinality(customer_cards)), 0),
		coalesce(max(json_array_length(addresses)), 0),
		coalesce(max(cardinality(phone_numbers)), 0)
		FROM customers WHERE `+w.sql(), args...).
		Scan(&shape.Customers, &shape.CustomerCards, &shape.Addresses, &shape.PhoneNumbers)
	if err != nil {
		return wrap("plan an export", err)
	}
	grows, err := tx.Query(ctx, `SELECT external_id FROM customer_groups`)
	if err != nil {
		return wrap("plan an export", err)
	}
	shape.Groups, err = pgx.CollectRows(grows, pgx.RowTo[string])
	if err != nil {
		return wrap("plan an export", err)
	}
	if len(shape.Groups) == 0 {
		shape.Groups = nil
	}
	slices.Sort(shape.Groups)
	if err := start(shape); err != nil {
		return err
	}

	rows, err := tx.Query(ctx, "SELECT "+readColumns+" FROM customers WHERE "+w.sql()+" ORDER BY number", args...)
	if err != nil {
		return wrap("export customers", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := s.scanCustomerWith(rows, q.WithSSN)
		if err != nil {
			return wrap("export customers", err)
		}
		if err := row(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrap("export customers", err)
	}
	rows.Close()
	if err := tx.Commit(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return wrap("export customers", err)
	}
	return nil
}
