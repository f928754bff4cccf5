package porttest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// The bulk path: ports.BulkStore's lookups and WriteBatch, and the
// register's ImportBatch over it.
func testBulk(t *testing.T, open opener) {
	t.Run("Lookups", func(t *testing.T) { testBulkLookups(t, open) })
	t.Run("Write", func(t *testing.T) { testBulkWrite(t, open) })
	t.Run("Conflicts", func(t *testing.T) { testBulkConflicts(t, open) })
	t.Run("WithinBatch", func(t *testing.T) { testBulkWithinBatch(t, open) })
	t.Run("Modes", func(t *testing.T) { testBulkModes(t, open) })
	t.Run("PromisedGroups", func(t *testing.T) { testBulkPromisedGroups(t, open) })
	t.Run("Stale", func(t *testing.T) { testBulkStale(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testBulkConcurrent(t, open) })
	t.Run("ConcurrentCreates", func(t *testing.T) { testBulkConcurrentCreates(t, open) })
	t.Run("Session", func(t *testing.T) { testBulkSession(t, open) })
}

// newWrite builds a new customer for a batch, with its events.
func (f *fixture) newWrite(p customer.Patch) ports.BatchWrite {
	f.t.Helper()
	c, events := f.build(p, importOrigin)
	return ports.BatchWrite{Customer: c, Events: events}
}

// updateWrite applies p to the stored customer id, for a batch.
func (f *fixture) updateWrite(id uuid.UUID, p customer.Patch) ports.BatchWrite {
	f.t.Helper()
	before, err := f.Customers.Get(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Get: %v", err)
	}
	after, err := customer.FromStorage(before.Data())
	if err != nil {
		f.t.Fatal(err)
	}
	events, err := after.Apply(p, f.change(importOrigin))
	if err != nil {
		f.t.Fatalf("Apply: %v", err)
	}
	return ports.BatchWrite{Customer: after, Before: before, Events: events}
}

func (f *fixture) writeBatch(b ports.Batch) []ports.BatchRejection {
	f.t.Helper()
	rej, err := f.Bulk.WriteBatch(f.ctx, b)
	if err != nil {
		f.t.Fatalf("WriteBatch: %v", err)
	}
	return rej
}

// wantRejected checks that exactly the writes of want (index: field, "" for
// a *fault.Stale) were rejected.
func wantRejected(t *testing.T, got []ports.BatchRejection, want map[int]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d writes rejected (%v), want %d (%v)", len(got), got, len(want), want)
	}
	for _, r := range got {
		field, ok := want[r.Index]
		switch {
		case !ok:
			t.Errorf("write %d rejected: %v", r.Index, r.Err)
		case field == "":
			if !fault.IsStale(r.Err) {
				t.Errorf("write %d rejected with %v (%T), want *fault.Stale", r.Index, r.Err, r.Err)
			}
		case field == "groups":
			wantValidation(t, fmt.Sprintf("write %d", r.Index), r.Err, field)
		default:
			wantConflict(t, fmt.Sprintf("write %d", r.Index), r.Err, field)
		}
	}
}

func testBulkLookups(t *testing.T, open opener) {
	f := setup(t, open)
	withEmail := func(first, email string) customer.Patch {
		p := person(first, "Haettava")
		p.Email = customer.Set(email)
		return p
	}
	plain := f.create(withEmail("Pekka", "Pekka.Haettava@Example.fi"))
	restricted := f.create(func() customer.Patch {
		p := withEmail("Riitta", "riitta@example.fi")
		p.GDPRRestricted = customer.Set(true)
		return p
	}())
	erased := f.create(withEmail("Eero", "eero@example.fi"))
	if _, err := f.reg.Erase(f.ctx, erased.ID(), 0, admin); err != nil {
		t.Fatal(err)
	}
	numbers := func(cs []*customer.Customer) []int64 {
		var out []int64
		for _, c := range cs {
			out = append(out, c.Number())
		}
		slices.Sort(out)
		return out
	}
	got, err := f.Bulk.CustomersByNumber(f.ctx, []int64{plain.Number(), restricted.Number(), erased.Number(), 99999999, plain.Number()})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{plain.Number(), restricted.Number()}; !slices.Equal(numbers(got), want) {
		t.Errorf("CustomersByNumber found %v, want %v (restricted included, erased and unknown not)", numbers(got), want)
	}
	for _, c := range got {
		if c.ID() == plain.ID() {
			assertData(t, "CustomersByNumber", c.Data(), plain.Data())
		}
	}
	got, err = f.Bulk.CustomersByEmail(f.ctx, []string{"pekka.haettava@example.FI", "RIITTA@example.fi", "eero@example.fi", "nobody@example.fi"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{plain.Number(), restricted.Number()}; !slices.Equal(numbers(got), want) {
		t.Errorf("CustomersByEmail found %v, want %v (ignoring case; restricted included, erased not)", numbers(got), want)
	}
	nums, err := f.Bulk.NextNumbers(f.ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	next, err := f.Customers.NextNumber(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != 3 || nums[0] <= erased.Number() || nums[1] != nums[0]+1 || nums[2] != nums[1]+1 || next <= nums[2] {
		t.Errorf("NextNumbers(3) = %v after %d, then NextNumber = %d", nums, erased.Number(), next)
	}
}

func testBulkWrite(t *testing.T, open opener) {
	f := setup(t, open)
	f.groups("vip")
	old := f.create(person("Vanha", "Asiakas"))
	other := f.create(person("Toinen", "Asiakas"))
	f.drain()

	p := person("Uusi", "Asiakas")
	p.Email = customer.Set("uusi@example.fi")
	p.MarketingEmail = customer.Set(true)
	p.CustomerCards = customer.Set([]string{"CARD-1"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-1"}})
	p.Groups = customer.Set([]string{"vip", "new-group"})
	created := f.newWrite(p)
	updated := f.updateWrite(old.ID(), customer.Patch{
		MarketingSMS:  customer.Set(true),
		CustomerCards: customer.Set([]string{"CARD-2"}),
		Groups:        customer.Set([]string{"vip"}),
	})
	quiet := f.updateWrite(other.ID(), customer.Patch{LastName: customer.Set("Muutettu")})
	if len(created.Events) != 1 || len(updated.Events) != 1 || len(quiet.Events) != 0 {
		t.Fatalf("the core made %d, %d and %d events, want 1, 1, 0", len(created.Events), len(updated.Events), len(quiet.Events))
	}
	rej := f.writeBatch(ports.Batch{
		Writes: []ports.BatchWrite{created, updated, quiet},
		Groups: []customer.Group{{ExternalID: "new-group", Name: "new-group"}, {ExternalID: "vip", Name: "not renamed"}},
	})
	wantRejected(t, rej, nil)
	for _, w := range []ports.BatchWrite{created, updated, quiet} {
		assertData(t, "customer after the batch", f.get(w.Customer.ID()), w.Customer.Data())
	}
	byLink, err := f.Customers.GetByExternal(f.ctx, customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "wc-1"})
	if err != nil || byLink.ID() != created.Customer.ID() {
		t.Errorf("GetByExternal of the new customer's link: %v, %v", byLink, err)
	}
	groups, err := f.Customers.ListGroups(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []customer.Group{{ExternalID: "new-group", Name: "new-group"}, {ExternalID: "vip", Name: "Group vip"}}; !slices.Equal(groups, want) {
		t.Errorf("groups %v, want %v (missing ones created, existing ones left alone)", groups, want)
	}
	assertEvents(t, "outbox after the batch", f.drain(), append(slices.Clone(created.Events), updated.Events...))

	// The card the update gave up is free again; the one it took is not.
	taken := f.newWrite(func() customer.Patch {
		p := person("Kortti", "Varattu")
		p.CustomerCards = customer.Set([]string{"CARD-2"})
		return p
	}())
	wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{taken}}), map[int]string{0: "customerCards"})
	freed := f.updateWrite(created.Customer.ID(), customer.Patch{CustomerCards: customer.Set([]string{})})
	reuse := f.newWrite(func() customer.Patch {
		p := person("Kortti", "Uusiokäyttö")
		p.CustomerCards = customer.Set([]string{"CARD-1"})
		return p
	}())
	wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{freed, reuse}}), nil)
	assertData(t, "customer with the freed card", f.get(reuse.Customer.ID()), reuse.Customer.Data())
}

// testBulkPromisedGroups: a group of Batch.Promised is neither checked nor
// created; any other group a write adds must exist or be created with the
// batch.
func testBulkPromisedGroups(t *testing.T, open opener) {
	f := setup(t, open)
	joiner := func(name string, groups ...string) ports.BatchWrite {
		p := person(name, "Ryhmäläinen")
		p.Groups = customer.Set(groups)
		return f.newWrite(p)
	}
	unpromised := joiner("Ilman", "later")
	wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{unpromised}}), map[int]string{0: "groups"})
	promised := joiner("Luvattu", "later")
	other := joiner("Toinen", "later", "never")
	wantRejected(t, f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{promised, other}, Promised: []string{"later"}}),
		map[int]string{1: "groups"})
	assertData(t, "the customer in a promised group", f.get(promised.Customer.ID()), promised.Customer.Data())
	groups, err := f.Customers.ListGroups(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 0 {
		t.Errorf("groups %v after the batch, want none: a promised group is created by the batch that promised it", groups)
	}
	wantRejected(t, f.writeBatch(ports.Batch{Groups: []customer.Group{{ExternalID: "later", Name: "later"}}}), nil)
	if groups, err = f.Customers.ListGroups(f.ctx); err != nil || len(groups) != 1 || groups[0].ExternalID != "later" {
		t.Errorf("groups %v, %v after the batch that creates it, want later", groups, err)
	}
}

// testBulkConflicts: a write whose unique value a stored customer holds is
// rejected naming the field, and the others are written with their events.
func testBulkConflicts(t *testing.T, open opener) {
	tests := []struct {
		name  string
		mod   func(*customer.Patch)
		field string
	}{
		{"email ignoring case", func(p *customer.Patch) { p.Email = customer.Set("TAKEN@example.fi") }, "email"},
		{"externalId", func(p *customer.Patch) { p.ExternalID = customer.Set("EXT-1") }, "externalId"},
		{"netvisorId", func(p *customer.Patch) { p.NetvisorID = customer.Set("NV-1") }, "netvisorId"},
		{"ssn", func(p *customer.Patch) { p.SSN = customer.Set(hetu1) }, "ssn"},
		{"customerCards", func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-9", "C-1"}) }, "customerCards"},
		{"externalSystems", func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-1"}})
		}, "externalSystems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, open)
			holder := person("Haltija", "Ensimmäinen")
			holder.Email = customer.Set("taken@example.fi")
			holder.ExternalID = customer.Set("EXT-1")
			holder.NetvisorID = customer.Set("NV-1")
			holder.SSN = customer.Set(hetu1)
			holder.CustomerCards = customer.Set([]string{"C-1"})
			holder.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-1"}})
			f.create(holder)
			target := f.create(person("Päivitettävä", "Asiakas"))
			f.drain()

			consenting := func(first string) customer.Patch {
				p := person(first, "Erä")
				p.MarketingEmail = customer.Set(true)
				return p
			}
			bad := consenting("Uusi")
			tt.mod(&bad)
			upd := customer.Patch{MarketingEmail: customer.Set(true)}
			tt.mod(&upd)
			writes := []ports.BatchWrite{
				f.newWrite(consenting("Hyvä")),
				f.newWrite(bad),
				f.updateWrite(target.ID(), upd),
			}
			rej := f.writeBatch(ports.Batch{Writes: writes})
			wantRejected(t, rej, map[int]string{1: tt.field, 2: tt.field})
			assertData(t, "the good new customer", f.get(writes[0].Customer.ID()), writes[0].Customer.Data())
			_, err := f.Customers.Get(f.ctx, writes[1].Customer.ID())
			wantNotFound(t, "the rejected new customer", err)
			assertData(t, "the customer whose update was rejected", f.get(target.ID()), target.Data())
			assertEvents(t, "outbox", f.drain(), writes[0].Events)
		})
	}
}

// testBulkWithinBatch: two writes of one batch that claim the same value:
// the later one is rejected and names the earlier; values moving between
// customers of the batch are no conflict.
func testBulkWithinBatch(t *testing.T, open opener) {
	f := setup(t, open)
	a := f.create(func() customer.Patch { p := person("Aino", "A"); p.Email = customer.Set("a@example.fi"); return p }())
	b := f.create(func() customer.Patch { p := person("Bert", "B"); p.Email = customer.Set("b@example.fi"); return p }())
	card := func(first, c string) customer.Patch {
		p := person(first, "Kortti")
		p.CustomerCards = customer.Set([]string{c})
		return p
	}
	writes := []ports.BatchWrite{
		f.newWrite(card("Eka", "SAME")),
		f.updateWrite(a.ID(), customer.Patch{Email: customer.Set("B@example.fi")}), // swap
		f.updateWrite(b.ID(), customer.Patch{Email: customer.Set("a@example.fi")}),
		f.newWrite(card("Toka", "SAME")),
		f.newWrite(func() customer.Patch {
			p := person("Kolmas", "Sähköposti")
			p.Email = customer.Set("a@EXAMPLE.fi")
			return p
		}()),
	}
	rej := f.writeBatch(ports.Batch{Writes: writes})
	wantRejected(t, rej, map[int]string{3: "customerCards", 4: "email"})
	for _, r := range rej {
		if want := map[int]int{3: 0, 4: 2}[r.Index]; r.Earlier != want {
			t.Errorf("write %d: Earlier = %d, want %d", r.Index, r.Earlier, want)
		}
	}
	for _, i := range []int{0, 1, 2} {
		assertData(t, fmt.Sprintf("write %d", i), f.get(writes[i].Customer.ID()), writes[i].Customer.Data())
	}
}

// testBulkModes: all or nothing, and the dry run.
func testBulkModes(t *testing.T, open opener) {
	for _, mode := range []string{"AllOrNothing", "DryRun"} {
		t.Run(mode, func(t *testing.T) {
			f := setup(t, open)
			holder := person("Haltija", "H")
			holder.ExternalID = customer.Set("EXT-1")
			f.create(holder)
			target := f.create(person("Kohde", "K"))
			before := f.backlog()
			good := person("Hyvä", "Uusi")
			good.MarketingSMS = customer.Set(true)
			good.Groups = customer.Set([]string{"fresh"})
			bad := person("Huono", "Uusi")
			bad.ExternalID = customer.Set("EXT-1")
			dup := person("Toinen", "Huono")
			dup.Groups = customer.Set([]string{"fresh"})
			dup.ExternalID = customer.Set("EXT-2")
			dup2 := person("Kolmas", "Huono")
			dup2.ExternalID = customer.Set("EXT-2")
			writes := []ports.BatchWrite{
				f.newWrite(good),
				f.updateWrite(target.ID(), customer.Patch{MarketingEmail: customer.Set(true), Groups: customer.Set([]string{"missing"})}),
				f.newWrite(bad),
				f.newWrite(dup),
				f.newWrite(dup2),
			}
			b := ports.Batch{Writes: writes, Groups: []customer.Group{{ExternalID: "fresh", Name: "fresh"}}}
			if mode == "DryRun" {
				b.DryRun = true
			} else {
				b.AllOrNothing = true
			}
			rej := f.writeBatch(b)
			wantRejected(t, rej, map[int]string{1: "groups", 2: "externalId", 4: "externalId"})
			for _, i := range []int{0, 2, 3, 4} {
				_, err := f.Customers.Get(f.ctx, writes[i].Customer.ID())
				wantNotFound(t, fmt.Sprintf("new customer %d", i), err)
			}
			assertData(t, "the customer to update", f.get(target.ID()), target.Data())
			if n := f.backlog(); n != before {
				t.Errorf("outbox holds %d events, want %d", n, before)
			}
			groups, err := f.Customers.ListGroups(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if mode == "DryRun" && len(groups) != 0 {
				t.Errorf("the dry run created groups %v", groups)
			}
		})
	}
}

// testBulkStale: a write made from an older version of its customer is not
// stored.
func testBulkStale(t *testing.T, open opener) {
	f := setup(t, open)
	c := f.create(person("Vanha", "Versio"))
	w := f.updateWrite(c.ID(), customer.Patch{MarketingEmail: customer.Set(true)})
	now, _ := f.apply(c.ID(), customer.Patch{LastName: customer.Set("Välissä")}, apiOrigin)
	f.drain()
	other := f.newWrite(person("Muu", "Asiakas"))
	rej := f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{w, other}})
	wantRejected(t, rej, map[int]string{0: ""})
	assertData(t, "customer changed meanwhile", f.get(c.ID()), now.Data())
	assertData(t, "the other write", f.get(other.Customer.ID()), other.Customer.Data())
	if got := f.drain(); len(got) != 0 {
		t.Errorf("events of the stale write were stored: %s", eventList(got))
	}
}

// testBulkConcurrent runs two imports over the same customers at once, in
// opposite orders: neither is lost (each row is applied to the customer as
// the other left it), nothing deadlocks, and every consent change has
// exactly one event.
func testBulkConcurrent(t *testing.T, open opener) {
	f := setup(t, open)
	const n = 40
	var ids []uuid.UUID
	for i := range n {
		p := person("Rinnakkain", fmt.Sprintf("Asiakas%d", i))
		p.Email = customer.Set(fmt.Sprintf("r%d@example.fi", i))
		ids = append(ids, f.create(p).ID())
	}
	f.drain()
	rows := func(p customer.Patch, reverse bool) []register.BatchRow {
		out := make([]register.BatchRow, n)
		for i := range out {
			out[i] = register.BatchRow{Email: fmt.Sprintf("R%d@example.fi", i), Patch: p}
		}
		if reverse {
			slices.Reverse(out)
		}
		return out
	}
	importer := register.Caller{Origin: importOrigin, SeeRestricted: true}
	var wg sync.WaitGroup
	results := make([]register.BatchResult, 2)
	errs := make([]error, 2)
	for k, p := range []customer.Patch{{MarketingEmail: customer.Set(true)}, {MarketingSMS: customer.Set(true)}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = f.reg.ImportBatch(f.ctx, rows(p, k == 1), register.BatchOptions{ImportID: fmt.Sprintf("imp-%d", k)}, importer)
		}()
	}
	wg.Wait()
	for k := range 2 {
		if errs[k] != nil {
			t.Fatalf("import %d: %v", k, errs[k])
		}
		for i, r := range results[k].Rows {
			if r.Outcome != register.Updated {
				t.Errorf("import %d row %d: %s %v, want updated", k, i, r.Outcome, r.Err)
			}
		}
	}
	for _, id := range ids {
		d := f.get(id)
		if !d.MarketingEmail || !d.MarketingSMS || d.Version != 3 {
			t.Errorf("customer %d: marketingEmail %v, marketingSms %v, version %d; want both true at version 3", d.Number, d.MarketingEmail, d.MarketingSMS, d.Version)
		}
	}
	events := f.drain()
	count := map[consent.Kind]int{}
	for _, e := range events {
		count[e.Consent]++
	}
	if count[consent.MarketingEmail] != n || count[consent.MarketingSMS] != n || len(events) != 2*n {
		t.Errorf("events %v, want %d of each consent", count, n)
	}
}

// testBulkConcurrentCreates runs the same import of new customers twice at
// once: each email ends up with one customer, no row is rejected (the
// loser's rows find the winner's customers and change nothing), and each
// consent has one event.
func testBulkConcurrentCreates(t *testing.T, open opener) {
	f := setup(t, open)
	const n = 40
	rows := make([]register.BatchRow, n)
	for i := range rows {
		email := fmt.Sprintf("uusi%d@example.fi", i)
		p := person("Uusi", fmt.Sprintf("Asiakas%d", i))
		p.Email = customer.Set(email)
		p.MarketingEmail = customer.Set(true)
		p.CustomerCards = customer.Set([]string{fmt.Sprintf("K-%d", i)})
		rows[i] = register.BatchRow{Email: email, Patch: p}
	}
	importer := register.Caller{Origin: importOrigin, SeeRestricted: true}
	var wg sync.WaitGroup
	results := make([]register.BatchResult, 2)
	errs := make([]error, 2)
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[k], errs[k] = f.reg.ImportBatch(f.ctx, rows, register.BatchOptions{ImportID: fmt.Sprintf("imp-%d", k)}, importer)
		}()
	}
	wg.Wait()
	created := 0
	for k := range 2 {
		if errs[k] != nil {
			t.Fatalf("import %d: %v", k, errs[k])
		}
		for i, r := range results[k].Rows {
			switch r.Outcome {
			case register.Created:
				created++
			case register.Unchanged:
			default:
				t.Errorf("import %d row %d: %s %v, want created or unchanged", k, i, r.Outcome, r.Err)
			}
		}
	}
	if created != n {
		t.Errorf("%d rows created, want %d", created, n)
	}
	page, err := f.Customers.Find(f.ctx, ports.CustomerQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != n {
		t.Errorf("%d customers stored, want %d", len(page.Items), n)
	}
	if events := f.drain(); len(events) != n {
		t.Errorf("%d events, want %d", len(events), n)
	}
}
