package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

type pushArgs struct {
	Customer uuid.UUID `json:"customer"`
	System   string    `json:"system"`
}

func (pushArgs) Kind() string { return "test.push" }

func jobsOfKind(t *testing.T, pool *pgxpool.Pool, kind string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func newTestCustomer(t *testing.T, s *postgres.Store, email string) *customer.Customer {
	t.Helper()
	ctx := t.Context()
	n, err := s.NextNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := customer.Patch{FirstName: customer.Set("Työ"), LastName: customer.Set("Jono"), Email: customer.Set(email)}
	c, events, err := customer.New(uuid.Must(uuid.NewV7()), n, p, testChange())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c, events); err != nil {
		t.Fatal(err)
	}
	return c
}

func testChange() customer.Change {
	return customer.Change{
		At:     time.Now(),
		Origin: consent.Origin{Source: consent.SourceAPI, Actor: "key:test", RequestID: "req-jobs"},
		NewID:  func() uuid.UUID { return uuid.Must(uuid.NewV7()) },
	}
}

// A job given with a change exists exactly when the change was committed.
func TestJobInTheChangeTransactionExistsExactlyWhenItCommits(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	c := newTestCustomer(t, s, "jono@example.fi")
	other := newTestCustomer(t, s, "toinen@example.fi")
	push := ports.Job{Args: pushArgs{Customer: c.ID(), System: "woocommerce"}}
	errRefused := errors.New("the closure refused")

	tests := []struct {
		name    string
		patch   customer.Patch
		fnErr   error
		wantErr func(error) bool
		want    int // jobs of the kind afterwards
	}{
		{"the closure fails: rolled back", customer.Patch{LastName: customer.Set("Peruttu")}, errRefused,
			func(err error) bool { return errors.Is(err, errRefused) }, 0},
		{"the store refuses the change (email taken): rolled back", customer.Patch{Email: customer.Set(other.Data().Email)}, nil,
			fault.IsConflict, 0},
		{"nothing changed: nothing saved, no job", customer.Patch{}, nil,
			func(err error) bool { return err == nil }, 0},
		{"committed", customer.Patch{LastName: customer.Set("Tallennettu")}, nil,
			func(err error) bool { return err == nil }, 1},
		{"a second change, a second job", customer.Patch{LastName: customer.Set("Taas")}, nil,
			func(err error) bool { return err == nil }, 2},
	}
	for _, tt := range tests {
		_, err := s.UpdateWithJobs(ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, []ports.Job, error) {
			events, err := cu.Apply(tt.patch, testChange())
			if err != nil {
				return nil, nil, err
			}
			return events, []ports.Job{push}, tt.fnErr
		})
		if !tt.wantErr(err) {
			t.Errorf("%s: UpdateWithJobs returned %v", tt.name, err)
		}
		if got := jobsOfKind(t, pool, "test.push"); got != tt.want {
			t.Errorf("%s: %d jobs, want %d", tt.name, got, tt.want)
		}
	}
	var args string
	if err := pool.QueryRow(ctx, `SELECT args->>'system' FROM river_job WHERE kind = 'test.push' LIMIT 1`).Scan(&args); err != nil || args != "woocommerce" {
		t.Errorf("the stored job's args: system = %q, %v", args, err)
	}
	// Plain Update stores no job (and leaves nothing behind for the next).
	if _, err := s.Update(ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, error) {
		return cu.Apply(customer.Patch{LastName: customer.Set("Ilman")}, testChange())
	}); err != nil {
		t.Fatal(err)
	}
	if got := jobsOfKind(t, pool, "test.push"); got != 2 {
		t.Errorf("after a plain Update: %d jobs, want 2", got)
	}
}

func TestEnqueueUniqueReturnsTheWaitingJob(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	job := ports.Job{Args: pushArgs{System: "mycashflow"}, Unique: true, Queue: "connectors", MaxAttempts: 3}
	first, err := s.Enqueue(ctx, job)
	if err != nil || first.Duplicate {
		t.Fatalf("first Enqueue = %+v, %v", first, err)
	}
	again, err := s.Enqueue(ctx, job)
	if err != nil || !again.Duplicate || again.ID != first.ID {
		t.Errorf("second Enqueue = %+v, %v; want a duplicate of %d", again, err, first.ID)
	}
	other, err := s.Enqueue(ctx, ports.Job{Args: pushArgs{System: "woocommerce"}, Unique: true, Queue: "connectors"})
	if err != nil || other.Duplicate {
		t.Errorf("Enqueue with other args = %+v, %v; want a new job", other, err)
	}
	var queue string
	var maxAttempts int
	if err := pool.QueryRow(ctx, `SELECT queue, max_attempts FROM river_job WHERE id = $1`, first.ID).Scan(&queue, &maxAttempts); err != nil {
		t.Fatal(err)
	}
	if queue != "connectors" || maxAttempts != 3 {
		t.Errorf("stored queue %q, max attempts %d; want connectors, 3", queue, maxAttempts)
	}
}

func TestMigrateTwiceLeavesRiversSchemaAsItIs(t *testing.T) {
	url := pgtest.NewDatabase(t) // migrated once
	core, logs := observer.New(zap.DebugLevel)
	start := time.Now()
	if err := postgres.Migrate(t.Context(), url, postgres.WithLogger(zap.New(core))); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	t.Logf("the second Migrate took %s", time.Since(start))
	if applied := logs.FilterMessage("postgres migration applied").All(); len(applied) != 0 {
		t.Errorf("the second Migrate applied %d migrations, want none: %v", len(applied), applied[0].ContextMap())
	}
	pool := pgtest.NewPool(t, url)
	var version, count int
	if err := pool.QueryRow(t.Context(), `SELECT max(version), count(*) FROM river_migration WHERE line = 'main'`).Scan(&version, &count); err != nil {
		t.Fatal(err)
	}
	if version != postgres.RiverSchemaVersion || count != postgres.RiverSchemaVersion {
		t.Errorf("river_migration: newest %d of %d rows; want %d of %d", version, count, postgres.RiverSchemaVersion, postgres.RiverSchemaVersion)
	}
}
