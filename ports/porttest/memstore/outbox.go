package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"kirjuri/core/consent"
)

// entry is one event waiting in the outbox.
type entry struct {
	seq     int64
	event   consent.Event
	claimed bool // offered to a relay that has not answered yet
}

// appendEvents adds the events of a committed change. The caller holds mu.
func (s *Store) appendEvents(events []consent.Event) {
	for _, e := range events {
		s.nextSeq++
		s.outbox = append(s.outbox, &entry{seq: s.nextSeq, event: e})
	}
}

// Relay claims up to max unshipped events, oldest first, and hands them to
// ship without holding the store's lock, so that other relays and writers
// go on meanwhile. Shipped events are removed; when ship fails they are
// released for the next relay and its error is returned.
func (s *Store) Relay(ctx context.Context, max int, ship func(ctx context.Context, events []consent.Event) error) (int, error) {
	if max <= 0 {
		return 0, fmt.Errorf("relay: max must be positive, not %d", max)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	var claimed []*entry
	for _, e := range s.outbox {
		if len(claimed) == max {
			break
		}
		if !e.claimed {
			e.claimed = true
			claimed = append(claimed, e)
		}
	}
	s.mu.Unlock()
	if len(claimed) == 0 {
		return 0, nil
	}

	events := make([]consent.Event, len(claimed))
	for i, e := range claimed {
		events[i] = e.event
	}
	err := ship(ctx, events)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		for _, e := range claimed {
			e.claimed = false
		}
		return 0, fmt.Errorf("relay: ship %d consent events: %w", len(claimed), err)
	}
	s.outbox = slices.DeleteFunc(s.outbox, func(e *entry) bool { return slices.Contains(claimed, e) })
	return len(claimed), nil
}

// Backlog counts the unshipped events, claimed ones included, and tells when
// the oldest occurred.
func (s *Store) Backlog(ctx context.Context) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, e := range s.outbox {
		if oldest.IsZero() || e.event.OccurredAt.Before(oldest) {
			oldest = e.event.OccurredAt
		}
	}
	return int64(len(s.outbox)), oldest, nil
}
