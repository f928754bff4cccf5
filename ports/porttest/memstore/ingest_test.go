package memstore_test

import (
	"testing"

	"kirjuri/ports/porttest"
	"kirjuri/ports/porttest/memstore"
)

func TestIngestContract(t *testing.T) {
	porttest.RunIngest(t, func(t *testing.T) porttest.IngestStores {
		s := memstore.New()
		return porttest.IngestStores{Customers: s, Ingest: s}
	})
}
