// Package porttest is the one contract test suite of the store ports:
// ports.CustomerStore, ports.BulkStore, ports.Outbox, ports.KeyStore and
// ports.Idempotency.
// Every implementation (PostgreSQL, the in-memory fake) runs it from its own
// tests, in the manner of go-cloud's drivertest:
//
//	func TestContract(t *testing.T) {
//		porttest.Run(t, func(t *testing.T) porttest.Stores {
//			s := memstore.New()
//			return porttest.Stores{Customers: s, Bulk: s, Outbox: s, Keys: s, Idempotency: s}
//		})
//	}
//
// The suite needs nothing but the ports: it builds customers through the real
// core (customer.New with a customer.Patch, register.Service where a use case
// is the natural way in), with a fake clock and UUID v7 ids of its own. Times
// are compared as instants, to within a microsecond, because a database may
// keep no finer precision.
package porttest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// Stores is what an implementation under test provides. Each call of the
// factory given to Run must return stores over an empty database, so that
// tests are independent of each other. All four may be the same value.
type Stores struct {
	Customers   ports.CustomerStore
	Outbox      ports.Outbox
	Keys        ports.KeyStore
	Idempotency ports.Idempotency
	// Bulk is the bulk path of Customers: the same store.
	Bulk ports.BulkStore
	// ExpireClaim makes the running idempotency claim of (scope, key)
	// older than ports.IdempotencyLease, as if its process had died, so
	// that the takeover can be tested without waiting. The store's own
	// back door: the port has no such method.
	ExpireClaim func(t *testing.T, scope, key string)
}

type opener = func(t *testing.T) Stores

// Run runs the whole suite. open is called once per test, never
// concurrently, and must hand back stores over an empty database; cleanup
// belongs in t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Helper()
	if open == nil {
		t.Fatal("porttest.Run: open is nil")
	}
	suites := []struct {
		name string
		run  func(*testing.T, opener)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"NextNumber", testNextNumber},
		{"Uniqueness", testUniqueness},
		{"Groups", testGroups},
		{"Update", testUpdate},
		{"Outbox", testOutbox},
		{"Find", testFind},
		{"Keys", testKeys},
		{"Idempotency", testIdempotency},
		{"Bulk", testBulk},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) { s.run(t, open) })
	}
}

// clock is a fake ports.Clock: every reading is one second after the
// previous one. Its times carry nanoseconds below the microsecond on
// purpose, so that stores keeping microseconds are compared fairly.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 3, 14, 9, 26, 53, 589_793_238, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(time.Second)
	return t
}

// idSource is the suite's ports.IDs: UUID v7.
type idSource struct{}

func (idSource) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

var (
	_ ports.Clock = (*clock)(nil)
	_ ports.IDs   = idSource{}
)

// Origins of the changes the suite makes. Every field is set, so that an
// event that loses one on its way through the outbox is noticed.
var (
	apiOrigin = consent.Origin{
		Source:    consent.SourceAPI,
		Actor:     "key:porttest",
		RequestID: "req-porttest",
		Evidence:  "ticked the box at the till",
	}
	importOrigin = consent.Origin{
		Source:         consent.SourceImport,
		SourceSystemID: int(customer.WooCommerce),
		Actor:          "user:importer",
		RequestID:      "req-import",
		ImportID:       "imp-42",
		Evidence:       "row 17 of asiakkaat.xlsx",
	}
	admin = register.Caller{Origin: apiOrigin, SeeRestricted: true}
)

// fixture is one test's world: fresh stores, a clock, and the register
// service over them.
type fixture struct {
	t   *testing.T
	ctx context.Context
	Stores
	clock *clock
	ids   idSource
	reg   *register.Service
}

func setup(t *testing.T, open opener) *fixture {
	t.Helper()
	s := open(t)
	if s.Customers == nil || s.Outbox == nil || s.Keys == nil || s.Idempotency == nil || s.Bulk == nil {
		t.Fatalf("porttest: open returned incomplete Stores %+v", s)
	}
	c := newClock()
	return &fixture{
		t:      t,
		ctx:    t.Context(),
		Stores: s,
		clock:  c,
		reg:    register.New(s.Customers, c, idSource{}),
	}
}

func (f *fixture) change(o consent.Origin) customer.Change {
	return customer.Change{At: f.clock.Now(), Origin: o, NewID: f.ids.New}
}

// groups creates customer groups named by their external ids.
func (f *fixture) groups(ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		if err := f.Customers.CreateGroup(f.ctx, customer.Group{ExternalID: id, Name: "Group " + id}); err != nil {
			f.t.Fatalf("CreateGroup(%q): %v", id, err)
		}
	}
}

// create makes a customer through the register service.
func (f *fixture) create(p customer.Patch) *customer.Customer {
	f.t.Helper()
	c, err := f.reg.Create(f.ctx, p, admin)
	if err != nil {
		f.t.Fatalf("register.Create: %v", err)
	}
	return c
}

// build makes a customer with the core, with a number from the store, but
// does not store it.
func (f *fixture) build(p customer.Patch, o consent.Origin) (*customer.Customer, []consent.Event) {
	f.t.Helper()
	n, err := f.Customers.NextNumber(f.ctx)
	if err != nil {
		f.t.Fatalf("NextNumber: %v", err)
	}
	c, events, err := customer.New(f.ids.New(), n, p, f.change(o))
	if err != nil {
		f.t.Fatalf("customer.New: %v", err)
	}
	return c, events
}

// createEvents stores a new customer with the store's Create and returns the
// events the core produced for it.
func (f *fixture) createEvents(p customer.Patch, o consent.Origin) (*customer.Customer, []consent.Event) {
	f.t.Helper()
	c, events := f.build(p, o)
	if err := f.Customers.Create(f.ctx, c, events); err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return c, events
}

// apply runs p through the store's Update and returns the customer after it
// and the events the core produced.
func (f *fixture) apply(id uuid.UUID, p customer.Patch, o consent.Origin) (*customer.Customer, []consent.Event) {
	f.t.Helper()
	var events []consent.Event
	c, err := f.Customers.Update(f.ctx, id, func(c *customer.Customer) ([]consent.Event, error) {
		var err error
		events, err = c.Apply(p, f.change(o))
		return events, err
	})
	if err != nil {
		f.t.Fatalf("Update(%s): %v", id, err)
	}
	return c, events
}

// tryApply is apply that returns the store's error.
func (f *fixture) tryApply(id uuid.UUID, p customer.Patch, o consent.Origin) error {
	_, err := f.Customers.Update(f.ctx, id, func(c *customer.Customer) ([]consent.Event, error) {
		return c.Apply(p, f.change(o))
	})
	return err
}

func (f *fixture) get(id uuid.UUID) customer.Data {
	f.t.Helper()
	c, err := f.Customers.Get(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Get(%s): %v", id, err)
	}
	return c.Data()
}

func (f *fixture) backlog() int64 {
	f.t.Helper()
	n, _, err := f.Outbox.Backlog(f.ctx)
	if err != nil {
		f.t.Fatalf("Backlog: %v", err)
	}
	return n
}

// drain relays every waiting event and returns them in the order shipped.
func (f *fixture) drain() []consent.Event {
	f.t.Helper()
	var all []consent.Event
	for range 1000 {
		var batch []consent.Event
		n, err := f.Outbox.Relay(f.ctx, 100, func(_ context.Context, events []consent.Event) error {
			batch = append(batch, events...)
			return nil
		})
		if err != nil {
			f.t.Fatalf("Relay: %v", err)
		}
		if n != len(batch) {
			f.t.Fatalf("Relay returned %d but shipped %d events", n, len(batch))
		}
		if n == 0 {
			return all
		}
		all = append(all, batch...)
	}
	f.t.Fatal("Relay never ran dry")
	return nil
}

func person(first, last string) customer.Patch {
	return customer.Patch{FirstName: customer.Set(first), LastName: customer.Set(last)}
}

func company(name, businessID string) customer.Patch {
	return customer.Patch{
		Type:        customer.Set(customer.Company),
		CompanyName: customer.Set(name),
		BusinessID:  customer.Set(businessID),
	}
}

// --- assertions ---

// closeTime reports whether two instants are within a microsecond.
func closeTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d >= -time.Microsecond && d <= time.Microsecond
}

// diffData lists the fields in which got differs from want. Times are
// compared as instants to within a microsecond; groups, customer cards and
// external links are sets, compared without regard to order; every other
// list keeps its order.
func diffData(got, want customer.Data) []string {
	var diffs []string
	times := []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	}
	for _, tt := range times {
		if !closeTime(tt.got, tt.want) {
			diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", tt.name, tt.got.UTC().Format(time.RFC3339Nano), tt.want.UTC().Format(time.RFC3339Nano)))
		}
	}
	switch {
	case (got.ErasedAt == nil) != (want.ErasedAt == nil):
		diffs = append(diffs, fmt.Sprintf("ErasedAt: got %v, want %v", got.ErasedAt, want.ErasedAt))
	case got.ErasedAt != nil && !closeTime(*got.ErasedAt, *want.ErasedAt):
		diffs = append(diffs, fmt.Sprintf("ErasedAt: got %s, want %s", got.ErasedAt.UTC(), want.ErasedAt.UTC()))
	}
	got.CreatedAt, got.UpdatedAt, got.ErasedAt = want.CreatedAt, want.UpdatedAt, want.ErasedAt
	got, want = sortSets(got), sortSets(want)

	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", gv.Type().Field(i).Name, g, w))
		}
	}
	return diffs
}

func sortSets(d customer.Data) customer.Data {
	d.Groups = slices.Sorted(slices.Values(d.Groups))
	d.CustomerCards = slices.Sorted(slices.Values(d.CustomerCards))
	d.ExternalSystems = slices.Clone(d.ExternalSystems)
	slices.SortFunc(d.ExternalSystems, func(a, b customer.ExternalLink) int {
		if a.SystemID != b.SystemID {
			return int(a.SystemID) - int(b.SystemID)
		}
		return strings.Compare(a.Identifier, b.Identifier)
	})
	if len(d.Groups) == 0 {
		d.Groups = nil
	}
	if len(d.CustomerCards) == 0 {
		d.CustomerCards = nil
	}
	if len(d.ExternalSystems) == 0 {
		d.ExternalSystems = nil
	}
	return d
}

func assertData(t *testing.T, what string, got, want customer.Data) {
	t.Helper()
	if diffs := diffData(got, want); len(diffs) > 0 {
		t.Errorf("%s: customer differs from what was stored:\n\t%s", what, strings.Join(diffs, "\n\t"))
	}
}

// diffEvent lists the fields in which two events differ; OccurredAt to
// within a microsecond.
func diffEvent(got, want consent.Event) []string {
	var diffs []string
	if !closeTime(got.OccurredAt, want.OccurredAt) {
		diffs = append(diffs, fmt.Sprintf("OccurredAt: got %s, want %s", got.OccurredAt.UTC().Format(time.RFC3339Nano), want.OccurredAt.UTC().Format(time.RFC3339Nano)))
	}
	got.OccurredAt = want.OccurredAt
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s: got %#v, want %#v", gv.Type().Field(i).Name, g, w))
		}
	}
	return diffs
}

func assertEvents(t *testing.T, what string, got, want []consent.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d events, want %d:\n\tgot  %s\n\twant %s", what, len(got), len(want), eventList(got), eventList(want))
		return
	}
	for i := range got {
		if diffs := diffEvent(got[i], want[i]); len(diffs) > 0 {
			t.Errorf("%s: event %d (%s of customer %d) differs:\n\t%s", what, i, want[i].Consent, want[i].CustomerNumber, strings.Join(diffs, "\n\t"))
		}
	}
}

func eventList(events []consent.Event) string {
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = fmt.Sprintf("%d:%s %v→%v", e.CustomerNumber, e.Consent, e.OldValue, e.NewValue)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	var nf *fault.NotFound
	if !errors.As(err, &nf) {
		t.Errorf("%s: got error %v (%T), want *fault.NotFound", what, err, err)
	}
}

func wantConflict(t *testing.T, what string, err error, field string) {
	t.Helper()
	var c *fault.Conflict
	if !errors.As(err, &c) {
		t.Errorf("%s: got error %v (%T), want *fault.Conflict on %q", what, err, err, field)
		return
	}
	if c.Field != field {
		t.Errorf("%s: conflict on field %q (%v), want %q", what, c.Field, c, field)
	}
}

// wantValidation checks for a *fault.Validation naming field, or an element
// of it ("groups" accepts "groups" and "groups[1]").
func wantValidation(t *testing.T, what string, err error, field string) {
	t.Helper()
	var v *fault.Validation
	if !errors.As(err, &v) {
		t.Errorf("%s: got error %v (%T), want *fault.Validation on %q", what, err, err, field)
		return
	}
	for _, fe := range v.Fields {
		if fe.Field == field || strings.HasPrefix(fe.Field, field+"[") || strings.HasPrefix(fe.Field, field+".") {
			return
		}
	}
	t.Errorf("%s: validation error %v does not name field %q", what, v, field)
}
