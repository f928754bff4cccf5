package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

var _ ports.BulkStore = (*Store)(nil)

// NextNumbers takes n customer numbers.
func (s *Store) NextNumbers(ctx context.Context, n int) ([]int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]int64, max(n, 0))
	for i := range out {
		out[i] = s.nextNumber
		s.nextNumber++
	}
	return out, nil
}

// CustomersByNumber returns the customers with these numbers, restricted
// ones included, erased ones not.
func (s *Store) CustomersByNumber(ctx context.Context, numbers []int64) ([]*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var found []customer.Data
	for _, n := range numbers {
		if id, ok := s.byNumber[n]; ok && s.customers[id].ErasedAt == nil {
			found = append(found, s.customers[id])
		}
	}
	s.mu.Unlock()
	return rebuildAll(dedupe(found))
}

// CustomersByEmail returns the customers with these emails, ignoring case.
func (s *Store) CustomersByEmail(ctx context.Context, emails []string) ([]*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	s.mu.Lock()
	var found []customer.Data
	for _, d := range s.customers {
		if d.Email != "" && want[strings.ToLower(d.Email)] {
			found = append(found, d)
		}
	}
	s.mu.Unlock()
	return rebuildAll(found)
}

func dedupe(ds []customer.Data) []customer.Data {
	seen := map[uuid.UUID]bool{}
	return slices.DeleteFunc(ds, func(d customer.Data) bool {
		dup := seen[d.ID]
		seen[d.ID] = true
		return dup
	})
}

func rebuildAll(ds []customer.Data) ([]*customer.Customer, error) {
	out := make([]*customer.Customer, len(ds))
	for i, d := range ds {
		c, err := rebuild(d)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// WriteBatch checks every write against the store and the batch and stores
// the ones that pass, with their events, at once. The customers it updates
// are locked (in id order, as Update locks one) for the whole write, so an
// Update or another batch waits for it.
func (s *Store) WriteBatch(ctx context.Context, b ports.Batch) ([]ports.BatchRejection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkBatchShape(b); err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, w := range b.Writes {
		if w.Before != nil {
			ids = append(ids, w.Before.ID())
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	s.mu.Lock()
	locks := make([]*sync.Mutex, 0, len(ids))
	for _, id := range ids {
		if l, ok := s.locks[id]; ok {
			locks = append(locks, l)
		}
	}
	s.mu.Unlock()
	for _, l := range locks {
		l.Lock()
		defer l.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()

	after := make([]customer.Data, len(b.Writes))
	for i, w := range b.Writes {
		after[i] = w.Customer.Data()
	}
	rejected := map[int]ports.BatchRejection{}
	reject := func(i int, err error, earlier int) {
		if _, ok := rejected[i]; !ok {
			rejected[i] = ports.BatchRejection{Index: i, Err: err, Earlier: earlier}
		}
	}
	// Versions, and ids and numbers of new customers.
	for i, w := range b.Writes {
		d := after[i]
		if w.Before == nil {
			if _, ok := s.customers[d.ID]; ok {
				reject(i, &fault.Conflict{Field: "id", Message: "a customer with this id already exists"}, -1)
			} else if _, ok := s.byNumber[d.Number]; ok {
				reject(i, &fault.Conflict{Field: "number", Message: fmt.Sprintf("customer number %d is already taken", d.Number)}, -1)
			}
			continue
		}
		stored, ok := s.customers[d.ID]
		if !ok || stored.Version != w.Before.Version() || stored.ErasedAt != nil || !s.checkSource(w) {
			reject(i, &fault.Stale{Want: w.Before.Version(), Have: stored.Version}, -1)
		}
	}
	// Groups.
	made := map[string]bool{}
	for _, g := range b.Groups {
		made[g.ExternalID] = true
	}
	for i, w := range b.Writes {
		var before []string
		if w.Before != nil {
			before = w.Before.Data().Groups
		}
		for _, g := range after[i].Groups {
			if _, ok := s.groups[g]; !ok && !made[g] && !slices.Contains(before, g) && !slices.Contains(b.Promised, g) {
				reject(i, fault.Invalid("groups", "group %q does not exist; create it first", g), -1)
				break
			}
		}
	}
	// Within the batch: the first write to claim a value keeps it.
	claimedBy := map[customer.UniqueKey]int{}
	for i := range b.Writes {
		if _, ok := rejected[i]; ok {
			continue
		}
		for _, c := range customer.UniqueValues(after[i]) {
			if j, ok := claimedBy[c.Key()]; ok {
				reject(i, &fault.Conflict{Field: c.Field, Message: "an earlier customer of the same batch has this " + c.What}, j)
				break
			}
		}
		if _, ok := rejected[i]; ok {
			continue
		}
		for _, c := range customer.UniqueValues(after[i]) {
			claimedBy[c.Key()] = i
		}
	}
	// Against stored customers that the batch does not change; a write
	// rejected here keeps its customer as stored, so check again.
	for {
		written := map[uuid.UUID]bool{}
		for i := range b.Writes {
			if _, ok := rejected[i]; !ok {
				written[after[i].ID] = true
			}
		}
		n := len(rejected)
		for i := range b.Writes {
			if _, ok := rejected[i]; ok {
				continue
			}
			for id, o := range s.customers {
				if written[id] || id == after[i].ID {
					continue
				}
				if err := collision(after[i], o); err != nil {
					reject(i, err, -1)
					break
				}
			}
		}
		if len(rejected) == n {
			break
		}
	}

	out := make([]ports.BatchRejection, 0, len(rejected))
	for i := range b.Writes {
		if r, ok := rejected[i]; ok {
			out = append(out, r)
		}
	}
	if b.DryRun || (b.AllOrNothing && len(out) > 0) {
		return out, nil
	}
	for _, g := range b.Groups {
		if _, ok := s.groups[g.ExternalID]; !ok {
			s.groups[g.ExternalID] = g
		}
	}
	for i, w := range b.Writes {
		if _, ok := rejected[i]; ok {
			continue
		}
		d := after[i]
		s.customers[d.ID] = clone(d)
		if w.Before != nil {
			s.forgetSources(w.Before.Data(), d)
		}
		if w.Before == nil {
			s.byNumber[d.Number] = d.ID
			s.locks[d.ID] = &sync.Mutex{}
			if d.Number >= s.nextNumber {
				s.nextNumber = d.Number + 1
			}
		} else if w.Before.Data().ErasedAt == nil && d.ErasedAt != nil {
			s.scrubIdempotency(d.ID)
		}
		s.recordSource(d.ID, w.Source)
		s.appendEvents(w.Events)
		s.jobs = append(s.jobs, w.Jobs...)
	}
	return out, nil
}

// checkBatchShape refuses a batch that no caller should build: a write
// without a customer, or one that changes a customer's id or number.
func checkBatchShape(b ports.Batch) error {
	for i, w := range b.Writes {
		switch {
		case w.Customer == nil:
			return fmt.Errorf("write %d of the batch has no customer", i)
		case w.Before != nil && (w.Before.ID() != w.Customer.ID() || w.Before.Number() != w.Customer.Number()):
			return fmt.Errorf("write %d of the batch changes the id or number of customer %s", i, w.Before.ID())
		}
		if err := checkJobs(w.Jobs); err != nil {
			return fmt.Errorf("write %d of the batch: %w", i, err)
		}
	}
	return nil
}
