package register_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

var (
	wooLink = customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "17"}
	mcfLink = customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "M-9"}
	wooOrig = consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.WooCommerce), Actor: "connector:woocommerce", RequestID: "delivery-9"}
)

// pushing is a register over the fake that pushes to WooCommerce and
// MyCashFlow.
func pushing(t *testing.T) fixture {
	t.Helper()
	f := setup(t)
	err := f.svc.SetPushes(register.PushOptions{MaxAttempts: 12, Targets: []register.PushTarget{
		{Connector: "woocommerce", System: customer.WooCommerce},
		{Connector: "mycashflow", System: customer.MyCashFlow},
	}})
	if err != nil {
		t.Fatalf("SetPushes: %v", err)
	}
	return f
}

// pushes lists the push jobs stored so far as "connector customer-id",
// and checks their shape.
func (f fixture) pushes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, j := range f.store.Jobs() {
		a, ok := j.Args.(ports.PushArgs)
		if !ok {
			continue
		}
		if !j.Coalesce || j.Queue != ports.PushQueue || j.MaxAttempts != 12 {
			t.Errorf("push job %+v: want coalesced, queue %s, 12 attempts", j, ports.PushQueue)
		}
		out = append(out, a.Connector+" "+a.Customer)
	}
	return out
}

// newPushes runs fn and returns the pushes it stored.
func (f fixture) newPushes(t *testing.T, fn func()) []string {
	t.Helper()
	before := len(f.pushes(t))
	fn()
	return f.pushes(t)[before:]
}

func wantPushes(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: pushes %q, want %q", what, got, want)
	}
}

func push(connector string, c *customer.Customer) string { return connector + " " + c.ID().String() }

func TestPushDecisionOnAPIChanges(t *testing.T) {
	f := pushing(t)
	ctx := context.Background()
	var linked, both, unlinked, other *customer.Customer
	wantPushes(t, "create with a WooCommerce link", f.newPushes(t, func() {
		linked = f.create(t, person(withLinks(wooLink)))
	}), "woocommerce "+mustID(linked))
	wantPushes(t, "create with links to both pushing systems", f.newPushes(t, func() {
		both = f.create(t, person(withLinks(customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "18"}, mcfLink)))
	}), push("woocommerce", both), push("mycashflow", both))
	wantPushes(t, "create without links", f.newPushes(t, func() { unlinked = f.create(t, person()) }))
	firm := f.create(t, customer.Patch{Type: customer.Set(customer.Company), CompanyName: customer.Set("Oy Testi Ab"), BusinessID: customer.Set("1572860-0"),
		ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "19"}})})
	wantPushes(t, "create with a link to a system nobody pushes to", f.newPushes(t, func() {
		other = f.create(t, person(withLinks(wsLink)))
	}))

	tests := []struct {
		name string
		give func() error
		want []string
	}{
		{"update of a linked customer", func() error {
			_, err := f.svc.Update(ctx, linked.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, user)
			return err
		}, []string{push("woocommerce", linked)}},
		{"update that changes nothing", func() error {
			_, err := f.svc.Update(ctx, linked.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, user)
			return err
		}, nil},
		{"update that the core refuses", func() error {
			_, err := f.svc.Update(ctx, linked.ID(), customer.Patch{Email: customer.Set("not an email")}, 0, user)
			return ignoreValidation(err)
		}, nil},
		{"update on a stale version", func() error {
			_, err := f.svc.Update(ctx, linked.ID(), customer.Patch{FirstName: customer.Set("Vanha")}, 1, user)
			if err == nil {
				t.Error("a stale update was saved")
			}
			return nil
		}, nil},
		{"update of an unlinked customer", func() error {
			_, err := f.svc.Update(ctx, unlinked.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, user)
			return err
		}, nil},
		{"update of a customer linked to no pushing system", func() error {
			_, err := f.svc.Update(ctx, other.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, user)
			return err
		}, nil},
		{"consents", func() error {
			_, err := f.svc.SetConsents(ctx, both.ID(), customer.Set(true), customer.Keep[bool](), 0, user)
			return err
		}, []string{push("woocommerce", both), push("mycashflow", both)}},
		{"a contact added", func() error {
			_, _, err := f.svc.AddContact(ctx, firm.ID(), customer.Contact{Name: "Kalle Kontakti"}, 0, user)
			return err
		}, []string{push("woocommerce", firm)}},
		{"a link added to an unlinked customer", func() error {
			_, err := f.svc.Update(ctx, unlinked.ID(), customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{mcfLink2})}, 0, user)
			return err
		}, []string{push("mycashflow", unlinked)}},
		{"the customer restricted", func() error {
			_, err := f.svc.Restrict(ctx, linked.ID(), true, 0, admin)
			return err
		}, nil},
		{"a restricted customer changed", func() error {
			_, err := f.svc.Update(ctx, linked.ID(), customer.Patch{FirstName: customer.Set("Rajoitettu")}, 0, admin)
			return err
		}, nil},
		{"the restriction lifted", func() error {
			_, err := f.svc.Restrict(ctx, linked.ID(), false, 0, admin)
			return err
		}, []string{push("woocommerce", linked)}},
		{"the customer erased", func() error {
			_, err := f.svc.Erase(ctx, both.ID(), 0, admin)
			return err
		}, nil},
	}
	for _, tt := range tests {
		got := f.newPushes(t, func() {
			if err := tt.give(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
		})
		wantPushes(t, tt.name, got, tt.want...)
	}
}

var mcfLink2 = customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "M-10"}

func mustID(c *customer.Customer) string {
	if c == nil {
		return ""
	}
	return c.ID().String()
}

// A change is never pushed back to the system it came from; the other
// pushing systems get it.
func TestPushDecisionSkipsTheOriginSystem(t *testing.T) {
	f := pushing(t)
	ctx := context.Background()
	c := f.create(t, person(withLinks(wooLink, mcfLink)))
	fromWoo := register.Caller{Origin: consent.Origin{Source: consent.SourceImport, SourceSystemID: int(customer.WooCommerce), Actor: "user:importer", RequestID: "r"}}
	wantPushes(t, "an import of WooCommerce's data", f.newPushes(t, func() {
		if _, err := f.svc.Update(ctx, c.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, fromWoo); err != nil {
			t.Fatal(err)
		}
	}), push("mycashflow", c))
}

func TestPushDecisionOnIngest(t *testing.T) {
	f := pushing(t)
	// A customer of the web store (no pushes to it) also in WooCommerce.
	c := f.create(t, person(withEmailOf("maija@example.fi"), withLinks(wsLink, wooLink)))

	wantPushes(t, "a web store draft that changes the customer", f.newPushes(t, func() {
		if res := f.ingest(t, authoritative()); res.Outcome != intake.Updated {
			t.Fatalf("outcome %s", res.Outcome)
		}
	}), push("woocommerce", c))
	wantPushes(t, "the same draft again (nothing changes)", f.newPushes(t, func() {
		if res := f.ingest(t, authoritative()); res.Outcome != intake.Unchanged {
			t.Fatalf("outcome %s", res.Outcome)
		}
	}))
	wantPushes(t, "a stale draft", f.newPushes(t, func() {
		res := f.ingest(t, authoritative(func(d *intake.Draft) {
			d.SourceUpdatedAt = t1
			d.Patch.FirstName = customer.Set("Vanha")
		}))
		if res.Outcome != intake.Stale {
			t.Fatalf("outcome %s", res.Outcome)
		}
	}))
	woo := func(mods ...func(*intake.Draft)) intake.Draft {
		return authoritative(append([]func(*intake.Draft){func(d *intake.Draft) { d.Link = wooLink; d.SourceUpdatedAt = t3 }}, mods...)...)
	}
	wantPushes(t, "a WooCommerce draft: not back to WooCommerce", f.newPushes(t, func() {
		res, err := f.svc.Ingest(context.Background(), woo(func(d *intake.Draft) { d.Patch.FirstName = customer.Set("Woo") }), wooOrig)
		if err != nil || res.Outcome != intake.Updated {
			t.Fatalf("Ingest: %v, %v", res, err)
		}
	}))
	wantPushes(t, "a WooCommerce draft that creates a customer", f.newPushes(t, func() {
		res, err := f.svc.Ingest(context.Background(), intake.Draft{Link: customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "99"},
			Trust: intake.Authoritative, Patch: customer.Patch{Email: customer.Set("uusi@example.fi"), FirstName: customer.Set("Uuno"), LastName: customer.Set("Uusi")}}, wooOrig)
		if err != nil || res.Outcome != intake.Created {
			t.Fatalf("Ingest: %v, %v", res, err)
		}
	}))
	wantPushes(t, "a web store draft that creates a customer linked to the web store only", f.newPushes(t, func() {
		res := f.ingest(t, authoritative(func(d *intake.Draft) {
			d.Link = customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-new"}
			d.Patch.Email = customer.Set("toinen@example.fi")
		}))
		if res.Outcome != intake.Created {
			t.Fatalf("outcome %s", res.Outcome)
		}
	}))
	if _, err := f.svc.SetConsents(context.Background(), c.ID(), customer.Set(true), customer.Keep[bool](), 0, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Restrict(context.Background(), c.ID(), true, 0, admin); err != nil {
		t.Fatal(err)
	}
	wantPushes(t, "a withdrawal for a restricted customer", f.newPushes(t, func() {
		res := f.ingest(t, authoritative(func(d *intake.Draft) {
			d.SourceUpdatedAt = t3
			d.MarketingEmail = &intake.ConsentClaim{Value: false, Evidence: "unsubscribed"}
		}))
		if res.Outcome != intake.Updated {
			t.Fatalf("outcome %s", res.Outcome)
		}
	}))
}

func TestPushDecisionOnImportBatch(t *testing.T) {
	f := pushing(t)
	ctx := context.Background()
	linked := f.create(t, withEmail("linkitetty@example.fi", withLinks(wooLink)))
	same := f.create(t, withEmail("sama@example.fi", withLinks(mcfLink)))
	f.create(t, withEmail("varattu@example.fi"))
	rows := []register.BatchRow{
		{Email: "linkitetty@example.fi", Patch: customer.Patch{FirstName: customer.Set("Tuotu")}},
		{Email: "sama@example.fi", Patch: customer.Patch{}},
		{Email: "uusi@example.fi", Patch: customer.Patch{FirstName: customer.Set("Uuno"), LastName: customer.Set("Uusi"), ExternalSystems: customer.Set([]customer.ExternalLink{mcfLink2})}},
		{Number: linked.Number() + 1000, Patch: customer.Patch{FirstName: customer.Set("Ei ole")}},
		{Email: "ilman@example.fi", Patch: customer.Patch{FirstName: customer.Set("Iida"), LastName: customer.Set("Ilman")}},
	}
	wantPushes(t, "a dry run", f.newPushes(t, func() {
		if _, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{DryRun: true}, admin); err != nil {
			t.Fatal(err)
		}
	}))
	var res register.BatchResult
	got := f.newPushes(t, func() {
		var err error
		if res, err = f.svc.ImportBatch(ctx, rows, register.BatchOptions{ImportID: "imp-1"}, admin); err != nil {
			t.Fatal(err)
		}
	})
	if res.Rows[1].Outcome != register.Unchanged || res.Rows[3].Outcome != register.Rejected || res.Rows[2].Outcome != register.Created {
		t.Fatalf("rows %+v", res.Rows)
	}
	wantPushes(t, "an import", got, push("woocommerce", linked), "mycashflow "+res.Rows[2].Customer.ID().String())
	_ = same
	// An atomic batch with a rejected row writes nothing and pushes nothing.
	wantPushes(t, "an atomic batch with a rejected row", f.newPushes(t, func() {
		rows := []register.BatchRow{
			{Email: "linkitetty@example.fi", Patch: customer.Patch{FirstName: customer.Set("Kaikki")}},
			{Email: "sama@example.fi", Patch: customer.Patch{Email: customer.Set("varattu@example.fi")}},
		}
		if _, err := f.svc.ImportBatch(ctx, rows, register.BatchOptions{Atomic: true}, admin); err != nil {
			t.Fatal(err)
		}
	}))
}

// The echo race: v1 is pushed and its echo recorded; the customer changes
// to v2 here; the echo of v1 arrives, newer than anything the register
// took from WooCommerce, and must change nothing.
func TestEchoOfAPushChangesNothing(t *testing.T) {
	f := pushing(t)
	ctx := context.Background()
	c := f.create(t, person(withEmailOf("maija@example.fi"), withLinks(wooLink)))
	f.drain(t)
	// The push of v1 answered with WooCommerce's record of it.
	echo := intake.Draft{Link: wooLink, Trust: intake.Authoritative, SourceUpdatedAt: t2,
		Patch:          customer.Patch{FirstName: customer.Set("Matti"), LastName: customer.Set("Meikäläinen"), Email: customer.Set("maija@example.fi")},
		AddPhones:      []string{"040 123 4567"},
		MarketingEmail: &intake.ConsentClaim{Value: false, Evidence: "WooCommerce customer record"}}
	if err := f.svc.RecordEcho(ctx, c.ID(), wooLink, echo); err != nil {
		t.Fatalf("RecordEcho: %v", err)
	}
	v2, err := f.svc.Update(ctx, c.ID(), customer.Patch{FirstName: customer.Set("Maija"), MarketingEmail: customer.Set(true)}, 0, user)
	if err != nil {
		t.Fatal(err)
	}
	f.drain(t)
	before := len(f.store.Jobs())

	late := echo
	late.SourceUpdatedAt = t3
	late.MarketingEmail = &intake.ConsentClaim{Value: false, Evidence: "WooCommerce customer record", At: t3}
	res, err := f.svc.Ingest(ctx, late, wooOrig)
	if err != nil || res.Outcome != intake.Unchanged {
		t.Fatalf("the echo: %+v, %v; want unchanged", res, err)
	}
	got, _ := f.svc.Get(ctx, c.ID(), admin)
	if got.Version() != v2.Version() || got.Data().FirstName != "Maija" || !got.Data().MarketingEmail {
		t.Errorf("the echo changed the customer: %+v", got.Data())
	}
	if ev := f.drain(t); len(ev) != 0 {
		t.Errorf("the echo recorded events %+v", ev)
	}
	if n := len(f.store.Jobs()); n != before {
		t.Errorf("the echo stored %d jobs", n-before)
	}
	// Its time is recorded: an older draft of WooCommerce is stale now.
	old := echo
	old.SourceUpdatedAt = t2.Add(time.Minute)
	old.Patch.LastName = customer.Set("Vanha")
	if res, err := f.svc.Ingest(ctx, old, wooOrig); err != nil || res.Outcome != intake.Stale {
		t.Errorf("a draft older than the echo: %+v, %v; want stale", res.Outcome, err)
	}
	// A real change in WooCommerce is not an echo.
	changed := late
	changed.SourceUpdatedAt = t3.Add(time.Hour)
	changed.Patch.LastName = customer.Set("Muutettu")
	if res, err := f.svc.Ingest(ctx, changed, wooOrig); err != nil || res.Outcome != intake.Updated || res.Customer.Data().LastName != "Muutettu" {
		t.Errorf("a change in WooCommerce after the echo: %+v, %v; want updated", res.Outcome, err)
	}
	// An echo of another link than the one pushed is refused.
	if err := f.svc.RecordEcho(ctx, c.ID(), mcfLink, echo); err == nil || !strings.Contains(err.Error(), "echo.link") {
		t.Errorf("RecordEcho of another link: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	base := intake.Draft{Link: wooLink, Trust: intake.Authoritative, SourceUpdatedAt: t1,
		Patch:        customer.Patch{FirstName: customer.Set("Maija"), Email: customer.Set("maija@example.fi"), CompanyName: customer.Clear[string]()},
		AddPhones:    []string{"040 123 4567", "+358501112222"},
		AddAddresses: []customer.Address{{Type: customer.Invoice, StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki"}},
		MarketingSMS: &intake.ConsentClaim{Value: true, Evidence: "checkbox", At: t1}}
	same := base
	same.SourceUpdatedAt = t3
	same.AddPhones = []string{"+358501112222", "+358401234567"}
	same.MarketingSMS = &intake.ConsentClaim{Value: true, Evidence: "checkbox", At: t2}
	tests := []struct {
		name string
		give func(d intake.Draft) intake.Draft
	}{
		{"another first name", func(d intake.Draft) intake.Draft { d.Patch.FirstName = customer.Set("Maija-Liisa"); return d }},
		{"a field cleared instead of kept", func(d intake.Draft) intake.Draft { d.Patch.LastName = customer.Clear[string](); return d }},
		{"a field kept instead of cleared", func(d intake.Draft) intake.Draft { d.Patch.CompanyName = customer.Keep[string](); return d }},
		{"another link", func(d intake.Draft) intake.Draft { d.Link.Identifier = "18"; return d }},
		{"observation", func(d intake.Draft) intake.Draft { d.Trust = intake.Observation; return d }},
		{"a phone fewer", func(d intake.Draft) intake.Draft { d.AddPhones = d.AddPhones[:1]; return d }},
		{"another address", func(d intake.Draft) intake.Draft {
			d.AddAddresses = []customer.Address{{Type: customer.Delivery, StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki"}}
			return d
		}},
		{"the consent withdrawn", func(d intake.Draft) intake.Draft {
			d.MarketingSMS = &intake.ConsentClaim{Value: false, Evidence: "checkbox"}
			return d
		}},
		{"no consent claim", func(d intake.Draft) intake.Draft { d.MarketingSMS = nil; return d }},
		{"a group added", func(d intake.Draft) intake.Draft { d.Patch.GroupMembership = map[string]bool{"vip": true}; return d }},
	}
	fp := register.Fingerprint(base)
	if len(fp) != 32 || !bytes.Equal(fp, register.Fingerprint(same)) {
		t.Errorf("the same content under other times and in other forms: %x and %x, want equal", fp, register.Fingerprint(same))
	}
	for _, tt := range tests {
		if bytes.Equal(fp, register.Fingerprint(tt.give(base))) {
			t.Errorf("%s: the same fingerprint", tt.name)
		}
	}
}

// onlyStore is a store that cannot store jobs with changes.
type onlyStore struct{ ports.CustomerStore }

func TestSetPushesRefuses(t *testing.T) {
	svc := register.New(onlyStore{memstore.New()}, fixedClock{now}, &idSource{seen: map[uuid.UUID]bool{}})
	woo := register.PushTarget{Connector: "woocommerce", System: customer.WooCommerce}
	err := svc.SetPushes(register.PushOptions{Targets: []register.PushTarget{woo}})
	if err == nil || !strings.Contains(err.Error(), "woocommerce") || !strings.Contains(err.Error(), "ports.ChangeJobs") {
		t.Errorf("a store without jobs: %v", err)
	}
	if err := svc.SetPushes(register.PushOptions{}); err != nil {
		t.Errorf("no pushes on such a store: %v", err)
	}
	f := setup(t)
	for _, tc := range []struct {
		name string
		give register.PushOptions
		want string
	}{
		{"unknown system", register.PushOptions{Targets: []register.PushTarget{{Connector: "x", System: 99}}}, "system 99"},
		{"twice", register.PushOptions{Targets: []register.PushTarget{woo, woo}}, "twice"},
		{"no name", register.PushOptions{Targets: []register.PushTarget{{System: customer.WooCommerce}}}, "no name"},
		{"negative attempts", register.PushOptions{Targets: []register.PushTarget{woo}, MaxAttempts: -1}, "attempts"},
	} {
		if err := f.svc.SetPushes(tc.give); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}
