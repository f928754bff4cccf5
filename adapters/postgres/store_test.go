package postgres_test

import (
	"testing"
	"time"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports"
	"kirjuri/ports/porttest"
)

// TestContract runs the shared port suite against PostgreSQL, each test on a
// fresh database.
func TestContract(t *testing.T) {
	porttest.Run(t, func(t *testing.T) porttest.Stores {
		s, pool := pgtest.NewStoreAndPool(t)
		return porttest.Stores{Customers: s, Bulk: s, Outbox: s, Keys: s, Idempotency: s,
			ExpireClaim: func(t *testing.T, scope, key string) {
				tag, err := pool.Exec(t.Context(), `UPDATE idempotency_keys
					SET created_at = created_at - make_interval(secs => $3) WHERE scope = $1 AND key = $2 AND NOT finished`,
					scope, key, (ports.IdempotencyLease + time.Second).Seconds())
				if err != nil || tag.RowsAffected() != 1 {
					t.Fatalf("expire the claim of %q: %v, %d rows", key, err, tag.RowsAffected())
				}
			}}
	})
}
