package memstore_test

import (
	"testing"

	"kirjuri/ports/porttest"
	"kirjuri/ports/porttest/memstore"
)

func TestExportContract(t *testing.T) {
	porttest.RunExport(t, func(t *testing.T) porttest.ExportStores {
		s := memstore.New()
		return porttest.ExportStores{Customers: s, Export: s}
	})
}
