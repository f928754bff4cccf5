package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/core/consent"
)

// seedEvents writes n events straight into the outbox, oldest first.
func seedEvents(t testing.TB, ctx context.Context, pool *pgxpool.Pool, n int) {
	t.Helper()
	at := time.Now().UTC()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{uuid.Must(uuid.NewV7()), at.Add(time.Duration(i) * time.Microsecond), uuid.Must(uuid.NewV7()), int64(10000 + i),
			"marketingEmail", false, true, "import", int32(6), "user:seed", "req", "imp", ""}
	}
	_, err := pool.CopyFrom(ctx, pgx.Identifier{"consent_outbox"}, []string{
		"event_id", "occurred_at", "customer_id", "customer_number", "consent", "old_value",
		"new_value", "source", "source_system_id", "actor", "request_id", "import_id", "evidence",
	}, pgx.CopyFromRows(rows))
	if err != nil {
		t.Fatal(err)
	}
}

func TestRelaySkipLocked(t *testing.T) {
	e := newEnv(t)
	seedEvents(t, e.ctx, e.pool, 30)

	holding := make(chan []consent.Event)
	release := make(chan struct{})
	var (
		wg     sync.WaitGroup
		nA     int
		errA   error
		eventA []consent.Event
	)
	wg.Go(func() {
		nA, errA = e.store.Relay(e.ctx, 10, func(_ context.Context, events []consent.Event) error {
			eventA = events
			holding <- events
			<-release
			return nil
		})
	})
	<-holding // relay A holds the ten oldest events

	// Relay B runs while A is shipping: it must skip A's events, not wait.
	var eventB []consent.Event
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	nB, err := e.store.Relay(ctx, 10, func(_ context.Context, events []consent.Event) error {
		eventB = events
		return nil
	})
	close(release)
	wg.Wait()
	if err != nil || nB != 10 {
		t.Fatalf("relay B: %d, %v; want 10 events without waiting for relay A", nB, err)
	}
	if errA != nil || nA != 10 {
		t.Fatalf("relay A: %d, %v", nA, errA)
	}
	seen := map[uuid.UUID]bool{}
	for _, ev := range append(eventA, eventB...) {
		if seen[ev.ID] {
			t.Errorf("event %s shipped by both relays", ev.ID)
		}
		seen[ev.ID] = true
	}
	if !eventA[9].OccurredAt.Before(eventB[0].OccurredAt) {
		t.Error("relay A did not get the oldest events")
	}
	if n := e.unshipped(); n != 10 {
		t.Errorf("%d events wait, want 10", n)
	}
}

func TestRelayShipFailure(t *testing.T) {
	e := newEnv(t)
	seedEvents(t, e.ctx, e.pool, 5)
	boom := errors.New("clickhouse is down")
	n, err := e.store.Relay(e.ctx, 100, func(context.Context, []consent.Event) error { return boom })
	if !errors.Is(err, boom) || n != 0 {
		t.Fatalf("Relay = %d, %v; want 0 and the ship error", n, err)
	}
	if got := e.unshipped(); got != 5 {
		t.Fatalf("after a failed ship %d events wait, want 5", got)
	}
	n, err = e.store.Relay(e.ctx, 100, func(context.Context, []consent.Event) error { return nil })
	if err != nil || n != 5 {
		t.Fatalf("Relay after recovery = %d, %v; want 5", n, err)
	}
	// Shipped events are purged once old enough.
	if purged, err := e.store.PurgeShipped(e.ctx, time.Hour); err != nil || purged != 0 {
		t.Errorf("PurgeShipped(1h) = %d, %v; want nothing yet", purged, err)
	}
	if purged, err := e.store.PurgeShipped(e.ctx, 0); err != nil || purged != 5 {
		t.Errorf("PurgeShipped(0) = %d, %v; want 5", purged, err)
	}
}
