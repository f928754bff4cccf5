package memstore_test

import (
	"testing"

	"kirjuri/ports"
	"kirjuri/ports/porttest"
	"kirjuri/ports/porttest/memstore"
)

func TestIngestContract(t *testing.T) {
	porttest.RunIngest(t, func(t *testing.T) porttest.IngestStores {
		s := memstore.New()
		return porttest.IngestStores{Customers: s, Ingest: s, Outbox: s, Pushes: func(*testing.T) []ports.PushArgs {
			var out []ports.PushArgs
			for _, j := range s.Jobs() {
				if p, ok := j.Args.(ports.PushArgs); ok {
					out = append(out, p)
				}
			}
			return out
		}}
	})
}
