package register_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

// helsinki is a zone away from UTC, to show that the service stores UTC.
var helsinki = time.FixedZone("EET", 2*60*60)

// now is what the fake clock says, in Helsinki time.
var now = time.Date(2025, 3, 1, 14, 0, 0, 0, helsinki)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// idSource hands out v7 ids and remembers them, so that a test can tell
// that an id came from the port.
type idSource struct {
	mu   sync.Mutex
	seen map[uuid.UUID]bool
}

func (s *idSource) New() uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[id] = true
	return id
}

func (s *idSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *idSource) handedOut(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

type fixture struct {
	svc   *register.Service
	store *memstore.Store
	ids   *idSource
}

func setup(t *testing.T) fixture {
	t.Helper()
	store := memstore.New()
	ids := &idSource{seen: map[uuid.UUID]bool{}}
	f := fixture{svc: register.New(store, fixedClock{now}, ids), store: store, ids: ids}
	for _, g := range []string{"vip", "b2b"} {
		if _, err := f.svc.CreateGroup(context.Background(), customer.Group{ExternalID: g}); err != nil {
			t.Fatalf("CreateGroup %s: %v", g, err)
		}
	}
	return f
}

var (
	api = consent.Origin{Source: consent.SourceAPI, Actor: "key:shop", RequestID: "req-1", Evidence: "web form, double opt-in"}
	// user may not see restricted customers; admin may.
	user  = register.Caller{Origin: api}
	admin = register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "key:admin", RequestID: "req-2", Evidence: "written request of the customer"}, SeeRestricted: true}
)

func person(mods ...func(*customer.Patch)) customer.Patch {
	p := customer.Patch{FirstName: customer.Set("Matti"), LastName: customer.Set("Meikäläinen")}
	for _, m := range mods {
		m(&p)
	}
	return p
}

var link = customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "wc-17"}

// create makes a customer as admin or fails the test.
func (f fixture) create(t *testing.T, p customer.Patch) *customer.Customer {
	t.Helper()
	c, err := f.svc.Create(context.Background(), p, admin)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return c
}

// restricted makes a restricted customer with an external link.
func (f fixture) restricted(t *testing.T) *customer.Customer {
	t.Helper()
	return f.create(t, person(func(p *customer.Patch) {
		p.GDPRRestricted = customer.Set(true)
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
	}))
}

// drain takes every event from the outbox.
func (f fixture) drain(t *testing.T) []consent.Event {
	t.Helper()
	var out []consent.Event
	for {
		n, err := f.store.Relay(context.Background(), 100, func(_ context.Context, events []consent.Event) error {
			out = append(out, events...)
			return nil
		})
		if err != nil {
			t.Fatalf("Relay: %v", err)
		}
		if n == 0 {
			return out
		}
	}
}

// checkIDs checks that every event id came from the ids port and that no
// two are equal, then zeroes them so that events compare by content.
func (f fixture) checkIDs(t *testing.T, events []consent.Event) []consent.Event {
	t.Helper()
	seen := map[uuid.UUID]bool{}
	out := slices.Clone(events)
	for i, e := range out {
		if !f.ids.handedOut(e.ID) || seen[e.ID] {
			t.Errorf("event %d: id %v not a fresh id from the ids port", i, e.ID)
		}
		seen[e.ID] = true
		out[i].ID = uuid.Nil
	}
	return out
}

func eventFor(c *customer.Customer, o consent.Origin, kind consent.Kind, was, now bool) consent.Event {
	return consent.Event{
		OccurredAt: nowUTC, CustomerID: c.ID(), CustomerNumber: c.Number(),
		Consent: kind, OldValue: was, NewValue: now,
		Source: o.Source, SourceSystemID: o.SourceSystemID, Actor: o.Actor,
		RequestID: o.RequestID, ImportID: o.ImportID, Evidence: o.Evidence,
	}
}

var nowUTC = now.UTC()

func fieldsOf(err error) []string {
	var v *fault.Validation
	if !errors.As(err, &v) {
		return nil
	}
	out := make([]string, len(v.Fields))
	for i, fe := range v.Fields {
		out[i] = fe.Field
	}
	slices.Sort(out)
	return out
}

func TestCreate(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	first := f.create(t, person(func(p *customer.Patch) {
		p.MarketingEmail = customer.Set(true)
		p.Groups = customer.Set([]string{"vip"})
	}))
	second := f.create(t, person())

	d := first.Data()
	if d.Number != customer.FirstNumber || second.Number() != customer.FirstNumber+1 {
		t.Errorf("numbers = %d, %d; want %d, %d", d.Number, second.Number(), customer.FirstNumber, customer.FirstNumber+1)
	}
	if !f.ids.handedOut(d.ID) || d.ID == second.ID() {
		t.Errorf("ids %v, %v: want distinct ids from the ids port", d.ID, second.ID())
	}
	if !d.CreatedAt.Equal(nowUTC) || d.CreatedAt.Location() != time.UTC || d.Version != 1 {
		t.Errorf("createdAt, version = %v, %d; want %v in UTC, 1", d.CreatedAt, d.Version, nowUTC)
	}
	stored, err := f.svc.Get(ctx, d.ID, user)
	if err != nil || !reflect.DeepEqual(stored.Data(), d) {
		t.Errorf("Get = %+v, %v; want %+v", stored, err, d)
	}
	want := []consent.Event{eventFor(first, admin.Origin, consent.MarketingEmail, false, true)}
	if got := f.checkIDs(t, f.drain(t)); !reflect.DeepEqual(got, want) {
		t.Errorf("events =\n%+v\nwant\n%+v", got, want)
	}
	// One id per customer and one per event: validating first takes none.
	if got := f.ids.count(); got != 3 {
		t.Errorf("ids taken = %d, want 3", got)
	}
}

// TestCreateBurnsNoNumber: input the core rejects takes no customer number.
func TestCreateBurnsNoNumber(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		give   customer.Patch
		caller register.Caller
		want   []string
	}{
		{name: "missing names", give: customer.Patch{}, caller: admin, want: []string{"firstName", "lastName"}},
		{name: "invalid email", give: person(func(p *customer.Patch) { p.Email = customer.Set("bad") }), caller: admin, want: []string{"email"}},
		{name: "invalid ssn", give: person(func(p *customer.Patch) { p.SSN = customer.Set("131052-308U") }), caller: admin, want: []string{"ssn"}},
		{name: "unknown system", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 9, Identifier: "x"}})
		}), caller: admin, want: []string{"externalSystems[0].systemId"}},
		{name: "unknown source", give: person(), caller: register.Caller{Origin: consent.Origin{Source: "fax"}}, want: []string{"source"}},
		{name: "no source", give: person(), caller: register.Caller{}, want: []string{"source"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			ctx := context.Background()
			c, err := f.svc.Create(ctx, tt.give, tt.caller)
			if got := fieldsOf(err); c != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Create = %v, %v; want validation error on %q", c, err, tt.want)
			}
			next := f.create(t, person())
			if next.Number() != customer.FirstNumber {
				t.Errorf("next number = %d, want %d: a rejected create took a number", next.Number(), customer.FirstNumber)
			}
			if events := f.drain(t); len(events) != 0 {
				t.Errorf("events = %+v, want none", events)
			}
		})
	}
}

// TestCreateConflict: a uniqueness clash found by the store is reported as
// a conflict and records nothing.
func TestCreateConflict(t *testing.T) {
	t.Parallel()

	f := setup(t)
	f.create(t, person(func(p *customer.Patch) { p.Email = customer.Set("matti@example.fi") }))
	f.drain(t)
	_, err := f.svc.Create(context.Background(), person(func(p *customer.Patch) {
		p.Email = customer.Set("MATTI@example.fi")
		p.MarketingSMS = customer.Set(true)
	}), admin)
	var conflict *fault.Conflict
	if !errors.As(err, &conflict) || conflict.Field != "email" {
		t.Errorf("error = %v, want *fault.Conflict on email", err)
	}
	if events := f.drain(t); len(events) != 0 {
		t.Errorf("events = %+v, want none", events)
	}
}

func TestUpdateIfVersion(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		give        register.IfVersion
		wantVersion int64
		wantStale   *fault.Stale
	}{
		{name: "no precondition", give: 0, wantVersion: 3},
		{name: "current version", give: 2, wantVersion: 3},
		{name: "stale version", give: 1, wantVersion: 2, wantStale: &fault.Stale{Want: 1, Have: 2}},
		{name: "future version", give: 5, wantVersion: 2, wantStale: &fault.Stale{Want: 5, Have: 2}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			ctx := context.Background()
			c := f.create(t, person())
			if _, err := f.svc.Update(ctx, c.ID(), customer.Patch{LastName: customer.Set("Virtanen")}, 1, user); err != nil {
				t.Fatalf("first Update: %v", err)
			}
			f.drain(t)
			_, err := f.svc.Update(ctx, c.ID(), customer.Patch{MarketingEmail: customer.Set(true)}, tt.give, user)
			var stale *fault.Stale
			errors.As(err, &stale)
			if !reflect.DeepEqual(stale, tt.wantStale) || (err == nil) != (tt.wantStale == nil) {
				t.Errorf("error = %v, want %v", err, tt.wantStale)
			}
			got, err := f.svc.Get(ctx, c.ID(), user)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.Version() != tt.wantVersion || got.Data().MarketingEmail != (tt.wantStale == nil) {
				t.Errorf("version, marketingEmail = %d, %v; want %d, %v", got.Version(), got.Data().MarketingEmail, tt.wantVersion, tt.wantStale == nil)
			}
			if events := f.drain(t); len(events) != int(tt.wantVersion-2) {
				t.Errorf("events = %+v, want %d", events, tt.wantVersion-2)
			}
		})
	}
}

// TestUpdateConcurrentIfVersion: of many updates at one version, exactly one
// wins and the others are stale.
func TestUpdateConcurrentIfVersion(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.create(t, person())
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			_, errs[i] = f.svc.Update(ctx, c.ID(), customer.Patch{
				MarketingEmail: customer.Set(true), CustomerCards: customer.Set([]string{string(rune('a' + i))}),
			}, 1, user)
		})
	}
	close(gate)
	wg.Wait()
	var ok, stale int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.IsStale(err):
			stale++
		}
	}
	got, err := f.svc.Get(ctx, c.ID(), user)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if ok != 1 || stale != n-1 || got.Version() != 2 {
		t.Errorf("succeeded %d, stale %d, version %d; want 1, %d, 2 (errors %v)", ok, stale, got.Version(), n-1, errs)
	}
	if events := f.drain(t); len(events) != 1 {
		t.Errorf("events = %+v, want exactly one", events)
	}
}

func TestUpdateNoOp(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.create(t, person(func(p *customer.Patch) { p.MarketingSMS = customer.Set(true) }))
	f.drain(t)
	got, err := f.svc.Update(ctx, c.ID(), person(func(p *customer.Patch) { p.MarketingSMS = customer.Set(true) }), 1, user)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if !reflect.DeepEqual(got.Data(), c.Data()) {
		t.Errorf("Update returned\n%+v\nwant\n%+v", got.Data(), c.Data())
	}
	if events := f.drain(t); len(events) != 0 {
		t.Errorf("events = %+v, want none", events)
	}
}

func TestUpdateRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		give   customer.Patch
		caller register.Caller
		want   []string
	}{
		{name: "invalid email", give: customer.Patch{Email: customer.Set("x")}, caller: user, want: []string{"email"}},
		{name: "removing the type", give: customer.Patch{Type: customer.Clear[customer.Type]()}, caller: user, want: []string{"type"}},
		{name: "unknown source", give: customer.Patch{MarketingEmail: customer.Set(true)}, caller: register.Caller{Origin: consent.Origin{Source: "mail"}}, want: []string{"source"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			ctx := context.Background()
			c := f.create(t, person())
			_, err := f.svc.Update(ctx, c.ID(), tt.give, 0, tt.caller)
			if got := fieldsOf(err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("error = %v, want validation on %q", err, tt.want)
			}
			got, err := f.svc.Get(ctx, c.ID(), user)
			if err != nil || !reflect.DeepEqual(got.Data(), c.Data()) {
				t.Errorf("customer after a rejected update = %+v, %v; want unchanged", got, err)
			}
		})
	}
}

func TestUpdateUnknownCustomer(t *testing.T) {
	t.Parallel()

	f := setup(t)
	id := uuid.Must(uuid.NewV7())
	_, err := f.svc.Update(context.Background(), id, customer.Patch{MarketingEmail: customer.Set(true)}, 0, admin)
	var nf *fault.NotFound
	if !errors.As(err, &nf) || nf.What != "customer" {
		t.Errorf("error = %v, want *fault.NotFound", err)
	}
}

// TestRestrictedInvisible: a restricted customer does not exist for a
// caller that may not see it, on every path, and is there for one that may.
func TestRestrictedInvisible(t *testing.T) {
	t.Parallel()

	type result struct {
		c   *customer.Customer
		err error
	}
	tests := []struct {
		name string
		give func(f fixture, c *customer.Customer, caller register.Caller) result
	}{
		{name: "Get", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.Get(context.Background(), c.ID(), caller)
			return result{got, err}
		}},
		{name: "ByNumber", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.ByNumber(context.Background(), c.Number(), caller)
			return result{got, err}
		}},
		{name: "ByExternal", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.ByExternal(context.Background(), link, caller)
			return result{got, err}
		}},
		{name: "Update", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.Update(context.Background(), c.ID(), customer.Patch{LastName: customer.Set("Virtanen")}, 0, caller)
			return result{got, err}
		}},
		{name: "SetConsents", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.SetConsents(context.Background(), c.ID(), customer.Set(true), customer.Keep[bool](), 0, caller)
			return result{got, err}
		}},
		{name: "Restrict lifted", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.Restrict(context.Background(), c.ID(), false, 0, caller)
			return result{got, err}
		}},
		{name: "Erase", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.Erase(context.Background(), c.ID(), 0, caller)
			return result{got, err}
		}},
		{name: "AddContact", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, _, err := f.svc.AddContact(context.Background(), c.ID(), customer.Contact{Name: "Liisa"}, 0, caller)
			// A person has no contacts: a visible customer answers with a
			// validation error, a hidden one with NotFound.
			return result{got, ignoreValidation(err)}
		}},
		{name: "RemoveContact", give: func(f fixture, c *customer.Customer, caller register.Caller) result {
			got, err := f.svc.RemoveContact(context.Background(), c.ID(), uuid.Must(uuid.NewV7()), 0, caller)
			// The contact is unknown: a visible customer answers NotFound
			// for the contact, a hidden one for the customer.
			return result{got, ignoreContactNotFound(err)}
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			c := f.restricted(t)
			f.drain(t)

			hidden := tt.give(f, c, user)
			var nf *fault.NotFound
			if !errors.As(hidden.err, &nf) || nf.What != "customer" {
				t.Errorf("without SeeRestricted: error %v, want *fault.NotFound for the customer", hidden.err)
			}
			// BUG: Get, ByNumber and ByExternal return the hidden customer
			// beside the NotFound error; one unchecked adapter and a
			// restricted record is served.
			if hidden.c != nil {
				t.Errorf("without SeeRestricted: returned the hidden customer %+v with the error", hidden.c.Data())
			}
			if events := f.drain(t); len(events) != 0 {
				t.Errorf("without SeeRestricted: events %+v, want none", events)
			}
			if got, err := f.svc.Get(context.Background(), c.ID(), admin); err != nil || got.Version() != c.Version() {
				t.Errorf("without SeeRestricted the customer changed: %v, %v", got, err)
			}

			seen := tt.give(f, c, admin)
			if seen.err != nil {
				t.Errorf("with SeeRestricted: %v", seen.err)
			}
		})
	}
}

func ignoreValidation(err error) error {
	if fault.IsValidation(err) {
		return nil
	}
	return err
}

func ignoreContactNotFound(err error) error {
	var nf *fault.NotFound
	if errors.As(err, &nf) && nf.What == "contact" {
		return nil
	}
	return err
}

// TestRestrictedLooksAbsent: the answer for a hidden customer is the answer
// for one that does not exist, so that it gives nothing away.
func TestRestrictedLooksAbsent(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.restricted(t)

	tests := []struct {
		name string
		give error
		want string
	}{
		{name: "Get", give: second(f.svc.Get(ctx, c.ID(), user)), want: "customer not found: " + c.ID().String()},
		{name: "ByNumber", give: second(f.svc.ByNumber(ctx, c.Number(), user)), want: "customer not found: number 10000"},
		{name: "ByExternal", give: second(f.svc.ByExternal(ctx, link, user)), want: "customer not found: link 6/wc-17"},
		{name: "absent by number", give: second(f.svc.ByNumber(ctx, 10099, user)), want: "customer not found: number 10099"},
		{name: "absent by link", give: second(f.svc.ByExternal(ctx, customer.ExternalLink{SystemID: 6, Identifier: "nope"}, user)), want: "customer not found: link 6/nope"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if !fault.IsNotFound(tt.give) || tt.give.Error() != tt.want {
				t.Errorf("error = %v, want NotFound %q", tt.give, tt.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func TestRestrictedVisible(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.restricted(t)
	tests := []struct {
		name string
		give func() (*customer.Customer, error)
	}{
		{name: "Get", give: func() (*customer.Customer, error) { return f.svc.Get(ctx, c.ID(), admin) }},
		{name: "ByNumber", give: func() (*customer.Customer, error) { return f.svc.ByNumber(ctx, c.Number(), admin) }},
		{name: "ByExternal", give: func() (*customer.Customer, error) { return f.svc.ByExternal(ctx, link, admin) }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := tt.give()
			if err != nil || !reflect.DeepEqual(got.Data(), c.Data()) {
				t.Errorf("got %v, %v; want the restricted customer", got, err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	open := f.create(t, person())
	hidden := f.restricted(t)

	tests := []struct {
		name   string
		give   ports.CustomerQuery
		caller register.Caller
		want   []int64
	}{
		{name: "default leaves restricted out", give: ports.CustomerQuery{}, caller: user, want: []int64{open.Number()}},
		{name: "SeeRestricted alone leaves them out", give: ports.CustomerQuery{}, caller: admin, want: []int64{open.Number()}},
		{name: "asked for and allowed", give: ports.CustomerQuery{IncludeRestricted: true}, caller: admin, want: []int64{open.Number(), hidden.Number()}},
		{name: "by link, restricted", give: ports.CustomerQuery{SystemID: link.SystemID, Identifier: link.Identifier}, caller: user, want: nil},
		{name: "by link, restricted, allowed", give: ports.CustomerQuery{SystemID: link.SystemID, Identifier: link.Identifier, IncludeRestricted: true}, caller: admin, want: []int64{hidden.Number()}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			page, err := f.svc.Find(ctx, tt.give, tt.caller)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			var got []int64
			for _, c := range page.Items {
				got = append(got, c.Number())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("numbers = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFindRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		give   ports.CustomerQuery
		caller register.Caller
		want   []string
	}{
		{name: "includeRestricted without SeeRestricted", give: ports.CustomerQuery{IncludeRestricted: true}, caller: user, want: []string{"includeRestricted"}},
		{name: "identifier without systemId", give: ports.CustomerQuery{Identifier: "wc-17"}, caller: user, want: []string{"systemId"}},
		{name: "unknown systemId", give: ports.CustomerQuery{SystemID: 99}, caller: user, want: []string{"systemId"}},
		{name: "unknown type", give: ports.CustomerQuery{Type: "robot"}, caller: admin, want: []string{"type"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			f.restricted(t)
			page, err := f.svc.Find(context.Background(), tt.give, tt.caller)
			if got := fieldsOf(err); !reflect.DeepEqual(got, tt.want) || page.Items != nil {
				t.Errorf("Find = %v, %v; want no page and validation on %q", page.Items, err, tt.want)
			}
		})
	}
}

func TestByExternalRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.ExternalLink
	}{
		{name: "unknown system", give: customer.ExternalLink{SystemID: 99, Identifier: "x"}},
		{name: "no system", give: customer.ExternalLink{Identifier: "x"}},
		{name: "negative system", give: customer.ExternalLink{SystemID: -6, Identifier: "x"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			c, err := f.svc.ByExternal(context.Background(), tt.give, admin)
			if got, want := fieldsOf(err), []string{"systemId"}; c != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("ByExternal = %v, %v; want validation on %q", c, err, want)
			}
		})
	}
}

func TestCreateGroup(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Group
		want customer.Group
	}{
		{name: "name defaults to the id", give: customer.Group{ExternalID: "regulars"}, want: customer.Group{ExternalID: "regulars", Name: "regulars"}},
		{name: "blank name defaults to the id", give: customer.Group{ExternalID: " regulars ", Name: "  "}, want: customer.Group{ExternalID: "regulars", Name: "regulars"}},
		{name: "name given, trimmed", give: customer.Group{ExternalID: "reg", Name: " Kanta-asiakkaat "}, want: customer.Group{ExternalID: "reg", Name: "Kanta-asiakkaat"}},
		{name: "id at its limit", give: customer.Group{ExternalID: repeat("g", customer.MaxGroupLen)}, want: customer.Group{ExternalID: repeat("g", customer.MaxGroupLen), Name: repeat("g", customer.MaxGroupLen)}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			ctx := context.Background()
			got, err := f.svc.CreateGroup(ctx, tt.give)
			if err != nil || got != tt.want {
				t.Errorf("CreateGroup = %+v, %v; want %+v", got, err, tt.want)
			}
			list, err := f.svc.ListGroups(ctx)
			if err != nil || !slices.Contains(list, tt.want) {
				t.Errorf("ListGroups = %+v, %v; want it to hold %+v", list, err, tt.want)
			}
		})
	}
}

func TestCreateGroupRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Group
		want []string
	}{
		{name: "no id", give: customer.Group{Name: "Regulars"}, want: []string{"externalId"}},
		{name: "blank id", give: customer.Group{ExternalID: " \t", Name: "Regulars"}, want: []string{"externalId"}},
		{name: "id too long", give: customer.Group{ExternalID: repeat("g", customer.MaxGroupLen+1)}, want: []string{"externalId"}},
		{name: "id with control character", give: customer.Group{ExternalID: "a\nb"}, want: []string{"externalId"}},
		{name: "name too long", give: customer.Group{ExternalID: "g", Name: repeat("n", customer.MaxNameLen+1)}, want: []string{"name"}},
		{name: "name with control character", give: customer.Group{ExternalID: "g", Name: "a\x00b"}, want: []string{"name"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			ctx := context.Background()
			_, err := f.svc.CreateGroup(ctx, tt.give)
			if got := fieldsOf(err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("error = %v, want validation on %q", err, tt.want)
			}
			list, err := f.svc.ListGroups(ctx)
			if err != nil || len(list) != 2 {
				t.Errorf("ListGroups = %+v, %v; want only the two groups of setup", list, err)
			}
		})
	}
}

func TestCreateGroupTwice(t *testing.T) {
	t.Parallel()

	f := setup(t)
	_, err := f.svc.CreateGroup(context.Background(), customer.Group{ExternalID: " vip ", Name: "Other"})
	if !fault.IsConflict(err) {
		t.Errorf("error = %v, want *fault.Conflict", err)
	}
}

func TestSetConsents(t *testing.T) {
	t.Parallel()

	evidence := consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.Reservation), Actor: "connector:booking", RequestID: "hook-9", Evidence: "ticked at booking #4411"}
	caller := register.Caller{Origin: evidence}

	tests := []struct {
		name        string
		email, sms  customer.Opt[bool]
		want        []consent.Kind
		wantVersion int64
	}{
		{name: "grant email", email: customer.Set(true), want: []consent.Kind{consent.MarketingEmail}, wantVersion: 2},
		{name: "grant email, withdraw sms", email: customer.Set(true), sms: customer.Set(false), want: []consent.Kind{consent.MarketingEmail, consent.MarketingSMS}, wantVersion: 2},
		{name: "withdraw sms", sms: customer.Set(false), want: []consent.Kind{consent.MarketingSMS}, wantVersion: 2},
		{name: "withdraw sms by clearing", sms: customer.Clear[bool](), want: []consent.Kind{consent.MarketingSMS}, wantVersion: 2},
		{name: "no change", email: customer.Set(false), sms: customer.Set(true), want: nil, wantVersion: 1},
		{name: "nothing asked", want: nil, wantVersion: 1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			f := setup(t)
			c := f.create(t, person(func(p *customer.Patch) { p.MarketingSMS = customer.Set(true) }))
			f.drain(t)
			got, err := f.svc.SetConsents(context.Background(), c.ID(), tt.email, tt.sms, 1, caller)
			if err != nil {
				t.Fatalf("SetConsents: %v", err)
			}
			var want []consent.Event
			for _, k := range tt.want {
				was := k == consent.MarketingSMS
				want = append(want, eventFor(c, evidence, k, was, !was))
			}
			if events := f.checkIDs(t, f.drain(t)); !reflect.DeepEqual(events, want) || got.Version() != tt.wantVersion {
				t.Errorf("events =\n%+v\nversion %d; want\n%+v\nversion %d", events, got.Version(), want, tt.wantVersion)
			}
		})
	}
}

func TestRestrict(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.create(t, person())
	f.drain(t)

	restrictBy := register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "key:dpo", RequestID: "r-10", Evidence: "accuracy contested by the customer"}}
	liftBy := register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "key:dpo", RequestID: "r-11", Evidence: "accuracy verified"}, SeeRestricted: true}

	steps := []struct {
		restricted bool
		caller     register.Caller
		wantErr    bool
		want       []consent.Event
	}{
		{restricted: true, caller: restrictBy, want: []consent.Event{eventFor(c, restrictBy.Origin, consent.GDPRRestricted, false, true)}},
		// Lifting needs a caller that can see the customer.
		{restricted: false, caller: restrictBy, wantErr: true},
		{restricted: true, caller: liftBy},
		{restricted: false, caller: liftBy, want: []consent.Event{eventFor(c, liftBy.Origin, consent.GDPRRestricted, true, false)}},
	}
	for i, s := range steps {
		_, err := f.svc.Restrict(ctx, c.ID(), s.restricted, 0, s.caller)
		if (err != nil) != s.wantErr {
			t.Errorf("step %d: error %v, want error %v", i, err, s.wantErr)
		}
		if got := f.checkIDs(t, f.drain(t)); !reflect.DeepEqual(got, s.want) {
			t.Errorf("step %d: events =\n%+v\nwant\n%+v", i, got, s.want)
		}
	}
}

func TestErase(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.create(t, person(func(p *customer.Patch) {
		p.Email = customer.Set("matti@example.fi")
		p.SSN = customer.Set("131052-308T")
		p.MarketingEmail = customer.Set(true)
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
		p.Groups = customer.Set([]string{"vip"})
	}))
	f.drain(t)

	got, err := f.svc.Erase(ctx, c.ID(), 1, admin)
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	d := got.Data()
	if !got.Erased() || d.Email != "" || d.SSN != "" || d.ExternalSystems != nil || d.Version != 2 {
		t.Errorf("after Erase: %+v", d)
	}
	erasure := admin.Origin
	erasure.Source = consent.SourceErasure
	want := []consent.Event{
		eventFor(c, erasure, consent.MarketingEmail, true, false),
		eventFor(c, erasure, consent.GDPRRestricted, false, true),
		eventFor(c, erasure, consent.Erased, false, true),
	}
	if events := f.checkIDs(t, f.drain(t)); !reflect.DeepEqual(events, want) {
		t.Errorf("events =\n%+v\nwant\n%+v", events, want)
	}

	// The identifiers are free again.
	f.create(t, person(func(p *customer.Patch) {
		p.Email = customer.Set("matti@example.fi")
		p.SSN = customer.Set("131052-308T")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
	}))
	f.drain(t)

	// Erasing again is no error and records nothing.
	again, err := f.svc.Erase(ctx, c.ID(), 0, admin)
	if err != nil || again.Version() != 2 {
		t.Errorf("second Erase = %v, %v; want version 2 and no error", again, err)
	}
	if events := f.drain(t); len(events) != 0 {
		t.Errorf("second Erase events = %+v, want none", events)
	}

	// An erased customer cannot be changed.
	_, err = f.svc.Update(ctx, c.ID(), person(), 0, admin)
	if !fault.IsConflict(err) {
		t.Errorf("Update of an erased customer: %v, want *fault.Conflict", err)
	}
}

func TestContacts(t *testing.T) {
	t.Parallel()

	f := setup(t)
	ctx := context.Background()
	c := f.create(t, customer.Patch{
		Type: customer.Set(customer.Company), CompanyName: customer.Set("Kirjuri Oy"), BusinessID: customer.Set("2077474-0"),
	})

	got, id, err := f.svc.AddContact(ctx, c.ID(), customer.Contact{ID: uuid.Nil, Name: "Liisa", Phone: "040 1234567"}, 0, user)
	if err != nil {
		t.Fatalf("AddContact: %v", err)
	}
	want := []customer.Contact{{ID: id, Name: "Liisa", Phone: "+358401234567"}}
	if !f.ids.handedOut(id) || !reflect.DeepEqual(got.Data().Contacts, want) || got.Version() != 2 {
		t.Errorf("AddContact = %+v, %v; want %+v at version 2 with an id from the port", got.Data().Contacts, id, want)
	}

	_, _, err = f.svc.AddContact(ctx, c.ID(), customer.Contact{Name: ""}, 0, user)
	if got, want := fieldsOf(err), []string{"name"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AddContact without a name: %v, want validation on %q", err, want)
	}

	_, err = f.svc.RemoveContact(ctx, c.ID(), uuid.Must(uuid.NewV7()), 0, user)
	var nf *fault.NotFound
	if !errors.As(err, &nf) || nf.What != "contact" {
		t.Errorf("RemoveContact of an unknown contact: %v, want *fault.NotFound for the contact", err)
	}

	got, err = f.svc.RemoveContact(ctx, c.ID(), id, 0, user)
	if err != nil || got.Data().Contacts != nil || got.Version() != 3 {
		t.Errorf("RemoveContact = %+v, %v; want no contacts at version 3", got, err)
	}
	if events := f.drain(t); len(events) != 0 {
		t.Errorf("contacts recorded events %+v, want none", events)
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}
