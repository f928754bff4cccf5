package porttest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// IngestStores is what RunIngest needs: a customer store and its ingest
// path (the same value).
type IngestStores struct {
	Customers ports.CustomerStore
	Ingest    ports.IngestStore
	// Outbox is the outbox of Customers (the same store), for the
	// consent events of the differential test of IngestMany.
	Outbox ports.Outbox
	// Pushes lists the push jobs (ports.PushArgs) stored with changes so
	// far, in any order; the store's own back door: the ports have no
	// such method.
	Pushes func(t *testing.T) []ports.PushArgs
}

// RunIngest is the contract of ports.IngestStore: the source time of a
// link survives a round trip, is written in the change's transaction (and
// also when the customer did not change), never moves back, belongs to the
// customer that holds the link and goes with the link; the lookup by phone
// finds every customer with the number, restricted ones too, in number
// order; what the register's Ingest and RecordEcho write with a session's
// context (ports.BulkStore.Session, as a connector's drain does) commits
// or rolls back with the session; the lookup by many links finds each
// link's customer with what is kept with the link; a WriteBatch write of
// a draft (BatchWrite.Source) records its link's source time and is stale
// when the link changed since; and the register's IngestMany stores and
// answers exactly what Ingest one by one does (a differential test). open
// must hand back stores over an empty database.
func RunIngest(t *testing.T, open func(t *testing.T) IngestStores) {
	t.Helper()
	t.Run("SourceTimeRoundTrip", testSourceTimeRoundTrip(open))
	t.Run("SourceTimeBelongsToTheLink", testSourceTimeBelongsToTheLink(open))
	t.Run("CustomersByPhone", testCustomersByPhone(open))
	t.Run("EchoKeptWithTheLink", testEchoKeptWithTheLink(open))
	t.Run("WithinASession", testIngestWithinASession(open))
	t.Run("CustomersByLinks", testCustomersByLinks(open))
	t.Run("WriteBatchWithSource", testWriteBatchWithSource(open))
	t.Run("IngestManyMatchesIngest", testIngestManyMatchesIngest(open))
}

func ingestSetup(t *testing.T, open func(t *testing.T) IngestStores) (*fixture, ports.IngestStore) {
	t.Helper()
	s := open(t)
	if s.Customers == nil || s.Ingest == nil {
		t.Fatalf("porttest: open returned incomplete IngestStores %+v", s)
	}
	c := newClock()
	return &fixture{t: t, ctx: t.Context(), Stores: Stores{Customers: s.Customers}, clock: c,
		reg: register.New(s.Customers, c, idSource{})}, s.Ingest
}

var connectorOrigin = consent.Origin{
	Source:         consent.SourceConnector,
	SourceSystemID: int(customer.Webstore),
	Actor:          "connector:webstore",
	RequestID:      "delivery-1",
}

// lastSource reads the source time of link on customer id through an
// UpdateFromSource that changes nothing and records nothing.
func lastSource(f *fixture, is ports.IngestStore, id uuid.UUID, link customer.ExternalLink) time.Time {
	f.t.Helper()
	var last time.Time
	_, err := is.UpdateFromSource(f.ctx, id, ports.SourceTime{Link: link}, func(_ *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error) {
		last = kept.At
		return nil, nil, nil
	})
	if err != nil {
		f.t.Fatalf("UpdateFromSource(%s, %s): %v", id, link, err)
	}
	return last
}

func wantSource(f *fixture, is ports.IngestStore, what string, id uuid.UUID, link customer.ExternalLink, want time.Time) {
	f.t.Helper()
	if got := lastSource(f, is, id, link); !got.Equal(want) {
		f.t.Errorf("%s: source time of %s = %v, want %v", what, link, got, want)
	}
}

func testSourceTimeRoundTrip(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		link := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-1"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 123_456_000, time.UTC)
		p := person("Aino", "Virtanen")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
		c, events := f.build(p, connectorOrigin)
		if err := is.CreateFromSource(f.ctx, c, events, ports.SourceTime{Link: link, At: t1}, nil); err != nil {
			t.Fatalf("CreateFromSource: %v", err)
		}
		if got := f.get(c.ID()); got.Version != 1 || !slices.Contains(got.ExternalSystems, link) {
			t.Fatalf("after CreateFromSource: version %d, links %v", got.Version, got.ExternalSystems)
		}
		wantSource(f, is, "after CreateFromSource", c.ID(), link, t1)

		// An older time records nothing; a newer one is recorded although
		// the customer does not change.
		for _, tc := range []struct {
			at, want time.Time
		}{
			{t1.Add(-time.Hour), t1},
			{t1, t1},
			{t1.Add(time.Minute), t1.Add(time.Minute)},
		} {
			cu, err := is.UpdateFromSource(f.ctx, c.ID(), ports.SourceTime{Link: link, At: tc.at}, func(*customer.Customer, ports.LinkSource) ([]consent.Event, []ports.Job, error) {
				return nil, nil, nil
			})
			if err != nil {
				t.Fatalf("UpdateFromSource(at %v): %v", tc.at, err)
			}
			if cu.Version() != 1 {
				t.Errorf("UpdateFromSource that changes nothing: version %d, want 1", cu.Version())
			}
			wantSource(f, is, "after UpdateFromSource at "+tc.at.String(), c.ID(), link, tc.want)
		}
		t2 := t1.Add(time.Minute)

		// fn's error rolls the time back with the change.
		boom := errors.New("boom")
		_, err := is.UpdateFromSource(f.ctx, c.ID(), ports.SourceTime{Link: link, At: t2.Add(time.Hour)}, func(cu *customer.Customer, _ ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			if _, err := cu.Apply(customer.Patch{FirstName: customer.Set("Aili")}, f.change(connectorOrigin)); err != nil {
				return nil, nil, err
			}
			return nil, nil, boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("UpdateFromSource whose fn fails: %v, want fn's error", err)
		}
		wantSource(f, is, "after a failed UpdateFromSource", c.ID(), link, t2)
		if got := f.get(c.ID()); got.FirstName != "Aino" {
			t.Errorf("a failed UpdateFromSource changed the customer: first name %q", got.FirstName)
		}

		// A change and its time are written together.
		t3 := t2.Add(time.Hour)
		cu, err := is.UpdateFromSource(f.ctx, c.ID(), ports.SourceTime{Link: link, At: t3}, func(cu *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			if !kept.At.Equal(t2) {
				t.Errorf("fn got last %v, want %v", kept.At, t2)
			}
			events, err := cu.Apply(customer.Patch{FirstName: customer.Set("Aili")}, f.change(connectorOrigin))
			return events, nil, err
		})
		if err != nil || cu.Version() != 2 {
			t.Fatalf("UpdateFromSource with a change: version %v, %v", cu, err)
		}
		wantSource(f, is, "after a change", c.ID(), link, t3)
		if got := f.get(c.ID()); got.FirstName != "Aili" || got.Version != 2 {
			t.Errorf("after a change: first name %q, version %d", got.FirstName, got.Version)
		}
	}
}

func testSourceTimeBelongsToTheLink(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		link := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-2"}
		other := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "17"}
		t1 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
		a, _ := f.createEvents(person("Eero", "Ahonen"), apiOrigin)
		b, _ := f.createEvents(person("Ville", "Bäck"), apiOrigin)

		// A link the customer does not hold has no time, and none is
		// recorded for it.
		wantSource(f, is, "a link nobody holds", a.ID(), link, time.Time{})
		if _, err := is.UpdateFromSource(f.ctx, a.ID(), ports.SourceTime{Link: link, At: t1}, func(*customer.Customer, ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			return nil, nil, nil
		}); err != nil {
			t.Fatalf("UpdateFromSource: %v", err)
		}
		f.apply(a.ID(), customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{link, other})}, apiOrigin)
		wantSource(f, is, "a link added by the API after an UpdateFromSource without it", a.ID(), link, time.Time{})

		// Adding the link in fn records its time in the same change.
		_, err := is.UpdateFromSource(f.ctx, b.ID(), ports.SourceTime{Link: customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-3"}, At: t1}, func(cu *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			if !kept.At.IsZero() || kept.Echo != nil {
				t.Errorf("fn got %+v for a link the customer does not hold, want nothing", kept)
			}
			events, err := cu.Apply(customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.Webstore, Identifier: "w-3"}})}, f.change(connectorOrigin))
			return events, nil, err
		})
		if err != nil {
			t.Fatalf("UpdateFromSource adding the link: %v", err)
		}
		w3 := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-3"}
		wantSource(f, is, "a link added with its time", b.ID(), w3, t1)
		// Another customer never sees it.
		wantSource(f, is, "another customer's link", a.ID(), w3, time.Time{})

		// The time goes with the link: removed and added again, it is
		// unknown.
		f.apply(b.ID(), customer.Patch{ExternalSystems: customer.Clear[[]customer.ExternalLink]()}, apiOrigin)
		f.apply(b.ID(), customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{w3})}, apiOrigin)
		wantSource(f, is, "a link removed and added again", b.ID(), w3, time.Time{})

		// And with an erasure.
		if _, err := is.UpdateFromSource(f.ctx, a.ID(), ports.SourceTime{Link: link, At: t1}, func(*customer.Customer, ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			return nil, nil, nil
		}); err != nil {
			t.Fatalf("UpdateFromSource: %v", err)
		}
		wantSource(f, is, "a held link", a.ID(), link, t1)
		if _, err := f.reg.Erase(f.ctx, a.ID(), 0, admin); err != nil {
			t.Fatalf("Erase: %v", err)
		}
		wantSource(f, is, "the link of an erased customer", a.ID(), link, time.Time{})
		if _, err := f.Customers.GetByExternal(f.ctx, link); err == nil {
			t.Error("GetByExternal finds the link of an erased customer")
		}
	}
}

func testCustomersByPhone(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		const shared, own = "+358401234567", "+358501112222"
		withPhones := func(p customer.Patch, phones ...string) customer.Patch {
			p.PhoneNumbers = customer.Set(phones)
			return p
		}
		a := f.create(withPhones(person("Aino", "Virtanen"), own, shared))
		b := f.create(withPhones(company("Oy Testi Ab", "1572860-0"), shared))
		f.create(withPhones(person("Eero", "Ahonen"), own))
		f.create(person("Ville", "Bäck"))
		erased := f.create(withPhones(person("Poistettu", "Asiakas"), shared))
		if _, err := f.reg.Restrict(f.ctx, b.ID(), true, 0, admin); err != nil {
			t.Fatalf("Restrict: %v", err)
		}
		if _, err := f.reg.Erase(f.ctx, erased.ID(), 0, admin); err != nil {
			t.Fatalf("Erase: %v", err)
		}
		for _, tc := range []struct {
			phone string
			want  []int64
		}{
			{shared, []int64{a.Number(), b.Number()}},
			{"+358409999999", nil},
			{"358401234567", nil}, // E.164 exact: no + is another string
		} {
			cs, err := is.CustomersByPhone(f.ctx, tc.phone)
			if err != nil {
				t.Fatalf("CustomersByPhone(%q): %v", tc.phone, err)
			}
			var got []int64
			for _, c := range cs {
				got = append(got, c.Number())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("CustomersByPhone(%q) = numbers %v, want %v", tc.phone, got, tc.want)
			}
		}
	}
}

// kept reads what is kept with link on customer id through an
// UpdateFromSource that changes nothing and records nothing.
func kept(f *fixture, is ports.IngestStore, id uuid.UUID, link customer.ExternalLink) ports.LinkSource {
	f.t.Helper()
	var out ports.LinkSource
	_, err := is.UpdateFromSource(f.ctx, id, ports.SourceTime{Link: link}, func(_ *customer.Customer, k ports.LinkSource) ([]consent.Event, []ports.Job, error) {
		out = k
		return nil, nil, nil
	})
	if err != nil {
		f.t.Fatalf("UpdateFromSource(%s, %s): %v", id, link, err)
	}
	return out
}

// The fingerprint of a push's echo is kept with the link beside its
// source time: it changes no version, replaces the one before, belongs to
// the customer holding the link and goes with the link.
func testEchoKeptWithTheLink(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		link := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "41"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 123_456_000, time.UTC)
		p := person("Aino", "Virtanen")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
		c, events := f.build(p, connectorOrigin)
		if err := is.CreateFromSource(f.ctx, c, events, ports.SourceTime{Link: link, At: t1}, nil); err != nil {
			t.Fatalf("CreateFromSource: %v", err)
		}
		other := f.create(person("Eero", "Ahonen"))
		if k := kept(f, is, c.ID(), link); k.Echo != nil || !k.At.Equal(t1) {
			t.Errorf("before any echo: %+v, want the time only", k)
		}

		echo1, echo2 := []byte("fingerprint-1-of-32-bytes-......"), []byte("fingerprint-2-of-32-bytes-......")
		t2 := t1.Add(time.Minute)
		if err := is.RecordEcho(f.ctx, c.ID(), ports.SourceTime{Link: link, At: t2}, echo1); err != nil {
			t.Fatalf("RecordEcho: %v", err)
		}
		if k := kept(f, is, c.ID(), link); string(k.Echo) != string(echo1) || !k.At.Equal(t2) {
			t.Errorf("after RecordEcho: %+v, want echo 1 at %v", k, t2)
		}
		if got := f.get(c.ID()); got.Version != 1 {
			t.Errorf("RecordEcho changed the version to %d", got.Version)
		}
		// A later echo replaces it; its older time does not move the
		// time back.
		if err := is.RecordEcho(f.ctx, c.ID(), ports.SourceTime{Link: link, At: t1}, echo2); err != nil {
			t.Fatalf("RecordEcho: %v", err)
		}
		if k := kept(f, is, c.ID(), link); string(k.Echo) != string(echo2) || !k.At.Equal(t2) {
			t.Errorf("after a second RecordEcho: %+v, want echo 2 at %v", k, t2)
		}
		// A customer that does not hold the link records nothing, and
		// sees nothing of another's.
		if err := is.RecordEcho(f.ctx, other.ID(), ports.SourceTime{Link: link, At: t2}, echo1); err != nil {
			t.Errorf("RecordEcho for a link the customer does not hold: %v, want no error", err)
		}
		if k := kept(f, is, other.ID(), link); k.Echo != nil || !k.At.IsZero() {
			t.Errorf("another customer's link: %+v, want nothing", k)
		}
		if k := kept(f, is, c.ID(), link); string(k.Echo) != string(echo2) {
			t.Errorf("after another customer's RecordEcho: %+v, want echo 2 kept", k)
		}
		wantNotFound(t, "RecordEcho of an unknown customer", is.RecordEcho(f.ctx, uuid.Must(uuid.NewV7()), ports.SourceTime{Link: link, At: t2}, echo1))

		// The echo goes with the link.
		f.apply(c.ID(), customer.Patch{ExternalSystems: customer.Clear[[]customer.ExternalLink]()}, apiOrigin)
		f.apply(c.ID(), customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{link})}, apiOrigin)
		if k := kept(f, is, c.ID(), link); k.Echo != nil || !k.At.IsZero() {
			t.Errorf("a link removed and added again: %+v, want nothing", k)
		}
	}
}

// testIngestWithinASession: the ingest path takes part in a session: what
// Ingest (its lookups, CreateFromSource, UpdateFromSource) and RecordEcho
// write with the session's context is seen within it, and is kept or
// undone with it, source times and echoes included.
func testIngestWithinASession(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		bulk, ok := f.Customers.(ports.BulkStore)
		if !ok {
			t.Fatal("porttest: the customer store has no bulk path (ports.BulkStore), which Ingest needs")
		}
		link := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-s1"}
		fresh := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-s2"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 123_456_000, time.UTC)
		t2, t3 := t1.Add(time.Minute), t1.Add(2*time.Minute)
		draft := func(l customer.ExternalLink, first string, at time.Time) intake.Draft {
			return intake.Draft{Link: l, Trust: intake.Authoritative, SourceUpdatedAt: at, Patch: person(first, "Istunto")}
		}
		res, err := f.reg.Ingest(f.ctx, draft(link, "Aino", t1), connectorOrigin)
		if err != nil || res.Outcome != intake.Created {
			t.Fatalf("Ingest outside a session: %+v, %v", res, err)
		}
		c := res.Customer
		echo := []byte("fingerprint-of-the-session-push.")
		boom := errors.New("boom")
		session := func(fail bool) error {
			return bulk.Session(f.ctx, func(ctx context.Context) error {
				if r, err := f.reg.Ingest(ctx, draft(fresh, "Eero", t1), connectorOrigin); err != nil || r.Outcome != intake.Created {
					t.Fatalf("Ingest of a new customer in a session: %+v, %v", r, err)
				}
				if r, err := f.reg.Ingest(ctx, draft(link, "Aili", t2), connectorOrigin); err != nil || r.Outcome != intake.Updated {
					t.Fatalf("Ingest of a change in a session: %+v, %v", r, err)
				}
				if err := is.RecordEcho(ctx, c.ID(), ports.SourceTime{Link: link, At: t3}, echo); err != nil {
					t.Fatalf("RecordEcho in a session: %v", err)
				}
				// The session sees its own writes: the draft matches the
				// customer made in it.
				if r, err := f.reg.Ingest(ctx, draft(fresh, "Eero", t1), connectorOrigin); err != nil || r.Outcome != intake.Unchanged {
					t.Errorf("Ingest of the same draft again in the session: %+v, %v; want unchanged", r, err)
				}
				if fail {
					return boom
				}
				return nil
			})
		}
		if err := session(true); !errors.Is(err, boom) {
			t.Fatalf("Session = %v, want fn's error", err)
		}
		wantNotFound(t, "the customer a rolled back session's draft made", func() error {
			_, err := f.Customers.GetByExternal(f.ctx, fresh)
			return err
		}())
		if got := f.get(c.ID()); got.FirstName != "Aino" || got.Version != 1 {
			t.Errorf("a customer changed in a rolled back session: first name %q, version %d", got.FirstName, got.Version)
		}
		if k := kept(f, is, c.ID(), link); k.Echo != nil || !k.At.Equal(t1) {
			t.Errorf("after a rolled back session: %+v, want the time before it (%v) and no echo", k, t1)
		}

		if err := session(false); err != nil {
			t.Fatalf("Session: %v", err)
		}
		if _, err := f.Customers.GetByExternal(f.ctx, fresh); err != nil {
			t.Errorf("the customer a committed session's draft made: %v", err)
		}
		if got := f.get(c.ID()); got.FirstName != "Aili" || got.Version != 2 {
			t.Errorf("a customer changed in a committed session: first name %q, version %d", got.FirstName, got.Version)
		}
		if k := kept(f, is, c.ID(), link); string(k.Echo) != string(echo) || !k.At.Equal(t3) {
			t.Errorf("after a committed session: %+v, want the echo at %v", k, t3)
		}
	}
}
