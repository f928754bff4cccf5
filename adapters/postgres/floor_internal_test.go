package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
)

// CopyFloor stores new customers with nothing but one COPY straight into
// customers, with the same encoding as WriteBatch: no checks, no side
// tables, no events. It is the floor BenchmarkWriteBatch compares with.
func (s *Store) CopyFloor(ctx context.Context, cs []*customer.Customer) error {
	rows := make([][]any, len(cs))
	for i, c := range cs {
		args, err := s.writeArgs(c.Data())
		if err != nil {
			return err
		}
		rows[i] = args
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"customers"}, writeColumns, pgx.CopyFromRows(rows))
	return err
}
