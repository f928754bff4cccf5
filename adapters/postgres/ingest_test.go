package postgres_test

import (
	"testing"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports/porttest"
)

// TestIngestContract runs the ingest port's suite against PostgreSQL.
func TestIngestContract(t *testing.T) {
	porttest.RunIngest(t, func(t *testing.T) porttest.IngestStores {
		s := pgtest.NewStore(t)
		return porttest.IngestStores{Customers: s, Ingest: s}
	})
}
