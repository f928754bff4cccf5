package memstore

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

var _ ports.IngestStore = (*Store)(nil)

// linkSource is the source time recorded for a link, and the customer
// that held the link then.
type linkSource struct {
	customer uuid.UUID
	at       time.Time
	echo     []byte
}

// CustomersByPhone returns the customers that have phone, in number order.
func (s *Store) CustomersByPhone(ctx context.Context, phone string) ([]*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var found []customer.Data
	for _, d := range s.customers {
		if slices.Contains(d.PhoneNumbers, phone) {
			found = append(found, d)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(found, func(a, b customer.Data) int { return cmp.Compare(a.Number, b.Number) })
	return rebuildAll(found)
}

// CreateFromSource is Create that also records st.
func (s *Store) CreateFromSource(ctx context.Context, c *customer.Customer, events []consent.Event, st ports.SourceTime, jobs []ports.Job) error {
	return s.create(ctx, c, events, &st, jobs)
}

// UpdateFromSource is Update whose fn also gets what is kept with st's
// link, and that records st.
func (s *Store) UpdateFromSource(ctx context.Context, id uuid.UUID, st ports.SourceTime, fn func(c *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.update(ctx, id, &st, fn)
}

// RecordEcho keeps echo with st's link on customer id, and records st.
func (s *Store) RecordEcho(ctx context.Context, id uuid.UUID, st ports.SourceTime, echo []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	lock, ok := s.locks[id]
	s.mu.Unlock()
	if !ok {
		return notFound(id.String())
	}
	lock.Lock()
	defer lock.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.customers[id].ExternalSystems, st.Link) {
		return nil
	}
	s.recordSource(id, &st)
	ls, ok := s.sources[st.Link]
	if !ok || ls.customer != id {
		ls = linkSource{customer: id}
	}
	ls.echo = slices.Clone(echo)
	s.sources[st.Link] = ls
	return nil
}

// sourceAt is what is kept with st's link on customer id; zero when
// nothing is. The caller holds mu.
func (s *Store) sourceAt(id uuid.UUID, st *ports.SourceTime) ports.LinkSource {
	if st == nil {
		return ports.LinkSource{}
	}
	ls, ok := s.sources[st.Link]
	if !ok || ls.customer != id || !slices.Contains(s.customers[id].ExternalSystems, st.Link) {
		return ports.LinkSource{}
	}
	return ports.LinkSource{At: ls.at, Echo: slices.Clone(ls.echo)}
}

// recordSource records st for customer id when it holds st's link and
// st.At is later than the recorded time. The caller holds mu.
func (s *Store) recordSource(id uuid.UUID, st *ports.SourceTime) {
	if st == nil || st.At.IsZero() || !slices.Contains(s.customers[id].ExternalSystems, st.Link) {
		return
	}
	// A database keeps microseconds: so does the fake.
	at := st.At.UTC().Truncate(time.Microsecond)
	ls, ok := s.sources[st.Link]
	if ok && ls.customer == id && !at.After(ls.at) {
		return
	}
	if !ok || ls.customer != id {
		ls = linkSource{customer: id}
	}
	ls.at = at
	s.sources[st.Link] = ls
}

// forgetSources drops the source times of the links that a customer lost
// from before to next. The caller holds mu.
func (s *Store) forgetSources(before, next customer.Data) {
	for _, l := range before.ExternalSystems {
		if ls, ok := s.sources[l]; ok && ls.customer == before.ID && !slices.Contains(next.ExternalSystems, l) {
			delete(s.sources, l)
		}
	}
}

// CustomersByLinks returns the customers holding these links, each with
// what is kept with its link.
func (s *Store) CustomersByLinks(ctx context.Context, links []customer.ExternalLink) ([]ports.LinkedCustomer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want := make(map[customer.ExternalLink]bool, len(links))
	for _, l := range links {
		want[l] = true
	}
	type hit struct {
		link customer.ExternalLink
		d    customer.Data
		kept ports.LinkSource
	}
	var hits []hit
	s.mu.Lock()
	for id, d := range s.customers {
		if d.ErasedAt != nil {
			continue
		}
		for _, l := range d.ExternalSystems {
			if want[l] {
				hits = append(hits, hit{l, clone(d), s.sourceAt(id, &ports.SourceTime{Link: l})})
			}
		}
	}
	s.mu.Unlock()
	out := make([]ports.LinkedCustomer, len(hits))
	for i, h := range hits {
		c, err := rebuild(h.d)
		if err != nil {
			return nil, err
		}
		out[i] = ports.LinkedCustomer{Link: h.link, Customer: c, Kept: h.kept}
	}
	return out, nil
}

// checkSource tells whether the write of a connector draft (w.Source) to
// an existing customer was decided on what is still kept with its link:
// no later source time, no echo. The caller holds mu.
func (s *Store) checkSource(w ports.BatchWrite) bool {
	if w.Source == nil || w.Before == nil {
		return true
	}
	kept := s.sourceAt(w.Before.ID(), w.Source)
	at := w.Source.At.UTC().Truncate(time.Microsecond)
	return kept.Echo == nil && (w.Source.At.IsZero() || !at.Before(kept.At))
}
