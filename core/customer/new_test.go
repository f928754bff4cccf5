package customer_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/fault"

	"github.com/google/uuid"
)

func TestNewDefaults(t *testing.T) {
	t.Parallel()

	c, events, err := customer.New(testID, testNumber, person(), noIDs(t, t0))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got, want := c.Data(), personData(); !reflect.DeepEqual(got, want) {
		t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
	}
	if len(events) != 0 {
		t.Errorf("events = %+v, want none", events)
	}
	if c.ID() != testID || c.Number() != testNumber || c.Version() != 1 || c.Restricted() || c.Erased() {
		t.Errorf("ID, Number, Version, Restricted, Erased = %v, %d, %d, %v, %v; want %v, %d, 1, false, false",
			c.ID(), c.Number(), c.Version(), c.Restricted(), c.Erased(), testID, testNumber)
	}
}

// TestNewNormalises checks that each accepted input is stored in its one
// canonical form and that nothing else of the customer changes.
func TestNewNormalises(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Patch
		want customer.Data
	}{
		{
			name: "every company field",
			give: fullCompany(),
			want: fullCompanyData(),
		},
		{
			name: "every person field",
			give: fullPerson(),
			want: fullPersonData(),
		},
		{
			name: "type person set explicitly",
			give: person(func(p *customer.Patch) { p.Type = customer.Set(customer.Person) }),
			want: personData(),
		},
		{
			name: "names trimmed",
			give: person(func(p *customer.Patch) {
				p.FirstName = customer.Set("  Maija\u00a0")
				p.LastName = customer.Set("\tVirtanen ")
			}),
			want: personData(func(d *customer.Data) { d.FirstName = "Maija"; d.LastName = "Virtanen" }),
		},
		{
			name: "names at the length limit, counted in characters",
			give: person(func(p *customer.Patch) { p.FirstName = customer.Set(repeat("ä", customer.MaxNameLen)) }),
			want: personData(func(d *customer.Data) { d.FirstName = repeat("ä", customer.MaxNameLen) }),
		},
		// Business ids: every input form is stored as NNNNNNN-C.
		{
			name: "businessId with FI prefix",
			give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("FI20774740") }),
			want: companyData(),
		},
		{
			name: "businessId with a space for the hyphen",
			give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("2077474 0") }),
			want: companyData(),
		},
		{
			name: "businessId without separator",
			give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("20774740") }),
			want: companyData(),
		},
		{
			name: "businessId canonical with spaces around",
			give: company(func(p *customer.Patch) { p.BusinessID = customer.Set(" 2077474-0 ") }),
			want: companyData(),
		},
		{
			name: "vatNumber matching the businessId in another form",
			give: company(func(p *customer.Patch) { p.VATNumber = customer.Set("fi20774740") }),
			want: companyData(func(d *customer.Data) { d.VATNumber = "FI20774740" }),
		},
		{
			name: "company vatStatus 2 to 6",
			give: company(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATEUTriangulation) }),
			want: companyData(func(d *customer.Data) { d.VATStatus = customer.VATEUTriangulation }),
		},
		{
			name: "company vatStatus 2",
			give: company(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATConstruction) }),
			want: companyData(func(d *customer.Data) { d.VATStatus = customer.VATConstruction }),
		},
		{
			name: "person vatStatus 7",
			give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATOutsideEU) }),
			want: personData(func(d *customer.Data) { d.VATStatus = customer.VATOutsideEU }),
		},
		// Identity codes.
		{
			name: "ssn valid",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set("131052-308T") }),
			want: personData(func(d *customer.Data) { d.SSN = "131052-308T" }),
		},
		{
			name: "ssn lower case and spaces",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set(" 131052-308t ") }),
			want: personData(func(d *customer.Data) { d.SSN = "131052-308T" }),
		},
		{
			name: "ssn temporary individual number 900-999",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set("010594Y9032") }),
			want: personData(func(d *customer.Data) { d.SSN = "010594Y9032" }),
		},
		{
			name: "ssn temporary, 2000s",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set("020516C903K") }),
			want: personData(func(d *customer.Data) { d.SSN = "020516C903K" }),
		},
		{
			name: "ssn century sign minus kept",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set("100190-999P") }),
			want: personData(func(d *customer.Data) { d.SSN = "100190-999P" }),
		},
		{
			name: "ssn century sign Y kept",
			give: person(func(p *customer.Patch) { p.SSN = customer.Set("100190Y999P") }),
			want: personData(func(d *customer.Data) { d.SSN = "100190Y999P" }),
		},
		// Emails.
		{
			name: "email domain lower-cased, local part kept",
			give: person(func(p *customer.Patch) { p.Email = customer.Set(" Matti.Meikalainen@Example.COM ") }),
			want: personData(func(d *customer.Data) { d.Email = "Matti.Meikalainen@example.com" }),
		},
		{
			name: "email with plus and subdomain",
			give: person(func(p *customer.Patch) { p.Email = customer.Set("matti+shop@mail.Example.fi") }),
			want: personData(func(d *customer.Data) { d.Email = "matti+shop@mail.example.fi" }),
		},
		// Phones.
		{
			name: "phone Finnish national form",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"040 1234567"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+358401234567"} }),
		},
		{
			name: "phone international with spaces",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"+46 70 123 45 67"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+46701234567"} }),
		},
		{
			name: "phone 00 prefix",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"00358401234567"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+358401234567"} }),
		},
		{
			name: "phone with hyphen and brackets",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"(09) 123-4567"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+35891234567"} }),
		},
		{
			name: "phone with no-break spaces, as pasted from a web page",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"040\u00a0123\u00a04567"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+358401234567"} }),
		},
		{
			name: "phone with trunk zero in brackets",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"+358 (0)40 123 4567"}) }),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+358401234567"} }),
		},
		{
			name: "phones equal after normalisation collapse, order kept",
			give: person(func(p *customer.Patch) {
				p.PhoneNumbers = customer.Set([]string{"+46 70 123 45 67", "040 1234567", "+358401234567", "00358401234567", "0046701234567"})
			}),
			want: personData(func(d *customer.Data) { d.PhoneNumbers = []string{"+46701234567", "+358401234567"} }),
		},
		{
			name: "empty phone list",
			give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{}) }),
			want: personData(),
		},
		// External links.
		{
			name: "every known external system",
			give: person(func(p *customer.Patch) {
				links := make([]customer.ExternalLink, len(customer.SystemIDs))
				for i, s := range customer.SystemIDs {
					links[i] = customer.ExternalLink{SystemID: s, Identifier: "id"}
				}
				p.ExternalSystems = customer.Set(links)
			}),
			want: personData(func(d *customer.Data) {
				d.ExternalSystems = []customer.ExternalLink{
					{SystemID: 1, Identifier: "id"}, {SystemID: 2, Identifier: "id"}, {SystemID: 3, Identifier: "id"},
					{SystemID: 4, Identifier: "id"}, {SystemID: 5, Identifier: "id"}, {SystemID: 6, Identifier: "id"},
					{SystemID: 7, Identifier: "id"}, {SystemID: 22, Identifier: "id"},
				}
			}),
		},
		{
			name: "same identifier in two systems",
			give: person(func(p *customer.Patch) {
				p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 1, Identifier: "A"}, {SystemID: 2, Identifier: "A"}})
			}),
			want: personData(func(d *customer.Data) {
				d.ExternalSystems = []customer.ExternalLink{{SystemID: 1, Identifier: "A"}, {SystemID: 2, Identifier: "A"}}
			}),
		},
		{
			name: "identifier at the length limit",
			give: person(func(p *customer.Patch) {
				p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 7, Identifier: repeat("x", customer.MaxIdentifierLen)}})
			}),
			want: personData(func(d *customer.Data) {
				d.ExternalSystems = []customer.ExternalLink{{SystemID: 7, Identifier: repeat("x", customer.MaxIdentifierLen)}}
			}),
		},
		// Groups.
		{
			name: "groups deduplicated after trimming",
			give: person(func(p *customer.Patch) { p.Groups = customer.Set([]string{"a", " b", "a", "b ", "c"}) }),
			want: personData(func(d *customer.Data) { d.Groups = []string{"a", "b", "c"} }),
		},
		{
			name: "group membership on a new customer",
			give: person(func(p *customer.Patch) { p.GroupMembership = map[string]bool{"vip": true, "old": false} }),
			want: personData(func(d *customer.Data) { d.Groups = []string{"vip"} }),
		},
		// Addresses.
		{
			name: "address country defaults to FI",
			give: person(func(p *customer.Patch) {
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: " Kotikatu 1 ", PostalCode: " 00100 ", City: "Helsinki"}})
			}),
			want: personData(func(d *customer.Data) {
				d.Addresses = []customer.Address{{Type: customer.Home, StreetAddress1: "Kotikatu 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}}
			}),
		},
		{
			name: "address FI- prefix on postal code",
			give: person(func(p *customer.Patch) {
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Invoice, StreetAddress1: "Katu 1", PostalCode: "FI-00100", City: "Helsinki", Country: "FI"}})
			}),
			want: personData(func(d *customer.Data) {
				d.Addresses = []customer.Address{{Type: customer.Invoice, StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}}
			}),
		},
		{
			name: "address on Åland",
			give: person(func(p *customer.Patch) {
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Delivery, StreetAddress1: "Torggatan 1", PostalCode: "AX-22100", City: "Mariehamn", Country: "AX"}})
			}),
			want: personData(func(d *customer.Data) {
				d.Addresses = []customer.Address{{Type: customer.Delivery, StreetAddress1: "Torggatan 1", PostalCode: "22100", City: "Mariehamn", Country: "AX"}}
			}),
		},
		{
			name: "address abroad, country upper-cased",
			give: person(func(p *customer.Patch) {
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Drottninggatan 1", PostalCode: "111 51", City: "Stockholm", Country: " se "}})
			}),
			want: personData(func(d *customer.Data) {
				d.Addresses = []customer.Address{{Type: customer.Home, StreetAddress1: "Drottninggatan 1", PostalCode: "111 51", City: "Stockholm", Country: "SE"}}
			}),
		},
		// E-invoice.
		{
			name: "e-invoice Broker with broker and address",
			give: company(func(p *customer.Patch) {
				p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
				p.EInvoiceBroker = customer.Set("ndeafihh")
				p.EInvoiceAddress = customer.Set("FI49 5000 9420 0287 30")
			}),
			want: companyData(func(d *customer.Data) {
				d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "NDEAFIHH", Address: "FI4950009420028730"}
			}),
		},
		{
			name: "e-invoice Email",
			give: person(func(p *customer.Patch) {
				p.EInvoiceMode = customer.Set(customer.EInvoiceEmail)
				p.EInvoiceEmail = customer.Set("Laskut@Example.FI")
			}),
			want: personData(func(d *customer.Data) {
				d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceEmail, Email: "Laskut@example.fi"}
			}),
		},
		{
			name: "e-invoice fields kept without a mode",
			give: person(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("003723327487") }),
			want: personData(func(d *customer.Data) { d.EInvoice = customer.EInvoice{Broker: "003723327487"} }),
		},
		// Flags.
		{
			name: "creditAllowed",
			give: person(func(p *customer.Patch) { p.CreditAllowed = customer.Set(true) }),
			want: personData(func(d *customer.Data) { d.CreditAllowed = true }),
		},
		// Lists at their length limit.
		{
			name: "100 customer cards",
			give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set(numbered("card-", customer.MaxListLen)) }),
			want: personData(func(d *customer.Data) { d.CustomerCards = numbered("card-", customer.MaxListLen) }),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, _, err := customer.New(testID, testNumber, tt.give, change(t0))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestNewRejects checks the field path of every validation error.
func TestNewRejects(t *testing.T) {
	t.Parallel()

	addr := func(mods ...func(*customer.Address)) customer.Address {
		a := customer.Address{Type: customer.Invoice, StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki"}
		for _, m := range mods {
			m(&a)
		}
		return a
	}

	tests := []struct {
		name string
		give customer.Patch
		want []string
	}{
		// Type and required fields.
		{name: "empty patch", give: customer.Patch{}, want: []string{"firstName", "lastName"}},
		{name: "unknown type", give: person(func(p *customer.Patch) { p.Type = customer.Set(customer.Type("robot")) }), want: []string{"type"}},
		{name: "empty type", give: person(func(p *customer.Patch) { p.Type = customer.Set(customer.Type("")) }), want: []string{"type"}},
		{name: "type upper case", give: person(func(p *customer.Patch) { p.Type = customer.Set(customer.Type("Person")) }), want: []string{"type"}},
		{name: "type cleared", give: person(func(p *customer.Patch) { p.Type = customer.Clear[customer.Type]() }), want: []string{"type"}},
		{name: "person without firstName", give: person(func(p *customer.Patch) { p.FirstName = customer.Keep[string]() }), want: []string{"firstName"}},
		{name: "person with blank firstName", give: person(func(p *customer.Patch) { p.FirstName = customer.Set(" \t ") }), want: []string{"firstName"}},
		{name: "person without lastName", give: person(func(p *customer.Patch) { p.LastName = customer.Clear[string]() }), want: []string{"lastName"}},
		{name: "company without companyName", give: company(func(p *customer.Patch) { p.CompanyName = customer.Keep[string]() }), want: []string{"companyName"}},
		{name: "company without businessId", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("") }), want: []string{"businessId"}},
		{name: "company without either", give: customer.Patch{Type: customer.Set(customer.Company)}, want: []string{"businessId", "companyName"}},
		{name: "firstName checked on a company too", give: company(func(p *customer.Patch) { p.FirstName = customer.Set("x\ny") }), want: []string{"firstName"}},
		// Company-only fields on a person, and the reverse.
		{name: "person with businessId", give: person(func(p *customer.Patch) { p.BusinessID = customer.Set("2077474-0") }), want: []string{"businessId"}},
		{name: "person with vatNumber", give: person(func(p *customer.Patch) { p.VATNumber = customer.Set("FI20774740") }), want: []string{"vatNumber"}},
		{name: "person with companyName", give: person(func(p *customer.Patch) { p.CompanyName = customer.Set("Oy Ab") }), want: []string{"companyName"}},
		{name: "person with vatStatus 2", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATConstruction) }), want: []string{"vatStatus"}},
		{name: "person with vatStatus 3", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATEUGoods) }), want: []string{"vatStatus"}},
		{name: "person with vatStatus 4", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATEUServices) }), want: []string{"vatStatus"}},
		{name: "person with vatStatus 5", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATEUOther) }), want: []string{"vatStatus"}},
		{name: "person with vatStatus 6", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATEUTriangulation) }), want: []string{"vatStatus"}},
		{name: "person with every company field", give: person(func(p *customer.Patch) {
			p.CompanyName = customer.Set("Oy Ab")
			p.BusinessID = customer.Set("2077474-0")
			p.VATNumber = customer.Set("FI20774740")
			p.VATStatus = customer.Set(customer.VATEUServices)
		}), want: []string{"businessId", "companyName", "vatNumber", "vatStatus"}},
		{name: "company with ssn", give: company(func(p *customer.Patch) { p.SSN = customer.Set("131052-308T") }), want: []string{"ssn"}},
		// Business id, VAT number.
		{name: "businessId check digit", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("2077474-1") }), want: []string{"businessId"}},
		{name: "businessId malformed", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("12-345678") }), want: []string{"businessId"}},
		{name: "vatNumber of another company", give: company(func(p *customer.Patch) { p.VATNumber = customer.Set("FI23327487") }), want: []string{"vatNumber"}},
		{name: "vatNumber without FI", give: company(func(p *customer.Patch) { p.VATNumber = customer.Set("20774740") }), want: []string{"vatNumber"}},
		{name: "vatNumber check digit", give: company(func(p *customer.Patch) { p.VATNumber = customer.Set("FI20774741") }), want: []string{"vatNumber"}},
		{name: "vatStatus 0", give: person(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATStatus(0)) }), want: []string{"vatStatus"}},
		{name: "vatStatus 8", give: company(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATStatus(8)) }), want: []string{"vatStatus"}},
		{name: "vatStatus -1", give: company(func(p *customer.Patch) { p.VATStatus = customer.Set(customer.VATStatus(-1)) }), want: []string{"vatStatus"}},
		// Language.
		{name: "language de", give: person(func(p *customer.Patch) { p.Language = customer.Set(customer.Language("de")) }), want: []string{"language"}},
		{name: "language FI upper case", give: person(func(p *customer.Patch) { p.Language = customer.Set(customer.Language("FI")) }), want: []string{"language"}},
		{name: "language empty", give: person(func(p *customer.Patch) { p.Language = customer.Set(customer.Language("")) }), want: []string{"language"}},
		// Identity codes.
		{name: "ssn check character", give: person(func(p *customer.Patch) { p.SSN = customer.Set("131052-308U") }), want: []string{"ssn"}},
		{name: "ssn date", give: person(func(p *customer.Patch) { p.SSN = customer.Set("310252-308Y") }), want: []string{"ssn"}},
		{name: "ssn check character missing", give: person(func(p *customer.Patch) { p.SSN = customer.Set("010190-001?") }), want: []string{"ssn"}},
		{name: "ssn individual number 001", give: person(func(p *customer.Patch) { p.SSN = customer.Set("010190-001N") }), want: []string{"ssn"}},
		{name: "ssn unknown century sign", give: person(func(p *customer.Patch) { p.SSN = customer.Set("131052G308T") }), want: []string{"ssn"}},
		// Emails.
		{name: "email without at", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti.example.fi") }), want: []string{"email"}},
		{name: "email without dot in domain", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@localhost") }), want: []string{"email"}},
		{name: "email with display name", give: person(func(p *customer.Patch) { p.Email = customer.Set("Matti <matti@example.fi>") }), want: []string{"email"}},
		{name: "email with two addresses", give: person(func(p *customer.Patch) { p.Email = customer.Set("a@example.fi, b@example.fi") }), want: []string{"email"}},
		{name: "email with space", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti meik@example.fi") }), want: []string{"email"}},
		{name: "email non-ASCII", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@esimerkkiä.fi") }), want: []string{"email"}},
		{name: "email double dot", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@example..fi") }), want: []string{"email"}},
		{name: "email trailing dot", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@example.fi.") }), want: []string{"email"}},
		{name: "email leading dot", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@.example.fi") }), want: []string{"email"}},
		{name: "email too long", give: person(func(p *customer.Patch) { p.Email = customer.Set(repeat("a", 64) + "@" + repeat("b", 190) + ".fi") }), want: []string{"email"}},
		{name: "email with line break", give: person(func(p *customer.Patch) { p.Email = customer.Set("matti@exa\nmple.fi") }), want: []string{"email"}},
		// Text limits and control characters.
		{name: "firstName too long", give: person(func(p *customer.Patch) { p.FirstName = customer.Set(repeat("ä", customer.MaxNameLen+1)) }), want: []string{"firstName"}},
		{name: "lastName with tab inside", give: person(func(p *customer.Patch) { p.LastName = customer.Set("Meikä\tläinen") }), want: []string{"lastName"}},
		{name: "lastName with NUL", give: person(func(p *customer.Patch) { p.LastName = customer.Set("Meikä\x00läinen") }), want: []string{"lastName"}},
		{name: "companyName with line break", give: company(func(p *customer.Patch) { p.CompanyName = customer.Set("Kirjuri\nOy") }), want: []string{"companyName"}},
		// BUG: U+2028 and U+2029 are line breaks (the message says line
		// breaks are refused) but not control characters, so they pass.
		{name: "firstName with line separator", give: person(func(p *customer.Patch) { p.FirstName = customer.Set("Mat\u2028ti") }), want: []string{"firstName"}},
		{name: "city with paragraph separator", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.City = "Hel\u2029sinki" })})
		}), want: []string{"addresses[0].city"}},
		{name: "lastName with next line", give: person(func(p *customer.Patch) { p.LastName = customer.Set("Meikä\u0085läinen") }), want: []string{"lastName"}},
		{name: "companyName with DEL", give: company(func(p *customer.Patch) { p.CompanyName = customer.Set("Kirjuri\x7fOy") }), want: []string{"companyName"}},
		{name: "firstName invalid UTF-8", give: person(func(p *customer.Patch) { p.FirstName = customer.Set("Ma\xfftti") }), want: []string{"firstName"}},
		{name: "externalId too long", give: person(func(p *customer.Patch) { p.ExternalID = customer.Set(repeat("x", customer.MaxIdentifierLen+1)) }), want: []string{"externalId"}},
		{name: "netvisorId with control character", give: person(func(p *customer.Patch) { p.NetvisorID = customer.Set("nv\x1b1") }), want: []string{"netvisorId"}},
		// External links.
		{name: "link without systemId", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{Identifier: "abc"}})
		}), want: []string{"externalSystems[0].systemId"}},
		{name: "link without identifier", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti}})
		}), want: []string{"externalSystems[0].identifier"}},
		{name: "link with blank identifier", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "  "}})
		}), want: []string{"externalSystems[0].identifier"}},
		{name: "link with neither", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 1, Identifier: "a"}, {}})
		}), want: []string{"externalSystems[1]"}},
		{name: "link to unknown system 8", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 8, Identifier: "abc"}})
		}), want: []string{"externalSystems[0].systemId"}},
		{name: "link to negative system", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: -1, Identifier: "abc"}})
		}), want: []string{"externalSystems[0].systemId"}},
		{name: "link identifier too long", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 1, Identifier: repeat("x", customer.MaxIdentifierLen+1)}})
		}), want: []string{"externalSystems[0].identifier"}},
		{name: "link identifier with line break", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 1, Identifier: "a\nb"}})
		}), want: []string{"externalSystems[0].identifier"}},
		{name: "duplicate link", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: 6, Identifier: "W-1"}, {SystemID: 5, Identifier: "W-1"}, {SystemID: 6, Identifier: " W-1 "}})
		}), want: []string{"externalSystems[2]"}},
		// Cards.
		{name: "duplicate card", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-1", "C-2", " C-1"}) }), want: []string{"customerCards[2]"}},
		{name: "empty card", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C-1", " "}) }), want: []string{"customerCards[1]"}},
		{name: "card too long", give: person(func(p *customer.Patch) {
			p.CustomerCards = customer.Set([]string{repeat("1", customer.MaxIdentifierLen+1)})
		}), want: []string{"customerCards[0]"}},
		{name: "card with control character", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"C\x00"}) }), want: []string{"customerCards[0]"}},
		// Groups.
		{name: "empty group", give: person(func(p *customer.Patch) { p.Groups = customer.Set([]string{"a", ""}) }), want: []string{"groups[1]"}},
		{name: "group too long", give: person(func(p *customer.Patch) { p.Groups = customer.Set([]string{repeat("g", customer.MaxGroupLen+1)}) }), want: []string{"groups[0]"}},
		{name: "group membership with empty id", give: person(func(p *customer.Patch) { p.GroupMembership = map[string]bool{" ": true} }), want: []string{"group: "}},
		{name: "group membership with control character", give: person(func(p *customer.Patch) { p.GroupMembership = map[string]bool{"a\tb": true} }), want: []string{"group:a\tb"}},
		// Addresses.
		{name: "address type unknown", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.Type = "Office" })})
		}), want: []string{"addresses[0].type"}},
		{name: "address type missing", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.Type = "" })})
		}), want: []string{"addresses[0].type"}},
		{name: "address Finnish postal code of 3 digits", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.PostalCode = "100" })})
		}), want: []string{"addresses[0].postalCode"}},
		{name: "address Finnish postal code with letters", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(), addr(func(a *customer.Address) { a.PostalCode = "0010A"; a.Country = "fi" })})
		}), want: []string{"addresses[1].postalCode"}},
		{name: "address Åland postal code outside 22xxx", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.PostalCode = "AX-00100"; a.Country = "AX" })})
		}), want: []string{"addresses[0].postalCode"}},
		{name: "address unknown country", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.Country = "XX" })})
		}), want: []string{"addresses[0].country"}},
		{name: "address country by name", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.Country = "Finland" })})
		}), want: []string{"addresses[0].country"}},
		{name: "address street with line break", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.StreetAddress1 = "Katu 1\nA 2" })})
		}), want: []string{"addresses[0].streetAddress1"}},
		{name: "address second street too long", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.StreetAddress2 = repeat("s", customer.MaxNameLen+1) })})
		}), want: []string{"addresses[0].streetAddress2"}},
		{name: "address city with control character", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.City = "Hel\x07sinki" })})
		}), want: []string{"addresses[0].city"}},
		{name: "address with every field wrong", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(), addr(func(a *customer.Address) {
				*a = customer.Address{Type: "x", StreetAddress1: "a\tb", StreetAddress2: "c\td", PostalCode: "!", City: "e\tf", Country: "ZZ"}
			})})
		}), want: []string{
			"addresses[1].city", "addresses[1].country", "addresses[1].postalCode",
			"addresses[1].streetAddress1", "addresses[1].streetAddress2", "addresses[1].type",
		}},
		// BUG: excel.md makes streetAddress1, postalCode and city required
		// for an address; the core stores an address of a type alone.
		{name: "address of a type alone", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{{Type: customer.Home}})
		}), want: []string{"addresses[0].city", "addresses[0].postalCode", "addresses[0].streetAddress1"}},
		{name: "address without postal code", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.PostalCode = " " })})
		}), want: []string{"addresses[0].postalCode"}},
		{name: "address without street", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.StreetAddress1 = "" })})
		}), want: []string{"addresses[0].streetAddress1"}},
		{name: "address without city", give: person(func(p *customer.Patch) {
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.City = "" })})
		}), want: []string{"addresses[0].city"}},
		// Phones.
		{name: "phone letters", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"abc"}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone too short", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"040 1234567", "12"}) }), want: []string{"phoneNumbers[1]"}},
		{name: "phone empty", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{""}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone unknown country code", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"+999 1234567"}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone too long", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{repeat("1", 41)}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone plus only", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"+"}) }), want: []string{"phoneNumbers[0]"}},
		// BUG: the phone parser picks a number out of surrounding text,
		// reads letters as keypad digits and drops extensions, so these
		// are stored as a different value than given instead of refused.
		{name: "phone with an extension", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"040 1234567 ext. 12"}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone with text before it", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"Matti 040 1234567"}) }), want: []string{"phoneNumbers[0]"}},
		{name: "phone with letters", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"040-CALLME1"}) }), want: []string{"phoneNumbers[0]"}},
		// E-invoice.
		{name: "e-invoice unknown mode", give: person(func(p *customer.Patch) { p.EInvoiceMode = customer.Set(customer.EInvoiceMode("Paper")) }), want: []string{"eInvoice.mode"}},
		{name: "e-invoice mode in lower case", give: person(func(p *customer.Patch) { p.EInvoiceMode = customer.Set(customer.EInvoiceMode("email")) }), want: []string{"eInvoice.mode"}},
		{name: "e-invoice Broker alone", give: company(func(p *customer.Patch) { p.EInvoiceMode = customer.Set(customer.EInvoiceBroker) }), want: []string{"eInvoice.address", "eInvoice.broker"}},
		{name: "e-invoice Broker without address", give: company(func(p *customer.Patch) {
			p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
			p.EInvoiceBroker = customer.Set("003723327487")
		}), want: []string{"eInvoice.address"}},
		{name: "e-invoice Broker without broker", give: company(func(p *customer.Patch) {
			p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
			p.EInvoiceAddress = customer.Set("003720774740")
		}), want: []string{"eInvoice.broker"}},
		{name: "e-invoice Broker with only an email", give: company(func(p *customer.Patch) {
			p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
			p.EInvoiceEmail = customer.Set("laskut@kirjuri.fi")
		}), want: []string{"eInvoice.address", "eInvoice.broker"}},
		{name: "e-invoice Email without email", give: person(func(p *customer.Patch) {
			p.EInvoiceMode = customer.Set(customer.EInvoiceEmail)
			p.EInvoiceBroker = customer.Set("003723327487")
			p.EInvoiceAddress = customer.Set("003720774740")
		}), want: []string{"eInvoice.email"}},
		{name: "e-invoice invalid email", give: person(func(p *customer.Patch) {
			p.EInvoiceMode = customer.Set(customer.EInvoiceEmail)
			p.EInvoiceEmail = customer.Set("laskut(at)example.fi")
		}), want: []string{"eInvoice.email"}},
		{name: "e-invoice unknown broker", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("NOPE") }), want: []string{"eInvoice.broker"}},
		{name: "e-invoice malformed address", give: company(func(p *customer.Patch) { p.EInvoiceAddress = customer.Set("a!") }), want: []string{"eInvoice.address"}},
		// Lists too long.
		{name: "101 phones", give: person(func(p *customer.Patch) {
			phones := make([]string, customer.MaxListLen+1)
			for i := range phones {
				phones[i] = fmt.Sprintf("040 %07d", 1000000+i)
			}
			p.PhoneNumbers = customer.Set(phones)
		}), want: []string{"phoneNumbers"}},
		{name: "101 cards", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set(numbered("c", customer.MaxListLen+1)) }), want: []string{"customerCards"}},
		{name: "101 groups", give: person(func(p *customer.Patch) { p.Groups = customer.Set(numbered("g", customer.MaxListLen+1)) }), want: []string{"groups"}},
		{name: "101 groups by membership", give: person(func(p *customer.Patch) {
			p.Groups = customer.Set(numbered("g", customer.MaxListLen))
			p.GroupMembership = map[string]bool{"one-more": true}
		}), want: []string{"groups"}},
		{name: "101 addresses", give: person(func(p *customer.Patch) {
			as := make([]customer.Address, customer.MaxListLen+1)
			for i := range as {
				as[i] = addr()
			}
			p.Addresses = customer.Set(as)
		}), want: []string{"addresses"}},
		{name: "101 links", give: person(func(p *customer.Patch) {
			ids := numbered("l", customer.MaxListLen+1)
			links := make([]customer.ExternalLink, len(ids))
			for i, id := range ids {
				links[i] = customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}
			}
			p.ExternalSystems = customer.Set(links)
		}), want: []string{"externalSystems"}},
		// Several problems at once.
		{name: "several field problems", give: person(func(p *customer.Patch) {
			p.Email = customer.Set("bad")
			p.SSN = customer.Set("131052-308U")
			p.PhoneNumbers = customer.Set([]string{"x"})
			p.Addresses = customer.Set([]customer.Address{addr(func(a *customer.Address) { a.PostalCode = "100" })})
			p.Language = customer.Set(customer.Language("de"))
			p.EInvoiceMode = customer.Set(customer.EInvoiceMode("Fax"))
		}), want: []string{"addresses[0].postalCode", "eInvoice.mode", "email", "language", "phoneNumbers[0]", "ssn"}},
		{name: "several rule problems", give: customer.Patch{
			SSN:          customer.Set("131052-308T"),
			BusinessID:   customer.Set("2077474-0"),
			VATStatus:    customer.Set(customer.VATEUGoods),
			EInvoiceMode: customer.Set(customer.EInvoiceEmail),
		}, want: []string{"businessId", "eInvoice.email", "firstName", "lastName", "vatStatus"}},
		// BUG: a field problem hides the rule problems (a missing required
		// field): the caller must come back once per kind of problem.
		{name: "field problem and missing required field", give: person(func(p *customer.Patch) {
			p.LastName = customer.Keep[string]()
			p.Email = customer.Set("bad")
		}), want: []string{"email", "lastName"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, events, err := customer.New(testID, testNumber, tt.give, change(t0))
			if c != nil || events != nil {
				t.Errorf("New returned customer %v and events %v with an error", c, events)
			}
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q\n(%v)", got, tt.want, err)
			}
		})
	}
}

// TestNewSSNErrorHidesInput: the identity code is personal data and never
// appears in an error.
func TestNewSSNErrorHidesInput(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give string
		want string // the message shown instead
	}{
		{give: "131052-308U", want: "check character does not match"},
		{give: "310252-308Y", want: "birth date is not a real date"},
		{give: "010190-001?", want: "check character must be"},
		{give: "131052-308", want: "must be 11 characters"},
		{give: "131052Q308T", want: "century sign"},
		{give: "010190-000N", want: "000 and 001"},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			_, _, err := customer.New(testID, testNumber, person(func(p *customer.Patch) { p.SSN = customer.Set(tt.give) }), change(t0))
			var v *fault.Validation
			if !errors.As(err, &v) {
				t.Fatalf("error = %v, want *fault.Validation", err)
			}
			for _, f := range v.Fields {
				if f.Value != nil || strings.Contains(f.Message, tt.give) || strings.Contains(f.Message, tt.give[:6]) {
					t.Errorf("field error %+v shows the identity code", f)
				}
			}
			if msg := err.Error(); strings.Contains(msg, tt.give) || strings.Contains(msg, tt.give[:6]) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want it to say %q and not show the code", msg, tt.want)
			}
		})
	}
}

func TestNewUnknownSystemListsAllowed(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.ExternalLink
	}{
		{name: "unknown", give: customer.ExternalLink{SystemID: 8, Identifier: "x"}},
		{name: "missing", give: customer.ExternalLink{Identifier: "x"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, _, err := customer.New(testID, testNumber, person(func(p *customer.Patch) {
				p.ExternalSystems = customer.Set([]customer.ExternalLink{tt.give})
			}), change(t0))
			msg := messages(t, err)
			for _, want := range []string{"1 (Maestro)", "2 (Posti)", "3 (Matkahuolto)", "4 (Checkout Finland (Paytrail))", "5 (MyCashFlow)", "6 (WooCommerce)", "7 (Generic webstore)", "22 (Generic reservation system)"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not list %q", msg, want)
				}
			}
		})
	}
}

// TestNewCenturySignIsIdentity: two codes differing only in the century
// sign are two people and are stored as given.
func TestNewCenturySignIsIdentity(t *testing.T) {
	t.Parallel()

	a := mustNew(t, person(func(p *customer.Patch) { p.SSN = customer.Set("100190-999P") }))
	b := mustNew(t, person(func(p *customer.Patch) { p.SSN = customer.Set("100190Y999P") }))
	if a.Data().SSN == b.Data().SSN {
		t.Errorf("both stored as %q; want them distinct", a.Data().SSN)
	}
}

// TestNewKeepsNoReferenceToThePatch: changing the patch's lists afterwards
// changes no customer.
func TestNewKeepsNoReferenceToThePatch(t *testing.T) {
	t.Parallel()

	p := fullCompany()
	c := mustNew(t, p)
	p.ExternalSystems.Value()[0].Identifier = "changed"
	p.CustomerCards.Value()[0] = "changed"
	p.Groups.Value()[0] = "changed"
	p.Addresses.Value()[0].City = "changed"
	p.PhoneNumbers.Value()[0] = "changed"
	if got, want := c.Data(), fullCompanyData(); !reflect.DeepEqual(got, want) {
		t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
	}
}

// TestDataIsACopy: changing what Data returns changes no customer.
func TestDataIsACopy(t *testing.T) {
	t.Parallel()

	c := mustNew(t, fullCompany())
	d := c.Data()
	d.ExternalSystems[0].Identifier = "changed"
	d.CustomerCards[0] = "changed"
	d.Groups[0] = "changed"
	d.Addresses[0].City = "changed"
	d.PhoneNumbers[0] = "changed"
	d.FirstName = "changed"
	if got, want := c.Data(), fullCompanyData(); !reflect.DeepEqual(got, want) {
		t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
	}
}

// Numbered gives a new customer, built before its number was taken, its
// number and its events the same, leaving the originals as they were.
func TestNumbered(t *testing.T) {
	p := person(func(p *customer.Patch) {
		p.Email = customer.Set("matti@example.fi")
		p.MarketingEmail = customer.Set(true)
	})
	c, events, err := customer.New(uuid.New(), customer.Unnumbered, p, change(t0))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].CustomerNumber != customer.Unnumbered {
		t.Fatalf("events of an unnumbered customer: %+v", events)
	}
	got, gotEvents := customer.Numbered(c, events, 10042)
	if got.Number() != 10042 || got.ID() != c.ID() || got.Version() != 1 || got.Data().Email != "matti@example.fi" {
		t.Errorf("Numbered = %+v", got.Data())
	}
	if len(gotEvents) != 1 || gotEvents[0].CustomerNumber != 10042 || gotEvents[0].ID != events[0].ID {
		t.Errorf("numbered events = %+v", gotEvents)
	}
	if c.Number() != customer.Unnumbered || events[0].CustomerNumber != customer.Unnumbered {
		t.Error("Numbered changed the customer or the events it was given")
	}
}
