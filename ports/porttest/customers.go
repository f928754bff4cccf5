package porttest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// Valid Finnish identifiers used throughout (DVV's fictitious and published
// examples).
const (
	hetu1       = "131052-308T"
	hetu2       = "100190-999P"
	hetu2Y      = "100190Y999P" // same digits, another century sign: another person
	businessID1 = "2077474-0"
	businessID2 = "2332748-7"
	vatNumber1  = "FI20774740"
	brokerOVT   = "003721291126"
	invoiceIBAN = "FI2112345600000785"
)

// fullPerson is a person customer with every field a person can have set to
// something other than its zero value (groups "vip" and "b2c" must exist).
func fullPerson() customer.Patch {
	return customer.Patch{
		Type:           customer.Set(customer.Person),
		FirstName:      customer.Set("Matti"),
		LastName:       customer.Set("Meikäläinen"),
		VATStatus:      customer.Set(customer.VATOutsideEU),
		Email:          customer.Set("Matti.Meikalainen@Example.FI"),
		Language:       customer.Set(customer.Swedish),
		SSN:            customer.Set(strings.ToLower(hetu1)),
		MarketingEmail: customer.Set(true),
		MarketingSMS:   customer.Set(true),
		CreditAllowed:  customer.Set(true),
		// 255 characters, 506 bytes: the limit counts characters.
		ExternalID: customer.Set("ext-" + strings.Repeat("å", 251)),
		NetvisorID: customer.Set("NV-1001"),
		ExternalSystems: customer.Set([]customer.ExternalLink{
			{SystemID: customer.WooCommerce, Identifier: "woo-42"},
			{SystemID: customer.Posti, Identifier: "P 1/2"},
			{SystemID: customer.Reservation, Identifier: "varaus-7"},
		}),
		CustomerCards: customer.Set([]string{"CARD-2", "CARD-1"}),
		Groups:        customer.Set([]string{"vip", "b2c"}),
		Addresses: customer.Set([]customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 1 A 2", StreetAddress2: "c/o Meikäläinen", PostalCode: "00100", City: "Helsinki", Country: "FI"},
			{Type: customer.Delivery, StreetAddress1: "Storgatan 1", PostalCode: "111 22", City: "Stockholm", Country: "SE"},
			{Type: customer.Home, StreetAddress1: "Torggatan 3", PostalCode: "22100", City: "Mariehamn", Country: "AX"},
		}),
		PhoneNumbers:    customer.Set([]string{"040 1234567", "+46 70 123 45 67"}),
		EInvoiceMode:    customer.Set(customer.EInvoiceBroker),
		EInvoiceBroker:  customer.Set(brokerOVT),
		EInvoiceAddress: customer.Set(invoiceIBAN),
	}
}

// fullCompany is a restricted company customer with the company-only fields
// set (group "b2b" must exist). Contacts are added afterwards.
func fullCompany() customer.Patch {
	p := company("Esimerkki Oy", "FI "+businessID1)
	p.VATNumber = customer.Set(vatNumber1)
	p.VATStatus = customer.Set(customer.VATEUServices)
	p.Email = customer.Set("laskut@esimerkki.fi")
	p.Language = customer.Set(customer.English)
	p.GDPRRestricted = customer.Set(true)
	p.Groups = customer.Set([]string{"b2b"})
	p.EInvoiceMode = customer.Set(customer.EInvoiceEmail)
	p.EInvoiceEmail = customer.Set("verkkolaskut@esimerkki.fi")
	return p
}

func testRoundTrip(t *testing.T, open opener) {
	t.Run("Person", func(t *testing.T) {
		f := setup(t, open)
		f.groups("vip", "b2c")
		created := f.create(fullPerson())
		want := created.Data()
		// The core normalised the input; the store must give back exactly that.
		if want.SSN != hetu1 || want.Email != "Matti.Meikalainen@example.fi" || want.PhoneNumbers[0] != "+358401234567" || want.Version != 1 {
			t.Fatalf("the core built an unexpected customer: %+v", want)
		}
		assertData(t, "Get", f.get(created.ID()), want)

		byNumber, err := f.Customers.GetByNumber(f.ctx, created.Number())
		if err != nil {
			t.Fatalf("GetByNumber(%d): %v", created.Number(), err)
		}
		assertData(t, "GetByNumber", byNumber.Data(), want)

		for _, link := range want.ExternalSystems {
			got, err := f.Customers.GetByExternal(f.ctx, link)
			if err != nil {
				t.Errorf("GetByExternal(%s): %v", link, err)
				continue
			}
			assertData(t, "GetByExternal("+link.String()+")", got.Data(), want)
		}
	})

	t.Run("CompanyWithContacts", func(t *testing.T) {
		f := setup(t, open)
		f.groups("b2b")
		created := f.create(fullCompany())
		assertData(t, "Get after create", f.get(created.ID()), created.Data())

		_, _, err := f.reg.AddContact(f.ctx, created.ID(), customer.Contact{Name: "Maija Mallikas", Role: "talousjohtaja", Email: "maija@esimerkki.fi", Phone: "050 1112223"}, 0, admin)
		if err != nil {
			t.Fatalf("AddContact: %v", err)
		}
		after, _, err := f.reg.AddContact(f.ctx, created.ID(), customer.Contact{Name: "Ville Vallaton"}, 0, admin)
		if err != nil {
			t.Fatalf("AddContact: %v", err)
		}
		want := after.Data()
		if len(want.Contacts) != 2 || want.Version != 3 || !want.GDPRRestricted {
			t.Fatalf("the core built an unexpected customer: %+v", want)
		}
		assertData(t, "Get", f.get(created.ID()), want)
		byNumber, err := f.Customers.GetByNumber(f.ctx, created.Number())
		if err != nil {
			t.Fatalf("GetByNumber(%d): %v", created.Number(), err)
		}
		assertData(t, "GetByNumber", byNumber.Data(), want)
	})

	t.Run("EveryFieldCovered", func(t *testing.T) {
		// The two customers above together set every field of customer.Data
		// (ErasedAt is covered by Erased). A new field fails here until the
		// suite, and so every store, covers it.
		f := setup(t, open)
		f.groups("vip", "b2c", "b2b")
		p := f.create(fullPerson()).Data()
		c := f.create(fullCompany())
		c, _, err := f.reg.AddContact(f.ctx, c.ID(), customer.Contact{Name: "Maija Mallikas"}, 0, admin)
		if err != nil {
			t.Fatalf("AddContact: %v", err)
		}
		pv, cv := reflect.ValueOf(p), reflect.ValueOf(c.Data())
		for i := range pv.NumField() {
			name := pv.Type().Field(i).Name
			if name != "ErasedAt" && pv.Field(i).IsZero() && cv.Field(i).IsZero() {
				t.Errorf("customer.Data.%s is not covered by the round-trip customers", name)
			}
		}
	})

	t.Run("Erased", func(t *testing.T) {
		f := setup(t, open)
		f.groups("vip", "b2c")
		created := f.create(fullPerson())
		erased, err := f.reg.Erase(f.ctx, created.ID(), 0, admin)
		if err != nil {
			t.Fatalf("Erase: %v", err)
		}
		want := erased.Data()
		if want.ErasedAt == nil || want.Version != 2 {
			t.Fatalf("the core built an unexpected erased customer: %+v", want)
		}
		got := f.get(created.ID())
		assertData(t, "Get", got, want)
		byNumber, err := f.Customers.GetByNumber(f.ctx, created.Number())
		if err != nil {
			t.Fatalf("GetByNumber(%d): %v", created.Number(), err)
		}
		assertData(t, "GetByNumber", byNumber.Data(), want)
		for _, link := range created.Data().ExternalSystems {
			_, err := f.Customers.GetByExternal(f.ctx, link)
			wantNotFound(t, "GetByExternal of an erased customer's link "+link.String(), err)
		}
		// Erasing again changes nothing.
		again, err := f.reg.Erase(f.ctx, created.ID(), 0, admin)
		if err != nil {
			t.Fatalf("second Erase: %v", err)
		}
		if again.Version() != 2 {
			t.Errorf("second Erase: version %d, want 2", again.Version())
		}
	})
}

func testNotFound(t *testing.T, open opener) {
	f := setup(t, open)
	known := f.create(customer.Patch{
		FirstName:       customer.Set("Olli"),
		LastName:        customer.Set("Olemassa"),
		ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "woo-1"}}),
	})
	tests := []struct {
		name string
		give func() error
	}{
		{"Get unknown id", func() error { _, err := f.Customers.Get(f.ctx, uuid.Must(uuid.NewV7())); return err }},
		{"Get nil id", func() error { _, err := f.Customers.Get(f.ctx, uuid.Nil); return err }},
		{"GetByNumber unknown", func() error { _, err := f.Customers.GetByNumber(f.ctx, known.Number()+1000); return err }},
		{"GetByNumber zero", func() error { _, err := f.Customers.GetByNumber(f.ctx, 0); return err }},
		{"GetByExternal unknown identifier", func() error {
			_, err := f.Customers.GetByExternal(f.ctx, customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "woo-2"})
			return err
		}},
		{"GetByExternal known identifier, other system", func() error {
			_, err := f.Customers.GetByExternal(f.ctx, customer.ExternalLink{SystemID: customer.Webstore, Identifier: "woo-1"})
			return err
		}},
		{"Update unknown id", func() error {
			called := false
			_, err := f.Customers.Update(f.ctx, uuid.Must(uuid.NewV7()), func(c *customer.Customer) ([]consent.Event, error) {
				called = true
				return nil, nil
			})
			if called {
				return fmt.Errorf("fn was called for a missing customer (error %v)", err)
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantNotFound(t, tt.name, tt.give())
		})
	}
	// The known ones are there, so that the cases above fail for the right reason.
	if _, err := f.Customers.GetByExternal(f.ctx, customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "woo-1"}); err != nil {
		t.Errorf("GetByExternal of a known link: %v", err)
	}
}

func testNextNumber(t *testing.T, open opener) {
	f := setup(t, open)
	seen := map[int64]bool{}
	var last int64
	for i := range 5 {
		n, err := f.Customers.NextNumber(f.ctx)
		if err != nil {
			t.Fatalf("NextNumber: %v", err)
		}
		if n < customer.FirstNumber {
			t.Errorf("NextNumber = %d, want at least %d", n, customer.FirstNumber)
		}
		if i > 0 && n <= last {
			t.Errorf("NextNumber = %d after %d, want strictly increasing", n, last)
		}
		seen[n], last = true, n
	}

	const goroutines, each = 20, 5
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		got   []int64
		start = make(chan struct{})
	)
	for range goroutines {
		wg.Go(func() {
			<-start
			var mine []int64
			for range each {
				n, err := f.Customers.NextNumber(f.ctx)
				if err != nil {
					t.Errorf("concurrent NextNumber: %v", err)
					return
				}
				mine = append(mine, n)
			}
			if !slices.IsSorted(mine) || len(slices.Compact(slices.Clone(mine))) != len(mine) {
				t.Errorf("one goroutine's numbers are not strictly increasing: %v", mine)
			}
			mu.Lock()
			got = append(got, mine...)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(got) != goroutines*each {
		t.Fatalf("got %d numbers, want %d", len(got), goroutines*each)
	}
	for _, n := range got {
		if seen[n] {
			t.Errorf("number %d was handed out twice", n)
		}
		if n <= last {
			t.Errorf("number %d handed out after %d was already taken", n, last)
		}
		seen[n] = true
	}
}

// identifiers is a person with every unique identifier set.
func identifiers(email, ext, netvisor, hetu string, cards []string, links []customer.ExternalLink) customer.Patch {
	p := person("Ilona", "Identtinen")
	p.Email = customer.Set(email)
	p.ExternalID = customer.Set(ext)
	p.NetvisorID = customer.Set(netvisor)
	p.SSN = customer.Set(hetu)
	p.CustomerCards = customer.Set(cards)
	p.ExternalSystems = customer.Set(links)
	return p
}

func testUniqueness(t *testing.T, open opener) {
	woo := func(id string) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: id}
	}
	web := func(id string) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}
	}
	// first is stored; then second, made of the same base person, collides.
	conflicts := []struct {
		name          string
		first, second func(*customer.Patch)
		field         string
	}{
		{
			name:   "email ignoring case",
			first:  func(p *customer.Patch) { p.Email = customer.Set("A@x.fi") },
			second: func(p *customer.Patch) { p.Email = customer.Set("a@X.FI") },
			field:  "email",
		},
		{
			name:   "externalId",
			first:  func(p *customer.Patch) { p.ExternalID = customer.Set("EXT-1") },
			second: func(p *customer.Patch) { p.ExternalID = customer.Set("EXT-1") },
			field:  "externalId",
		},
		{
			name:   "netvisorId",
			first:  func(p *customer.Patch) { p.NetvisorID = customer.Set("1001") },
			second: func(p *customer.Patch) { p.NetvisorID = customer.Set("1001") },
			field:  "netvisorId",
		},
		{
			name: "externalSystems",
			first: func(p *customer.Patch) {
				p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("w-1"), web("s-1")})
			},
			second: func(p *customer.Patch) {
				p.ExternalSystems = customer.Set([]customer.ExternalLink{web("s-2"), woo("w-1")})
			},
			field: "externalSystems",
		},
		{
			name:   "customerCards",
			first:  func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-1", "C-2"}) },
			second: func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-3", "C-2"}) },
			field:  "customerCards",
		},
		{
			name:   "ssn",
			first:  func(p *customer.Patch) { p.SSN = customer.Set(hetu1) },
			second: func(p *customer.Patch) { p.SSN = customer.Set(hetu1) },
			field:  "ssn",
		},
	}
	patched := func(first, last string, mod func(*customer.Patch)) customer.Patch {
		p := person(first, last)
		mod(&p)
		return p
	}

	t.Run("Create", func(t *testing.T) {
		for _, tt := range conflicts {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				a := f.create(patched("Aapo", "Alkuperäinen", tt.first))
				before := f.backlog()

				second := patched("Bertta", "Toinen", tt.second)
				second.MarketingEmail = customer.Set(true) // would write an event
				b, events := f.build(second, apiOrigin)
				if len(events) != 1 {
					t.Fatalf("the core made %d events, want 1", len(events))
				}
				err := f.Customers.Create(f.ctx, b, events)
				wantConflict(t, "Create", err, tt.field)

				_, err = f.Customers.Get(f.ctx, b.ID())
				wantNotFound(t, "Get of the customer whose create failed", err)
				_, err = f.Customers.GetByNumber(f.ctx, b.Number())
				wantNotFound(t, "GetByNumber of the customer whose create failed", err)
				if n := f.backlog(); n != before {
					t.Errorf("outbox holds %d events after the failed create, want %d", n, before)
				}
				assertData(t, "first customer after the failed create", f.get(a.ID()), a.Data())
			})
		}
	})

	t.Run("Update", func(t *testing.T) {
		for _, tt := range conflicts {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				a := f.create(patched("Aapo", "Alkuperäinen", tt.first))
				b := f.create(person("Bertta", "Toinen"))
				before := f.backlog()

				second := patched("Bertta", "Muutettu", tt.second)
				second.MarketingEmail = customer.Set(true) // would write an event
				err := f.tryApply(b.ID(), second, apiOrigin)
				wantConflict(t, "Update", err, tt.field)

				assertData(t, "customer whose update failed", f.get(b.ID()), b.Data())
				if n := f.backlog(); n != before {
					t.Errorf("outbox holds %d events after the failed update, want %d", n, before)
				}
				assertData(t, "first customer after the failed update", f.get(a.ID()), a.Data())

				// The owner itself may keep and rewrite its identifiers.
				own := patched("Aapo", "Uusi", tt.first)
				got, _ := f.apply(a.ID(), own, apiOrigin)
				if got.Version() != 2 || got.Data().LastName != "Uusi" {
					t.Errorf("owner's own update: version %d, lastName %q; want 2, Uusi", got.Version(), got.Data().LastName)
				}
			})
		}
	})

	t.Run("NotConflicting", func(t *testing.T) {
		tests := []struct {
			name          string
			first, second func(*customer.Patch)
		}{
			{
				name:   "same identifier under another system",
				first:  func(p *customer.Patch) { p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("shared-1")}) },
				second: func(p *customer.Patch) { p.ExternalSystems = customer.Set([]customer.ExternalLink{web("shared-1")}) },
			},
			{
				name:   "another century sign is another person",
				first:  func(p *customer.Patch) { p.SSN = customer.Set(hetu2) },
				second: func(p *customer.Patch) { p.SSN = customer.Set(hetu2Y) },
			},
			{
				name:   "externalId of one is netvisorId of the other",
				first:  func(p *customer.Patch) { p.ExternalID = customer.Set("ID-9") },
				second: func(p *customer.Patch) { p.NetvisorID = customer.Set("ID-9") },
			},
			{
				name:   "neither has any identifier",
				first:  func(p *customer.Patch) {},
				second: func(p *customer.Patch) {},
			},
			{
				name:   "email differing in more than case",
				first:  func(p *customer.Patch) { p.Email = customer.Set("a@x.fi") },
				second: func(p *customer.Patch) { p.Email = customer.Set("a.a@x.fi") },
			},
		}
		for _, tt := range tests {
			t.Run(tt.name+"/Create", func(t *testing.T) {
				f := setup(t, open)
				f.create(patched("Aapo", "Alkuperäinen", tt.first))
				b, events := f.build(patched("Bertta", "Toinen", tt.second), apiOrigin)
				if err := f.Customers.Create(f.ctx, b, events); err != nil {
					t.Errorf("Create: %v", err)
				}
			})
			t.Run(tt.name+"/Update", func(t *testing.T) {
				f := setup(t, open)
				f.create(patched("Aapo", "Alkuperäinen", tt.first))
				b := f.create(person("Bertta", "Toinen"))
				if err := f.tryApply(b.ID(), patched("Bertta", "Toinen", tt.second), apiOrigin); err != nil {
					t.Errorf("Update: %v", err)
				}
			})
		}
	})

	t.Run("Released", func(t *testing.T) {
		// first is stored on A, release changes A so that the identifier is
		// no longer A's, then B takes it.
		tests := []struct {
			name                  string
			first, release, taken func(*customer.Patch)
		}{
			{
				name:    "email changed",
				first:   func(p *customer.Patch) { p.Email = customer.Set("a@x.fi") },
				release: func(p *customer.Patch) { p.Email = customer.Set("a2@x.fi") },
				taken:   func(p *customer.Patch) { p.Email = customer.Set("A@X.fi") },
			},
			{
				name:    "email cleared",
				first:   func(p *customer.Patch) { p.Email = customer.Set("a@x.fi") },
				release: func(p *customer.Patch) { p.Email = customer.Clear[string]() },
				taken:   func(p *customer.Patch) { p.Email = customer.Set("a@x.fi") },
			},
			{
				name:    "externalId cleared",
				first:   func(p *customer.Patch) { p.ExternalID = customer.Set("E-1") },
				release: func(p *customer.Patch) { p.ExternalID = customer.Clear[string]() },
				taken:   func(p *customer.Patch) { p.ExternalID = customer.Set("E-1") },
			},
			{
				name:    "netvisorId changed",
				first:   func(p *customer.Patch) { p.NetvisorID = customer.Set("N-1") },
				release: func(p *customer.Patch) { p.NetvisorID = customer.Set("N-2") },
				taken:   func(p *customer.Patch) { p.NetvisorID = customer.Set("N-1") },
			},
			{
				name:    "card removed from the list",
				first:   func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-1", "C-2"}) },
				release: func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-2"}) },
				taken:   func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-1"}) },
			},
			{
				name: "link removed from the list",
				first: func(p *customer.Patch) {
					p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("w-1"), web("s-1")})
				},
				release: func(p *customer.Patch) { p.ExternalSystems = customer.Set([]customer.ExternalLink{web("s-1")}) },
				taken:   func(p *customer.Patch) { p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("w-1")}) },
			},
			{
				name:    "ssn cleared",
				first:   func(p *customer.Patch) { p.SSN = customer.Set(hetu1) },
				release: func(p *customer.Patch) { p.SSN = customer.Clear[string]() },
				taken:   func(p *customer.Patch) { p.SSN = customer.Set(hetu1) },
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				a := f.create(patched("Aapo", "Alkuperäinen", tt.first))
				rel := customer.Patch{}
				tt.release(&rel)
				if _, err := f.reg.Update(f.ctx, a.ID(), rel, 0, admin); err != nil {
					t.Fatalf("releasing update of A: %v", err)
				}
				// B takes it by create, C by update.
				b, events := f.build(patched("Bertta", "Toinen", tt.taken), apiOrigin)
				if err := f.Customers.Create(f.ctx, b, events); err != nil {
					t.Errorf("Create of B with A's released identifier: %v", err)
				}
				c := f.create(person("Cecilia", "Kolmas"))
				if _, err := f.reg.Erase(f.ctx, b.ID(), 0, admin); err != nil {
					t.Fatalf("Erase of B: %v", err)
				}
				take := customer.Patch{}
				tt.taken(&take)
				if _, err := f.reg.Update(f.ctx, c.ID(), take, 0, admin); err != nil {
					t.Errorf("Update of C with the identifier released again by erasing B: %v", err)
				}
			})
		}
	})

	t.Run("ReleasedByErasure", func(t *testing.T) {
		f := setup(t, open)
		links := []customer.ExternalLink{woo("w-1"), web("s-1")}
		p := identifiers("a@x.fi", "E-1", "N-1", hetu1, []string{"C-1", "C-2"}, links)
		a := f.create(p)
		if _, err := f.reg.Erase(f.ctx, a.ID(), 0, admin); err != nil {
			t.Fatalf("Erase: %v", err)
		}
		b, err := f.reg.Create(f.ctx, p, admin)
		if err != nil {
			t.Fatalf("Create with every identifier of an erased customer: %v", err)
		}
		for _, l := range links {
			got, err := f.Customers.GetByExternal(f.ctx, l)
			if err != nil {
				t.Errorf("GetByExternal(%s): %v", l, err)
				continue
			}
			if got.ID() != b.ID() {
				t.Errorf("GetByExternal(%s) = customer %d, want the new owner %d", l, got.Number(), b.Number())
			}
		}
		if got := f.get(a.ID()); got.Email != "" || got.SSN != "" || len(got.ExternalSystems) != 0 || got.ErasedAt == nil {
			t.Errorf("erased customer still holds data: %+v", got)
		}
	})
}
