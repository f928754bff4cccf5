package customer_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/finnish"
)

// patchFieldsSet names the fields of p that are not Keep (not zero).
func patchFieldsSet(p customer.Patch) []string {
	var out []string
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		if !v.Field(i).IsZero() {
			out = append(out, v.Type().Field(i).Name)
		}
	}
	return out
}

// jsonNull is a body that sets the field of a JSON path to null.
func jsonNull(name string) string {
	if obj, member, ok := strings.Cut(name, "."); ok {
		return fmt.Sprintf(`{%q:{%q:null}}`, obj, member)
	}
	return fmt.Sprintf(`{%q:null}`, name)
}

// TestFieldsCoverPatch: every field of customer.Patch is set by exactly
// one entry of the table (through JSON or a column), so a field added to
// Patch without an entry fails here.
func TestFieldsCoverPatch(t *testing.T) {
	covered := map[string]string{}
	for _, f := range customer.Fields() {
		p, err := customer.DecodeJSON([]byte(jsonNull(f.Name)), nil)
		if err != nil {
			t.Fatalf("%s: null: %v", f.Name, err)
		}
		set := patchFieldsSet(p)
		if len(set) != 1 {
			t.Errorf("%s: JSON null sets %v, want exactly one field of Patch", f.Name, set)
			continue
		}
		if other, dup := covered[set[0]]; dup {
			t.Errorf("Patch.%s is set by both %s and %s", set[0], other, f.Name)
		}
		covered[set[0]] = f.Name
	}
	// group:{id} columns set GroupMembership.
	c, err := customer.ParseColumn("group:vip")
	if err != nil {
		t.Fatal(err)
	}
	var p customer.Patch
	if err := c.ParseText(&p, "true"); err != nil {
		t.Fatal(err)
	}
	for _, name := range patchFieldsSet(p) {
		covered[name] = "group:{id}"
	}
	// Empty e-invoice cells are recorded in EmptyEInvoice.
	for _, col := range []string{"eInvoiceBroker", "eInvoiceAddress", "einvoiceEmail"} {
		c, err := customer.ParseColumn(col)
		if err != nil {
			t.Fatal(err)
		}
		var p customer.Patch
		if err := c.ParseText(&p, ""); err != nil {
			t.Fatal(err)
		}
		for _, name := range patchFieldsSet(p) {
			covered[name] = col + " empty"
		}
	}
	typ := reflect.TypeOf(customer.Patch{})
	for i := range typ.NumField() {
		if _, ok := covered[typ.Field(i).Name]; !ok {
			t.Errorf("Patch.%s has no entry in the field table", typ.Field(i).Name)
		}
	}
}

// TestFieldsTable pins the names: JSON paths, columns and kinds.
func TestFieldsTable(t *testing.T) {
	var got []string
	for _, f := range customer.Fields() {
		got = append(got, f.Name+" "+f.Column+" "+f.Kind.String())
	}
	want := []string{
		"type type enum", "firstName firstName text", "lastName lastName text",
		"companyName companyName text", "businessId businessId text", "vatNumber vatNumber text",
		"vatStatus vatStatus int", "email email text", "language language enum", "ssn ssn text",
		"marketingEmail marketingEmail bool", "marketingSms marketingSms bool",
		"gdprRestricted gdprRestricted bool", "creditAllowed creditAllowed bool",
		"externalId externalId text", "netvisorId netvisorId text",
		"externalSystems  list", "customerCards customerCard:{index} list", "groups group:{id} list",
		"addresses address:{index}:{field} list", "phoneNumbers phoneNumber:{index} list",
		"eInvoice.mode eInvoiceMode enum", "eInvoice.broker eInvoiceBroker text",
		"eInvoice.address eInvoiceAddress text", "eInvoice.email einvoiceEmail text",
	}
	if !slices.Equal(got, want) {
		t.Errorf("table =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range customer.Fields() {
		if g, ok := customer.FieldByName(f.Name); !ok || g.Name != f.Name {
			t.Errorf("FieldByName(%q) = %q, %v", f.Name, g.Name, ok)
		}
	}
	if _, ok := customer.FieldByName("eInvoice"); ok {
		t.Errorf("eInvoice is an object, not a field")
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name string
		give string
		want customer.Patch
	}{
		{"empty", `{}`, customer.Patch{}},
		{"text set", `{"firstName":" Matti "}`, customer.Patch{FirstName: customer.Set(" Matti ")}},
		{"text null clears", `{"ssn":null}`, customer.Patch{SSN: customer.Clear[string]()}},
		{"enum set", `{"type":"company","language":"sv"}`, customer.Patch{Type: customer.Set(customer.Company), Language: customer.Set(customer.Swedish)}},
		{"enum kept as written", `{"type":"Company"}`, customer.Patch{Type: customer.Set(customer.Type("Company"))}},
		{"int set", `{"vatStatus":3}`, customer.Patch{VATStatus: customer.Set(customer.VATEUGoods)}},
		{"int null", `{"vatStatus":null}`, customer.Patch{VATStatus: customer.Clear[customer.VATStatus]()}},
		{"bool set", `{"marketingEmail":true,"marketingSms":false}`, customer.Patch{MarketingEmail: customer.Set(true), MarketingSMS: customer.Set(false)}},
		{"bool null", `{"creditAllowed":null}`, customer.Patch{CreditAllowed: customer.Clear[bool]()}},
		{"list set", `{"phoneNumbers":["040 1234567"],"groups":[]}`, customer.Patch{PhoneNumbers: customer.Set([]string{"040 1234567"}), Groups: customer.Set([]string{})}},
		{"list null", `{"customerCards":null}`, customer.Patch{CustomerCards: customer.Clear[[]string]()}},
		{"addresses", `{"addresses":[{"type":"Home","streetAddress1":"K 1","postalCode":"00100","city":"H","country":null}]}`,
			customer.Patch{Addresses: customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "K 1", PostalCode: "00100", City: "H"}})}},
		{"links", `{"externalSystems":[{"systemId":2,"identifier":"P-1"}]}`,
			customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-1"}})}},
		{"eInvoice merged", `{"eInvoice":{"mode":"Email","email":"a@b.fi","broker":null}}`, customer.Patch{
			EInvoiceMode: customer.Set(customer.EInvoiceEmail), EInvoiceEmail: customer.Set("a@b.fi"), EInvoiceBroker: customer.Clear[string](),
		}},
		{"eInvoice null clears all", `{"eInvoice":null}`, customer.Patch{
			EInvoiceMode: customer.Clear[customer.EInvoiceMode](), EInvoiceBroker: customer.Clear[string](),
			EInvoiceAddress: customer.Clear[string](), EInvoiceEmail: customer.Clear[string](),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := customer.DecodeJSON([]byte(tt.give), nil)
			if err != nil {
				t.Fatalf("DecodeJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeJSONProblems(t *testing.T) {
	readOnly := map[string]string{"number": "is read-only", "version": "is read-only"}
	tests := []struct {
		name string
		give string
		want string // field: message; ...
	}{
		{"not an object", `[]`, ": must be a JSON object"},
		{"wrong type text", `{"email":5}`, "email: must be a string or null"},
		{"wrong type bool", `{"marketingEmail":"yes"}`, "marketingEmail: must be true, false or null"},
		{"wrong type int", `{"vatStatus":1.5}`, "vatStatus: must be an integer or null"},
		{"wrong type list", `{"groups":"vip"}`, "groups: must be an array or null"},
		{"list item", `{"customerCards":["a",1]}`, "customerCards[1]: must be a string"},
		{"twice", `{"email":"a@b.fi","email":"c@d.fi"}`, "email: is given more than once"},
		{"twice nested", `{"eInvoice":{"mode":"","mode":""}}`, "eInvoice.mode: is given more than once"},
		{"unknown suggested", `{"marketingEmial":true}`, `marketingEmial: unknown field; did you mean "marketingEmail"?`},
		{"unknown read-only suggested", `{"numbr":1}`, `numbr: unknown field; did you mean "number"?`},
		{"unknown far", `{"zzzzzzzz":1}`, "zzzzzzzz: unknown field"},
		{"read-only", `{"version":3}`, "version: is read-only"},
		{"eInvoice not object", `{"eInvoice":5}`, "eInvoice: must be an object or null"},
		{"eInvoice unknown member", `{"eInvoice":{"mod":"Email"}}`, `eInvoice.mod: unknown field; did you mean "mode"?`},
		{"address member", `{"addresses":[{"postalCod":"00100"}]}`, `addresses[0].postalCod: unknown field; did you mean "postalCode"?`},
		{"address member type", `{"addresses":[{"city":1}]}`, "addresses[0].city: must be a string or null"},
		{"address not object", `{"addresses":[1]}`, "addresses[0]: must be an object"},
		{"link member", `{"externalSystems":[{"systemId":"2"}]}`, "externalSystems[0].systemId: must be an integer or null"},
		{"too many", `{"addresses":[` + strings.Repeat(`{},`, customer.MaxListLen) + `{}]}`, "addresses: has 101 entries; at most 100 are allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := customer.DecodeJSON([]byte(tt.give), readOnly)
			if got := problems(err); got != tt.want {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeJSONSyntax(t *testing.T) {
	for _, give := range []string{``, `{`, `{"a":1}x`, `{"a":}`} {
		_, err := customer.DecodeJSON([]byte(give), nil)
		var se *customer.SyntaxError
		if !errors.As(err, &se) || se.Reason == "" {
			t.Errorf("DecodeJSON(%q) = %v, want a *SyntaxError", give, err)
		}
	}
}

func TestDecodeJSONStopsAtMaxProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 200 {
		fmt.Fprintf(&b, `"junk%d":1,`, i)
	}
	b.WriteString(`"x":1}`)
	_, err := customer.DecodeJSON([]byte(b.String()), nil)
	var v *fault.Validation
	if !errors.As(err, &v) || len(v.Fields) != customer.MaxDecodeProblems {
		t.Errorf("err = %v, want %d problems", err, customer.MaxDecodeProblems)
	}
}

// problems is "field: message; …" of a *fault.Validation, or the error.
func problems(err error) string {
	var v *fault.Validation
	if !errors.As(err, &v) {
		return fmt.Sprint(err)
	}
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

func TestColumnParseText(t *testing.T) {
	tests := []struct {
		column, give string
		want         customer.Patch
	}{
		{"firstName", " Matti ", customer.Patch{FirstName: customer.Set("Matti")}},
		{"firstName", "", customer.Patch{FirstName: customer.Clear[string]()}},
		{"firstName", " \u200b ", customer.Patch{FirstName: customer.Clear[string]()}},
		{"ssn", "", customer.Patch{SSN: customer.Clear[string]()}},
		{"email", "a@b.fi", customer.Patch{Email: customer.Set("a@b.fi")}},
		{"type", "Company", customer.Patch{Type: customer.Set(customer.Company)}},
		{"type", "", customer.Patch{}}, // a new customer is a person
		{"language", "SV", customer.Patch{Language: customer.Set(customer.Swedish)}},
		{"language", "", customer.Patch{Language: customer.Clear[customer.Language]()}},
		{"language", "de", customer.Patch{Language: customer.Set(customer.Language("de"))}}, // the aggregate refuses it
		{"vatStatus", " 7 ", customer.Patch{VATStatus: customer.Set(customer.VATOutsideEU)}},
		{"vatStatus", "", customer.Patch{VATStatus: customer.Clear[customer.VATStatus]()}},
		{"marketingEmail", "TRUE", customer.Patch{MarketingEmail: customer.Set(true)}},
		{"marketingEmail", "1", customer.Patch{MarketingEmail: customer.Set(true)}},
		{"marketingEmail", "Yes", customer.Patch{MarketingEmail: customer.Set(true)}},
		{"marketingSms", "KYLLÄ", customer.Patch{MarketingSMS: customer.Set(true)}},
		{"marketingSms", "false", customer.Patch{MarketingSMS: customer.Set(false)}},
		{"gdprRestricted", "0", customer.Patch{GDPRRestricted: customer.Set(false)}},
		{"gdprRestricted", "no", customer.Patch{GDPRRestricted: customer.Set(false)}},
		{"creditAllowed", " Ei ", customer.Patch{CreditAllowed: customer.Set(false)}},
		{"creditAllowed", "", customer.Patch{CreditAllowed: customer.Clear[bool]()}},
		{"eInvoiceMode", "broker", customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceBroker)}},
		{"eInvoiceMode", "", customer.Patch{EInvoiceMode: customer.Clear[customer.EInvoiceMode]()}},
		{"eInvoiceBroker", "003723327487", customer.Patch{EInvoiceBroker: customer.Set("003723327487")}},
		{"eInvoiceBroker", "", customer.Patch{EmptyEInvoice: customer.EmptyEInvoice{Broker: true}}},
		{"eInvoiceAddress", " ", customer.Patch{EmptyEInvoice: customer.EmptyEInvoice{Address: true}}},
		{"eInvoiceEmail", "", customer.Patch{EmptyEInvoice: customer.EmptyEInvoice{Email: true}}},
		{"EINVOICEEMAIL", "a@b.fi", customer.Patch{EInvoiceEmail: customer.Set("a@b.fi")}},
		{"group:vip", "kyllä", customer.Patch{GroupMembership: map[string]bool{"vip": true}}},
		{"group:vip", "false", customer.Patch{GroupMembership: map[string]bool{"vip": false}}},
		{"group:vip", "", customer.Patch{GroupMembership: map[string]bool{"vip": false}}},
	}
	for _, tt := range tests {
		t.Run(tt.column+"="+tt.give, func(t *testing.T) {
			c, err := customer.ParseColumn(tt.column)
			if err != nil {
				t.Fatalf("ParseColumn: %v", err)
			}
			var got customer.Patch
			if err := c.ParseText(&got, tt.give); err != nil {
				t.Fatalf("ParseText: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("patch = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestColumnParseTextProblems(t *testing.T) {
	tests := []struct{ column, give, want string }{
		{"marketingEmail", "maybe", "marketingEmail: must be true or false (or 1/0, yes/no, kyllä/ei)"},
		{"Group:vip", "x", "group:vip: must be true or false (or 1/0, yes/no, kyllä/ei)"},
		{"vatStatus", "1.5", "vatStatus: must be a whole number"},
		{"vatStatus", "99999999999", "vatStatus: must be a whole number"},
		{"number", "10001", "number: is the customer number, not a field a row can change"},
		{"address:1:city", "Helsinki", "address:1:city: is a cell of a section: a section's items are assembled from all its cells"},
		{"phoneNumber:2", "040", "phoneNumber:2: is a cell of a section: a section's items are assembled from all its cells"},
	}
	for _, tt := range tests {
		t.Run(tt.column+"="+tt.give, func(t *testing.T) {
			c, err := customer.ParseColumn(tt.column)
			if err != nil {
				t.Fatalf("ParseColumn: %v", err)
			}
			var p customer.Patch
			if got := problems(c.ParseText(&p, tt.give)); got != tt.want {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseColumn(t *testing.T) {
	tests := []struct{ give, want string }{
		{"email", "email"},
		{"  FirstName ", "firstName"},
		{"eInvoiceEmail", "einvoiceEmail"},
		{"einvoiceemail", "einvoiceEmail"},
		{"Number", "number"},
		{"customerCard:1", "customerCard:1"},
		{"CUSTOMERCARD:12", "customerCard:12"},
		{"phoneNumber:3", "phoneNumber:3"},
		{"address:2:postalcode", "address:2:postalCode"},
		{"address:1:Type", "address:1:type"},
		{"group:VIP Asiakkaat", "group:VIP Asiakkaat"},
	}
	for _, tt := range tests {
		c, err := customer.ParseColumn(tt.give)
		if err != nil || c.Name() != tt.want {
			t.Errorf("ParseColumn(%q) = %q, %v; want %q", tt.give, c.Name(), err, tt.want)
		}
	}
}

func TestParseColumnProblems(t *testing.T) {
	tests := []struct{ give, want string }{
		{"marketingEmial", `marketingEmial: unknown column; did you mean "marketingEmail"?`},
		{"eInvoiceEmal", `eInvoiceEmal: unknown column; did you mean "einvoiceEmail"?`},
		{"numbr", `numbr: unknown column; did you mean "number"?`},
		{"shoe size", "shoe size: unknown column"},
		{"externalSystems", "externalSystems: unknown column"}, // links have no column
		{"adress:1:city", `adress:1:city: unknown column; did you mean "address:1:city"?`},
		{"phonenumbr:1", `phonenumbr:1: unknown column; did you mean "phoneNumber:1"?`},
		{"xyzzy:1", "xyzzy:1: unknown column"},
		{"address:1:postalCod", `address:1:postalCod: unknown address field; did you mean "postalCode"?`},
		{"address:1:zzzzzz", "address:1:zzzzzz: unknown address field; an address has city, country, postalCode, streetAddress1, streetAddress2, type"},
		{"address:1", "address:1: must be address:{index}:{field}, as in address:1:city"},
		{"address:0:city", "address:0:city: the index must be a positive whole number, as in address:1:city"},
		{"phoneNumber:x", "phoneNumber:x: the index must be a positive whole number, as in phoneNumber:1"},
		{"customerCard:-1", "customerCard:-1: the index must be a positive whole number, as in customerCard:1"},
		{"customerCard:99999", "customerCard:99999: the index must be a positive whole number, as in customerCard:1"},
		{"group: ", "group: : needs a group id after group:, as in group:vip"},
	}
	for _, tt := range tests {
		_, err := customer.ParseColumn(tt.give)
		if got := problems(err); got != tt.want {
			t.Errorf("ParseColumn(%q): %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"email", "marketingEmail", "marketingSms"}
	tests := []struct {
		give, want string
		ok         bool
	}{
		{"marketingEmial", "marketingEmail", true},
		{"MARKETINGSMS", "marketingSms", true},
		{"emali", "email", true},
		{"phone", "", false},
		{strings.Repeat("a", 65), "", false},
	}
	for _, tt := range tests {
		got, ok := customer.Suggest(tt.give, known)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Suggest(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.ok)
		}
	}
}

func TestShow(t *testing.T) {
	d := fullCompanyData(func(d *customer.Data) { d.Groups = []string{"vip", "b2b"} })
	tests := []struct{ column, want string }{
		{"number", "10042"},
		{"type", "company"},
		{"companyName", "Kirjuri Oy"},
		{"businessId", "2077474-0"},
		{"vatNumber", "FI20774740"},
		{"vatStatus", "3"},
		{"email", "Laskut@kirjuri.fi"},
		{"language", "sv"},
		{"firstName", ""},
		{"ssn", ""},
		{"marketingEmail", "true"},
		{"gdprRestricted", "false"},
		{"externalId", "ext-1"},
		{"eInvoiceMode", "Broker"},
		{"eInvoiceBroker", "003723327487"},
		{"eInvoiceAddress", "003720774740"},
		{"einvoiceEmail", "e-laskut@kirjuri.fi"},
		{"customerCard:2", "CARD-2"},
		{"customerCard:3", ""},
		{"phoneNumber:1", "+358401234567"},
		{"address:2:country", "AX"},
		{"address:2:streetAddress2", "B 4"},
		{"address:1:type", "Invoice"},
		{"address:3:city", ""},
		{"group:b2b", "true"},
		{"group:other", "false"},
	}
	for _, tt := range tests {
		c, err := customer.ParseColumn(tt.column)
		if err != nil {
			t.Fatalf("ParseColumn(%q): %v", tt.column, err)
		}
		if got := c.Show(d); got != tt.want {
			t.Errorf("Show(%s) = %q, want %q", tt.column, got, tt.want)
		}
	}
	if got := (customer.Field{}).Show(d); got != "" {
		t.Errorf("a field without a show shows %q", got)
	}
}

// TestShowParseRoundTrip is the export/import property: for random
// customers built through New, the export's cells read back by the column
// table give a patch that changes nothing on the customer and that builds
// the same customer anew.
func TestShowParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 400 {
		c := mustNew(t, randomCustomer(r))
		d := c.Data()
		p := importRow(t, d, exportColumns(d))

		// Field by field: show then parse sets the value shown.
		for _, f := range customer.Fields() {
			if f.Kind == customer.KindList {
				continue
			}
			var one customer.Patch
			if err := f.ParseText(&one, f.Show(d)); err != nil {
				t.Fatalf("customer %d: %s: %v", i, f.Name, err)
			}
			set := patchFieldsSet(one)
			if f.Show(d) != "" && len(set) != 1 {
				t.Errorf("customer %d: %s shows %q and parses to %v", i, f.Name, f.Show(d), set)
			}
		}

		// The existing customer: nothing changes, no event.
		same, err := customer.FromStorage(d)
		if err != nil {
			t.Fatal(err)
		}
		events, err := same.Apply(p, noIDs(t, t1))
		if err != nil {
			t.Fatalf("customer %d: Apply: %v\n%+v", i, err, d)
		}
		if len(events) != 0 || !reflect.DeepEqual(same.Data(), d) {
			t.Fatalf("customer %d: re-import changed it:\n got %+v\nwant %+v", i, same.Data(), d)
		}

		// A new customer from the same row is the same customer, but for
		// its external links, which have no column. Groups added by
		// group:{id} columns come in sorted order.
		again, _, err := customer.New(testID, testNumber, p, change(t0))
		if err != nil {
			t.Fatalf("customer %d: New: %v", i, err)
		}
		got := again.Data()
		slices.Sort(got.Groups)
		want := c.Data()
		slices.Sort(want.Groups)
		want.ExternalSystems = nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("customer %d: imported as new:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

// exportColumns are the columns an export of d writes: every field with a
// column of its own, and the sections as long as d needs them.
func exportColumns(d customer.Data) []customer.Column {
	var names []string
	for _, f := range customer.Fields() {
		if f.Kind != customer.KindList && f.Column != "" {
			names = append(names, f.Column)
		}
	}
	for i := range d.CustomerCards {
		names = append(names, "customerCard:"+strconv.Itoa(i+1))
	}
	for i := range d.PhoneNumbers {
		names = append(names, "phoneNumber:"+strconv.Itoa(i+1))
	}
	for i := range len(d.Addresses) + 1 { // one more, left empty
		for _, m := range []string{"type", "streetAddress1", "streetAddress2", "postalCode", "city", "country"} {
			names = append(names, fmt.Sprintf("address:%d:%s", i+1, m))
		}
	}
	for _, g := range append(slices.Clone(d.Groups), "not-a-member") {
		names = append(names, "group:"+g)
	}
	out := make([]customer.Column, len(names))
	for i, n := range names {
		c, err := customer.ParseColumn(n)
		if err != nil {
			panic(err)
		}
		out[i] = c
	}
	return out
}

// importRow reads d's exported cells back as the column mapper will:
// own columns and group columns by Column.ParseText, sections assembled
// from their non-empty cells in index order.
func importRow(t *testing.T, d customer.Data, cols []customer.Column) customer.Patch {
	t.Helper()
	var p customer.Patch
	cards, phones := map[int]string{}, map[int]string{}
	addrs := map[int]*customer.Address{}
	for _, c := range cols {
		text := c.Show(d)
		switch c.Field.Name {
		case "customerCards":
			if text != "" {
				cards[c.Index] = text
			}
		case "phoneNumbers":
			if text != "" {
				phones[c.Index] = text
			}
		case "addresses":
			if text == "" {
				continue
			}
			if addrs[c.Index] == nil {
				addrs[c.Index] = &customer.Address{}
			}
			if !customer.SetAddressMember(addrs[c.Index], c.Member, text) {
				t.Fatalf("address member %q", c.Member)
			}
		default:
			if err := c.ParseText(&p, text); err != nil {
				t.Fatalf("%s: %v", c.Name(), err)
			}
		}
	}
	inOrder := func(m map[int]string) []string {
		out := []string{}
		for i := 1; i <= 100; i++ {
			if s, ok := m[i]; ok {
				out = append(out, s)
			}
		}
		return out
	}
	p.CustomerCards = customer.Set(inOrder(cards))
	p.PhoneNumbers = customer.Set(inOrder(phones))
	list := []customer.Address{}
	for i := 1; i <= 100; i++ {
		if a, ok := addrs[i]; ok {
			list = append(list, *a)
		}
	}
	p.Addresses = customer.Set(list)
	return p
}

// randomCustomer is a valid patch for a random person or company.
func randomCustomer(r *rand.Rand) customer.Patch {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	maybe := func(s string) string {
		if r.IntN(3) == 0 {
			return ""
		}
		return s
	}
	var p customer.Patch
	if r.IntN(2) == 0 {
		p.Type = customer.Set(customer.Person)
		p.FirstName = customer.Set(pick("Matti", "Äkäs", "Anna-Liisa", "Jean Luc", "李"))
		p.LastName = customer.Set(pick("Meikäläinen", "Öberg", "O'Neil", "van der Berg"))
		p.VATStatus = customer.Set(customer.VATStatus(pick("1", "7")[0] - '0'))
		p.SSN = customer.Set(maybe(randomHETU(r)))
	} else {
		p.Type = customer.Set(customer.Company)
		p.CompanyName = customer.Set(pick("Kirjuri Oy", "Ab Företag", "Tmi Äijä & Co"))
		bid := randomBusinessID(r)
		p.BusinessID = customer.Set(bid)
		if r.IntN(2) == 0 {
			p.VATNumber = customer.Set(finnish.VATNumberFor(bid))
		}
		p.VATStatus = customer.Set(customer.VATStatuses[r.IntN(len(customer.VATStatuses))])
	}
	p.Email = customer.Set(maybe(fmt.Sprintf("user%d@Example.fi", r.IntN(1000))))
	p.Language = customer.Set(customer.Languages[r.IntN(len(customer.Languages))])
	p.MarketingEmail = customer.Set(r.IntN(2) == 0)
	p.MarketingSMS = customer.Set(r.IntN(2) == 0)
	p.GDPRRestricted = customer.Set(r.IntN(2) == 0)
	p.CreditAllowed = customer.Set(r.IntN(2) == 0)
	p.ExternalID = customer.Set(maybe(fmt.Sprintf("ext-%d", r.IntN(1000))))
	p.NetvisorID = customer.Set(maybe(fmt.Sprintf("nv %d", r.IntN(1000))))
	p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-1"}}[:r.IntN(2)])
	var cards, groups, phones []string
	for i := range r.IntN(4) {
		cards = append(cards, fmt.Sprintf("CARD-%d-%d", i, r.IntN(100)))
	}
	for _, g := range []string{"vip", "b2b", "Kanta-asiakkaat", "z"} {
		if r.IntN(2) == 0 {
			groups = append(groups, g)
		}
	}
	r.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	for i := range r.IntN(3) {
		phones = append(phones, fmt.Sprintf("040 12345%02d", i*7+r.IntN(7)))
	}
	p.CustomerCards = customer.Set(cards)
	p.Groups = customer.Set(groups)
	p.PhoneNumbers = customer.Set(phones)
	var addrs []customer.Address
	for range r.IntN(4) {
		a := customer.Address{
			Type:           customer.AddressTypes[r.IntN(len(customer.AddressTypes))],
			StreetAddress1: pick("Mannerheimintie 1", "Kotikatu 3 A 4"),
			StreetAddress2: maybe("c/o Virtanen"),
			PostalCode:     fmt.Sprintf("%05d", r.IntN(100000)),
			City:           pick("Helsinki", "Tampere", "Åbo"),
		}
		switch r.IntN(3) {
		case 0:
			a.Country = "AX"
			a.PostalCode = fmt.Sprintf("22%03d", r.IntN(1000))
		case 1:
			a.Country = "se"
			a.PostalCode = "114 55"
		}
		addrs = append(addrs, a)
	}
	p.Addresses = customer.Set(addrs)
	switch r.IntN(4) {
	case 0:
		p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
		p.EInvoiceBroker = customer.Set("003723327487")
		p.EInvoiceAddress = customer.Set("003720774740")
	case 1:
		p.EInvoiceMode = customer.Set(customer.EInvoiceEmail)
		p.EInvoiceEmail = customer.Set("laskut@example.fi")
	case 2: // no mode, but a broker left over from before
		p.EInvoiceBroker = customer.Set("003723327487")
	}
	return p
}

// randomHETU is a valid identity code of someone born in the 1900s.
func randomHETU(r *rand.Rand) string {
	date := fmt.Sprintf("%02d%02d%02d", 1+r.IntN(28), 1+r.IntN(12), r.IntN(100))
	ind := fmt.Sprintf("%03d", 2+r.IntN(898))
	n, _ := strconv.Atoi(date + ind)
	return date + "-" + ind + string("0123456789ABCDEFHJKLMNPRSTUVWXY"[n%31])
}

// randomBusinessID is a valid Finnish business id (Y-tunnus).
func randomBusinessID(r *rand.Rand) string {
	for {
		digits := fmt.Sprintf("%07d", r.IntN(10000000))
		sum := 0
		for i, w := range []int{7, 9, 10, 5, 8, 4, 2} {
			sum += int(digits[i]-'0') * w
		}
		switch rem := sum % 11; rem {
		case 0:
			return digits + "-0"
		case 1:
			continue
		default:
			return digits + "-" + strconv.Itoa(11-rem)
		}
	}
}
