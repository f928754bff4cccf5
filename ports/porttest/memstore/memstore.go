// Package memstore keeps customers, their consent-event outbox, API keys and
// idempotency records in memory. It is the fake that service and handler
// tests use instead of PostgreSQL, and it is trusted only because it passes
// the same contract suite (ports/porttest) as PostgreSQL does.
//
// A Store is safe for concurrent use. Customers are kept as customer.Data
// copies and rebuilt with customer.FromStorage, so nothing a caller does to a
// returned customer reaches the store.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// Store implements the store ports in memory.
type Store struct {
	mu         sync.Mutex
	nextNumber int64
	customers  map[uuid.UUID]customer.Data
	byNumber   map[int64]uuid.UUID
	groups     map[string]customer.Group
	// locks serialise the updates of one customer; Update holds a
	// customer's lock, but not mu, while its closure runs.
	locks map[uuid.UUID]*sync.Mutex

	outbox  []*entry // in commit order
	nextSeq int64

	keys map[string]access.Key // by hash
	idem map[idemKey]*claim

	// sources are the source times of links (ports.IngestStore).
	sources map[customer.ExternalLink]linkSource

	// jobs are the jobs stored with changes (ports.ChangeJobs), in commit
	// order.
	jobs []ports.Job
}

var (
	_ ports.CustomerStore = (*Store)(nil)
	_ ports.Outbox        = (*Store)(nil)
	_ ports.KeyStore      = (*Store)(nil)
	_ ports.Idempotency   = (*Store)(nil)
	_ ports.ChangeJobs    = (*Store)(nil)
)

// New returns an empty store.
func New() *Store {
	return &Store{
		nextNumber: customer.FirstNumber,
		customers:  map[uuid.UUID]customer.Data{},
		byNumber:   map[int64]uuid.UUID{},
		groups:     map[string]customer.Group{},
		locks:      map[uuid.UUID]*sync.Mutex{},
		keys:       map[string]access.Key{},
		idem:       map[idemKey]*claim{},
		sources:    map[customer.ExternalLink]linkSource{},
	}
}

// NextNumber takes the next customer number.
func (s *Store) NextNumber(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nextNumber
	s.nextNumber++
	return n, nil
}

// Create stores a new customer and its events.
func (s *Store) Create(ctx context.Context, c *customer.Customer, events []consent.Event) error {
	return s.create(ctx, c, events, nil, nil)
}

// create is Create that also records st (CreateFromSource) and keeps jobs
// (CreateWithJobs).
func (s *Store) create(ctx context.Context, c *customer.Customer, events []consent.Event, st *ports.SourceTime, jobs []ports.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkJobs(jobs); err != nil {
		return err
	}
	d := c.Data()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.customers[d.ID]; ok {
		return &fault.Conflict{Field: "id", Message: "a customer with this id already exists"}
	}
	if _, ok := s.byNumber[d.Number]; ok {
		return &fault.Conflict{Field: "number", Message: fmt.Sprintf("customer number %d is already taken", d.Number)}
	}
	if err := s.check(d); err != nil {
		return err
	}
	s.customers[d.ID] = d
	s.byNumber[d.Number] = d.ID
	s.locks[d.ID] = &sync.Mutex{}
	s.appendEvents(events)
	if d.Number >= s.nextNumber {
		s.nextNumber = d.Number + 1
	}
	s.recordSource(d.ID, st)
	s.jobs = append(s.jobs, jobs...)
	return nil
}

// Update loads the customer, runs fn on it and saves the result with fn's
// events when the version grew. Updates of one customer are serialised.
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, error)) (*customer.Customer, error) {
	return s.update(ctx, id, nil, func(c *customer.Customer, _ ports.LinkSource) ([]consent.Event, []ports.Job, error) {
		events, err := fn(c)
		return events, nil, err
	})
}

// update is Update whose fn also gets what is kept with st's link, which
// it records (UpdateFromSource), and returns jobs, kept when the change is
// saved (UpdateWithJobs).
func (s *Store) update(ctx context.Context, id uuid.UUID, st *ports.SourceTime, fn func(c *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	lock, ok := s.locks[id]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(id.String())
	}
	lock.Lock()
	defer lock.Unlock()

	s.mu.Lock()
	d, ok := s.customers[id]
	last := s.sourceAt(id, st)
	s.mu.Unlock()
	if !ok {
		return nil, notFound(id.String())
	}
	c, err := customer.FromStorage(clone(d))
	if err != nil {
		return nil, fmt.Errorf("stored customer %s: %w", id, err)
	}
	events, jobs, err := fn(c, last)
	if err != nil {
		return nil, err
	}
	if err := checkJobs(jobs); err != nil {
		return nil, err
	}
	if c.Version() <= d.Version {
		s.mu.Lock()
		s.recordSource(id, st)
		s.mu.Unlock()
		return c, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	next := c.Data()
	if next.ID != id || next.Number != d.Number {
		return nil, fmt.Errorf("update of customer %s changed its id or number", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(next); err != nil {
		return nil, err
	}
	s.customers[id] = next
	s.forgetSources(d, next)
	s.recordSource(id, st)
	s.appendEvents(events)
	s.jobs = append(s.jobs, jobs...)
	if d.ErasedAt == nil && next.ErasedAt != nil {
		s.scrubIdempotency(id)
	}
	return c, nil
}

// UpdateWithJobs is Update whose fn also returns jobs, kept when the
// change is saved.
func (s *Store) UpdateWithJobs(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.update(ctx, id, nil, func(c *customer.Customer, _ ports.LinkSource) ([]consent.Event, []ports.Job, error) { return fn(c) })
}

// CreateWithJobs is Create that also keeps jobs.
func (s *Store) CreateWithJobs(ctx context.Context, c *customer.Customer, events []consent.Event, jobs []ports.Job) error {
	return s.create(ctx, c, events, nil, jobs)
}

// checkJobs refuses what PostgreSQL's queue refuses: a job without args.
func checkJobs(jobs []ports.Job) error {
	for _, j := range jobs {
		if j.Args == nil {
			return errors.New("memstore: a job without args")
		}
	}
	return nil
}

// Jobs returns the jobs stored with changes so far, in commit order: the
// fake runs no job, so that tests can see what a change enqueued. The
// fake does not coalesce (ports.Job.Coalesce): it keeps every job given.
func (s *Store) Jobs() []ports.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.jobs)
}

// Get reads a customer by id.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	d, ok := s.customers[id]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(id.String())
	}
	return rebuild(d)
}

// GetByNumber reads a customer by customer number.
func (s *Store) GetByNumber(ctx context.Context, number int64) (*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	id, ok := s.byNumber[number]
	d := s.customers[id]
	s.mu.Unlock()
	if !ok {
		return nil, notFound(fmt.Sprintf("number %d", number))
	}
	return rebuild(d)
}

// GetByExternal reads the customer that holds a link.
func (s *Store) GetByExternal(ctx context.Context, link customer.ExternalLink) (*customer.Customer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	var (
		found customer.Data
		ok    bool
	)
	for _, d := range s.customers {
		if slices.Contains(d.ExternalSystems, link) {
			found, ok = d, true
			break
		}
	}
	s.mu.Unlock()
	if !ok {
		return nil, notFound("link " + link.String())
	}
	return rebuild(found)
}

// CreateGroup stores a customer group.
func (s *Store) CreateGroup(ctx context.Context, g customer.Group) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[g.ExternalID]; ok {
		return &fault.Conflict{Field: "externalId", Message: fmt.Sprintf("group %q already exists", g.ExternalID)}
	}
	s.groups[g.ExternalID] = g
	return nil
}

// ListGroups lists every group by external id.
func (s *Store) ListGroups(ctx context.Context) ([]customer.Group, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]customer.Group, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b customer.Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	return out, nil
}

// check enforces what the store guards: groups exist, and no other customer
// holds one of d's unique identifiers. The caller holds mu.
func (s *Store) check(d customer.Data) error {
	for i, g := range d.Groups {
		if _, ok := s.groups[g]; !ok {
			return &fault.Validation{Fields: []fault.FieldError{{
				Field:   fmt.Sprintf("groups[%d]", i),
				Message: fmt.Sprintf("group %q does not exist; create it first", g),
				Value:   g,
			}}}
		}
	}
	for id, o := range s.customers {
		if id == d.ID {
			continue
		}
		if err := collision(d, o); err != nil {
			return err
		}
	}
	return nil
}

// collision reports the first unique identifier that d and o share.
func collision(d, o customer.Data) error {
	switch {
	case d.Email != "" && strings.EqualFold(d.Email, o.Email):
		return taken("email", "email address", o.Number)
	case d.ExternalID != "" && d.ExternalID == o.ExternalID:
		return taken("externalId", "external id", o.Number)
	case d.NetvisorID != "" && d.NetvisorID == o.NetvisorID:
		return taken("netvisorId", "Netvisor id", o.Number)
	}
	for _, l := range d.ExternalSystems {
		if slices.Contains(o.ExternalSystems, l) {
			return taken("externalSystems", "link "+l.String(), o.Number)
		}
	}
	for _, c := range d.CustomerCards {
		if slices.Contains(o.CustomerCards, c) {
			return taken("customerCards", "customer card "+c, o.Number)
		}
	}
	if d.SSN != "" && d.SSN == o.SSN {
		// Never name the code: it is personal data.
		return &fault.Conflict{Field: "ssn", Message: "this personal identity code belongs to another customer"}
	}
	return nil
}

func taken(field, what string, number int64) error {
	return &fault.Conflict{Field: field, Message: fmt.Sprintf("%s belongs to customer %d", what, number)}
}

func notFound(key string) error { return &fault.NotFound{What: "customer", Key: key} }

func rebuild(d customer.Data) (*customer.Customer, error) {
	c, err := customer.FromStorage(clone(d))
	if err != nil {
		return nil, fmt.Errorf("stored customer %d: %w", d.Number, err)
	}
	return c, nil
}

// clone copies d deeply, so that a customer never shares memory with the
// store (FromStorage keeps the slices it is given).
func clone(d customer.Data) customer.Data {
	d.ExternalSystems = slices.Clone(d.ExternalSystems)
	d.CustomerCards = slices.Clone(d.CustomerCards)
	d.Groups = slices.Clone(d.Groups)
	d.Addresses = slices.Clone(d.Addresses)
	d.PhoneNumbers = slices.Clone(d.PhoneNumbers)
	d.Contacts = slices.Clone(d.Contacts)
	if d.ErasedAt != nil {
		t := *d.ErasedAt
		d.ErasedAt = &t
	}
	return d
}
