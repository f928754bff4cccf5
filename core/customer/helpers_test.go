package customer_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// Shared fixtures. Every test builds its own customers from these, so tests
// can run in parallel without sharing state.

var (
	t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = time.Date(2025, 3, 2, 8, 30, 0, 0, time.UTC)
	t2 = time.Date(2025, 3, 3, 9, 45, 0, 0, time.UTC)

	testID     = uuid.MustParse("0195f3a0-0000-7000-8000-000000000001")
	testNumber = int64(10042)

	// origin carries every field an event copies, so that a dropped one shows.
	origin = consent.Origin{
		Source:         consent.SourceConnector,
		SourceSystemID: int(customer.WooCommerce),
		Actor:          "key:webshop",
		RequestID:      "req-7",
		ImportID:       "imp-3",
		Evidence:       "checkbox at checkout, 2025-03-01",
	}
)

// eventID is the n-th id handed out by ids().
func eventID(n int) uuid.UUID {
	return uuid.UUID{0: 0xee, 14: byte(n >> 8), 15: byte(n)}
}

// ids hands out eventID(1), eventID(2), … in order.
func ids() func() uuid.UUID {
	n := 0
	return func() uuid.UUID {
		n++
		return eventID(n)
	}
}

// change is a change at the given time with origin and fresh sequential ids.
func change(at time.Time) customer.Change {
	return customer.Change{At: at, Origin: origin, NewID: ids()}
}

// noIDs is a Change whose NewID fails the test: for changes that must not
// produce events.
func noIDs(t *testing.T, at time.Time) customer.Change {
	t.Helper()
	return customer.Change{At: at, Origin: origin, NewID: func() uuid.UUID {
		t.Errorf("NewID called: an event was made where none was expected")
		return uuid.Nil
	}}
}

// person is a minimal valid person patch, changed by mods.
func person(mods ...func(*customer.Patch)) customer.Patch {
	p := customer.Patch{
		FirstName: customer.Set("Matti"),
		LastName:  customer.Set("Meikäläinen"),
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// company is a minimal valid company patch, changed by mods.
func company(mods ...func(*customer.Patch)) customer.Patch {
	p := customer.Patch{
		Type:        customer.Set(customer.Company),
		CompanyName: customer.Set("Kirjuri Oy"),
		BusinessID:  customer.Set("2077474-0"),
	}
	for _, m := range mods {
		m(&p)
	}
	return p
}

// personData is what New(testID, testNumber, person(), change(t0)) holds,
// changed by mods.
func personData(mods ...func(*customer.Data)) customer.Data {
	d := customer.Data{
		ID:        testID,
		Number:    testNumber,
		Type:      customer.Person,
		FirstName: "Matti",
		LastName:  "Meikäläinen",
		VATStatus: customer.VATDomestic,
		Language:  customer.Finnish,
		CreatedAt: t0,
		UpdatedAt: t0,
		Version:   1,
	}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// companyData is what New(testID, testNumber, company(), change(t0)) holds,
// changed by mods.
func companyData(mods ...func(*customer.Data)) customer.Data {
	d := customer.Data{
		ID:          testID,
		Number:      testNumber,
		Type:        customer.Company,
		CompanyName: "Kirjuri Oy",
		BusinessID:  "2077474-0",
		VATStatus:   customer.VATDomestic,
		Language:    customer.Finnish,
		CreatedAt:   t0,
		UpdatedAt:   t0,
		Version:     1,
	}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// fullCompany sets every field a company can have.
func fullCompany() customer.Patch {
	return customer.Patch{
		Type:           customer.Set(customer.Company),
		CompanyName:    customer.Set("Kirjuri Oy"),
		BusinessID:     customer.Set("FI20774740"),
		VATNumber:      customer.Set("FI 2077474-0"),
		VATStatus:      customer.Set(customer.VATEUGoods),
		Email:          customer.Set(" Laskut@Kirjuri.FI "),
		Language:       customer.Set(customer.Swedish),
		MarketingEmail: customer.Set(true),
		MarketingSMS:   customer.Set(true),
		GDPRRestricted: customer.Set(false),
		CreditAllowed:  customer.Set(true),
		ExternalID:     customer.Set(" ext-1 "),
		NetvisorID:     customer.Set("nv-1"),
		ExternalSystems: customer.Set([]customer.ExternalLink{
			{SystemID: customer.Posti, Identifier: "P-1"},
			{SystemID: customer.Reservation, Identifier: " R-1 "},
		}),
		CustomerCards: customer.Set([]string{"CARD-1", " CARD-2 "}),
		Groups:        customer.Set([]string{"vip", "b2b", " vip "}),
		Addresses: customer.Set([]customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki"},
			{Type: customer.Delivery, StreetAddress1: "Torggatan 2", StreetAddress2: "B 4", PostalCode: "AX-22100", City: "Mariehamn", Country: "ax"},
		}),
		PhoneNumbers:    customer.Set([]string{"040 1234567", "+46 70 123 45 67", "00358401234567"}),
		EInvoiceMode:    customer.Set(customer.EInvoiceBroker),
		EInvoiceBroker:  customer.Set("003723327487"),
		EInvoiceAddress: customer.Set("003720774740"),
		EInvoiceEmail:   customer.Set("e-laskut@Kirjuri.fi"),
	}
}

// fullCompanyData is what fullCompany() becomes.
func fullCompanyData(mods ...func(*customer.Data)) customer.Data {
	d := customer.Data{
		ID:             testID,
		Number:         testNumber,
		Type:           customer.Company,
		CompanyName:    "Kirjuri Oy",
		BusinessID:     "2077474-0",
		VATNumber:      "FI20774740",
		VATStatus:      customer.VATEUGoods,
		Email:          "Laskut@kirjuri.fi",
		Language:       customer.Swedish,
		MarketingEmail: true,
		MarketingSMS:   true,
		CreditAllowed:  true,
		ExternalID:     "ext-1",
		NetvisorID:     "nv-1",
		ExternalSystems: []customer.ExternalLink{
			{SystemID: customer.Posti, Identifier: "P-1"},
			{SystemID: customer.Reservation, Identifier: "R-1"},
		},
		CustomerCards: []string{"CARD-1", "CARD-2"},
		Groups:        []string{"vip", "b2b"},
		Addresses: []customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki", Country: "FI"},
			{Type: customer.Delivery, StreetAddress1: "Torggatan 2", StreetAddress2: "B 4", PostalCode: "22100", City: "Mariehamn", Country: "AX"},
		},
		PhoneNumbers: []string{"+358401234567", "+46701234567"},
		EInvoice: customer.EInvoice{
			Mode:    customer.EInvoiceBroker,
			Broker:  "003723327487",
			Address: "003720774740",
			Email:   "e-laskut@kirjuri.fi",
		},
		CreatedAt: t0,
		UpdatedAt: t0,
		Version:   1,
	}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// fullPerson sets every field a person can have.
func fullPerson() customer.Patch {
	return customer.Patch{
		Type:           customer.Set(customer.Person),
		FirstName:      customer.Set(" Matti "),
		LastName:       customer.Set("Meikäläinen"),
		VATStatus:      customer.Set(customer.VATOutsideEU),
		Email:          customer.Set("matti@Example.FI"),
		Language:       customer.Set(customer.English),
		SSN:            customer.Set("131052-308t"),
		MarketingEmail: customer.Set(true),
		MarketingSMS:   customer.Set(false),
		CreditAllowed:  customer.Set(true),
		ExternalID:     customer.Set("p-1"),
		NetvisorID:     customer.Set("nv-p-1"),
		ExternalSystems: customer.Set([]customer.ExternalLink{
			{SystemID: customer.MyCashFlow, Identifier: "mcf-9"},
		}),
		CustomerCards: customer.Set([]string{"LOYAL-1"}),
		Groups:        customer.Set([]string{"regulars"}),
		Addresses: customer.Set([]customer.Address{
			{Type: customer.Home, StreetAddress1: "Kotikatu 3", PostalCode: "33100", City: "Tampere", Country: "fi"},
		}),
		PhoneNumbers:  customer.Set([]string{"040 1234567"}),
		EInvoiceMode:  customer.Set(customer.EInvoiceEmail),
		EInvoiceEmail: customer.Set("matti@example.fi"),
	}
}

// fullPersonData is what fullPerson() becomes.
func fullPersonData(mods ...func(*customer.Data)) customer.Data {
	d := customer.Data{
		ID:             testID,
		Number:         testNumber,
		Type:           customer.Person,
		FirstName:      "Matti",
		LastName:       "Meikäläinen",
		VATStatus:      customer.VATOutsideEU,
		Email:          "matti@example.fi",
		Language:       customer.English,
		SSN:            "131052-308T",
		MarketingEmail: true,
		CreditAllowed:  true,
		ExternalID:     "p-1",
		NetvisorID:     "nv-p-1",
		ExternalSystems: []customer.ExternalLink{
			{SystemID: customer.MyCashFlow, Identifier: "mcf-9"},
		},
		CustomerCards: []string{"LOYAL-1"},
		Groups:        []string{"regulars"},
		Addresses: []customer.Address{
			{Type: customer.Home, StreetAddress1: "Kotikatu 3", PostalCode: "33100", City: "Tampere", Country: "FI"},
		},
		PhoneNumbers: []string{"+358401234567"},
		EInvoice:     customer.EInvoice{Mode: customer.EInvoiceEmail, Email: "matti@example.fi"},
		CreatedAt:    t0,
		UpdatedAt:    t0,
		Version:      1,
	}
	for _, m := range mods {
		m(&d)
	}
	return d
}

// mustNew builds a customer at t0 or fails the test.
func mustNew(t *testing.T, p customer.Patch) *customer.Customer {
	t.Helper()
	c, _, err := customer.New(testID, testNumber, p, change(t0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// fields returns the sorted field paths of a *fault.Validation, and fails
// the test for nil or any other error.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var v *fault.Validation
	if !errors.As(err, &v) {
		t.Fatalf("error = %v (%T), want *fault.Validation", err, err)
	}
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Field
	}
	slices.Sort(out)
	return out
}

// messages returns the text of every field problem, joined.
func messages(t *testing.T, err error) string {
	t.Helper()
	var v *fault.Validation
	if !errors.As(err, &v) {
		t.Fatalf("error = %v (%T), want *fault.Validation", err, err)
	}
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strings.Repeat("x", i/26) + string(rune('a'+i%26))
	}
	return out
}

// errFields is the sorted field paths of err: nil for nil, and a marker for
// an error that is not a *fault.Validation.
func errFields(err error) []string {
	if err == nil {
		return nil
	}
	var v *fault.Validation
	if !errors.As(err, &v) {
		return []string{"not a validation error: " + err.Error()}
	}
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Field
	}
	slices.Sort(out)
	return out
}
