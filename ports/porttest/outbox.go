package porttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// history makes changes that produce events, through Create and Update, and
// returns the events in the order they were committed.
func history(f *fixture) []consent.Event {
	f.t.Helper()
	var all []consent.Event
	p := person("Outi", "Outbox")
	p.MarketingEmail = customer.Set(true)
	p.MarketingSMS = customer.Set(true)
	a, events := f.createEvents(p, importOrigin) // 2 events
	all = append(all, events...)

	_, events = f.apply(a.ID(), customer.Patch{GDPRRestricted: customer.Set(true)}, apiOrigin) // 1
	all = append(all, events...)

	q := person("Toinen", "Tapahtuma")
	q.MarketingEmail = customer.Set(true)
	_, events = f.createEvents(q, apiOrigin) // 1
	all = append(all, events...)

	var erasure []consent.Event
	_, err := f.Customers.Update(f.ctx, a.ID(), func(c *customer.Customer) ([]consent.Event, error) {
		erasure = c.Erase(f.change(apiOrigin))
		return erasure, nil
	}) // marketingEmail and marketingSms withdrawn, erased: 3
	if err != nil {
		f.t.Fatalf("Update (erase): %v", err)
	}
	all = append(all, erasure...)
	if len(all) != 7 {
		f.t.Fatalf("the core made %d events, want 7: %s", len(all), eventList(all))
	}
	return all
}

// simpleEvents makes n changes of one event each and returns the events.
func simpleEvents(f *fixture, n int) []consent.Event {
	f.t.Helper()
	c := f.create(person("Yksi", "Kerrallaan"))
	var all []consent.Event
	for i := range n {
		_, events := f.apply(c.ID(), customer.Patch{MarketingEmail: customer.Set(i%2 == 0)}, apiOrigin)
		if len(events) != 1 {
			f.t.Fatalf("change %d made %d events, want 1", i, len(events))
		}
		all = append(all, events...)
	}
	return all
}

func testOutbox(t *testing.T, open opener) {
	t.Run("EmptyBacklog", func(t *testing.T) {
		f := setup(t, open)
		n, oldest, err := f.Outbox.Backlog(f.ctx)
		if err != nil || n != 0 || !oldest.IsZero() {
			t.Errorf("Backlog on an empty store = %d, %v, %v; want 0, zero time, nil", n, oldest, err)
		}
		called := false
		shipped, err := f.Outbox.Relay(f.ctx, 10, func(_ context.Context, events []consent.Event) error {
			called = len(events) > 0
			return nil
		})
		if err != nil || shipped != 0 || called {
			t.Errorf("Relay on an empty outbox = %d, %v (events handed over: %v); want 0, nil, none", shipped, err, called)
		}
	})

	t.Run("InCommitOrderWithEveryField", func(t *testing.T) {
		f := setup(t, open)
		want := history(f)

		n, oldest, err := f.Outbox.Backlog(f.ctx)
		if err != nil {
			t.Fatalf("Backlog: %v", err)
		}
		if n != int64(len(want)) || !closeTime(oldest, want[0].OccurredAt) {
			t.Errorf("Backlog = %d, %s; want %d, %s", n, oldest.UTC(), len(want), want[0].OccurredAt.UTC())
		}

		var got []consent.Event
		shipped, err := f.Outbox.Relay(f.ctx, 100, func(_ context.Context, events []consent.Event) error {
			got = append(got, events...)
			return nil
		})
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
		if shipped != len(want) {
			t.Errorf("Relay shipped %d, want %d", shipped, len(want))
		}
		assertEvents(t, "Relay", got, want)

		n, oldest, err = f.Outbox.Backlog(f.ctx)
		if err != nil || n != 0 || !oldest.IsZero() {
			t.Errorf("Backlog after shipping everything = %d, %v, %v; want 0, zero time, nil", n, oldest, err)
		}
		if again := f.drain(); len(again) != 0 {
			t.Errorf("shipped events were offered again: %s", eventList(again))
		}
	})

	t.Run("ShipFailureKeepsEvents", func(t *testing.T) {
		f := setup(t, open)
		want := simpleEvents(f, 3)
		errShip := errors.New("porttest: ClickHouse is down")
		var offered []consent.Event
		shipped, err := f.Outbox.Relay(f.ctx, 10, func(_ context.Context, events []consent.Event) error {
			offered = append(offered, events...)
			return errShip
		})
		if shipped != 0 {
			t.Errorf("Relay with a failing ship returned %d shipped, want 0", shipped)
		}
		if err != nil && !errors.Is(err, errShip) {
			t.Errorf("Relay with a failing ship returned %v, want nil or the ship error", err)
		}
		assertEvents(t, "events offered to the failing ship", offered, want)
		if n := f.backlog(); n != int64(len(want)) {
			t.Errorf("Backlog after a failed ship = %d, want %d", n, len(want))
		}
		assertEvents(t, "Relay after a failed ship", f.drain(), want)
	})

	t.Run("Max", func(t *testing.T) {
		f := setup(t, open)
		want := simpleEvents(f, 5)
		relay := func(max int) []consent.Event {
			t.Helper()
			var got []consent.Event
			n, err := f.Outbox.Relay(f.ctx, max, func(_ context.Context, events []consent.Event) error {
				got = append(got, events...)
				return nil
			})
			if err != nil {
				t.Fatalf("Relay(%d): %v", max, err)
			}
			if n != len(got) {
				t.Errorf("Relay(%d) returned %d, but shipped %d", max, n, len(got))
			}
			return got
		}
		assertEvents(t, "first Relay(2)", relay(2), want[:2])
		n, oldest, err := f.Outbox.Backlog(f.ctx)
		if err != nil || n != 3 || !closeTime(oldest, want[2].OccurredAt) {
			t.Errorf("Backlog = %d, %s, %v; want 3, %s, nil", n, oldest.UTC(), err, want[2].OccurredAt.UTC())
		}
		assertEvents(t, "second Relay(2)", relay(2), want[2:4])
		assertEvents(t, "Relay(10)", relay(10), want[4:])
		n, oldest, err = f.Outbox.Backlog(f.ctx)
		if err != nil || n != 0 || !oldest.IsZero() {
			t.Errorf("Backlog after shipping everything = %d, %v, %v; want 0, zero time, nil", n, oldest, err)
		}
	})

	t.Run("ConcurrentRelays", func(t *testing.T) {
		f := setup(t, open)
		want := simpleEvents(f, 4)

		var (
			mu      sync.Mutex
			shipped = map[uuid.UUID]int{}
			entered = make(chan struct{})
			release = make(chan struct{})
			wg      sync.WaitGroup
		)
		record := func(events []consent.Event) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range events {
				shipped[e.ID]++
			}
		}
		wg.Go(func() {
			first := true
			_, err := f.Outbox.Relay(f.ctx, 2, func(_ context.Context, events []consent.Event) error {
				record(events)
				if first {
					first = false
					close(entered)
					<-release
				}
				return nil
			})
			if err != nil {
				t.Errorf("blocked Relay: %v", err)
			}
		})
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("the first Relay never called ship")
		}

		second := make(chan struct{})
		wg.Go(func() {
			defer close(second)
			_, err := f.Outbox.Relay(f.ctx, 10, func(_ context.Context, events []consent.Event) error {
				record(events)
				return nil
			})
			if err != nil {
				t.Errorf("second Relay: %v", err)
			}
		})
		// The second relay may take the other events at once or wait for
		// the first; it must not take the first one's.
		select {
		case <-second:
		case <-time.After(2 * time.Second):
		}
		close(release)
		wg.Wait()
		rest := f.drain()
		record(rest)

		for _, e := range want {
			if n := shipped[e.ID]; n != 1 {
				t.Errorf("event %s (%s %v→%v) was shipped %d times, want once", e.ID, e.Consent, e.OldValue, e.NewValue, n)
			}
		}
		if len(shipped) != len(want) {
			t.Errorf("%d distinct events shipped, want %d", len(shipped), len(want))
		}
	})
}
