package register_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
)

var (
	wsLink    = customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-17"}
	postiLink = customer.ExternalLink{SystemID: customer.Posti, Identifier: "JJFI6401234"}
	wsOrigin  = consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.Webstore), Actor: "connector:webstore", RequestID: "delivery-1"}
	postiOrig = consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.Posti), Actor: "connector:posti", RequestID: "delivery-2"}

	t1 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t2 = t1.Add(time.Hour)
	t3 = t2.Add(time.Hour)
)

// authoritative is a draft of the web store.
func authoritative(mods ...func(*intake.Draft)) intake.Draft {
	d := intake.Draft{Link: wsLink, Trust: intake.Authoritative, SourceUpdatedAt: t2,
		Patch: customer.Patch{FirstName: customer.Set("Maija"), LastName: customer.Set("Meikäläinen"), Email: customer.Set("maija@example.fi")}}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// observation is a draft of a carrier.
func observation(mods ...func(*intake.Draft)) intake.Draft {
	d := intake.Draft{Link: postiLink, Trust: intake.Observation, SourceUpdatedAt: t2,
		Patch: customer.Patch{FirstName: customer.Set("Maija"), LastName: customer.Set("Meikäläinen"), Email: customer.Set("maija@example.fi")}}
	for _, m := range mods {
		m(&d)
	}
	return d
}

func originOf(d intake.Draft) consent.Origin {
	if d.Link.SystemID == customer.Posti {
		return postiOrig
	}
	return wsOrigin
}

func (f fixture) ingest(t *testing.T, d intake.Draft) intake.Result {
	t.Helper()
	res, err := f.svc.Ingest(context.Background(), d, originOf(d))
	if err != nil {
		t.Fatalf("Ingest: %v", err)
	}
	return res
}

// all lists the stored customers that are not erased, restricted ones too.
func (f fixture) all(t *testing.T) []customer.Data {
	t.Helper()
	page, err := f.store.Find(context.Background(), ports.CustomerQuery{IncludeRestricted: true, Limit: 500})
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	out := make([]customer.Data, len(page.Items))
	for i, c := range page.Items {
		out[i] = c.Data()
	}
	return out
}

func withEmailOf(e string) func(*customer.Patch) {
	return func(p *customer.Patch) { p.Email = customer.Set(e) }
}

func withLinks(ls ...customer.ExternalLink) func(*customer.Patch) {
	return func(p *customer.Patch) { p.ExternalSystems = customer.Set(ls) }
}

func withPhones(ps ...string) func(*customer.Patch) {
	return func(p *customer.Patch) { p.PhoneNumbers = customer.Set(ps) }
}

func withAddresses(as ...customer.Address) func(*customer.Patch) {
	return func(p *customer.Patch) { p.Addresses = customer.Set(as) }
}

var (
	home     = customer.Address{Type: customer.Home, StreetAddress1: "Mannerheimintie 1 A 2", PostalCode: "00100", City: "Helsinki", Country: "FI"}
	delivery = customer.Address{Type: customer.Delivery, StreetAddress1: "Hämeenkatu 5", PostalCode: "33100", City: "Tampere", Country: "FI"}
)

func TestIngest(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		// seed makes what the register holds before the draft and returns
		// the customer the draft must match (nil: a new one, or none).
		seed  func(t *testing.T, f fixture) *customer.Customer
		draft intake.Draft
		want  intake.Outcome
		// check looks at the customer after the draft (nil when none) and
		// the events of the draft.
		check func(t *testing.T, got *customer.Data, events []consent.Event)
	}{
		{
			name: "match by link",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withEmailOf("other@example.fi"), withLinks(wsLink)))
			},
			draft: authoritative(),
			want:  intake.Updated,
			check: func(t *testing.T, got *customer.Data, _ []consent.Event) {
				if got.FirstName != "Maija" || got.Email != "maija@example.fi" {
					t.Errorf("authoritative values not set: %q %q", got.FirstName, got.Email)
				}
			},
		},
		{
			name: "match by email ignoring case adds the link",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withEmailOf("Maija@EXAMPLE.fi")))
			},
			draft: authoritative(func(d *intake.Draft) { d.Patch.Email = customer.Set("MAIJA@example.fi") }),
			want:  intake.Updated,
			check: func(t *testing.T, got *customer.Data, _ []consent.Event) {
				if !slices.Equal(got.ExternalSystems, []customer.ExternalLink{wsLink}) {
					t.Errorf("links %v, want the draft's", got.ExternalSystems)
				}
			},
		},
		{
			name: "match by phone for an observation whose last name agrees",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withPhones("+358401234567")))
			},
			draft: observation(func(d *intake.Draft) {
				d.Patch.LastName = customer.Set("MEIKÄLÄINEN")
				d.AddPhones = []string{"040 123 4567"}
			}),
			want: intake.Updated,
			check: func(t *testing.T, got *customer.Data, _ []consent.Event) {
				if got.Email != "maija@example.fi" || got.FirstName != "Matti" {
					t.Errorf("observation: email %q (want filled), first name %q (want kept)", got.Email, got.FirstName)
				}
				if !slices.Equal(got.ExternalSystems, []customer.ExternalLink{postiLink}) {
					t.Errorf("links %v", got.ExternalSystems)
				}
			},
		},
		{
			name: "no match by phone for an authoritative draft",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				f.create(t, person(withPhones("+358401234567")))
				return nil
			},
			draft: authoritative(func(d *intake.Draft) { d.AddPhones = []string{"0401234567"} }),
			want:  intake.Created,
		},
		{
			name: "no match by phone when the names differ",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				f.create(t, person(withPhones("+358401234567")))
				return nil
			},
			draft: observation(func(d *intake.Draft) {
				d.Patch.LastName = customer.Set("Virtanen")
				d.AddPhones = []string{"0401234567"}
			}),
			want: intake.Created,
		},
		{
			name: "restricted customer is matched and takes nothing",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withLinks(wsLink), func(p *customer.Patch) {
					p.GDPRRestricted = customer.Set(true)
					p.MarketingSMS = customer.Set(true)
				}))
			},
			draft: authoritative(func(d *intake.Draft) {
				d.MarketingSMS = &intake.ConsentClaim{Value: true, Evidence: "checkbox"}
			}),
			want: intake.Unchanged,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.FirstName != "Matti" || got.Email != "" || len(events) != 0 {
					t.Errorf("restricted customer changed: %q %q, events %v", got.FirstName, got.Email, events)
				}
			},
		},
		{
			name: "restricted customer matched by email takes a withdrawal",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withEmailOf("maija@example.fi"), func(p *customer.Patch) {
					p.GDPRRestricted = customer.Set(true)
					p.MarketingEmail = customer.Set(true)
				}))
			},
			draft: authoritative(func(d *intake.Draft) {
				d.MarketingEmail = &intake.ConsentClaim{Value: false, Evidence: "unsubscribed in my account"}
			}),
			want: intake.Updated,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.MarketingEmail || got.FirstName != "Matti" || len(got.ExternalSystems) != 0 {
					t.Errorf("restricted customer: consent %v, first name %q, links %v", got.MarketingEmail, got.FirstName, got.ExternalSystems)
				}
				if len(events) != 1 || events[0].Consent != consent.MarketingEmail || events[0].Evidence != "unsubscribed in my account; captured at 2026-11-20T11:00:00Z" {
					t.Errorf("events %+v", events)
				}
			},
		},
		{
			name: "erased customer is not matched",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				c := f.create(t, person(withEmailOf("maija@example.fi"), withLinks(wsLink), withPhones("+358401234567")))
				if _, err := f.svc.Erase(ctx, c.ID(), 0, admin); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			draft: authoritative(),
			want:  intake.Created,
		},
		{
			name: "observation never overwrites and never sets consents",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withEmailOf("matti@example.fi"), withLinks(postiLink), withPhones("+358501112222"),
					withAddresses(home), func(p *customer.Patch) { p.Language = customer.Set(customer.Swedish) }))
			},
			draft: observation(func(d *intake.Draft) {
				d.Patch.Type = customer.Set(customer.Company)
				d.Patch.Language = customer.Set(customer.English)
				d.Patch.CompanyName = customer.Set("Oy Ab")
				d.Patch.LastName = customer.Clear[string]()
				d.AddPhones = []string{"0401234567"}
				d.AddAddresses = []customer.Address{{Type: customer.Home, StreetAddress1: "Kotikatu 2", PostalCode: "00200", City: "Helsinki"}}
				d.MarketingEmail = &intake.ConsentClaim{Value: true, Evidence: "checkbox"}
			}),
			want: intake.Unchanged,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.FirstName != "Matti" || got.LastName != "Meikäläinen" || got.Email != "matti@example.fi" ||
					got.Type != customer.Person || got.Language != customer.Swedish || got.MarketingEmail ||
					len(got.PhoneNumbers) != 1 || len(got.Addresses) != 1 || len(events) != 0 {
					t.Errorf("observation changed the customer: %+v, events %v", got, events)
				}
			},
		},
		{
			name: "observation fills what is empty",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withLinks(postiLink, customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-1"}), withAddresses(home)))
			},
			draft: observation(func(d *intake.Draft) {
				d.AddPhones = []string{"0401234567", "0501112222"}
				d.AddAddresses = []customer.Address{
					{Type: customer.Home, StreetAddress1: "Kotikatu 2", PostalCode: "00200", City: "Helsinki"},
					delivery,
					{Type: customer.Delivery, StreetAddress1: "Toinen 3", PostalCode: "33200", City: "Tampere"},
				}
				d.MarketingEmail = &intake.ConsentClaim{Value: true, Evidence: "checkbox"}
			}),
			want: intake.Updated,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.Email != "maija@example.fi" || got.FirstName != "Matti" {
					t.Errorf("email %q first name %q", got.Email, got.FirstName)
				}
				if !slices.Equal(got.PhoneNumbers, []string{"+358401234567", "+358501112222"}) {
					t.Errorf("phones %v: a customer with none takes the observation's", got.PhoneNumbers)
				}
				if !slices.Equal(got.Addresses, []customer.Address{home, delivery}) {
					t.Errorf("addresses %v: want the home kept and the first delivery address added", got.Addresses)
				}
				if got.MarketingEmail || len(events) != 0 {
					t.Errorf("observation set consents: %v %v", got.MarketingEmail, events)
				}
			},
		},
		{
			name: "observation adds no second link to its system",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withEmailOf("maija@example.fi"), withLinks(customer.ExternalLink{SystemID: customer.Posti, Identifier: "JJFI6409999"})))
			},
			draft: observation(),
			want:  intake.Unchanged,
			check: func(t *testing.T, got *customer.Data, _ []consent.Event) {
				if len(got.ExternalSystems) != 1 || got.ExternalSystems[0].Identifier != "JJFI6409999" {
					t.Errorf("links %v", got.ExternalSystems)
				}
			},
		},
		{
			name: "authoritative sets fields and adds phones and addresses without duplicates",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withLinks(wsLink), withEmailOf("old@example.fi"), withPhones("+358401234567"), withAddresses(home)))
			},
			draft: authoritative(func(d *intake.Draft) {
				d.Patch.Language = customer.Set(customer.English)
				d.AddPhones = []string{"040 123 4567", "+358 50 111 2222", "050-1112222"}
				d.AddAddresses = []customer.Address{
					{Type: customer.Home, StreetAddress1: " MANNERHEIMINTIE 1 a 2 ", PostalCode: "00100", City: "helsinki"},
					delivery, delivery,
				}
			}),
			want: intake.Updated,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.FirstName != "Maija" || got.Email != "maija@example.fi" || got.Language != customer.English {
					t.Errorf("fields not set: %q %q %q", got.FirstName, got.Email, got.Language)
				}
				if !slices.Equal(got.PhoneNumbers, []string{"+358401234567", "+358501112222"}) {
					t.Errorf("phones %v", got.PhoneNumbers)
				}
				if !slices.Equal(got.Addresses, []customer.Address{home, delivery}) {
					t.Errorf("addresses %v", got.Addresses)
				}
				if !slices.Equal(got.ExternalSystems, []customer.ExternalLink{wsLink}) || len(events) != 0 {
					t.Errorf("links %v, events %v", got.ExternalSystems, events)
				}
			},
		},
		{
			name: "absent claims leave consents as they are",
			seed: func(t *testing.T, f fixture) *customer.Customer {
				return f.create(t, person(withLinks(wsLink), func(p *customer.Patch) { p.MarketingEmail = customer.Set(true) }))
			},
			draft: authoritative(),
			want:  intake.Updated,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if !got.MarketingEmail || len(events) != 0 {
					t.Errorf("consent %v, events %v", got.MarketingEmail, events)
				}
			},
		},
		{
			name:  "observation without email or phone and no match is dropped",
			draft: observation(func(d *intake.Draft) { d.Patch.Email = customer.Keep[string]() }),
			want:  intake.Unchanged,
			check: func(t *testing.T, got *customer.Data, _ []consent.Event) {
				if got != nil {
					t.Errorf("dropped observation made customer %+v", got)
				}
			},
		},
		{
			name:  "observation with an email and no match creates a customer",
			draft: observation(func(d *intake.Draft) { d.MarketingEmail = &intake.ConsentClaim{Value: true, Evidence: "x"} }),
			want:  intake.Created,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if got.Email != "maija@example.fi" || got.MarketingEmail || len(events) != 0 ||
					!slices.Equal(got.ExternalSystems, []customer.ExternalLink{postiLink}) {
					t.Errorf("created %+v, events %v", got, events)
				}
			},
		},
		{
			name: "authoritative draft creates with per-consent evidence",
			draft: authoritative(func(d *intake.Draft) {
				d.MarketingEmail = &intake.ConsentClaim{Value: true, Evidence: "newsletter box at checkout, order 1234"}
				d.MarketingSMS = &intake.ConsentClaim{Value: true, Evidence: "SMS offers box in account", At: t1}
				d.AddPhones = []string{"0401234567"}
			}),
			want: intake.Created,
			check: func(t *testing.T, got *customer.Data, events []consent.Event) {
				if !got.MarketingEmail || !got.MarketingSMS || got.Number < customer.FirstNumber {
					t.Errorf("created %+v", got)
				}
				want := map[consent.Kind]string{
					consent.MarketingEmail: "newsletter box at checkout, order 1234; captured at 2026-11-20T11:00:00Z",
					consent.MarketingSMS:   "SMS offers box in account; captured at 2026-11-20T10:00:00Z",
				}
				if len(events) != 2 {
					t.Fatalf("events %+v", events)
				}
				for _, e := range events {
					if e.Evidence != want[e.Consent] || e.Source != consent.SourceConnector || e.SourceSystemID != int(customer.Webstore) ||
						e.Actor != wsOrigin.Actor || e.RequestID != wsOrigin.RequestID || e.CustomerNumber != got.Number || !e.NewValue {
						t.Errorf("event %+v; want evidence %q", e, want[e.Consent])
					}
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			var seeded *customer.Customer
			if tc.seed != nil {
				seeded = tc.seed(t, f)
			}
			before := f.all(t)
			f.drain(t)
			res := f.ingest(t, tc.draft)
			events := f.drain(t)
			if res.Outcome != tc.want {
				t.Fatalf("outcome %q, want %q", res.Outcome, tc.want)
			}
			after := f.all(t)
			var got *customer.Data
			if res.Customer != nil {
				d := res.Customer.Data()
				got = &d
				stored, err := f.store.Get(ctx, d.ID)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if stored.Version() != d.Version {
					t.Errorf("result version %d, stored %d", d.Version, stored.Version())
				}
			}
			switch {
			case tc.want == intake.Created:
				if len(after) != len(before)+1 || got == nil || (seeded != nil && got.ID == seeded.ID()) {
					t.Errorf("created: %d customers before, %d after", len(before), len(after))
				}
			case seeded != nil:
				if got == nil || got.ID != seeded.ID() {
					t.Errorf("matched %v, want customer %d", got, seeded.Number())
				}
				if len(after) != len(before) {
					t.Errorf("%d customers before, %d after", len(before), len(after))
				}
			case len(after) != len(before):
				t.Errorf("%d customers before, %d after", len(before), len(after))
			}
			if tc.want == intake.Unchanged && seeded != nil && got.Version != seeded.Version() {
				t.Errorf("unchanged, but version %d → %d", seeded.Version(), got.Version)
			}
			if tc.check != nil {
				tc.check(t, got, events)
			}
		})
	}
}

// TestIngestStaleness: a draft older than the last one taken from its link
// changes nothing; an equal one is applied again; a newer one is applied.
func TestIngestStaleness(t *testing.T) {
	f := setup(t)
	first := f.ingest(t, authoritative())
	if first.Outcome != intake.Created {
		t.Fatalf("first draft: %q", first.Outcome)
	}
	name := func(n string, at time.Time) intake.Draft {
		return authoritative(func(d *intake.Draft) {
			d.Patch.FirstName = customer.Set(n)
			d.SourceUpdatedAt = at
		})
	}
	steps := []struct {
		name     string
		draft    intake.Draft
		want     intake.Outcome
		wantName string
	}{
		{"an older draft is stale", name("Vanha", t1), intake.Stale, "Maija"},
		{"the same draft again is a replay", authoritative(), intake.Unchanged, "Maija"},
		{"an equal time with other data is applied", name("Maija-Liisa", t2), intake.Updated, "Maija-Liisa"},
		{"a newer draft is applied", name("Liisa", t3), intake.Updated, "Liisa"},
		{"a newer draft that changes nothing records its time", name("Liisa", t3.Add(time.Hour)), intake.Unchanged, "Liisa"},
		{"so one between is stale", name("Välissä", t3.Add(time.Minute)), intake.Stale, "Liisa"},
		{"an unknown time is always newer", name("Tuntematon", time.Time{}), intake.Updated, "Tuntematon"},
		{"and records nothing", name("Vanha", t3.Add(30*time.Minute)), intake.Stale, "Tuntematon"},
	}
	for _, s := range steps {
		res := f.ingest(t, s.draft)
		if res.Outcome != s.want {
			t.Errorf("%s: outcome %q, want %q", s.name, res.Outcome, s.want)
		}
		if res.Customer == nil || res.Customer.ID() != first.Customer.ID() {
			t.Fatalf("%s: result customer %v, want the first one", s.name, res.Customer)
		}
		if got := res.Customer.Data().FirstName; got != s.wantName {
			t.Errorf("%s: first name %q, want %q", s.name, got, s.wantName)
		}
	}
	if evs := f.drain(t); len(evs) != 0 {
		t.Errorf("events %v", evs)
	}
}

func TestIngestRejects(t *testing.T) {
	f := setup(t)
	other := f.create(t, person(withEmailOf("taken@example.fi")))
	cases := []struct {
		name   string
		draft  intake.Draft
		origin *consent.Origin
		fields []string
	}{
		{"no link identifier", authoritative(func(d *intake.Draft) { d.Link.Identifier = " " }), nil, []string{"link.identifier"}},
		{"unknown system", authoritative(func(d *intake.Draft) { d.Link.SystemID = 99 }), &consent.Origin{Source: consent.SourceConnector, SourceSystemID: 99}, []string{"link.systemId"}},
		{"not a connector", authoritative(), &consent.Origin{Source: consent.SourceAPI, SourceSystemID: 7}, []string{"origin.source"}},
		{"another system's link", authoritative(), &postiOrig, []string{"origin.sourceSystemId"}},
		{"no trust", authoritative(func(d *intake.Draft) { d.Trust = 0 }), nil, []string{"trust"}},
		{"consent in the patch", authoritative(func(d *intake.Draft) {
			d.Patch.MarketingEmail = customer.Set(true)
			d.Patch.GDPRRestricted = customer.Set(false)
		}), nil, []string{"patch.gdprRestricted", "patch.marketingEmail"}},
		{"list in the patch", authoritative(func(d *intake.Draft) {
			d.Patch.PhoneNumbers = customer.Set([]string{"0401234567"})
			d.Patch.GroupMembership = map[string]bool{"vip": true}
		}), nil, []string{"patch.groups", "patch.phoneNumbers"}},
		{"bad phone and address", authoritative(func(d *intake.Draft) {
			d.AddPhones = []string{"0401234567", "not a number"}
			d.AddAddresses = []customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: "1234", City: "Espoo"}}
		}), nil, []string{"addAddresses[0].postalCode", "addPhones[1]"}},
		{"a grant without evidence", authoritative(func(d *intake.Draft) {
			d.MarketingSMS = &intake.ConsentClaim{Value: true}
		}), nil, []string{"marketingSms.evidence"}},
		{"a source time no store keeps", authoritative(func(d *intake.Draft) {
			d.SourceUpdatedAt = time.Date(-10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}), nil, []string{"sourceUpdatedAt"}},
		{"a source time past year 9999", authoritative(func(d *intake.Draft) {
			d.SourceUpdatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}), nil, []string{"sourceUpdatedAt"}},
		{"merged customer breaks a rule", authoritative(func(d *intake.Draft) {
			d.Patch.LastName = customer.Keep[string]()
			d.Patch.Email = customer.Set("not-an-email")
		}), nil, []string{"email", "lastName"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := originOf(tc.draft)
			if tc.origin != nil {
				o = *tc.origin
			}
			_, err := f.svc.Ingest(context.Background(), tc.draft, o)
			if !fault.IsValidation(err) {
				t.Fatalf("Ingest: %v, want *fault.Validation", err)
			}
			if got := fieldsOf(err); !slices.Equal(got, tc.fields) {
				t.Errorf("fields %v, want %v (%v)", got, tc.fields, err)
			}
		})
	}
	t.Run("conflict", func(t *testing.T) {
		f.ingest(t, authoritative())
		_, err := f.svc.Ingest(context.Background(), authoritative(func(d *intake.Draft) { d.Patch.Email = customer.Set("taken@example.fi") }), wsOrigin)
		if !fault.IsConflict(err) {
			t.Fatalf("Ingest taking customer %d's email: %v, want *fault.Conflict", other.Number(), err)
		}
		// A new customer whose value another holds: matched again, then
		// the conflict is returned.
		f.create(t, person(withEmailOf("ext@example.fi"), func(p *customer.Patch) { p.ExternalID = customer.Set("ERP-1") }))
		_, err = f.svc.Ingest(context.Background(), authoritative(func(d *intake.Draft) {
			d.Link.Identifier = "w-99"
			d.Patch.Email = customer.Set("new@example.fi")
			d.Patch.ExternalID = customer.Set("ERP-1")
		}), wsOrigin)
		var c *fault.Conflict
		if !errors.As(err, &c) || c.Field != "externalId" {
			t.Fatalf("Ingest creating with a taken external id: %v, want *fault.Conflict on externalId", err)
		}
	})
	if n := len(f.all(t)); n != 3 {
		t.Errorf("%d customers after the refused drafts, want 3", n)
	}
}
