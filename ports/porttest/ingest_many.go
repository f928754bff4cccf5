package porttest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// pushingConnector pushes to WooCommerce in the differential test: drafts
// from it take the slow path, and changes of customers holding its links
// store push jobs.
const pushingConnector = "woo-push"

// countingStore is the store the register's IngestMany runs on in the
// differential test: it counts the writes of connector drafts that
// WriteBatch stored, to show that the fast path is taken.
type countingStore struct {
	ports.CustomerStore
	ports.IngestStore
	ports.BulkStore
	ports.ChangeJobs
	fast int
}

func (c *countingStore) WriteBatch(ctx context.Context, b ports.Batch) ([]ports.BatchRejection, error) {
	rej, err := c.BulkStore.WriteBatch(ctx, b)
	if err == nil {
		c.fast += len(b.Writes) - len(rej)
	}
	return rej, err
}

// manyWorld is one store of the differential test with its register.
type manyWorld struct {
	f      *fixture
	is     ports.IngestStore
	store  *countingStore
	pushes func(t *testing.T) []ports.PushArgs
}

func openManyWorld(t *testing.T, open func(t *testing.T) IngestStores) *manyWorld {
	t.Helper()
	s := open(t)
	bulk, okB := s.Customers.(ports.BulkStore)
	cj, okJ := s.Customers.(ports.ChangeJobs)
	if s.Outbox == nil || s.Pushes == nil || !okB || !okJ {
		t.Fatalf("porttest: the differential test needs Outbox, Pushes, a BulkStore and ChangeJobs; got %+v", s)
	}
	cs := &countingStore{CustomerStore: s.Customers, IngestStore: s.Ingest, BulkStore: bulk, ChangeJobs: cj}
	c := newClock()
	reg := register.New(cs, c, idSource{})
	if err := reg.SetPushes(register.PushOptions{Targets: []register.PushTarget{{Connector: pushingConnector, System: customer.WooCommerce}}}); err != nil {
		t.Fatalf("SetPushes: %v", err)
	}
	return &manyWorld{
		f:  &fixture{t: t, ctx: t.Context(), Stores: Stores{Customers: s.Customers, Outbox: s.Outbox, Bulk: bulk}, clock: c, reg: reg},
		is: s.Ingest, store: cs, pushes: s.Pushes,
	}
}

// manyBase is the source time around which the drafts' times are drawn.
var manyBase = time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)

// The pools: half of the drafts name a few hot keys (so that drafts of a
// batch share them and go through Ingest, and the seeded customers are
// matched and changed), the others keys drawn from many (independent,
// on the fast path).
func hot(r *rand.Rand) bool { return r.IntN(2) == 0 }

func manyLink(r *rand.Rand) customer.ExternalLink {
	switch {
	case r.IntN(8) == 0:
		return customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: fmt.Sprint(1 + r.IntN(6))}
	case hot(r):
		return customer.ExternalLink{SystemID: customer.Webstore, Identifier: fmt.Sprintf("w-%d", 1+r.IntN(25))}
	}
	return customer.ExternalLink{SystemID: customer.Webstore, Identifier: fmt.Sprintf("w-%d", 100+r.IntN(1000))}
}

func manyEmail(r *rand.Rand) string {
	e := fmt.Sprintf("asiakas%d@example.fi", 100+r.IntN(1000))
	if hot(r) {
		e = fmt.Sprintf("asiakas%d@example.fi", 1+r.IntN(25))
	}
	if r.IntN(4) == 0 {
		e = strings.ToUpper(e[:1]) + e[1:]
	}
	return e
}

func manyPhone(r *rand.Rand) string {
	if hot(r) {
		return fmt.Sprintf("+3584010000%02d", 1+r.IntN(25))
	}
	return fmt.Sprintf("+35840200%04d", r.IntN(1000))
}

var manyLastNames = []string{"Virtanen", "Korhonen", "Mäkinen"}

// randomDraft draws a draft over small pools of links, emails, phones,
// names and times: valid and invalid, Authoritative and Observation, with
// and without consent claims.
func randomDraft(r *rand.Rand, seq int) (intake.Draft, consent.Origin) {
	link := manyLink(r)
	d := intake.Draft{Link: link, Trust: intake.Authoritative}
	if r.IntN(10) < 3 {
		d.Trust = intake.Observation
	}
	if r.IntN(10) > 0 {
		d.SourceUpdatedAt = manyBase.Add(time.Duration(r.IntN(6)-2) * time.Hour)
	}
	p := customer.Patch{FirstName: customer.Set([]string{"Aino", "Eero", "Ville"}[r.IntN(3)])}
	if r.IntN(5) > 0 {
		p.LastName = customer.Set(manyLastNames[r.IntN(len(manyLastNames))])
	}
	switch n := r.IntN(100); {
	case n < 60:
		p.Email = customer.Set(manyEmail(r))
	case n < 62:
		p.Email = customer.Set("not-an-email") // the core refuses it
	}
	if r.IntN(25) == 0 {
		p.ExternalID = customer.Set(fmt.Sprintf("X%d", r.IntN(3))) // unique: conflicts
	}
	if r.IntN(30) == 0 {
		p.MarketingEmail = customer.Set(true) // a connector's bug: refused
	}
	switch n := r.IntN(100); {
	case n < 40:
		d.AddPhones = []string{manyPhone(r)}
	case n < 42:
		d.AddPhones = []string{"12ab"}
	}
	if r.IntN(5) == 0 {
		d.AddAddresses = []customer.Address{{Type: []customer.AddressType{customer.Invoice, customer.Delivery}[r.IntN(2)], StreetAddress1: fmt.Sprintf("Katu %d", r.IntN(3)), PostalCode: "00100", City: "Helsinki"}}
	}
	if r.IntN(3) == 0 {
		c := &intake.ConsentClaim{Value: r.IntN(2) == 0, Evidence: "checkout checkbox"}
		if r.IntN(15) == 0 {
			c.Evidence = "" // a grant without evidence is refused
		}
		d.MarketingEmail = c
	}
	d.Patch = p
	actor := "connector:webstore"
	if link.SystemID == customer.WooCommerce {
		actor = "connector:woocommerce"
	}
	return d, consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(link.SystemID), Actor: actor, RequestID: fmt.Sprintf("delivery-%d", seq)}
}

// seedMany stores the same customers in a world, and returns their ids in
// a fixed order: customers made by drafts (with source times), one by the
// API, a restricted one, an erased one, one holding a pushed link, and an
// echo kept on a link.
func seedMany(w *manyWorld) []uuid.UUID {
	f := w.f
	f.t.Helper()
	var ids []uuid.UUID
	ingest := func(d intake.Draft, o consent.Origin) *customer.Customer {
		f.t.Helper()
		res, err := f.reg.Ingest(f.ctx, d, o)
		if err != nil || res.Customer == nil {
			f.t.Fatalf("seed Ingest: %+v, %v", res, err)
		}
		ids = append(ids, res.Customer.ID())
		return res.Customer
	}
	ws := func(i int) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.Webstore, Identifier: fmt.Sprintf("w-%d", i)}
	}
	origin := func(sys customer.SystemID) consent.Origin {
		return consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(sys), Actor: "connector:seed", RequestID: "seed"}
	}
	for i := 1; i <= 12; i++ {
		p := person("Seed", manyLastNames[i%3])
		p.Email = customer.Set(fmt.Sprintf("asiakas%d@example.fi", i))
		ingest(intake.Draft{Link: ws(i), Trust: intake.Authoritative, SourceUpdatedAt: manyBase, Patch: p,
			AddPhones: []string{fmt.Sprintf("+3584010000%02d", i)}}, origin(customer.Webstore))
	}
	// One by the API, with an email and a phone of the pools, no link.
	p := person("Api", "Korhonen")
	p.Email = customer.Set("asiakas20@example.fi")
	p.PhoneNumbers = customer.Set([]string{"+358401000020"})
	ids = append(ids, f.create(p).ID())
	// A restricted one.
	r := ingest(intake.Draft{Link: ws(21), Trust: intake.Authoritative, SourceUpdatedAt: manyBase,
		Patch: customer.Patch{FirstName: customer.Set("Rajattu"), LastName: customer.Set("Mäkinen"), Email: customer.Set("asiakas21@example.fi")}}, origin(customer.Webstore))
	if _, err := f.reg.Restrict(f.ctx, r.ID(), true, 0, admin); err != nil {
		f.t.Fatalf("Restrict: %v", err)
	}
	// An erased one: its link and email match nothing any more.
	e := ingest(intake.Draft{Link: ws(22), Trust: intake.Authoritative, SourceUpdatedAt: manyBase,
		Patch: customer.Patch{FirstName: customer.Set("Poistettu"), LastName: customer.Set("Virtanen"), Email: customer.Set("asiakas22@example.fi")}}, origin(customer.Webstore))
	if _, err := f.reg.Erase(f.ctx, e.ID(), 0, admin); err != nil {
		f.t.Fatalf("Erase: %v", err)
	}
	// One holding a WooCommerce link (pushed to) and a web store link.
	wp := person("Push", "Korhonen")
	wp.Email = customer.Set("asiakas23@example.fi")
	woo := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "1"}
	ingest(intake.Draft{Link: woo, Trust: intake.Authoritative, SourceUpdatedAt: manyBase, Patch: wp}, origin(customer.WooCommerce))
	ingest(intake.Draft{Link: ws(23), Trust: intake.Authoritative, SourceUpdatedAt: manyBase, Patch: wp}, origin(customer.Webstore))
	// An echo kept on the web store link of seed 2: the draft echoDraft.
	if err := f.reg.RecordEcho(f.ctx, ids[1], ws(2), echoDraft()); err != nil {
		f.t.Fatalf("RecordEcho: %v", err)
	}
	return ids
}

// echoDraft is the echo kept on link w-2 (seedMany); the drafts include it
// now and then.
func echoDraft() intake.Draft {
	p := person("Echo", "Korhonen")
	return intake.Draft{Link: customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-2"}, Trust: intake.Authoritative,
		SourceUpdatedAt: manyBase.Add(time.Hour), Patch: p}
}

// testIngestManyMatchesIngest is the differential test of IngestMany:
// a few hundred seeded random drafts go through Ingest one by one on one
// store, and through IngestMany in batches of various sizes on another
// with the same customers; the outcomes (kind, customer, error), the
// stored customers, their links' source times and echoes, the consent
// events and the push jobs must be the same, customers compared by the
// mapping the outcomes make (ids and numbers differ).
func testIngestManyMatchesIngest(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		one, many := openManyWorld(t, open), openManyWorld(t, open)
		m := newIDMap(t)
		seedA, seedB := seedMany(one), seedMany(many)
		for k := range seedA {
			m.pair("seed", seedA[k], seedB[k])
		}

		r := rand.New(rand.NewPCG(20261102, 1))
		const n = 400
		items := make([]ports.IngestItem, n)
		for i := range items {
			d, o := randomDraft(r, i)
			if r.IntN(25) == 0 {
				d, o = echoDraft(), consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.Webstore), Actor: "connector:webstore", RequestID: fmt.Sprintf("delivery-%d", i)}
			}
			items[i] = ports.IngestItem{Draft: d, Origin: o}
		}
		want := make([]ports.IngestOutcome, n)
		for i, it := range items {
			res, err := one.f.reg.Ingest(one.f.ctx, it.Draft, it.Origin)
			want[i] = ports.IngestOutcome{Result: res, Err: err}
		}
		var got []ports.IngestOutcome
		sizes := []int{1, 9, 40, 100, 3, 60, 25}
		for k, at := 0, 0; at < n; k++ {
			size := min(sizes[k%len(sizes)], n-at)
			outs := many.f.reg.IngestMany(many.f.ctx, items[at:at+size])
			if len(outs) != size {
				t.Fatalf("IngestMany of %d items returned %d outcomes", size, len(outs))
			}
			got = append(got, outs...)
			at += size
		}

		kinds := map[string]int{}
		for i := range items {
			what := fmt.Sprintf("item %d (%s, trust %d)", i, items[i].Draft.Link, items[i].Draft.Trust)
			compareOutcome(t, m, what, want[i], got[i])
			if want[i].Err != nil {
				kinds["error"]++
				kinds[errorShape(want[i].Err)]++
			} else {
				kinds[string(want[i].Result.Outcome)]++
			}
		}
		t.Logf("outcomes %v; %d writes on the fast path", kinds, many.store.fast)
		for _, k := range []string{"error", string(intake.Created), string(intake.Updated), string(intake.Unchanged), string(intake.Stale)} {
			if kinds[k] == 0 {
				t.Errorf("no item had outcome %s: the drafts do not cover it", k)
			}
		}
		if many.store.fast < 60 {
			t.Errorf("only %d writes took the fast path: the test does not exercise it", many.store.fast)
		}
		if t.Failed() {
			return
		}
		compareStored(t, m, one, many)
	}
}

// idMap pairs the customers of the two stores.
type idMap struct {
	t      *testing.T
	ab, ba map[uuid.UUID]uuid.UUID
}

func newIDMap(t *testing.T) *idMap {
	return &idMap{t: t, ab: map[uuid.UUID]uuid.UUID{}, ba: map[uuid.UUID]uuid.UUID{}}
}

func (m *idMap) pair(what string, a, b uuid.UUID) {
	m.t.Helper()
	if x, ok := m.ab[a]; ok && x != b {
		m.t.Errorf("%s: customer %s of Ingest is paired with two customers of IngestMany", what, a)
	}
	if x, ok := m.ba[b]; ok && x != a {
		m.t.Errorf("%s: customer %s of IngestMany is paired with two customers of Ingest", what, b)
	}
	m.ab[a], m.ba[b] = b, a
}

// comparableData is a customer without what differs between the two stores:
// id, number and times.
func comparableData(c *customer.Customer) customer.Data {
	d := c.Data()
	d.ID, d.Number, d.CreatedAt, d.UpdatedAt = uuid.Nil, 0, time.Time{}, time.Time{}
	if d.ErasedAt != nil {
		d.ErasedAt = &time.Time{}
	}
	for i := range d.Contacts {
		d.Contacts[i].ID = uuid.Nil
	}
	return d
}

func compareOutcome(t *testing.T, m *idMap, what string, want, got ports.IngestOutcome) {
	t.Helper()
	if (want.Err == nil) != (got.Err == nil) {
		t.Errorf("%s: IngestMany gave error %v, Ingest %v", what, got.Err, want.Err)
		return
	}
	if want.Err != nil {
		if w, g := errorShape(want.Err), errorShape(got.Err); w != g {
			t.Errorf("%s: IngestMany's error is %s, Ingest's %s", what, g, w)
		}
		return
	}
	if want.Result.Outcome != got.Result.Outcome {
		t.Errorf("%s: IngestMany's outcome is %s, Ingest's %s", what, got.Result.Outcome, want.Result.Outcome)
	}
	wc, gc := want.Result.Customer, got.Result.Customer
	if (wc == nil) != (gc == nil) {
		t.Errorf("%s: IngestMany's customer is %v, Ingest's %v", what, gc, wc)
		return
	}
	if wc == nil {
		return
	}
	m.pair(what, wc.ID(), gc.ID())
	if w, g := comparableData(wc), comparableData(gc); !reflect.DeepEqual(w, g) {
		t.Errorf("%s: IngestMany's customer\n%+v\nIngest's\n%+v", what, g, w)
	}
}

// errorShape is what must agree of two errors: the kind and the fields.
func errorShape(err error) string {
	var (
		v  *fault.Validation
		cf *fault.Conflict
	)
	switch {
	case errors.As(err, &v):
		var fields []string
		for _, fe := range v.Fields {
			fields = append(fields, fe.Field)
		}
		return "validation " + strings.Join(fields, ",")
	case errors.As(err, &cf):
		return "conflict " + cf.Field
	}
	return "other " + err.Error()
}

// compareStored compares everything the two stores hold: customers,
// their links' source times and echoes, the consent events and the
// push jobs, through the mapping.
func compareStored(t *testing.T, m *idMap, one, many *manyWorld) {
	t.Helper()
	a, b := listAll(one.f), listAll(many.f)
	if len(a) != len(b) {
		t.Errorf("Ingest stored %d customers, IngestMany %d", len(a), len(b))
	}
	for id, ca := range a {
		cb, ok := b[m.ab[id]]
		if !ok {
			t.Errorf("customer %d of Ingest has no counterpart stored by IngestMany", ca.Number())
			continue
		}
		if w, g := comparableData(ca), comparableData(cb); !reflect.DeepEqual(w, g) {
			t.Errorf("customer %d: IngestMany stored\n%+v\nIngest\n%+v", ca.Number(), g, w)
		}
		for _, l := range ca.Data().ExternalSystems {
			ka, kb := kept(one.f, one.is, id, l), kept(many.f, many.is, cb.ID(), l)
			if !ka.At.Equal(kb.At) || !slices.Equal(ka.Echo, kb.Echo) {
				t.Errorf("customer %d, link %s: IngestMany kept %+v, Ingest %+v", ca.Number(), l, kb, ka)
			}
		}
	}

	events := func(w *manyWorld, mapID func(uuid.UUID) uuid.UUID) []string {
		var out []string
		for _, e := range w.f.drain() {
			out = append(out, fmt.Sprintf("%s %s %t→%t %s %d %s %s %q", mapID(e.CustomerID), e.Consent, e.OldValue, e.NewValue,
				e.Source, e.SourceSystemID, e.Actor, e.RequestID, e.Evidence))
		}
		slices.Sort(out)
		return out
	}
	same := func(id uuid.UUID) uuid.UUID { return id }
	if ea, eb := events(one, same), events(many, func(id uuid.UUID) uuid.UUID { return m.ba[id] }); !slices.Equal(ea, eb) {
		t.Errorf("consent events differ:\nIngestMany %q\nIngest     %q", eb, ea)
	}

	jobs := func(w *manyWorld, mapID func(uuid.UUID) uuid.UUID) []string {
		seen := map[string]bool{}
		for _, p := range w.pushes(w.f.t) {
			id, err := uuid.Parse(p.Customer)
			if err != nil {
				w.f.t.Fatalf("a push job names customer %q", p.Customer)
			}
			seen[p.Connector+" "+mapID(id).String()] = true
		}
		out := make([]string, 0, len(seen))
		for k := range seen {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	ja, jb := jobs(one, same), jobs(many, func(id uuid.UUID) uuid.UUID { return m.ba[id] })
	if !slices.Equal(ja, jb) {
		t.Errorf("push jobs differ:\nIngestMany %q\nIngest     %q", jb, ja)
	}
	if len(ja) == 0 {
		t.Error("no push job was stored: the test does not exercise pushes")
	}
}

// listAll lists every stored customer that is not erased, restricted ones
// included, by id.
func listAll(f *fixture) map[uuid.UUID]*customer.Customer {
	f.t.Helper()
	out := map[uuid.UUID]*customer.Customer{}
	q := ports.CustomerQuery{IncludeRestricted: true, Limit: 500}
	for range 100 {
		page, err := f.Customers.Find(f.ctx, q)
		if err != nil {
			f.t.Fatalf("Find: %v", err)
		}
		for _, c := range page.Items {
			out[c.ID()] = c
		}
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
	f.t.Fatal("Find never ran dry")
	return nil
}

// testCustomersByLinks: the lookup by many links finds each link's
// customer, restricted ones too, with what is kept with the link, and
// leaves out links nobody (or an erased customer) holds.
func testCustomersByLinks(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		l1 := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-1"}
		l2 := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "7"}
		l3 := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-3"}
		l4 := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-4"}
		nobody := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-5"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 123_456_000, time.UTC)
		p := person("Aino", "Virtanen")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{l1, l2})
		a, events := f.build(p, connectorOrigin)
		if err := is.CreateFromSource(f.ctx, a, events, ports.SourceTime{Link: l1, At: t1}, nil); err != nil {
			t.Fatalf("CreateFromSource: %v", err)
		}
		echo := []byte("fingerprint-of-an-echo-32-bytes.")
		if err := is.RecordEcho(f.ctx, a.ID(), ports.SourceTime{Link: l2}, echo); err != nil {
			t.Fatalf("RecordEcho: %v", err)
		}
		pb := person("Eero", "Ahonen")
		pb.ExternalSystems = customer.Set([]customer.ExternalLink{l3})
		b := f.create(pb)
		if _, err := f.reg.Restrict(f.ctx, b.ID(), true, 0, admin); err != nil {
			t.Fatalf("Restrict: %v", err)
		}
		pe := person("Ville", "Bäck")
		pe.ExternalSystems = customer.Set([]customer.ExternalLink{l4})
		e := f.create(pe)
		if _, err := f.reg.Erase(f.ctx, e.ID(), 0, admin); err != nil {
			t.Fatalf("Erase: %v", err)
		}
		got, err := is.CustomersByLinks(f.ctx, []customer.ExternalLink{l1, l2, l3, l4, nobody})
		if err != nil {
			t.Fatalf("CustomersByLinks: %v", err)
		}
		type hit struct {
			id   uuid.UUID
			at   time.Time
			echo string
		}
		have := map[customer.ExternalLink]hit{}
		for _, lc := range got {
			if _, dup := have[lc.Link]; dup {
				t.Errorf("CustomersByLinks returned link %s twice", lc.Link)
			}
			have[lc.Link] = hit{lc.Customer.ID(), lc.Kept.At, string(lc.Kept.Echo)}
		}
		want := map[customer.ExternalLink]hit{
			l1: {a.ID(), t1, ""},
			l2: {a.ID(), time.Time{}, string(echo)},
			l3: {b.ID(), time.Time{}, ""},
		}
		if len(have) != len(want) {
			t.Errorf("CustomersByLinks found %d links, want %d: %+v", len(have), len(want), have)
		}
		for l, w := range want {
			h, ok := have[l]
			if !ok || h.id != w.id || !h.at.Equal(w.at) || h.echo != w.echo {
				t.Errorf("CustomersByLinks, link %s: %+v (found %t), want %+v", l, h, ok, w)
			}
		}
		if cs, err := is.CustomersByLinks(f.ctx, nil); err != nil || len(cs) != 0 {
			t.Errorf("CustomersByLinks(nil) = %v, %v; want nothing", cs, err)
		}
	}
}

// testWriteBatchWithSource: a write of a connector draft (Source) records
// its link's source time with it, never moving it back, and is rejected
// as stale when its link got a later source time or an echo after it was
// decided; a write without Source (an import's) ignores both.
func testWriteBatchWithSource(open func(t *testing.T) IngestStores) func(*testing.T) {
	return func(t *testing.T) {
		f, is := ingestSetup(t, open)
		bulk, ok := f.Customers.(ports.BulkStore)
		if !ok {
			t.Fatal("porttest: the customer store has no bulk path (ports.BulkStore)")
		}
		f.Bulk = bulk
		link := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-b1"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 123_456_000, time.UTC)
		t2, t3 := t1.Add(time.Minute), t1.Add(2*time.Minute)
		source := func(at time.Time) *ports.SourceTime { return &ports.SourceTime{Link: link, At: at} }
		p := person("Aino", "Virtanen")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
		w := f.newWrite(p)
		w.Source = source(t1)
		wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{w}}), nil)
		id := w.Customer.ID()
		wantSource(f, is, "a new customer's", id, link, t1)

		update := func(first string, st *ports.SourceTime) ports.BatchWrite {
			w := f.updateWrite(id, customer.Patch{FirstName: customer.Set(first)})
			w.Source = st
			return w
		}
		for _, tc := range []struct {
			name      string
			first     string
			st        *ports.SourceTime
			stale     bool
			wantFirst string
			wantAt    time.Time
		}{
			{"a later draft", "Aili", source(t2), false, "Aili", t2},
			{"an older draft", "Anna", source(t1), true, "Aili", t2},
			{"a draft as old", "Anni", source(t2), false, "Anni", t2},
			{"a draft without a time", "Aune", source(time.Time{}), false, "Aune", t2},
			{"an import", "Alma", nil, false, "Alma", t2},
		} {
			want := map[int]string{}
			if tc.stale {
				want[0] = ""
			}
			wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{update(tc.first, tc.st)}}), want)
			if got := f.get(id).FirstName; got != tc.wantFirst {
				t.Errorf("after %s: first name %q, want %q", tc.name, got, tc.wantFirst)
			}
			wantSource(f, is, "after "+tc.name, id, link, tc.wantAt)
		}

		// Decided before a newer draft was recorded (which changes no
		// version): stale under the row lock.
		w = update("Aila", source(t2))
		if _, err := is.UpdateFromSource(f.ctx, id, ports.SourceTime{Link: link, At: t3}, func(*customer.Customer, ports.LinkSource) ([]consent.Event, []ports.Job, error) {
			return nil, nil, nil
		}); err != nil {
			t.Fatalf("UpdateFromSource: %v", err)
		}
		wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{w}}), map[int]string{0: ""})
		// An echo kept: stale however late the draft; an import ignores it.
		if err := is.RecordEcho(f.ctx, id, ports.SourceTime{Link: link}, []byte("fingerprint-of-an-echo-32-bytes.")); err != nil {
			t.Fatalf("RecordEcho: %v", err)
		}
		wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{update("Aila", source(t3.Add(time.Hour)))}}), map[int]string{0: ""})
		wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{update("Aila", nil)}}), nil)
		if got := f.get(id).FirstName; got != "Aila" {
			t.Errorf("after an import: first name %q, want Aila", got)
		}
		wantSource(f, is, "after the echo and an import", id, link, t3)

		// A link the update adds gets its time with it.
		added := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "55"}
		w = f.updateWrite(id, customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{link, added})})
		w.Source = &ports.SourceTime{Link: added, At: t1}
		wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{w}}), nil)
		wantSource(f, is, "a link added by the write", id, added, t1)
	}
}
