package register_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

var importer = register.Caller{
	Origin:        consent.Origin{Source: consent.SourceAPI, Actor: "key:importer", RequestID: "req-upload", Evidence: "asiakkaat.xlsx"},
	SeeRestricted: true,
}

// importOrigin is what the events of an import with id imp-7 carry.
var importOrigin = consent.Origin{Source: consent.SourceImport, Actor: "key:importer", RequestID: "imp-7", ImportID: "imp-7", Evidence: "asiakkaat.xlsx"}

func withEmail(email string, mods ...func(*customer.Patch)) customer.Patch {
	p := person(mods...)
	p.Email = customer.Set(email)
	return p
}

// wantRow checks a row's outcome and, for a rejection, the field its error
// names ("" for a *fault.Stale).
func wantRow(t *testing.T, res register.BatchResult, i int, want register.Outcome, field string) {
	t.Helper()
	r := res.Rows[i]
	if r.Outcome != want {
		t.Errorf("row %d: %s (%v), want %s", i, r.Outcome, r.Err, want)
		return
	}
	if want != register.Rejected {
		if r.Err != nil || r.Customer == nil {
			t.Errorf("row %d: %s with error %v and customer %v", i, r.Outcome, r.Err, r.Customer)
		}
		return
	}
	var c *fault.Conflict
	switch {
	case errors.As(r.Err, &c):
		if c.Field != field {
			t.Errorf("row %d: conflict on %q (%v), want %q", i, c.Field, c, field)
		}
	case fault.IsValidation(r.Err):
		if fs := fieldsOf(r.Err); len(fs) == 0 || !strings.HasPrefix(fs[0], field) {
			t.Errorf("row %d: validation of %v (%v), want %q", i, fs, r.Err, field)
		}
	default:
		t.Errorf("row %d: error %v (%T), want one naming %q", i, r.Err, r.Err, field)
	}
}

func TestImportBatchMatchesAndChecks(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.create(t, withEmail("anna@example.fi"))
	c := f.create(t, withEmail("Cecilia@Example.fi"))
	u := f.create(t, withEmail("sama@example.fi", func(p *customer.Patch) { p.MarketingSMS = customer.Set(true) }))
	f.drain(t)

	card := func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"K-1"}) }
	rows := []register.BatchRow{
		{Row: 2, Number: a.Number(), Email: "anna@example.fi", Patch: customer.Patch{LastName: customer.Set("Uusi")}},
		{Row: 3, Email: "cecilia@EXAMPLE.fi", Patch: customer.Patch{MarketingEmail: customer.Set(true)}},
		{Row: 4, Email: "uusi@example.fi", Patch: withEmail("uusi@example.fi", card, func(p *customer.Patch) { p.MarketingSMS = customer.Set(true) })},
		{Row: 5, Number: 99999, Email: "x@example.fi", Patch: customer.Patch{LastName: customer.Set("X")}},
		{Row: 6, Email: "UUSI@example.fi", Patch: withEmail("uusi@example.fi")},
		{Row: 7, Number: a.Number(), Email: "toinen@example.fi", Patch: customer.Patch{}},
		{Row: 8, Email: "sama@example.fi", Patch: customer.Patch{MarketingSMS: customer.Set(true), FirstName: customer.Set("Matti")}},
		{Row: 9, Email: "ei-osoite", Patch: person()},
		{Row: 10, Patch: person()},
		{Row: 11, Email: "d@example.fi", Patch: customer.Patch{FirstName: customer.Set("Dora")}},
		{Row: 12, Email: "e@example.fi", Patch: withEmail("e@example.fi", card)},
		{Row: 13, Number: c.Number(), Patch: customer.Patch{LastName: customer.Set("Kahdesti")}},
	}
	res, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7"}, importer)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Committed || len(res.Rows) != len(rows) {
		t.Fatalf("committed %v, %d results", res.Committed, len(res.Rows))
	}
	wantRow(t, res, 0, register.Updated, "")
	wantRow(t, res, 1, register.Updated, "")
	wantRow(t, res, 2, register.Created, "")
	wantRow(t, res, 3, register.Rejected, "number")   // unknown number
	wantRow(t, res, 4, register.Rejected, "email")    // same email as row 4
	wantRow(t, res, 5, register.Rejected, "number")   // same number as row 2
	wantRow(t, res, 6, register.Unchanged, "")        // same values
	wantRow(t, res, 7, register.Rejected, "email")    // not an address
	wantRow(t, res, 8, register.Rejected, "email")    // no number, no email
	wantRow(t, res, 9, register.Rejected, "lastName") // the core's rule for a new person
	wantRow(t, res, 10, register.Rejected, "customerCards")
	wantRow(t, res, 11, register.Rejected, "number") // customer c, which row 3 changes
	for i, want := range map[int]string{4: "row 4", 5: "row 2", 10: "row 4", 11: "row 3"} {
		if err := res.Rows[i].Err; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("row %d: error %v does not name %s", i, err, want)
		}
	}

	if got, _ := f.svc.Get(ctx, a.ID(), admin); got.Data().LastName != "Uusi" || got.Version() != 2 {
		t.Errorf("matched by number: lastName %q, version %d", got.Data().LastName, got.Version())
	}
	if got, _ := f.svc.Get(ctx, c.ID(), admin); !got.Data().MarketingEmail {
		t.Error("matched by email ignoring case: consent not set")
	}
	if got, _ := f.svc.Get(ctx, u.ID(), admin); got.Version() != 1 {
		t.Errorf("unchanged customer at version %d", got.Version())
	}
	created := res.Rows[2].Customer
	stored, err := f.svc.ByNumber(ctx, created.Number(), admin)
	if err != nil || stored.ID() != created.ID() || created.Number() <= u.Number() {
		t.Fatalf("created customer %d: %v, %v", created.Number(), stored, err)
	}

	// One event per consent change, source import, the import's id as
	// request id; the caller's actor and evidence kept.
	got := f.checkIDs(t, f.drain(t))
	want := []consent.Event{
		eventFor(c, importOrigin, consent.MarketingEmail, false, true),
		eventFor(created, importOrigin, consent.MarketingSMS, false, true),
	}
	if len(got) != len(want) {
		t.Fatalf("events %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	for _, i := range []int{1, 2} {
		if len(res.Rows[i].Events) != 1 || res.Rows[i].Events[0].CustomerNumber != res.Rows[i].Customer.Number() {
			t.Errorf("row %d: events %+v", i, res.Rows[i].Events)
		}
	}
}

func TestImportBatchDryRun(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.create(t, withEmail("anna@example.fi", func(p *customer.Patch) { p.ExternalID = customer.Set("EXT-1") }))
	f.drain(t)
	rows := []register.BatchRow{
		{Email: "anna@example.fi", Patch: customer.Patch{MarketingEmail: customer.Set(true)}},
		{Email: "uusi@example.fi", Patch: withEmail("uusi@example.fi", func(p *customer.Patch) {
			p.MarketingSMS = customer.Set(true)
			p.Groups = customer.Set([]string{"uusi-ryhmä"})
		})},
		// Checked against the store and the batch, as a real run would be.
		{Email: "toinen@example.fi", Patch: withEmail("toinen@example.fi", func(p *customer.Patch) { p.ExternalID = customer.Set("EXT-1") })},
		{Email: "kolmas@example.fi", Patch: withEmail("UUSI@example.fi")},
	}
	next, _ := f.store.NextNumber(ctx)
	res, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7", DryRun: true, CreateGroups: true}, importer)
	if err != nil {
		t.Fatal(err)
	}
	if res.Committed {
		t.Error("a dry run committed")
	}
	wantRow(t, res, 0, register.Updated, "")
	wantRow(t, res, 1, register.Created, "")
	wantRow(t, res, 2, register.Rejected, "externalId")
	wantRow(t, res, 3, register.Rejected, "email")
	if n := res.Rows[1].Customer.Number(); n != 0 {
		t.Errorf("a new customer of a dry run has number %d, want 0", n)
	}
	if got, _ := f.svc.Get(ctx, a.ID(), admin); got.Version() != 1 || got.Data().MarketingEmail {
		t.Error("the dry run changed a customer")
	}
	if page, _ := f.store.Find(ctx, ports.CustomerQuery{IncludeRestricted: true}); len(page.Items) != 1 {
		t.Errorf("%d customers after the dry run, want 1", len(page.Items))
	}
	if events := f.drain(t); len(events) != 0 {
		t.Errorf("the dry run recorded %d events", len(events))
	}
	if groups, _ := f.svc.ListGroups(ctx); len(groups) != 2 {
		t.Errorf("the dry run created groups: %v", groups)
	}
	if n, _ := f.store.NextNumber(ctx); n != next+1 {
		t.Errorf("the dry run took customer numbers: next is %d, want %d", n, next+1)
	}
}

func TestImportBatchAtomic(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.create(t, withEmail("anna@example.fi"))
	f.create(t, withEmail("bertta@example.fi", func(p *customer.Patch) { p.NetvisorID = customer.Set("NV-1") }))
	f.drain(t)
	good := []register.BatchRow{
		{Email: "anna@example.fi", Patch: customer.Patch{MarketingEmail: customer.Set(true)}},
		{Email: "uusi@example.fi", Patch: withEmail("uusi@example.fi")},
	}
	for _, tt := range []struct {
		name string
		bad  register.BatchRow
	}{
		{"core error", register.BatchRow{Email: "huono@example.fi", Patch: customer.Patch{FirstName: customer.Set("Vain")}}},
		{"store conflict", register.BatchRow{Email: "huono@example.fi", Patch: withEmail("huono@example.fi", func(p *customer.Patch) { p.NetvisorID = customer.Set("NV-1") })}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := f.svc.ImportBatch(ctx, append(good[:2:2], tt.bad), register.BatchOptions{ImportID: "imp-7", Atomic: true}, importer)
			if err != nil {
				t.Fatal(err)
			}
			if res.Committed {
				t.Error("an atomic batch with a rejected row committed")
			}
			wantRow(t, res, 0, register.Updated, "")
			wantRow(t, res, 1, register.Created, "")
			if res.Rows[2].Outcome != register.Rejected {
				t.Errorf("bad row: %s", res.Rows[2].Outcome)
			}
			if got, _ := f.svc.Get(ctx, a.ID(), admin); got.Version() != 1 {
				t.Error("the rejected atomic batch changed a customer")
			}
			if events := f.drain(t); len(events) != 0 {
				t.Errorf("the rejected atomic batch recorded %d events", len(events))
			}
		})
	}
	res, err := f.svc.ImportBatch(ctx, good, register.BatchOptions{ImportID: "imp-7", Atomic: true}, importer)
	if err != nil || !res.Committed {
		t.Fatalf("a good atomic batch: committed %v, %v", res.Committed, err)
	}
	if events := f.drain(t); len(events) != 1 {
		t.Errorf("%d events, want 1", len(events))
	}
}

func TestImportBatchRestricted(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	r := f.create(t, withEmail("piilo@example.fi", func(p *customer.Patch) { p.GDPRRestricted = customer.Set(true) }))
	rows := []register.BatchRow{
		{Number: r.Number(), Patch: customer.Patch{LastName: customer.Set("Numerolla")}},
		{Email: "PIILO@example.fi", Patch: customer.Patch{CreditAllowed: customer.Set(true)}},
	}
	user := importer
	user.SeeRestricted = false
	res, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7"}, user)
	if err != nil {
		t.Fatal(err)
	}
	// For a caller that may not see it, the customer does not exist; a
	// new one would break the email's uniqueness.
	wantRow(t, res, 0, register.Rejected, "number")
	wantRow(t, res, 1, register.Rejected, "email")
	res, err = f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7"}, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Updated, "")
	wantRow(t, res, 1, register.Rejected, "email") // the same customer as row 1
	if got, _ := f.svc.Get(ctx, r.ID(), admin); got.Data().LastName != "Numerolla" {
		t.Errorf("restricted customer not updated: %+v", got.Data())
	}
}

func TestImportBatchGroups(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	rows := []register.BatchRow{{Email: "r@example.fi", Patch: withEmail("r@example.fi", func(p *customer.Patch) {
		p.GroupMembership = map[string]bool{"kanta-asiakkaat": true, "vip": true}
	})}}
	res, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7"}, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Rejected, "groups")
	res, err = f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-7", CreateGroups: true}, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Created, "")
	groups, _ := f.svc.ListGroups(ctx)
	if len(groups) != 3 || groups[1] != (customer.Group{ExternalID: "kanta-asiakkaat", Name: "kanta-asiakkaat"}) {
		t.Errorf("groups %v, want kanta-asiakkaat created under its id", groups)
	}
}

// TestPrepareBatchPromisedGroups: a batch prepared before the one that
// creates a group has been written counts on that group when told it is
// promised: it does not create it, its footprint does not name it, and
// its rows are written in the group once the earlier batch has created
// it. Not promised, the later batch would create the group too.
func TestPrepareBatchPromisedGroups(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	row := func(n int) register.BatchRow {
		email := fmt.Sprintf("ryhma%d@example.fi", n)
		return register.BatchRow{Row: n, Email: email, Patch: withEmail(email, func(p *customer.Patch) {
			p.GroupMembership = map[string]bool{"uusi": true}
		})}
	}
	opts := register.BatchOptions{ImportID: "imp-7", CreateGroups: true}
	first, err := f.svc.PrepareBatch(ctx, []register.BatchRow{row(2)}, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.CreatesGroups(); !slices.Equal(got, []string{"uusi"}) {
		t.Fatalf("the first batch creates groups %v, want [uusi]", got)
	}
	alone, err := f.svc.PrepareBatch(ctx, []register.BatchRow{row(3)}, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	if got := alone.CreatesGroups(); !slices.Equal(got, []string{"uusi"}) || !alone.Footprint().Shares(first.Footprint()) {
		t.Errorf("unpromised, the second batch creates %v (and shares the first's footprint: %v), want [uusi] and true",
			got, alone.Footprint().Shares(first.Footprint()))
	}
	opts.PromisedGroups = first.CreatesGroups()
	second, err := f.svc.PrepareBatch(ctx, []register.BatchRow{row(3)}, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.CreatesGroups(); len(got) != 0 || second.Footprint().Shares(first.Footprint()) {
		t.Errorf("promised, the second batch creates %v (and shares the first's footprint: %v), want none and false",
			got, second.Footprint().Shares(first.Footprint()))
	}
	for i, p := range []*register.PreparedBatch{first, second} {
		res, err := p.Write(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantRow(t, res, 0, register.Created, "")
		if g := res.Rows[0].Customer.Data().Groups; !slices.Equal(g, []string{"uusi"}) {
			t.Errorf("batch %d: customer in groups %v, want [uusi]", i+1, g)
		}
	}
	groups, _ := f.svc.ListGroups(ctx)
	if !slices.Contains(groups, customer.Group{ExternalID: "uusi", Name: "uusi"}) {
		t.Errorf("groups %v, want uusi among them", groups)
	}
}

// meddler changes a customer between an import's lookup and its write, as a
// concurrent API call would.
type meddler struct {
	*memstore.Store
	once func()
}

func (m *meddler) WriteBatch(ctx context.Context, b ports.Batch) ([]ports.BatchRejection, error) {
	if m.once != nil {
		m.once()
		m.once = nil
	}
	return m.Store.WriteBatch(ctx, b)
}

func TestImportBatchReappliesAfterAConcurrentChange(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	svc := register.New(store, fixedClock{now}, &idSource{seen: map[uuid.UUID]bool{}})
	a, err := svc.Create(ctx, withEmail("anna@example.fi"), admin)
	if err != nil {
		t.Fatal(err)
	}
	m := &meddler{Store: store, once: func() {
		if _, err := svc.Update(ctx, a.ID(), customer.Patch{LastName: customer.Set("Välissä")}, 0, admin); err != nil {
			t.Error(err)
		}
	}}
	res, err := register.New(m, fixedClock{now}, &idSource{seen: map[uuid.UUID]bool{}}).ImportBatch(ctx,
		[]register.BatchRow{{Email: "anna@example.fi", Patch: customer.Patch{MarketingEmail: customer.Set(true)}}},
		register.BatchOptions{ImportID: "imp-7"}, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Updated, "")
	got, _ := svc.Get(ctx, a.ID(), admin)
	if d := got.Data(); d.LastName != "Välissä" || !d.MarketingEmail || d.Version != 3 {
		t.Errorf("after the import: lastName %q, marketingEmail %v, version %d; want both changes at version 3", d.LastName, d.MarketingEmail, d.Version)
	}
}

// TestPrepareBatchAheadOfTheBatchBefore: an import prepares a batch while
// the batch before it is written. When the earlier batch wrote a customer
// that a prepared row names (by number, or by email as it was or became),
// the prepared batch says so (Overlaps) and is run again after it, so the
// outcome is that of one batch after the other; otherwise it is written as
// prepared.
func TestPrepareBatchAheadOfTheBatchBefore(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	svc := register.New(store, fixedClock{now}, &idSource{seen: map[uuid.UUID]bool{}})
	a, err := svc.Create(ctx, withEmail("anna@example.fi"), admin)
	if err != nil {
		t.Fatal(err)
	}
	opts := register.BatchOptions{ImportID: "imp-7"}
	prepare := func(rows ...register.BatchRow) *register.PreparedBatch {
		t.Helper()
		p, err := svc.PrepareBatch(ctx, rows, opts, importer)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := prepare(
		register.BatchRow{Row: 2, Number: a.Number(), Patch: customer.Patch{LastName: customer.Set("Ensin")}},
		register.BatchRow{Row: 3, Email: "uusi@example.fi", Patch: withEmail("uusi@example.fi")})
	secondRows := []register.BatchRow{
		{Row: 4, Number: a.Number(), Patch: customer.Patch{MarketingEmail: customer.Set(true)}},
		// Not a whole new customer: only an update of the one row 3 makes.
		{Row: 5, Email: "UUSI@example.fi", Patch: customer.Patch{MarketingSMS: customer.Set(true)}},
	}
	second := prepare(secondRows...)
	third := prepare(register.BatchRow{Row: 6, Email: "muu@example.fi", Patch: withEmail("muu@example.fi")})

	res1, err := first.Write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res1, 0, register.Updated, "")
	wantRow(t, res1, 1, register.Created, "")
	if !second.Overlaps(res1) {
		t.Error("a batch naming customers the earlier one wrote does not overlap it")
	}
	if third.Overlaps(res1) {
		t.Error("a batch naming none of them overlaps it")
	}

	res2, err := svc.ImportBatch(ctx, secondRows, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res2, 0, register.Updated, "")
	wantRow(t, res2, 1, register.Updated, "")
	got, _ := svc.Get(ctx, a.ID(), admin)
	if d := got.Data(); d.LastName != "Ensin" || !d.MarketingEmail || d.Version != 3 {
		t.Errorf("customer of both batches: lastName %q, marketingEmail %v, version %d; want both changes at version 3", d.LastName, d.MarketingEmail, d.Version)
	}
	if c := res2.Rows[1].Customer; c == nil || c.ID() != res1.Rows[1].Customer.ID() || !c.Data().MarketingSMS {
		t.Errorf("row 5 changed %v, want the customer row 3 made", c)
	}

	res3, err := third.Write(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res3, 0, register.Created, "")
	if _, err := third.Write(ctx); err == nil {
		t.Error("a prepared batch was written twice")
	}
	dry, err := svc.ImportBatch(ctx, []register.BatchRow{{Row: 7, Email: "kuiva@example.fi", Patch: withEmail("kuiva@example.fi")}},
		register.BatchOptions{ImportID: "imp-7", DryRun: true}, importer)
	if err != nil {
		t.Fatal(err)
	}
	if prepare(register.BatchRow{Row: 8, Email: "kuiva@example.fi", Patch: withEmail("kuiva@example.fi")}).Overlaps(dry) {
		t.Error("a dry run, which writes nothing, overlaps a later batch")
	}
}

// fileKeys is the simplest register.FileKeys: every key with its first row.
type fileKeys map[string]int

func (f fileKeys) Earlier(key string, row int) int {
	if r, ok := f[key]; ok && r < row {
		return r
	}
	f[key] = row
	return 0
}

// TestImportBatchFileKeys: the second of two rows of a file with the same
// email or number is rejected naming the first, also when the two are in
// different batches; a batch run again (prepared again after the batch
// before it) does not reject its own rows.
func TestImportBatchFileKeys(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.create(t, withEmail("anna@example.fi"))
	f.drain(t)
	keys := fileKeys{}
	opts := register.BatchOptions{FileKeys: keys}
	first := []register.BatchRow{
		{Row: 2, Email: "Uusi@Example.fi", Patch: withEmail("Uusi@Example.fi")},
		{Row: 3, Number: a.Number(), Email: "anna@example.fi", Patch: customer.Patch{LastName: customer.Set("Ensi")}},
	}
	res, err := f.svc.ImportBatch(ctx, first, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Created, "")
	wantRow(t, res, 1, register.Updated, "")

	second := []register.BatchRow{
		{Row: 4, Email: "uusi@EXAMPLE.fi", Patch: customer.Patch{LastName: customer.Set("Toinen")}},
		{Row: 5, Number: a.Number(), Email: "anna2@example.fi", Patch: customer.Patch{LastName: customer.Set("Toka")}},
		{Row: 6, Email: "kolmas@example.fi", Patch: withEmail("kolmas@example.fi")},
	}
	res, err = f.svc.ImportBatch(ctx, second, opts, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Rejected, "email")
	wantRow(t, res, 1, register.Rejected, "number")
	wantRow(t, res, 2, register.Created, "")
	for i, want := range []string{"also in row 2", "also in row 3"} {
		if err := res.Rows[i].Err; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("row %d: %v, want one saying %q", second[i].Row, err, want)
		}
	}
	// The second batch again (as when it is prepared again): its own rows
	// are not each other's earlier rows.
	res, err = f.svc.ImportBatch(ctx, second[2:], register.BatchOptions{FileKeys: keys, DryRun: true}, importer)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, res, 0, register.Unchanged, "")
	got, err := f.svc.Get(ctx, a.ID(), register.Caller{SeeRestricted: true})
	if err != nil {
		t.Fatal(err)
	}
	if ln := got.Data().LastName; ln != "Ensi" {
		t.Errorf("customer %d has last name %q; the rejected later row changed it", a.Number(), ln)
	}
}

// TestPreparedBatchFootprint: footprints share a key exactly when the
// batches name or write something of each other's.
func TestPreparedBatchFootprint(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	a := f.create(t, withEmail("anna@example.fi"))
	f.drain(t)
	card := func(c string) func(*customer.Patch) {
		return func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{c}) }
	}
	prep := func(rows ...register.BatchRow) register.Footprint {
		t.Helper()
		p, err := f.svc.PrepareBatch(ctx, rows, register.BatchOptions{}, importer)
		if err != nil {
			t.Fatal(err)
		}
		return p.Footprint()
	}
	shares := register.Footprint.Shares
	base := prep(register.BatchRow{Row: 2, Email: "uusi@example.fi", Patch: withEmail("uusi@example.fi", card("K-1"))})
	for _, c := range []struct {
		name  string
		row   register.BatchRow
		share bool
	}{
		{"another new customer", register.BatchRow{Row: 3, Email: "toinen@example.fi", Patch: withEmail("toinen@example.fi", card("K-2"))}, false},
		{"the same card", register.BatchRow{Row: 3, Email: "toinen@example.fi", Patch: withEmail("toinen@example.fi", card("K-1"))}, true},
		{"the same email", register.BatchRow{Row: 3, Email: "UUSI@example.fi", Patch: withEmail("UUSI@example.fi")}, true},
	} {
		if got := shares(base, prep(c.row)); got != c.share {
			t.Errorf("%s: shares %v, want %v", c.name, got, c.share)
		}
	}
	// A stored customer given a new email by number, and a row that names
	// its old email.
	moved := prep(register.BatchRow{Row: 4, Number: a.Number(), Email: "siirto@example.fi", Patch: customer.Patch{Email: customer.Set("siirto@example.fi")}})
	old := prep(register.BatchRow{Row: 5, Email: "anna@example.fi", Patch: customer.Patch{}})
	if !shares(moved, old) {
		t.Errorf("a row naming a customer's old email does not share the footprint of the row that changes it")
	}
}
