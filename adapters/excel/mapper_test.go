package excel

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports/porttest/memstore"
)

// hdr is a header row of text cells.
func hdr(names ...string) Row { return textRow(1, names...) }

// textRow is a row of text cells ("" is an empty cell).
func textRow(n int, texts ...string) Row {
	r := Row{Number: n, Cells: make([]Cell, len(texts))}
	for i, s := range texts {
		if s != "" {
			r.Cells[i] = Cell{Text: s, Kind: String}
		}
	}
	return r
}

// problemStrings is "column: message" of each problem.
func problemStrings(ps []Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func mustMapper(t *testing.T, names ...string) *Mapper {
	t.Helper()
	m, err := NewMapper(hdr(names...))
	if err != nil {
		t.Fatalf("NewMapper(%q): %v", names, err)
	}
	return m
}

func TestNewMapperFileErrors(t *testing.T) {
	tests := []struct {
		name string
		give []string
		want []string
	}{
		{"unknown column suggested", []string{"email", "marketingEmial"},
			[]string{`marketingEmial: unknown column; did you mean "marketingEmail"?`}},
		{"unknown column", []string{"email", "shoe size"}, []string{"shoe size: unknown column"}},
		{"unknown address field", []string{"email", "address:1:postalCod"},
			[]string{`address:1:postalCod: unknown address field; did you mean "postalCode"?`}},
		{"bad index", []string{"email", "phoneNumber:x"},
			[]string{"phoneNumber:x: the index must be a positive whole number, as in phoneNumber:1"}},
		{"same header twice", []string{"email", "firstName", "firstName"},
			[]string{"firstName: is in the file twice (columns B and C)"}},
		{"same header twice in other case and spaces", []string{"email", "eInvoiceEmail", " EINVOICEEMAIL "},
			[]string{"EINVOICEEMAIL: is in the file twice (columns B and C)"}},
		{"same section column twice", []string{"email", "phoneNumber:1", "phonenumber:01"},
			[]string{"phonenumber:01: is in the file twice (columns B and C)"}},
		{"same group twice", []string{"email", "group:VIP", "Group: vip"},
			[]string{"Group: vip: is in the file twice (columns B and C)"}},
		{"email missing", []string{"firstName", "lastName"},
			[]string{"email: is required: the file has no email column (email matches each row to its customer)"}},
		{"email missing with number", []string{"number", "firstName"},
			[]string{"email: is required: the file has no email column (email matches each row to its customer)"}},
		{"address type without required columns", []string{"email", "address:2:type"}, []string{
			"address:2:streetAddress1: is missing: the file has columns of address 2, and an address needs type, streetAddress1, postalCode and city",
			"address:2:postalCode: is missing: the file has columns of address 2, and an address needs type, streetAddress1, postalCode and city",
			"address:2:city: is missing: the file has columns of address 2, and an address needs type, streetAddress1, postalCode and city",
		}},
		{"address without city", []string{"email", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:country"},
			[]string{"address:1:city: is missing: the file has columns of address 1, and an address needs type, streetAddress1, postalCode and city"}},
		{"address without type", []string{"email", "address:1:streetAddress1", "address:1:postalCode", "address:1:city"},
			[]string{"address:1:type: is missing: the file has columns of address 1, and an address needs type, streetAddress1, postalCode and city"}},
		{"every problem at once", []string{"marketingEmial", "ssn", "ssn"}, []string{
			`marketingEmial: unknown column; did you mean "marketingEmail"?`,
			"ssn: is in the file twice (columns B and C)",
			"email: is required: the file has no email column (email matches each row to its customer)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapper(hdr(tt.give...))
			var he *HeaderError
			if !errors.As(err, &he) || m != nil {
				t.Fatalf("NewMapper = %v, %v; want a *HeaderError", m, err)
			}
			if got := problemStrings(he.Problems); !slices.Equal(got, tt.want) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestNewMapperAccepts(t *testing.T) {
	tests := []struct {
		name string
		give []string
	}{
		{"case and spaces", []string{" EMAIL ", "firstname", "EINVOICEEMAIL", "Group:vip", "ADDRESS:1:TYPE", "address:1:streetaddress1", " address:1:PostalCode", "Address:1:City"}},
		{"empty header cells", []string{"", "email", " ", "firstName"}},
		{"complete addresses with gaps", []string{"email", "address:3:city", "address:3:type", "address:3:postalCode", "address:3:streetAddress1"}},
		{"sections and number", []string{"number", "email", "customerCard:2", "phoneNumber:7", "group:b2b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewMapper(hdr(tt.give...)); err != nil {
				t.Errorf("NewMapper(%q): %v", tt.give, err)
			}
		})
	}
}

// TestEmptyHeaderWithValues: a value under a column without a header is a
// file error (CheckRow), and Row refuses the row too.
func TestEmptyHeaderWithValues(t *testing.T) {
	m := mustMapper(t, "email", "", "firstName")
	tests := []struct {
		name string
		give Row
		want []string
	}{
		{"nothing under it", textRow(2, "a@b.fi", "", "Anna"), nil},
		{"spaces under it", textRow(2, "a@b.fi", "  ", "Anna"), nil},
		{"a value under it", textRow(3, "a@b.fi", "muistiinpano", "Anna"),
			[]string{"(column B): has a value in row 3 but no header: name the column or delete it"}},
		{"a value past the last header", textRow(4, "a@b.fi", "", "Anna", "x"),
			[]string{"(column D): has a value in row 4 but no header: name the column or delete it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if he := m.CheckRow(tt.give); he != nil {
				got = problemStrings(he.Problems)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("CheckRow = %q, want %q", got, tt.want)
			}
			_, re := m.Row(tt.give)
			got = nil
			if re != nil {
				got = problemStrings(re.Problems)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Row = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMapperRow(t *testing.T) {
	set, clear := customer.Set[string], customer.Clear[string]
	home := customer.Address{Type: customer.Home, StreetAddress1: "Kotikatu 1", PostalCode: "00100", City: "Helsinki"}
	tests := []struct {
		name   string
		header []string
		give   Row
		want   register.BatchRow
	}{
		{"email only", []string{"email"}, textRow(2, " a@b.fi "),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi")}}},
		{"missing columns keep, present ones set", []string{"Email", " FIRSTNAME "}, textRow(3, "a@b.fi", "Anna"),
			register.BatchRow{Row: 3, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"), FirstName: set("Anna")}}},
		{"empty cells clear", []string{"email", "firstName", "ssn", "externalId", "netvisorId", "marketingEmail", "eInvoiceMode"},
			textRow(2, "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"), FirstName: clear(), SSN: clear(),
				ExternalID: clear(), NetvisorID: clear(), MarketingEmail: customer.Clear[bool](), EInvoiceMode: customer.Clear[customer.EInvoiceMode]()}}},
		{"empty e-invoice details keep, and are recorded for the mode's rule", []string{"email", "eInvoiceBroker", "eInvoiceAddress", "einvoiceEmail"}, textRow(2, "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				EmptyEInvoice: customer.EmptyEInvoice{Broker: true, Address: true, Email: true}}}},
		{"booleans", []string{"email", "marketingEmail", "marketingSms", "gdprRestricted", "creditAllowed"},
			Row{Number: 2, Cells: []Cell{{Text: "a@b.fi", Kind: String}, {Text: "TRUE", Kind: Bool}, {Text: "0", Kind: Number, Format: "General"},
				{Text: "kyllä", Kind: String}, {Text: "No", Kind: String}}},
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"), MarketingEmail: customer.Set(true),
				MarketingSMS: customer.Set(false), GDPRRestricted: customer.Set(true), CreditAllowed: customer.Set(false)}}},
		{"number matches", []string{"number", "email"}, textRow(2, "10042", "a@b.fi"),
			register.BatchRow{Row: 2, Number: 10042, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi")}}},
		{"number as a number cell", []string{"number", "email"},
			Row{Number: 2, Cells: []Cell{{Text: "10042", Kind: Number, Format: "General"}, {Text: "a@b.fi", Kind: String}}},
			register.BatchRow{Row: 2, Number: 10042, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi")}}},
		{"number with empty email removes it", []string{"number", "email"}, textRow(2, "10042", ""),
			register.BatchRow{Row: 2, Number: 10042, Patch: customer.Patch{Email: clear()}}},
		{"empty number matches by email", []string{"number", "email"}, textRow(2, "", "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi")}}},
		{"groups", []string{"email", "group:vip", "group:b2b", "GROUP:Kanta-asiakkaat"}, textRow(2, "a@b.fi", "true", "", "ei"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				GroupMembership: map[string]bool{"vip": true, "b2b": false, "Kanta-asiakkaat": false}}}},
		{"sections in index order, empty items left out", []string{"email", "phoneNumber:3", "phoneNumber:1", "phoneNumber:2", "customerCard:5", "customerCard:2"},
			textRow(2, "a@b.fi", " 050 3 ", "040 1", "", "K-5", "K-2"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				PhoneNumbers: customer.Set([]string{"040 1", "050 3"}), CustomerCards: customer.Set([]string{"K-2", "K-5"})}}},
		{"sections all empty empty the customer's", []string{"email", "phoneNumber:1", "customerCard:1"}, textRow(2, "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				PhoneNumbers: customer.Set([]string{}), CustomerCards: customer.Set([]string{})}}},
		{"addresses: an item with any cell is an item", []string{"email",
			"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city",
			"address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city", "address:2:country",
			"address:4:type", "address:4:streetAddress1", "address:4:postalCode", "address:4:city"},
			textRow(2, "a@b.fi", "", "", "", "", "home", "Kotikatu 1", "00100", "Helsinki", "", "", "", "", "Espoo"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				Addresses: customer.Set([]customer.Address{home, {City: "Espoo"}})}}},
		{"addresses all empty", []string{"email", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city"},
			textRow(2, "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"), Addresses: customer.Set([]customer.Address{})}}},
		{"padded numbers in text columns", []string{"email", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "phoneNumber:1"},
			Row{Number: 2, Cells: []Cell{{Text: "a@b.fi", Kind: String}, {Text: "Home", Kind: String}, {Text: "Kotikatu 1", Kind: String},
				{Text: "00100", Kind: Number, Format: "00000"}, {Text: "Helsinki", Kind: String}, {Text: "0401234567", Kind: Number, Format: "0000000000"}}},
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"),
				Addresses: customer.Set([]customer.Address{home}), PhoneNumbers: customer.Set([]string{"0401234567"})}}},
		{"a number in a number column", []string{"email", "vatStatus"},
			Row{Number: 2, Cells: []Cell{{Text: "a@b.fi", Kind: String}, {Text: "7", Kind: Number, Format: "General"}}},
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi"), VATStatus: customer.Set(customer.VATOutsideEU)}}},
		{"empty header cells ignored", []string{"", "email", ""}, textRow(2, "", "a@b.fi"),
			register.BatchRow{Row: 2, Email: "a@b.fi", Patch: customer.Patch{Email: set("a@b.fi")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMapper(t, tt.header...)
			got, re := m.Row(tt.give)
			if re != nil {
				t.Fatalf("Row: %v", re)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("row =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestMapperRowErrors(t *testing.T) {
	const asNumber = "is stored as a number, which loses leading zeros (00100 becomes 100); format the column as text and type the values again"
	num := func(text, format string) Cell { return Cell{Text: text, Kind: Number, Format: format} }
	str := func(text string) Cell { return Cell{Text: text, Kind: String} }
	addr := []string{"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city"}
	tests := []struct {
		name   string
		header []string
		cells  []Cell
		want   []string
	}{
		{"email empty", []string{"email", "firstName"}, []Cell{{}, str("Anna")},
			[]string{"email: is required: the row has no customer number, so its email finds the customer"}},
		{"email empty, number empty", []string{"number", "Email"}, []Cell{str(" "), str("")},
			[]string{"Email: is required: the row has no customer number, so its email finds the customer"}},
		{"number not a number", []string{"number", "email"}, []Cell{str("10042a"), str("a@b.fi")},
			[]string{"number: must be a customer number (a whole number above 0), or empty to match the row by email"}},
		{"number zero", []string{"number", "email"}, []Cell{num("0", "General"), str("")},
			[]string{"number: must be a customer number (a whole number above 0), or empty to match the row by email"}},
		{"boolean", []string{"email", "marketingEmail"}, []Cell{str("a@b.fi"), str("maybe")},
			[]string{"marketingEmail: must be true or false (or 1/0, yes/no, kyllä/ei)"}},
		{"boolean number", []string{"email", "MarketingSms"}, []Cell{str("a@b.fi"), num("2", "General")},
			[]string{"MarketingSms: must be true or false (or 1/0, yes/no, kyllä/ei)"}},
		{"group boolean", []string{"email", "group:vip"}, []Cell{str("a@b.fi"), str("x")},
			[]string{"group:vip: must be true or false (or 1/0, yes/no, kyllä/ei)"}},
		{"whole number", []string{"email", "vatStatus"}, []Cell{str("a@b.fi"), num("1.50", "0.00")},
			[]string{"vatStatus: must be a whole number"}},
		{"postal code as a number", append([]string{"email"}, addr...), []Cell{str("a@b.fi"), str("Home"), str("K 1"), num("100", "General"), str("Helsinki")},
			[]string{"address:1:postalCode: " + asNumber}},
		{"postal code in the text format", append([]string{"email"}, addr...), []Cell{str("a@b.fi"), str("Home"), str("K 1"), num("100", "@"), str("Helsinki")},
			[]string{"address:1:postalCode: " + asNumber}},
		{"postal code with a one-digit format", append([]string{"email"}, addr...), []Cell{str("a@b.fi"), str("Home"), str("K 1"), num("100", "0"), str("Helsinki")},
			[]string{"address:1:postalCode: " + asNumber}},
		{"postal code as a date", append([]string{"email"}, addr...), []Cell{str("a@b.fi"), str("Home"), str("K 1"), {Text: "2024-01-02", Kind: Date, Format: "d.m.yyyy"}, str("Helsinki")},
			[]string{"address:1:postalCode: is stored as a date; format the column as text and type the values again"}},
		{"phone as a number", []string{"email", "phoneNumber:1"}, []Cell{str("a@b.fi"), num("401234567", "General")},
			[]string{"phoneNumber:1: " + asNumber}},
		{"card as a number", []string{"email", "customerCard:1"}, []Cell{str("a@b.fi"), num("1234567890123456", "General")},
			[]string{"customerCard:1: " + asNumber}},
		{"card padded past a float's digits", []string{"email", "customerCard:1"}, []Cell{str("a@b.fi"), num("1234567890123456", "0000000000000000")},
			[]string{"customerCard:1: " + asNumber}},
		{"ssn as a number", []string{"email", "ssn"}, []Cell{str("a@b.fi"), num("131052", "General")},
			[]string{"ssn: " + asNumber}},
		{"externalId as a number", []string{"email", "externalId"}, []Cell{str("a@b.fi"), num("7", "General")},
			[]string{"externalId: " + asNumber}},
		{"netvisorId as a number", []string{"email", "netvisorId"}, []Cell{str("a@b.fi"), num("7", "#,##0")},
			[]string{"netvisorId: " + asNumber}},
		{"e-invoice address as a number", []string{"email", "eInvoiceAddress"}, []Cell{str("a@b.fi"), num("3720774740", "General")},
			[]string{"eInvoiceAddress: " + asNumber}},
		{"formula error", []string{"email", "firstName"}, []Cell{str("a@b.fi"), {Text: "#DIV/0!", Kind: Error, Formula: true}},
			[]string{"firstName: the cell shows the formula error #DIV/0!"}},
		{"several at once", []string{"email", "marketingEmail", "vatStatus"}, []Cell{{}, str("?"), str("x")}, []string{
			"email: is required: the row has no customer number, so its email finds the customer",
			"marketingEmail: must be true or false (or 1/0, yes/no, kyllä/ei)",
			"vatStatus: must be a whole number",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustMapper(t, tt.header...)
			_, re := m.Row(Row{Number: 17, Cells: tt.cells})
			if re == nil {
				t.Fatalf("Row: no error, want %q", tt.want)
			}
			if re.Row != 17 {
				t.Errorf("row %d, want 17", re.Row)
			}
			if got := problemStrings(re.Problems); !slices.Equal(got, tt.want) {
				t.Errorf("problems =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestColumnOf(t *testing.T) {
	m := mustMapper(t, "number", "Email", "eInvoiceBroker", "customerCard:1", "customerCard:4", "phoneNumber:2",
		"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city",
		"address:3:type", "address:3:streetAddress1", "address:3:postalCode", "address:3:city", "Group:VIP")
	// Card 1, address 1 and phone 2 are empty in this row.
	r := textRow(5, "", "a@b.fi", "", "", "K-4", "",
		"", "", "", "",
		"Home", "", "00100", "Helsinki", "true")
	tests := []struct{ give, want string }{
		{"email", "Email"},
		{"number", "number"},
		{"eInvoice.broker", "eInvoiceBroker"},
		{"eInvoice.email", "einvoiceEmail"}, // not in the file: its name
		{"firstName", "firstName"},
		{"addresses[0].streetAddress1", "address:3:streetAddress1"},
		{"addresses[0].country", "address:3:country"},
		{"addresses[1].city", "address:{index}:city"},
		{"addresses", "address:{index}:{field}"},
		{"customerCards[0]", "customerCard:4"},
		{"customerCards", "customerCard:4"}, // the row's only card
		{"phoneNumbers", "phoneNumber:{index}"},
		{"group:VIP", "Group:VIP"},
		{"groups[0]", "Group:VIP"},
		{"contacts", "contacts"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := m.ColumnOf(r, tt.give); got != tt.want {
			t.Errorf("ColumnOf(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	m := mustMapper(t, "email", "ssn", "group:vip", "group:b2b",
		"address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city")
	r := textRow(9, "a@b.fi", "", "true", "", "Home", "", "00100", "Helsinki")
	validation := &fault.Validation{}
	validation.Add("addresses[0].streetAddress1", "is required for an address")
	validation.Add("email", "is not an email address")
	tests := []struct {
		name string
		give error
		want []string
	}{
		{"validation", validation, []string{"address:2:streetAddress1: is required for an address", "email: is not an email address"}},
		{"conflict", &fault.Conflict{Field: "ssn", Message: "another customer already has this personal identity code"},
			[]string{"ssn: another customer already has this personal identity code"}},
		{"group that does not exist", fault.Invalid("groups[1]", "group %q does not exist; create it first", "b2b"),
			[]string{`group:b2b: group "b2b" does not exist; create it first`}},
		{"stale", &fault.Stale{Want: 1, Have: 2}, []string{"the customer kept changing while the file was imported; import this row again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			re := m.Explain(r, tt.give)
			if re == nil || re.Row != 9 {
				t.Fatalf("Explain = %v", re)
			}
			if got := problemStrings(re.Problems); !slices.Equal(got, tt.want) {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
	if m.Explain(r, nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
}

// The register behind the mapper: the in-memory store, a fixed clock.

type mapperClock struct{}

func (mapperClock) Now() time.Time { return time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC) }

type mapperIDs struct{}

func (mapperIDs) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

var mapperCaller = register.Caller{
	Origin:        consent.Origin{Source: consent.SourceAPI, Actor: "key:importer", RequestID: "req-1", Evidence: "asiakkaat.xlsx"},
	SeeRestricted: true,
}

const (
	existingEmail = "anna@example.fi"   // every field set
	plainEmail    = "bertta@example.fi" // no e-invoice settings
	newEmail      = "uusi@example.fi"
	existingSSN   = "131052-308T"
)

// newRegister is a register with groups vip and b2b and two customers.
func newRegister(t *testing.T) *register.Service {
	t.Helper()
	ctx := context.Background()
	svc := register.New(memstore.New(), mapperClock{}, mapperIDs{})
	for _, g := range []string{"vip", "b2b"} {
		if _, err := svc.CreateGroup(ctx, customer.Group{ExternalID: g}); err != nil {
			t.Fatal(err)
		}
	}
	set := customer.Set[string]
	full := customer.Patch{
		FirstName: set("Anna"), LastName: set("Olemassa"), Email: set(existingEmail), SSN: set(existingSSN),
		MarketingEmail: customer.Set(true), MarketingSMS: customer.Set(true), GDPRRestricted: customer.Set(true), CreditAllowed: customer.Set(true),
		ExternalID: set("ext-1"), NetvisorID: set("nv-1"),
		EInvoiceMode: customer.Set(customer.EInvoiceBroker), EInvoiceBroker: set("003723327487"), EInvoiceAddress: set("003720774740"),
		EInvoiceEmail: set("laskut@example.fi"),
		Groups:        customer.Set([]string{"vip"}), CustomerCards: customer.Set([]string{"K-1"}), PhoneNumbers: customer.Set([]string{"040 1234567"}),
		Addresses: customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Kotikatu 1", PostalCode: "00100", City: "Helsinki"}}),
	}
	plain := customer.Patch{FirstName: set("Bertta"), LastName: set("Tavallinen"), Email: set(plainEmail)}
	for _, p := range []customer.Patch{full, plain} {
		if _, err := svc.Create(ctx, p, mapperCaller); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	return svc
}

// imported is what became of one row of a sheet.
type imported struct {
	data customer.Data // after the row; zero when it was refused
	err  *RowError     // the mapper's or the core's refusal
}

// importSheet maps a sheet and runs its rows through the register.
func importSheet(t *testing.T, svc *register.Service, header Row, rows ...Row) []imported {
	t.Helper()
	m, err := NewMapper(header)
	if err != nil {
		t.Fatalf("NewMapper: %v", err)
	}
	out := make([]imported, len(rows))
	var batch []register.BatchRow
	var at []int
	for i, r := range rows {
		br, re := m.Row(r)
		if re != nil {
			out[i].err = re
			continue
		}
		batch = append(batch, br)
		at = append(at, i)
	}
	res, err := svc.ImportBatch(context.Background(), batch, register.BatchOptions{ImportID: "imp-1", CreateGroups: true}, mapperCaller)
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	for k, rr := range res.Rows {
		i := at[k]
		if rr.Outcome == register.Rejected {
			out[i].err = m.Explain(rows[i], rr.Err)
			continue
		}
		out[i].data = rr.Customer.Data()
	}
	return out
}

// TestColumnTable is excel.md's column table, row by row: each column
// missing from the file or empty in the row, for an existing customer and
// for a new one.
func TestColumnTable(t *testing.T) {
	type check func(d customer.Data) bool
	hasSSN := func(d customer.Data) bool { return d.SSN == existingSSN }
	noSSN := func(d customer.Data) bool { return d.SSN == "" }
	tests := []struct {
		name  string
		email string   // the row's email: existingEmail, plainEmail or newEmail
		cols  []string // columns besides email (and, for a new customer, firstName and lastName)
		cells []string
		bare  bool   // a new customer's row without firstName and lastName
		want  check  // the customer after the row
		err   string // or the column of the row error
	}{
		// email: missing is a file error (TestNewMapperFileErrors).
		{name: "email empty/existing", email: "", cols: []string{"firstName"}, cells: []string{"Anna"}, err: "email"},
		{name: "email empty/new", email: "", bare: true, cols: []string{"firstName", "lastName"}, cells: []string{"Uuno", "Uusi"}, err: "email"},

		{name: "firstName missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.FirstName == "Anna" }},
		{name: "firstName missing/new", email: newEmail, bare: true, cols: []string{"lastName"}, cells: []string{"Uusi"}, err: "firstName"},
		{name: "firstName empty/existing", email: existingEmail, cols: []string{"firstName"}, cells: []string{""}, err: "firstName"},
		{name: "firstName empty/new", email: newEmail, bare: true, cols: []string{"firstName", "lastName"}, cells: []string{"", "Uusi"}, err: "firstName"},
		{name: "lastName missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.LastName == "Olemassa" }},
		{name: "lastName missing/new", email: newEmail, bare: true, cols: []string{"firstName"}, cells: []string{"Uuno"}, err: "lastName"},
		{name: "lastName empty/existing", email: existingEmail, cols: []string{"lastName"}, cells: []string{" "}, err: "lastName"},
		{name: "lastName empty/new", email: newEmail, bare: true, cols: []string{"firstName", "lastName"}, cells: []string{"Uuno", ""}, err: "lastName"},

		{name: "gdprRestricted missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.GDPRRestricted }},
		{name: "gdprRestricted missing/new", email: newEmail, want: func(d customer.Data) bool { return !d.GDPRRestricted }},
		{name: "gdprRestricted empty/existing", email: existingEmail, cols: []string{"gdprRestricted"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.GDPRRestricted }},
		{name: "gdprRestricted empty/new", email: newEmail, cols: []string{"gdprRestricted"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.GDPRRestricted }},
		{name: "creditAllowed missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.CreditAllowed }},
		{name: "creditAllowed missing/new", email: newEmail, want: func(d customer.Data) bool { return !d.CreditAllowed }},
		{name: "creditAllowed empty/existing", email: existingEmail, cols: []string{"creditAllowed"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.CreditAllowed }},
		{name: "creditAllowed empty/new", email: newEmail, cols: []string{"creditAllowed"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.CreditAllowed }},
		{name: "marketingSms missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.MarketingSMS }},
		{name: "marketingSms missing/new", email: newEmail, want: func(d customer.Data) bool { return !d.MarketingSMS }},
		{name: "marketingSms empty/existing", email: existingEmail, cols: []string{"marketingSms"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.MarketingSMS }},
		{name: "marketingSms empty/new", email: newEmail, cols: []string{"marketingSms"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.MarketingSMS }},
		{name: "marketingEmail missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.MarketingEmail }},
		{name: "marketingEmail missing/new", email: newEmail, want: func(d customer.Data) bool { return !d.MarketingEmail }},
		{name: "marketingEmail empty/existing", email: existingEmail, cols: []string{"marketingEmail"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.MarketingEmail }},
		{name: "marketingEmail empty/new", email: newEmail, cols: []string{"marketingEmail"}, cells: []string{""}, want: func(d customer.Data) bool { return !d.MarketingEmail }},

		{name: "ssn missing/existing", email: existingEmail, want: hasSSN},
		{name: "ssn missing/new", email: newEmail, want: noSSN},
		{name: "ssn empty/existing", email: existingEmail, cols: []string{"ssn"}, cells: []string{""}, want: noSSN},
		{name: "ssn empty/new", email: newEmail, cols: []string{"ssn"}, cells: []string{""}, want: noSSN},
		{name: "externalId missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.ExternalID == "ext-1" }},
		{name: "externalId missing/new", email: newEmail, want: func(d customer.Data) bool { return d.ExternalID == "" }},
		{name: "externalId empty/existing", email: existingEmail, cols: []string{"externalId"}, cells: []string{""}, want: func(d customer.Data) bool { return d.ExternalID == "" }},
		{name: "externalId empty/new", email: newEmail, cols: []string{"externalId"}, cells: []string{""}, want: func(d customer.Data) bool { return d.ExternalID == "" }},
		{name: "netvisorId missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.NetvisorID == "nv-1" }},
		{name: "netvisorId missing/new", email: newEmail, want: func(d customer.Data) bool { return d.NetvisorID == "" }},
		{name: "netvisorId empty/existing", email: existingEmail, cols: []string{"netvisorId"}, cells: []string{""}, want: func(d customer.Data) bool { return d.NetvisorID == "" }},
		{name: "netvisorId empty/new", email: newEmail, cols: []string{"netvisorId"}, cells: []string{""}, want: func(d customer.Data) bool { return d.NetvisorID == "" }},

		{name: "eInvoiceMode missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.EInvoice.Mode == customer.EInvoiceBroker }},
		{name: "eInvoiceMode missing/new", email: newEmail, want: func(d customer.Data) bool { return d.EInvoice.Mode == customer.EInvoiceNone }},
		{name: "eInvoiceMode empty/existing", email: existingEmail, cols: []string{"eInvoiceMode"}, cells: []string{""}, want: func(d customer.Data) bool {
			return d.EInvoice.Mode == customer.EInvoiceNone && d.EInvoice.Broker == "003723327487"
		}},
		{name: "eInvoiceMode empty/new", email: newEmail, cols: []string{"eInvoiceMode"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Mode == customer.EInvoiceNone }},
		{name: "eInvoiceBroker missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.EInvoice.Broker == "003723327487" }},
		{name: "eInvoiceBroker missing/new", email: newEmail, want: func(d customer.Data) bool { return d.EInvoice.Broker == "" }},
		// An empty cell changes nothing, except that it is a row error when
		// the mode after the row needs the value (excel.md), even where a
		// value is stored: emptying the cell does not remove it silently.
		{name: "eInvoiceBroker empty/existing, mode Broker, broker stored", email: existingEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker"}, cells: []string{"Broker", ""}, err: "eInvoiceBroker"},
		{name: "eInvoiceBroker empty/existing, mode emptied too", email: existingEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker"}, cells: []string{"", ""},
			want: func(d customer.Data) bool {
				return d.EInvoice.Mode == customer.EInvoiceNone && d.EInvoice.Broker == "003723327487"
			}},
		{name: "eInvoiceBroker empty/existing, mode Broker", email: plainEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress"}, cells: []string{"Broker", "", "003720774740"}, err: "eInvoiceBroker"},
		{name: "eInvoiceBroker empty/existing, no mode", email: plainEmail, cols: []string{"eInvoiceBroker"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Broker == "" }},
		{name: "eInvoiceBroker empty/new, mode Broker", email: newEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress"}, cells: []string{"Broker", "", "003720774740"}, err: "eInvoiceBroker"},
		{name: "eInvoiceBroker empty/new, no mode", email: newEmail, cols: []string{"eInvoiceBroker"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Broker == "" }},
		{name: "eInvoiceAddress missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.EInvoice.Address == "003720774740" }},
		{name: "eInvoiceAddress missing/new", email: newEmail, want: func(d customer.Data) bool { return d.EInvoice.Address == "" }},
		{name: "eInvoiceAddress empty/existing, mode Broker, address stored", email: existingEmail, cols: []string{"eInvoiceAddress"}, cells: []string{""}, err: "eInvoiceAddress"},
		{name: "eInvoiceAddress empty/existing, mode Broker", email: plainEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress"}, cells: []string{"Broker", "003723327487", ""}, err: "eInvoiceAddress"},
		{name: "eInvoiceAddress empty/new, mode Broker", email: newEmail, cols: []string{"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress"}, cells: []string{"Broker", "003723327487", ""}, err: "eInvoiceAddress"},
		{name: "eInvoiceAddress empty/new, no mode", email: newEmail, cols: []string{"eInvoiceAddress"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Address == "" }},
		{name: "einvoiceEmail missing/existing", email: existingEmail, want: func(d customer.Data) bool { return d.EInvoice.Email == "laskut@example.fi" }},
		{name: "einvoiceEmail missing/new", email: newEmail, want: func(d customer.Data) bool { return d.EInvoice.Email == "" }},
		{name: "einvoiceEmail empty/existing, mode Email, email stored", email: existingEmail, cols: []string{"eInvoiceMode", "einvoiceEmail"}, cells: []string{"Email", ""}, err: "einvoiceEmail"},
		{name: "einvoiceEmail empty/existing, mode Broker", email: existingEmail, cols: []string{"einvoiceEmail"}, cells: []string{""},
			want: func(d customer.Data) bool { return d.EInvoice.Email == "laskut@example.fi" }},
		{name: "einvoiceEmail empty/existing, mode Email", email: plainEmail, cols: []string{"eInvoiceMode", "einvoiceEmail"}, cells: []string{"Email", ""}, err: "einvoiceEmail"},
		{name: "einvoiceEmail empty/existing, no mode", email: plainEmail, cols: []string{"einvoiceEmail"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Email == "" }},
		{name: "einvoiceEmail empty/new, mode Email", email: newEmail, cols: []string{"eInvoiceMode", "einvoiceEmail"}, cells: []string{"Email", ""}, err: "einvoiceEmail"},
		{name: "einvoiceEmail empty/new, no mode", email: newEmail, cols: []string{"einvoiceEmail"}, cells: []string{""}, want: func(d customer.Data) bool { return d.EInvoice.Email == "" }},

		{name: "group missing/existing", email: existingEmail, want: func(d customer.Data) bool { return slices.Equal(d.Groups, []string{"vip"}) }},
		{name: "group missing/new", email: newEmail, want: func(d customer.Data) bool { return len(d.Groups) == 0 }},
		{name: "group empty/existing", email: existingEmail, cols: []string{"group:vip"}, cells: []string{""}, want: func(d customer.Data) bool { return len(d.Groups) == 0 }},
		{name: "group empty/new", email: newEmail, cols: []string{"group:vip"}, cells: []string{""}, want: func(d customer.Data) bool { return len(d.Groups) == 0 }},
		{name: "group true/existing", email: existingEmail, cols: []string{"group:b2b", "group:vip"}, cells: []string{"true", "1"},
			want: func(d customer.Data) bool { return slices.Equal(d.Groups, []string{"vip", "b2b"}) }},
		{name: "group false/existing", email: existingEmail, cols: []string{"group:vip"}, cells: []string{"false"}, want: func(d customer.Data) bool { return len(d.Groups) == 0 }},
		{name: "group false/new", email: newEmail, cols: []string{"group:vip"}, cells: []string{"ei"}, want: func(d customer.Data) bool { return len(d.Groups) == 0 }},
		{name: "group true/new, group created", email: newEmail, cols: []string{"group:Uudet"}, cells: []string{"kyllä"},
			want: func(d customer.Data) bool { return slices.Equal(d.Groups, []string{"Uudet"}) }},

		// Sections: missing keeps, present replaces whole.
		{name: "sections missing/existing", email: existingEmail, want: func(d customer.Data) bool {
			return slices.Equal(d.CustomerCards, []string{"K-1"}) && len(d.PhoneNumbers) == 1 && len(d.Addresses) == 1
		}},
		{name: "sections empty/existing", email: existingEmail,
			cols:  []string{"customerCard:1", "phoneNumber:1", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city"},
			cells: []string{"", "", "", "", "", ""},
			want: func(d customer.Data) bool {
				return len(d.CustomerCards) == 0 && len(d.PhoneNumbers) == 0 && len(d.Addresses) == 0
			}},
		{name: "sections replaced/existing", email: existingEmail,
			cols:  []string{"customerCard:3", "phoneNumber:1", "phoneNumber:2", "address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city"},
			cells: []string{"K-3", "", "050 7654321", "Delivery", "Tie 3", "02100", "Espoo"},
			want: func(d customer.Data) bool {
				return slices.Equal(d.CustomerCards, []string{"K-3"}) && slices.Equal(d.PhoneNumbers, []string{"+358507654321"}) &&
					len(d.Addresses) == 1 && d.Addresses[0].City == "Espoo" && d.Addresses[0].Type == customer.Delivery
			}},
		{name: "section item incomplete/new", email: newEmail,
			cols:  []string{"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city"},
			cells: []string{"", "", "", "", "Home", "", "00100", "Helsinki"},
			err:   "address:2:streetAddress1"},
		{name: "postal code checked by the core", email: newEmail,
			cols:  []string{"address:4:type", "address:4:streetAddress1", "address:4:postalCode", "address:4:city"},
			cells: []string{"Home", "Katu 1", "100", "Helsinki"},
			err:   "address:4:postalCode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := newRegister(t)
			header := append([]string{"email"}, tt.cols...)
			cells := append([]string{tt.email}, tt.cells...)
			if tt.email == newEmail && !tt.bare {
				header = append(header, "firstName", "lastName")
				cells = append(cells, "Uuno", "Uusi")
			}
			got := importSheet(t, svc, hdr(header...), textRow(2, cells...))[0]
			if tt.err != "" {
				if got.err == nil {
					t.Fatalf("imported %+v, want a row error in %s", got.data, tt.err)
				}
				if got.err.Row != 2 || len(got.err.Problems) == 0 || got.err.Problems[0].Column != tt.err {
					t.Errorf("row error %v, want row 2, column %s", got.err, tt.err)
				}
				return
			}
			if got.err != nil {
				t.Fatalf("row error %v", got.err)
			}
			if !tt.want(got.data) {
				t.Errorf("customer after the row: %+v", got.data)
			}
		})
	}
}

// TestMatchByNumber: a number cell matches that customer, and its email
// becomes an ordinary field.
func TestMatchByNumber(t *testing.T) {
	svc := newRegister(t)
	got := importSheet(t, svc, hdr("number", "email", "lastName"),
		textRow(2, "", existingEmail, "Ensin"), // an empty number matches by email
	)
	if got[0].err != nil {
		t.Fatal(got[0].err)
	}
	n := got[0].data.Number
	got = importSheet(t, svc, hdr("Number", "email"),
		textRow(2, strconv.FormatInt(n, 10), "anna.uusi@example.fi"),
		textRow(3, "999999", "x@example.fi"),
	)
	if got[0].err != nil || got[0].data.Email != "anna.uusi@example.fi" || got[0].data.Number != n {
		t.Errorf("row 2: %+v, %v", got[0].data, got[0].err)
	}
	if got[1].err == nil || got[1].err.Problems[0].Column != "Number" {
		t.Errorf("row 3: %v, want an error in the column Number", got[1].err)
	}
}

// readSheet reads every row of a workbook.
func readSheet(t *testing.T, data []byte) []Row {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []Row
	for r.Next() {
		row := r.Row()
		row.Cells = slices.Clone(row.Cells)
		rows = append(rows, row)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestMapperLibreOffice maps a sheet saved by LibreOffice end to end:
// boolean cells written as 1 and 0, padded postal codes and phones, the
// number trap, text-formatted codes, a gap of empty rows.
func TestMapperLibreOffice(t *testing.T) {
	if *update {
		convertMapperFixture(t)
	}
	data, err := os.ReadFile("testdata/mapper-libreoffice.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	rows := readSheet(t, data)
	svc := newRegister(t)
	got := importSheet(t, svc, rows[0], rows[1:]...)
	if len(got) != 4 {
		t.Fatalf("%d rows", len(got))
	}
	matti := got[0].data
	if got[0].err != nil || !matti.MarketingEmail || matti.MarketingSMS || matti.Addresses[0].PostalCode != "00100" ||
		!slices.Equal(matti.PhoneNumbers, []string{"+358401234567"}) || !slices.Equal(matti.Groups, []string{"vip"}) ||
		matti.EInvoice.Mode != customer.EInvoiceEmail || !slices.Equal(matti.CustomerCards, []string{"K-7"}) {
		t.Errorf("row 2: %+v, %v", matti, got[0].err)
	}
	const asNumber = "address:1:postalCode: is stored as a number, which loses leading zeros (00100 becomes 100); format the column as text and type the values again"
	if re := got[1].err; re == nil || re.Row != 3 || !slices.Equal(problemStrings(re.Problems), []string{asNumber}) {
		t.Errorf("row 3: %v, want %q", re, asNumber)
	}
	uusi := got[2].data
	if got[2].err != nil || len(uusi.Addresses) != 1 || uusi.Addresses[0].PostalCode != "02100" || uusi.Addresses[0].Type != customer.Delivery ||
		len(uusi.PhoneNumbers) != 2 || len(uusi.Groups) != 0 {
		t.Errorf("row 6: %+v, %v", uusi, got[2].err)
	}
	if re := got[3].err; re == nil || re.Row != 7 || re.Problems[0].Column != "address:1:streetAddress1" {
		t.Errorf("row 7: %v, want address:1:streetAddress1", re)
	}
}

// convertMapperFixture rewrites testdata/mapper-libreoffice.xlsx from
// testdata/src/import.fods with LibreOffice.
func convertMapperFixture(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Fatalf("-update needs LibreOffice: %v", err)
	}
	tmp := t.TempDir()
	src, _ := filepath.Abs("testdata/src/import.fods")
	cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(tmp, "profile"),
		"--headless", "--convert-to", "xlsx", "--outdir", tmp, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	data, err := os.ReadFile(filepath.Join(tmp, "import.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/mapper-libreoffice.xlsx", data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMapperExcelize maps a sheet written by code (excelize): shared
// strings, boolean cells, a padded postal code, the number trap.
func TestMapperExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	padded, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("00000")})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"email", "firstName", "lastName", "marketingEmail", "address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "phoneNumber:1"},
		{"a@example.fi", "Aino", "Koodi", true, "Home", "Katu 1", 100, "Helsinki", "0401234567"},
		{"b@example.fi", "Bea", "Koodi", false, "Home", "Katu 2", 2100, "Espoo", 401234567},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.SetCellStyle("Sheet1", "G2", "G2", padded); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sheet := readSheet(t, buf.Bytes())
	got := importSheet(t, newRegister(t), sheet[0], sheet[1:]...)
	a := got[0].data
	if got[0].err != nil || !a.MarketingEmail || a.Addresses[0].PostalCode != "00100" || a.PhoneNumbers[0] != "+358401234567" {
		t.Errorf("row 2: %+v, %v", a, got[0].err)
	}
	want := []string{
		"address:1:postalCode: is stored as a number, which loses leading zeros (00100 becomes 100); format the column as text and type the values again",
		"phoneNumber:1: is stored as a number, which loses leading zeros (00100 becomes 100); format the column as text and type the values again",
	}
	if re := got[1].err; re == nil || re.Row != 3 || !slices.Equal(problemStrings(re.Problems), want) {
		t.Errorf("row 3: %v, want %q", re, want)
	}
}

// TestMapperReaderFixtures: the reader's fixtures have columns that are
// not customer columns and an incomplete address, and the mapper names
// every such column at once.
func TestMapperReaderFixtures(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"excelize-stream.xlsx", []string{"name", "since", "nameLength", "address:1:type", "address:1:streetAddress1", "address:1:city"}},
		{"excelize-shared.xlsx", []string{"postalCode", "note"}},
		{"libreoffice-from-fods.xlsx", []string{"since", "balance", "note", "address:1:type", "address:1:streetAddress1", "address:1:city"}},
		{"libreoffice-from-csv.xlsx", []string{"since", "address:1:type", "address:1:streetAddress1", "address:1:city"}},
		{"libreoffice-resaved-excelize.xlsx", []string{"name", "since", "nameLength", "address:1:type", "address:1:streetAddress1", "address:1:city"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewMapper(readSheet(t, data)[0])
			var he *HeaderError
			if !errors.As(err, &he) {
				t.Fatalf("NewMapper: %v, want a *HeaderError", err)
			}
			var got []string
			for _, p := range he.Problems {
				got = append(got, p.Column)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("columns %q, want %q (%v)", got, tt.want, he)
			}
		})
	}
}
