package customer_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// textSetters put one string into one text field of a patch (Set), for
// every text the patch carries, list elements included.
var textSetters = []struct {
	name string
	set  func(p *customer.Patch, s string)
}{
	{"type", func(p *customer.Patch, s string) { p.Type = customer.Set(customer.Type(s)) }},
	{"firstName", func(p *customer.Patch, s string) { p.FirstName = customer.Set(s) }},
	{"lastName", func(p *customer.Patch, s string) { p.LastName = customer.Set(s) }},
	{"companyName", func(p *customer.Patch, s string) { p.CompanyName = customer.Set(s) }},
	{"businessId", func(p *customer.Patch, s string) { p.BusinessID = customer.Set(s) }},
	{"vatNumber", func(p *customer.Patch, s string) { p.VATNumber = customer.Set(s) }},
	{"email", func(p *customer.Patch, s string) { p.Email = customer.Set(s) }},
	{"language", func(p *customer.Patch, s string) { p.Language = customer.Set(customer.Language(s)) }},
	{"ssn", func(p *customer.Patch, s string) { p.SSN = customer.Set(s) }},
	{"externalId", func(p *customer.Patch, s string) { p.ExternalID = customer.Set(s) }},
	{"netvisorId", func(p *customer.Patch, s string) { p.NetvisorID = customer.Set(s) }},
	{"externalSystems", func(p *customer.Patch, s string) {
		p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Webstore, Identifier: s}})
	}},
	{"customerCards", func(p *customer.Patch, s string) { p.CustomerCards = customer.Set([]string{"CARD-1", s}) }},
	{"groups", func(p *customer.Patch, s string) { p.Groups = customer.Set([]string{s, "vip"}) }},
	{"group add", func(p *customer.Patch, s string) { p.GroupMembership = map[string]bool{s: true} }},
	{"group remove", func(p *customer.Patch, s string) { p.GroupMembership = map[string]bool{s: false} }},
	{"phoneNumbers", func(p *customer.Patch, s string) { p.PhoneNumbers = customer.Set([]string{s, "040 1234567"}) }},
	{"address type", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.AddressType(s), StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki"}})
	}},
	{"streetAddress1", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: s, PostalCode: "00100", City: "Helsinki"}})
	}},
	{"streetAddress2", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", StreetAddress2: s, PostalCode: "00100", City: "Helsinki"}})
	}},
	{"postalCode FI", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: s, City: "Helsinki"}})
	}},
	{"postalCode AX", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: s, City: "Mariehamn", Country: "AX"}})
	}},
	{"postalCode SE", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: s, City: "Stockholm", Country: "SE"}})
	}},
	{"city", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: "00100", City: s}})
	}},
	{"country", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: "12345", City: "X", Country: s}})
	}},
	{"every address field", func(p *customer.Patch, s string) {
		p.Addresses = customer.Set([]customer.Address{{Type: customer.AddressType(s), StreetAddress1: s, StreetAddress2: s, PostalCode: s, City: s, Country: s}})
	}},
	{"eInvoice.mode", func(p *customer.Patch, s string) { p.EInvoiceMode = customer.Set(customer.EInvoiceMode(s)) }},
	{"eInvoice.broker", func(p *customer.Patch, s string) { p.EInvoiceBroker = customer.Set(s) }},
	{"eInvoice.address", func(p *customer.Patch, s string) { p.EInvoiceAddress = customer.Set(s) }},
	{"eInvoice.email", func(p *customer.Patch, s string) { p.EInvoiceEmail = customer.Set(s) }},
}

// every sets s into every text field at once.
func every(p *customer.Patch, s string) {
	for _, ts := range textSetters {
		ts.set(p, s)
	}
}

// patchOf is the patch that sets every field to what d holds.
func patchOf(d customer.Data) customer.Patch {
	return customer.Patch{
		Type: customer.Set(d.Type), FirstName: customer.Set(d.FirstName), LastName: customer.Set(d.LastName),
		CompanyName: customer.Set(d.CompanyName), BusinessID: customer.Set(d.BusinessID), VATNumber: customer.Set(d.VATNumber),
		VATStatus: customer.Set(d.VATStatus), Email: customer.Set(d.Email), Language: customer.Set(d.Language),
		SSN: customer.Set(d.SSN), MarketingEmail: customer.Set(d.MarketingEmail), MarketingSMS: customer.Set(d.MarketingSMS),
		GDPRRestricted: customer.Set(d.GDPRRestricted), CreditAllowed: customer.Set(d.CreditAllowed),
		ExternalID: customer.Set(d.ExternalID), NetvisorID: customer.Set(d.NetvisorID),
		ExternalSystems: customer.Set(d.ExternalSystems), CustomerCards: customer.Set(d.CustomerCards),
		Groups: customer.Set(d.Groups), Addresses: customer.Set(d.Addresses), PhoneNumbers: customer.Set(d.PhoneNumbers),
		EInvoiceMode: customer.Set(d.EInvoice.Mode), EInvoiceBroker: customer.Set(d.EInvoice.Broker),
		EInvoiceAddress: customer.Set(d.EInvoice.Address), EInvoiceEmail: customer.Set(d.EInvoice.Email),
	}
}

// FuzzApplyText feeds arbitrary text into every text field of a patch on a
// valid person and a valid company. Apply never panics; it either fails
// with a *fault.Validation and leaves the customer as it was, or leaves a
// customer that FromStorage accepts as it is, on which the same patch and
// the patch of its own values change nothing (stored values are canonical).
func FuzzApplyText(f *testing.F) {
	for _, s := range []string{
		"", " ", "Matti", "Kirjuri Oy", "person", "company", "fi", "sv", "en",
		"131052-308T", "131052-308t", "100190Y999P", "010594Y9032", "131052-308U", "310252-308Y", "010190-001?",
		"2077474-0", "FI20774740", "2077474 0", "20774740", "4904840", "fi 2077474-0",
		"matti@example.fi", "Matti@Example.FI", " a@b.co ", "a@b", "x@[127.0.0.1]", `"a b"@c.fi`,
		"040 1234567", "+46 70 123 45 67", "00358401234567", "+358 (0)40 123 4567", "040 1234567 ext. 12", "1-800-FLOWERS",
		"00100", "FI-00100", "AX-22100", "22100", "111 51", "Invoice", "Delivery", "Home", "FI", "ax", "XX",
		"Broker", "Email", "003723327487", "003720774740", "NDEAFIHH", "FI49 5000 9420 0287 30",
		"a\nb", "\t", "\x00", "\x7f", "\xff", "\u00a0", "\u0085x", "\u2028", "\u200b", "ſ", "İ", "ﬀ",
		repeat("x", 200), repeat("ä", 201), repeat("1", 255), repeat("1", 256),
		// Issue 6: truncated business ids, future identity codes, email
		// limits, invisible text, damaged text, BIC-shaped nonsense.
		"2077474", "FI2077474", "490484-0", "010199A234J", "010150F236Y", "010325A002K", "020325A0027",
		"m@-example.fi", "m@example-.fi", repeat("l", 65) + "@example.fi", "m@" + repeat("a", 64) + ".fi", "x" + email254, email254,
		"\u200b", "\u200c\u200d", "\u2060\u00ad", "\ufeff", "\u3164", "Ma\u200btti", "\ufffd", "\ufffdk\ufffds", "a\u009fb",
		"XXXXXXXX", "NONSENSE", "ABCDEFGH", "AAAAZZ11", "NDEAFIHX", "OKOYFIHHXXX",
	} {
		f.Add(s)
	}

	// The starting customers are built once and rebuilt from their data
	// for every check: New is slow (phone numbers) and the fuzzer wants
	// many executions.
	var starts []customer.Data
	for _, p := range []customer.Patch{fullPerson(), fullCompany()} {
		c, _, err := customer.New(testID, testNumber, p, change(t0))
		if err != nil {
			f.Fatalf("New: %v", err)
		}
		starts = append(starts, c.Data())
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, start := range starts {
			for _, ts := range textSetters {
				var p customer.Patch
				ts.set(&p, s)
				checkApply(t, ts.name, start, p)
			}
			var p customer.Patch
			every(&p, s)
			checkApply(t, "every field", start, p)
		}
		checkContact(t, starts[1], s)
	})
}

// fromData rebuilds a customer from its data, or fails the test.
func fromData(t *testing.T, d customer.Data) *customer.Customer {
	t.Helper()
	c, err := customer.FromStorage(cloneForTest(d))
	if err != nil {
		t.Fatalf("FromStorage: %v", err)
	}
	return c
}

func checkApply(t *testing.T, name string, start customer.Data, p customer.Patch) {
	t.Helper()
	c := fromData(t, start)
	before := c.Data()
	events, err := c.Apply(p, change(t1))
	if err != nil {
		var v *fault.Validation
		if !errors.As(err, &v) || len(v.Fields) == 0 || events != nil {
			t.Fatalf("%s: Apply = %v, %v (%T); want a *fault.Validation with fields", name, events, err, err)
		}
		if after := c.Data(); !reflect.DeepEqual(after, before) {
			t.Fatalf("%s: a failed Apply changed the customer:\n%+v\nwas\n%+v", name, after, before)
		}
		return
	}
	d := c.Data()
	checkStoredText(t, name, d)
	checkStoredBirthDate(t, name, d, t1)
	stored, err := customer.FromStorage(d)
	if err != nil {
		t.Fatalf("%s: FromStorage rejects what Apply made: %v\n%+v", name, err, d)
	}
	if got := stored.Data(); !reflect.DeepEqual(got, d) {
		t.Fatalf("%s: FromStorage changed the data:\n%+v\nwant\n%+v", name, got, d)
	}
	if events, err := c.Apply(p, noIDs(t, t2)); err != nil || events != nil || c.Version() != d.Version {
		t.Fatalf("%s: the same patch again = %v, %v, version %d; want nothing, version %d", name, events, err, c.Version(), d.Version)
	}
	if events, err := stored.Apply(patchOf(d), noIDs(t, t2)); err != nil || events != nil || !reflect.DeepEqual(stored.Data(), d) {
		t.Fatalf("%s: stored values are not canonical: Apply of them = %v, %v\n%+v\nwant\n%+v", name, events, err, stored.Data(), d)
	}
}

// checkContact feeds s into every field of a contact person.
func checkContact(t *testing.T, start customer.Data, s string) {
	t.Helper()
	contacts := []customer.Contact{
		{ID: uuid.UUID{15: 1}, Name: s},
		{ID: uuid.UUID{15: 1}, Name: "Liisa", Role: s},
		{ID: uuid.UUID{15: 1}, Name: "Liisa", Email: s},
		{ID: uuid.UUID{15: 1}, Name: "Liisa", Phone: s},
		{ID: uuid.UUID{15: 1}, Name: s, Role: s, Email: s, Phone: s},
	}
	for _, ct := range contacts {
		c := fromData(t, start)
		err := c.AddContact(ct, change(t1))
		var v *fault.Validation
		if err != nil && !errors.As(err, &v) {
			t.Fatalf("AddContact(%+v) = %v (%T), want a *fault.Validation", ct, err, err)
		}
		if _, err := customer.FromStorage(c.Data()); err != nil {
			t.Fatalf("FromStorage rejects what AddContact made: %v", err)
		}
		checkStoredText(t, "contact", c.Data())
	}
}
