package memstore_test

import (
	"testing"

	"kirjuri/ports/porttest"
	"kirjuri/ports/porttest/memstore"
)

func TestContract(t *testing.T) {
	porttest.Run(t, func(t *testing.T) porttest.Stores {
		s := memstore.New()
		return porttest.Stores{Customers: s, Bulk: s, Outbox: s, Keys: s, Idempotency: s,
			ExpireClaim: func(t *testing.T, scope, key string) {
				if !s.ExpireIdempotencyClaim(scope, key) {
					t.Fatalf("ExpireIdempotencyClaim(%q, %q): no such claim", scope, key)
				}
			}}
	})
}
