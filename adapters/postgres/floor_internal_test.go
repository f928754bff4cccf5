package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
)

// CopyFloor stores new customers with nothing but one COPY straight into
// customers, with the same encoding as WriteBatch (binary COPY,
// copybin.go): no checks, no side tables, no events. It is the floor
// BenchmarkWriteBatch compares with.
func (s *Store) CopyFloor(ctx context.Context, cs []*customer.Customer) error {
	var tuples []byte
	for _, c := range cs {
		d := c.Data()
		r, err := s.rowSource(&d)
		if err != nil {
			return err
		}
		tuples = appendCustomerTuple(tuples, &r, false, 0)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return copyBinary(ctx, tx, copyCustomersSQL, [][]byte{tuples})
	})
}
