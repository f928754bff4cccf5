package memstore

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// sessionKey marks the context of a Session's fn.
type sessionKey struct{}

// sessions serialises Sessions of all stores (a fake has few).
var sessions sync.Mutex

// Session runs fn and, when it fails, puts back the customers, groups,
// source times of links, outbox and jobs as they were before it
// (ports.BulkStore.Session). A Session within one does the same for what
// its own fn did: it rolls back alone, as PostgreSQL's savepoint does.
// Unlike PostgreSQL's, a session of the fake isolates nothing: others see
// its writes at once, and a rollback also undoes what they wrote
// meanwhile. Core tests that use it run one writer at a time.
func (s *Store) Session(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ctx.Value(sessionKey{}) == nil {
		sessions.Lock()
		defer sessions.Unlock()
	}
	s.mu.Lock()
	customers, byNumber, groups, sources := maps.Clone(s.customers), maps.Clone(s.byNumber), maps.Clone(s.groups), maps.Clone(s.sources)
	nextSeq, jobs := s.nextSeq, len(s.jobs)
	s.mu.Unlock()
	err := fn(context.WithValue(ctx, sessionKey{}, true))
	if err == nil {
		return nil
	}
	s.mu.Lock()
	s.customers, s.byNumber, s.groups, s.sources = customers, byNumber, groups, sources
	s.outbox = slices.DeleteFunc(s.outbox, func(e *entry) bool { return e.seq > nextSeq })
	s.nextSeq = nextSeq
	s.jobs = s.jobs[:min(jobs, len(s.jobs))]
	s.mu.Unlock()
	return err
}
