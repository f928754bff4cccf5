package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
)

// seedEvents writes n events into the outbox, oldest first, perRow a row.
func seedEvents(t testing.TB, ctx context.Context, pool *pgxpool.Pool, n, perRow int) []consent.Event {
	t.Helper()
	at := time.Now().UTC().Truncate(time.Microsecond)
	events := make([]consent.Event, n)
	for i := range events {
		events[i] = consent.Event{ID: uuid.Must(uuid.NewV7()), OccurredAt: at.Add(time.Duration(i) * time.Microsecond),
			CustomerID: uuid.Must(uuid.NewV7()), CustomerNumber: int64(10000 + i), Consent: consent.MarketingEmail,
			NewValue: true, Source: consent.SourceImport, SourceSystemID: 6, Actor: "user:seed", RequestID: "req", ImportID: "imp"}
	}
	if err := postgres.SeedOutbox(ctx, pool, events, perRow); err != nil {
		t.Fatal(err)
	}
	return events
}

func TestRelaySkipLocked(t *testing.T) {
	e := newEnv(t)
	seedEvents(t, e.ctx, e.pool, 30, 1)

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
	seedEvents(t, e.ctx, e.pool, 5, 1)
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

// TestRelayShipsARowOverSeveralCalls: a row of many events (an import's
// batch) goes in its order over as many calls as max needs, with rows of
// one event around it; the backlog counts and dates what is left of it,
// and it is purged only once every event of it is shipped.
func TestRelayShipsARowOverSeveralCalls(t *testing.T) {
	e := newEnv(t)
	first := seedEvents(t, e.ctx, e.pool, 1, 1)
	big := seedEvents(t, e.ctx, e.pool, 25, 25)
	last := seedEvents(t, e.ctx, e.pool, 2, 1)
	want := append(append(append([]consent.Event{}, first...), big...), last...)
	var got []consent.Event
	for i, wantN := range []int{10, 10, 8} {
		n, err := e.store.Relay(e.ctx, 10, func(_ context.Context, events []consent.Event) error {
			got = append(got, events...)
			return nil
		})
		if err != nil || n != wantN {
			t.Fatalf("call %d: Relay = %d, %v; want %d", i+1, n, err, wantN)
		}
		if i == 0 {
			n, oldest, err := e.store.Backlog(e.ctx)
			if err != nil || n != 18 || !oldest.Equal(big[9].OccurredAt) {
				t.Errorf("backlog after the first call: %d, oldest %v, %v; want 18, oldest %v (the big row's tenth)", n, oldest, err, big[9].OccurredAt)
			}
			if purged, err := e.store.PurgeShipped(e.ctx, 0); err != nil || purged != 1 {
				t.Errorf("PurgeShipped with the big row half shipped = %d, %v; want 1 (the first row)", purged, err)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("shipped %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("event %d shipped as\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
	if n, err := e.store.Relay(e.ctx, 10, func(context.Context, []consent.Event) error { return nil }); err != nil || n != 0 {
		t.Errorf("Relay with nothing waiting = %d, %v", n, err)
	}
	if purged, err := e.store.PurgeShipped(e.ctx, 0); err != nil || purged != 27 {
		t.Errorf("PurgeShipped(0) = %d, %v; want the 27 left", purged, err)
	}
}

// TestOutboxKeepsEveryCharacter: events whose texts hold what JSON must
// escape (quotes, backslashes, control characters, non-ASCII) come out of
// the relay and out of the view consent_outbox as they went in.
func TestOutboxKeepsEveryCharacter(t *testing.T) {
	e := newEnv(t)
	texts := []string{`"lainattu" \ kenoviiva`, "rivi\nrivi\ttab\x01\x1f", "åäö € 𝄞 \u2028", "</script>&amp;"}
	at := time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC)
	var events []consent.Event
	for i, s := range texts {
		events = append(events, consent.Event{ID: uuid.Must(uuid.NewV7()), OccurredAt: at.Add(time.Duration(i) * time.Hour),
			CustomerID: uuid.Must(uuid.NewV7()), CustomerNumber: int64(i + 1), Consent: consent.MarketingSMS, OldValue: true,
			Source: consent.SourceConnector, SourceSystemID: 7, Actor: s, RequestID: s + "r", ImportID: s + "i", Evidence: s + "e"})
	}
	if err := postgres.SeedOutbox(e.ctx, e.pool, events, len(events)); err != nil {
		t.Fatal(err)
	}
	rows, err := e.pool.Query(e.ctx, `SELECT event_id, occurred_at, actor, request_id, import_id, evidence, consent, source, source_system_id
		FROM consent_outbox ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var (
			id                                          uuid.UUID
			occurred                                    time.Time
			actor, request, imp, evidence, kind, source string
			system                                      int32
		)
		if err := rows.Scan(&id, &occurred, &actor, &request, &imp, &evidence, &kind, &source, &system); err != nil {
			t.Fatal(err)
		}
		w := events[i]
		if id != w.ID || !occurred.Equal(w.OccurredAt) || actor != w.Actor || request != w.RequestID || imp != w.ImportID ||
			evidence != w.Evidence || kind != string(w.Consent) || source != string(w.Source) || int(system) != w.SourceSystemID {
			t.Errorf("the view shows event %d as %v %v %q %q %q %q %s %s %d, want %+v", i, id, occurred, actor, request, imp, evidence, kind, source, system, w)
		}
		i++
	}
	if err := rows.Err(); err != nil || i != len(events) {
		t.Fatalf("the view shows %d events (%v), want %d", i, err, len(events))
	}
	var got []consent.Event
	if _, err := e.store.Relay(e.ctx, 100, func(_ context.Context, ev []consent.Event) error { got = ev; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(events) {
		t.Fatalf("relayed %d events, want %d", len(got), len(events))
	}
	for i := range events {
		if got[i] != events[i] {
			t.Errorf("event %d relayed as\n%+v\nwant\n%+v", i, got[i], events[i])
		}
	}
}
