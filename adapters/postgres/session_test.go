package postgres_test

import (
	"context"
	"slices"
	"testing"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
)

// A nested session whose statement failed, although its function
// swallowed the error and returned nil, is not released but rolled back:
// its error says so, what it wrote is gone, and the outer session goes on
// and commits what it wrote before and after.
func TestNestedSessionAfterAStatementItsFunctionSwallowed(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	insert := func(ctx context.Context, id string) error {
		return postgres.SessionExec(ctx, `INSERT INTO customer_groups (external_id, name) VALUES ('`+id+`', '`+id+`')`)
	}
	err := s.Session(ctx, func(ctx context.Context) error {
		if err := insert(ctx, "ennen"); err != nil {
			return err
		}
		nested := s.Session(ctx, func(ctx context.Context) error {
			if err := insert(ctx, "sisalla"); err != nil {
				return err
			}
			_ = postgres.SessionExec(ctx, `SELECT 1/0`) // fails; the error is swallowed
			return nil
		})
		if nested == nil {
			t.Error("a nested session whose statement failed was released")
		}
		return insert(ctx, "jalkeen")
	})
	if err != nil {
		t.Fatalf("the outer session: %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT external_id FROM customer_groups ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
	}
	if want := []string{"ennen", "jalkeen"}; !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}
}
