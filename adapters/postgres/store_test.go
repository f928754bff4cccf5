package postgres_test

import (
	"testing"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports/porttest"
)

// TestContract runs the shared port suite against PostgreSQL, each test on a
// fresh database.
func TestContract(t *testing.T) {
	porttest.Run(t, func(t *testing.T) porttest.Stores {
		s := pgtest.NewStore(t)
		return porttest.Stores{Customers: s, Outbox: s, Keys: s, Idempotency: s}
	})
}
