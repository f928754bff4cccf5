package postgres_test

import (
	"testing"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports/porttest"
)

// TestExportContract runs the export port's suite against PostgreSQL.
func TestExportContract(t *testing.T) {
	porttest.RunExport(t, func(t *testing.T) porttest.ExportStores {
		s := pgtest.NewStore(t)
		return porttest.ExportStores{Customers: s, Export: s}
	})
}
