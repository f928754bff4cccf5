package postgres_test

import (
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports"
	"kirjuri/ports/porttest"
)

// TestIngestContract runs the ingest port's suite against PostgreSQL.
func TestIngestContract(t *testing.T) {
	porttest.RunIngest(t, func(t *testing.T) porttest.IngestStores {
		s, pool := pgtest.NewStoreAndPool(t)
		return porttest.IngestStores{Customers: s, Ingest: s, Outbox: s, Pushes: func(t *testing.T) []ports.PushArgs {
			// The queue's own table: the ports list no waiting jobs.
			rows, err := pool.Query(t.Context(), `SELECT args FROM river_job WHERE kind = $1`, ports.PushJobKind)
			if err != nil {
				t.Fatalf("read the push jobs: %v", err)
			}
			raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
			if err != nil {
				t.Fatalf("read the push jobs: %v", err)
			}
			out := make([]ports.PushArgs, len(raw))
			for i, r := range raw {
				if err := json.Unmarshal(r, &out[i]); err != nil {
					t.Fatalf("a push job's args %s: %v", r, err)
				}
			}
			return out
		}}
	})
}
