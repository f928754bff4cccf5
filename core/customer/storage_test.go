package customer_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/customer"
)

// TestFromStorageRoundTrip: what a customer holds is rebuilt as it was.
func TestFromStorageRoundTrip(t *testing.T) {
	t.Parallel()

	erased := mustNew(t, fullPerson())
	erased.Erase(change(t1))
	withContact := mustNew(t, fullCompany())
	if err := withContact.AddContact(customer.Contact{ID: contactID1, Name: "Liisa", Phone: "0401234567"}, change(t1)); err != nil {
		t.Fatalf("AddContact: %v", err)
	}

	tests := []struct {
		name string
		give customer.Data
	}{
		{name: "minimal person", give: mustNew(t, person()).Data()},
		{name: "minimal company", give: mustNew(t, company()).Data()},
		{name: "full person", give: mustNew(t, fullPerson()).Data()},
		{name: "full company with contact", give: withContact.Data()},
		{name: "erased", give: erased.Data()},
		{name: "restricted", give: mustNew(t, person(consents(keep, keep, yes))).Data()},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, err := customer.FromStorage(tt.give)
			if err != nil {
				t.Fatalf("FromStorage: %v", err)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.give) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.give)
			}
			if c.ID() != tt.give.ID || c.Number() != tt.give.Number || c.Version() != tt.give.Version ||
				c.Restricted() != tt.give.GDPRRestricted || c.Erased() != (tt.give.ErasedAt != nil) {
				t.Errorf("accessors disagree with Data: %v %d %d %v %v", c.ID(), c.Number(), c.Version(), c.Restricted(), c.Erased())
			}
		})
	}
}

// TestFromStorageEmptyListsAreNil: a store that reads empty lists as empty
// slices gets the same customer as one that reads nil.
func TestFromStorageEmptyListsAreNil(t *testing.T) {
	t.Parallel()

	d := personData(func(d *customer.Data) {
		d.ExternalSystems = []customer.ExternalLink{}
		d.CustomerCards = []string{}
		d.Groups = []string{}
		d.Addresses = []customer.Address{}
		d.PhoneNumbers = []string{}
		d.Contacts = []customer.Contact{}
	})
	c, err := customer.FromStorage(d)
	if err != nil {
		t.Fatalf("FromStorage: %v", err)
	}
	if got, want := c.Data(), personData(); !reflect.DeepEqual(got, want) {
		t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
	}
	if events, err := c.Apply(customer.Patch{}, noIDs(t, t1)); events != nil || err != nil || c.Version() != 1 {
		t.Errorf("empty Apply = %v, %v, version %d; want nothing, version 1", events, err, c.Version())
	}
}

// TestFromStorageRejectsBrokenRules: a stored row that breaks the rules
// between fields is reported, not served.
func TestFromStorageRejectsBrokenRules(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Data
		want []string
	}{
		{name: "no type", give: personData(func(d *customer.Data) { d.Type = "" }), want: []string{"type"}},
		{name: "unknown type", give: personData(func(d *customer.Data) { d.Type = "robot" }), want: []string{"type"}},
		{name: "person without firstName", give: personData(func(d *customer.Data) { d.FirstName = "" }), want: []string{"firstName"}},
		{name: "person without lastName", give: personData(func(d *customer.Data) { d.LastName = "" }), want: []string{"lastName"}},
		{name: "person with company fields", give: personData(func(d *customer.Data) {
			d.CompanyName, d.BusinessID, d.VATNumber, d.VATStatus = "Oy", "2077474-0", "FI20774740", customer.VATEUGoods
		}), want: []string{"businessId", "companyName", "vatNumber", "vatStatus"}},
		{name: "person with contacts", give: personData(func(d *customer.Data) {
			d.Contacts = []customer.Contact{{ID: contactID1, Name: "Liisa"}}
		}), want: []string{"contacts"}},
		{name: "company without companyName", give: companyData(func(d *customer.Data) { d.CompanyName = "" }), want: []string{"companyName"}},
		{name: "company without businessId", give: companyData(func(d *customer.Data) { d.BusinessID = "" }), want: []string{"businessId"}},
		{name: "company with ssn", give: companyData(func(d *customer.Data) { d.SSN = "131052-308T" }), want: []string{"ssn"}},
		{name: "vatNumber of another company", give: companyData(func(d *customer.Data) { d.VATNumber = "FI23327487" }), want: []string{"vatNumber"}},
		{name: "vatStatus 0", give: companyData(func(d *customer.Data) { d.VATStatus = 0 }), want: []string{"vatStatus"}},
		{name: "vatStatus 8", give: personData(func(d *customer.Data) { d.VATStatus = 8 }), want: []string{"vatStatus"}},
		{name: "no language", give: personData(func(d *customer.Data) { d.Language = "" }), want: []string{"language"}},
		{name: "unknown language", give: personData(func(d *customer.Data) { d.Language = "de" }), want: []string{"language"}},
		{name: "Broker mode without details", give: companyData(func(d *customer.Data) {
			d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceBroker}
		}), want: []string{"eInvoice.address", "eInvoice.broker"}},
		{name: "Email mode without email", give: personData(func(d *customer.Data) {
			d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceEmail, Broker: "PAGERO"}
		}), want: []string{"eInvoice.email"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, err := customer.FromStorage(tt.give)
			if c != nil {
				t.Errorf("FromStorage returned a customer with an error")
			}
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

// allUnder reports whether every path is prefix or a path inside it
// ("phoneNumbers", "phoneNumbers[0]").
func allUnder(paths []string, prefix string) bool {
	for _, p := range paths {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || !(rest == "" || strings.HasPrefix(rest, "[") || strings.HasPrefix(rest, ".")) {
			return false
		}
	}
	return true
}

// TestFromStorageAcceptsErased: an erased record holds none of what a live
// customer needs and is still read.
func TestFromStorageAcceptsErased(t *testing.T) {
	t.Parallel()

	at := t1
	tests := []struct {
		name string
		give customer.Data
	}{
		{name: "erased person", give: customer.Data{
			ID: testID, Number: testNumber, Type: customer.Person, VATStatus: 1, Language: "fi",
			GDPRRestricted: true, CreatedAt: t0, UpdatedAt: t1, Version: 5, ErasedAt: &at,
		}},
		{name: "erased company", give: customer.Data{
			ID: testID, Number: testNumber, Type: customer.Company, VATStatus: 1, Language: "fi",
			GDPRRestricted: true, CreatedAt: t0, UpdatedAt: t1, Version: 2, ErasedAt: &at,
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, err := customer.FromStorage(tt.give)
			if err != nil {
				t.Fatalf("FromStorage: %v", err)
			}
			if !c.Erased() || !reflect.DeepEqual(c.Data(), tt.give) {
				t.Errorf("Erased() = %v, Data() =\n%+v\nwant\n%+v", c.Erased(), c.Data(), tt.give)
			}
		})
	}
}

// TestFromStorageKeepsNoReference: "changing a Data changes no customer"
// holds for the Data handed to FromStorage as well.
func TestFromStorageKeepsNoReference(t *testing.T) {
	t.Parallel()

	at := t1
	tests := []struct {
		name   string
		give   customer.Data
		mutate func(*customer.Data)
	}{
		{name: "groups", give: fullCompanyData(), mutate: func(d *customer.Data) { d.Groups[0] = "changed" }},
		{name: "cards", give: fullCompanyData(), mutate: func(d *customer.Data) { d.CustomerCards[0] = "changed" }},
		{name: "phones", give: fullCompanyData(), mutate: func(d *customer.Data) { d.PhoneNumbers[0] = "+358501234567" }},
		{name: "links", give: fullCompanyData(), mutate: func(d *customer.Data) { d.ExternalSystems[0].Identifier = "changed" }},
		{name: "addresses", give: fullCompanyData(), mutate: func(d *customer.Data) { d.Addresses[0].City = "changed" }},
		{name: "contacts", give: fullCompanyData(func(d *customer.Data) {
			d.Contacts = []customer.Contact{{ID: contactID1, Name: "Liisa"}}
		}), mutate: func(d *customer.Data) { d.Contacts[0].ID = uuid.Nil }},
		{name: "erasedAt", give: customer.Data{
			ID: testID, Number: testNumber, Type: customer.Person, VATStatus: 1, Language: "fi",
			CreatedAt: t0, UpdatedAt: t1, Version: 2, ErasedAt: &at,
		}, mutate: func(d *customer.Data) { *d.ErasedAt = t2 }},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			d := cloneForTest(tt.give)
			c, err := customer.FromStorage(d)
			if err != nil {
				t.Fatalf("FromStorage: %v", err)
			}
			tt.mutate(&d)
			if got := c.Data(); !reflect.DeepEqual(got, tt.give) {
				t.Errorf("changing the stored Data changed the customer:\n%+v\nwant\n%+v", got, tt.give)
			}
		})
	}
}

// cloneForTest deep-copies d, so that a test's want stays untouched.
func cloneForTest(d customer.Data) customer.Data {
	d.ExternalSystems = append([]customer.ExternalLink(nil), d.ExternalSystems...)
	d.CustomerCards = append([]string(nil), d.CustomerCards...)
	d.Groups = append([]string(nil), d.Groups...)
	d.Addresses = append([]customer.Address(nil), d.Addresses...)
	d.PhoneNumbers = append([]string(nil), d.PhoneNumbers...)
	d.Contacts = append([]customer.Contact(nil), d.Contacts...)
	if d.ErasedAt != nil {
		at := *d.ErasedAt
		d.ErasedAt = &at
	}
	return d
}
