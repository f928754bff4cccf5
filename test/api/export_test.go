package api

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"kirjuri/adapters/excel"
)

// The spreadsheet export, end to end: the real fx graph over real HTTP and
// PostgreSQL, the file read back with the project's own .xlsx reader.

const exportPath = "/v1/exports/customers.xlsx"

// sheet is an exported workbook as the reader shows it.
type sheet struct {
	header []string
	rows   [][]excel.Cell // by column of header; empty cells are Kind Empty
}

func (s sheet) col(name string) int { return slices.Index(s.header, name) }

// row is the row of the customer with the number.
func (s sheet) row(t *testing.T, number int64) []excel.Cell {
	t.Helper()
	for _, r := range s.rows {
		if r[0].Text == strconv.FormatInt(number, 10) {
			return r
		}
	}
	t.Fatalf("the export has no row of customer %d", number)
	return nil
}

func (s sheet) numbers() []int64 {
	out := make([]int64, len(s.rows))
	for i, r := range s.rows {
		out[i], _ = strconv.ParseInt(r[0].Text, 10, 64)
	}
	return out
}

func readSheet(t *testing.T, b []byte) sheet {
	t.Helper()
	rd, err := excel.NewReader(bytes.NewReader(b), int64(len(b)), excel.Limits{})
	if err != nil {
		t.Fatalf("read the export: %v", err)
	}
	defer rd.Close()
	if rd.SheetName() != "Customers" {
		t.Errorf("sheet %q, want Customers", rd.SheetName())
	}
	var s sheet
	for rd.Next() {
		r := rd.Row()
		if s.header == nil {
			if r.Number != 1 {
				t.Fatalf("the header is row %d", r.Number)
			}
			for _, c := range r.Cells {
				s.header = append(s.header, c.Text)
			}
			continue
		}
		if r.Number != len(s.rows)+2 {
			t.Fatalf("row %d follows row %d", r.Number, len(s.rows)+1)
		}
		cells := make([]excel.Cell, len(s.header))
		copy(cells, r.Cells)
		s.rows = append(s.rows, cells)
	}
	if err := rd.Err(); err != nil {
		t.Fatalf("read the export: %v", err)
	}
	return s
}

// export downloads an export and wants 200 with the headers of a file.
func (e *env) export(query, key string) sheet {
	e.t.Helper()
	r := e.want(e.get(exportPath+"?"+query, key), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		e.t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="customers.xlsx"` {
		e.t.Errorf("Content-Disposition %q", cd)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Errorf("Cache-Control %q, want no-store (the file holds personal data)", cc)
	}
	s := readSheet(e.t, r.Body)
	if n := r.Header.Get("X-Total-Count"); n != strconv.Itoa(len(s.rows)) {
		e.t.Errorf("X-Total-Count %q, the file has %d rows", n, len(s.rows))
	}
	return s
}

// The fixed columns of every export, after number (ssn only on request).
var exportFieldColumns = []string{"type", "firstName", "lastName", "companyName", "businessId", "vatNumber", "vatStatus",
	"email", "language", "marketingEmail", "marketingSms", "gdprRestricted", "creditAllowed", "externalId", "netvisorId",
	"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress", "einvoiceEmail"}

// wantCells is what the export must show of a customer as the API shows it,
// by header (an independent mapping from the wire form): texts as texts,
// flags as boolean cells (TRUE/FALSE), number and vatStatus as numbers.
func wantCells(c Customer, header []string) []excel.Cell {
	b := func(v bool) excel.Cell {
		if v {
			return excel.Cell{Text: "TRUE", Kind: excel.Bool}
		}
		return excel.Cell{Text: "FALSE", Kind: excel.Bool}
	}
	txt := func(s string) excel.Cell {
		if s == "" {
			return excel.Cell{}
		}
		return excel.Cell{Text: s, Kind: excel.String}
	}
	num := func(n int64) excel.Cell {
		return excel.Cell{Text: strconv.FormatInt(n, 10), Kind: excel.Number, Format: "General"}
	}
	item := func(list []string, i int) excel.Cell {
		if i > len(list) {
			return excel.Cell{}
		}
		return txt(list[i-1])
	}
	out := make([]excel.Cell, len(header))
	for i, h := range header {
		switch h {
		case "number":
			out[i] = num(c.Number)
		case "type":
			out[i] = txt(c.Type)
		case "firstName":
			out[i] = txt(c.FirstName)
		case "lastName":
			out[i] = txt(c.LastName)
		case "companyName":
			out[i] = txt(c.CompanyName)
		case "businessId":
			out[i] = txt(c.BusinessID)
		case "vatNumber":
			out[i] = txt(c.VATNumber)
		case "vatStatus":
			out[i] = num(int64(c.VATStatus))
		case "email":
			out[i] = txt(c.Email)
		case "language":
			out[i] = txt(c.Language)
		case "ssn":
			out[i] = txt(c.SSN)
		case "marketingEmail":
			out[i] = b(c.MarketingEmail)
		case "marketingSms":
			out[i] = b(c.MarketingSMS)
		case "gdprRestricted":
			out[i] = b(c.GDPRRestricted)
		case "creditAllowed":
			out[i] = b(c.CreditAllowed)
		case "externalId":
			out[i] = txt(c.ExternalID)
		case "netvisorId":
			out[i] = txt(c.NetvisorID)
		case "eInvoiceMode":
			out[i] = txt(c.EInvoice.Mode)
		case "eInvoiceBroker":
			out[i] = txt(c.EInvoice.Broker)
		case "eInvoiceAddress":
			out[i] = txt(c.EInvoice.Address)
		case "einvoiceEmail":
			out[i] = txt(c.EInvoice.Email)
		default:
			prefix, rest, _ := strings.Cut(h, ":")
			switch prefix {
			case "customerCard":
				n, _ := strconv.Atoi(rest)
				out[i] = item(c.CustomerCards, n)
			case "phoneNumber":
				n, _ := strconv.Atoi(rest)
				out[i] = item(c.PhoneNumbers, n)
			case "group":
				out[i] = b(slices.Contains(c.Groups, rest))
			case "address":
				idx, member, _ := strings.Cut(rest, ":")
				n, _ := strconv.Atoi(idx)
				if n > len(c.Addresses) {
					continue
				}
				a := c.Addresses[n-1]
				out[i] = txt(map[string]string{"type": a.Type, "streetAddress1": a.StreetAddress1, "streetAddress2": a.StreetAddress2,
					"postalCode": a.PostalCode, "city": a.City, "country": a.Country}[member])
			default:
				panic("wantCells: unknown column " + h)
			}
		}
	}
	return out
}

func (s sheet) checkRow(t *testing.T, c Customer) {
	t.Helper()
	got := s.row(t, c.Number)
	want := wantCells(c, s.header)
	for i, h := range s.header {
		g, w := got[i], want[i]
		if g.Text != w.Text || g.Kind != w.Kind || (w.Kind == excel.Number && g.Format != w.Format) {
			t.Errorf("customer %d, column %s: got %q (%s %q), want %q (%s)", c.Number, h, g.Text, g.Kind, g.Format, w.Text, w.Kind)
		}
	}
}

// exportFixture makes customers of every kind: a person with every field
// and two of each section, a company with e-invoicing through a broker, a
// bare person, and a restricted person with more customer cards than any
// other.
type exportFixture struct {
	full, firm, bare, restricted Customer
}

func newExportFixture(e *env) exportFixture {
	e.t.Helper()
	for _, g := range []string{"vip", "b2b", "Zeta"} {
		e.want(e.do(req{method: http.MethodPost, path: "/v1/groups", key: bootstrapSecret, body: obj{"externalId": g}}), http.StatusCreated)
	}
	var f exportFixture
	f.full = e.create(person("Åsa", "Öhman-Ääri", obj{
		"email": "asa@example.fi", "language": "sv", "ssn": "131052-308T",
		"marketingEmail": true, "marketingSms": false, "creditAllowed": true,
		"externalId": "ext-1", "netvisorId": "nv-1",
		"customerCards": []string{"CARD-1", "CARD-2"},
		"addresses": []obj{
			{"type": "Invoice", "streetAddress1": "Mannerheimintie 1", "streetAddress2": "A 5", "postalCode": "00100", "city": "Helsinki"},
			{"type": "Delivery", "streetAddress1": "Storgatan 2", "postalCode": "11122", "city": "Stockholm", "country": "SE"},
		},
		"phoneNumbers": []string{"040 1234567", "+358 9 1234 5678"},
		"groups":       []string{"vip", "Zeta"},
		"eInvoice":     obj{"mode": "Email", "email": "laskut@example.fi"},
	}))
	f.firm = e.create(company("Kirjanpito & Co Oy", "0737546-2", obj{
		"vatNumber": "FI07375462", "vatStatus": 2, "email": "info@kirjanpito.fi", "marketingSms": true,
		"addresses":    []obj{{"type": "Invoice", "streetAddress1": "Teollisuuskatu 5", "postalCode": "00510", "city": "Helsinki"}},
		"phoneNumbers": []string{"+358 50 111 2222"},
		"groups":       []string{"b2b"},
		"eInvoice":     obj{"mode": "Broker", "broker": "003723327487", "address": "003707375462"},
	}))
	f.bare = e.create(person("Pelkkä", "Nimi", nil))
	f.restricted = e.create(person("Salainen", "Henkilö", obj{
		"email": "salainen@example.fi", "ssn": "010101A123N", "customerCards": []string{"R-1", "R-2", "R-3"}, "groups": []string{"vip"},
	}))
	e.want(e.do(req{method: http.MethodPut, path: "/v1/customers/" + f.restricted.ID + "/restriction", key: bootstrapSecret,
		body: obj{"reason": "asked"}}), http.StatusOK)
	// As the API shows them now, identity codes in full.
	f.full, f.firm, f.bare, f.restricted = e.customer(f.full.ID), e.customer(f.firm.ID), e.customer(f.bare.ID), e.customer(f.restricted.ID)
	return f
}

func TestExportEveryKindOfCustomer(t *testing.T) {
	e := newEnv(t)
	f := newExportFixture(e)

	s := e.export("", bootstrapSecret)
	want := append([]string{"number"}, exportFieldColumns...)
	want = append(want, "customerCard:1", "customerCard:2")
	for i := 1; i <= 2; i++ {
		for _, m := range []string{"type", "streetAddress1", "streetAddress2", "postalCode", "city", "country"} {
			want = append(want, "address:"+strconv.Itoa(i)+":"+m)
		}
	}
	want = append(want, "phoneNumber:1", "phoneNumber:2", "group:b2b", "group:vip", "group:Zeta")
	if !slices.Equal(s.header, want) {
		t.Fatalf("header\n got %q\nwant %q", s.header, want)
	}
	if got, want := s.numbers(), []int64{f.full.Number, f.firm.Number, f.bare.Number}; !slices.Equal(got, want) {
		t.Fatalf("rows of customers %v, want %v (number order, no restricted customer)", got, want)
	}
	for _, c := range []Customer{f.full, f.firm, f.bare} {
		s.checkRow(t, c)
	}
	// The traps a spreadsheet sets: a postal code and a phone number stay
	// text, leading zeros and all.
	row := s.row(t, f.full.Number)
	if c := row[s.col("address:1:postalCode")]; c.Text != "00100" || c.Kind != excel.String {
		t.Errorf("postal code cell %+v", c)
	}
	if c := row[s.col("phoneNumber:1")]; c.Text != "+358401234567" || c.Kind != excel.String {
		t.Errorf("phone cell %+v", c)
	}

	// With the restricted customers (admin) the sections grow to fit them.
	s = e.export("includeRestricted=true", bootstrapSecret)
	if s.col("customerCard:3") < 0 || s.col("ssn") >= 0 {
		t.Errorf("header with includeRestricted: %q", s.header)
	}
	if got, want := s.numbers(), []int64{f.full.Number, f.firm.Number, f.bare.Number, f.restricted.Number}; !slices.Equal(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	for _, c := range []Customer{f.full, f.firm, f.bare, f.restricted} {
		s.checkRow(t, c)
	}

	// Identity codes in full only with includeSsn.
	s = e.export("includeSsn=true&includeRestricted=true", bootstrapSecret)
	if i := s.col("ssn"); i != slices.Index(s.header, "language")+1 {
		t.Fatalf("ssn column at %d in %q", i, s.header)
	}
	for _, c := range []Customer{f.full, f.firm, f.bare, f.restricted} {
		s.checkRow(t, c)
	}
	if got := s.row(t, f.full.Number)[s.col("ssn")].Text; got != "131052-308T" {
		t.Errorf("ssn %q, want the code in full", got)
	}
}

func TestExportAccess(t *testing.T) {
	e := newEnv(t)
	f := newExportFixture(e)

	e.wantProblem(e.get(exportPath, ""), http.StatusUnauthorized, "")
	e.wantProblem(e.get(exportPath+"?includeRestricted=true", readerSecret), http.StatusForbidden, "")
	e.wantProblem(e.get(exportPath+"?includeRestricted=true", piiSecret), http.StatusForbidden, "")
	e.wantProblem(e.get(exportPath+"?includeSsn=true", readerSecret), http.StatusForbidden, "")
	e.wantProblem(e.get(exportPath+"?includeSsn=true", writerSecret), http.StatusForbidden, "")

	// A reader gets the file, without identity codes: the column is not
	// there at all, so that importing the file keeps them.
	s := e.export("", readerSecret)
	if s.col("ssn") >= 0 {
		t.Errorf("a reader's export has the ssn column: %q", s.header)
	}
	if len(s.rows) != 3 {
		t.Errorf("%d rows, want 3 (no restricted customer)", len(s.rows))
	}
	// pii:read with includeSsn: the codes in full.
	s = e.export("includeSsn=true", piiSecret)
	if got := s.row(t, f.full.Number)[s.col("ssn")].Text; got != "131052-308T" {
		t.Errorf("ssn %q with pii:read and includeSsn", got)
	}
	if got := s.row(t, f.bare.Number)[s.col("ssn")]; got.Kind != excel.Empty {
		t.Errorf("ssn of a customer without one: %+v", got)
	}
}

func TestExportFilters(t *testing.T) {
	e := newEnv(t)
	f := newExportFixture(e)
	tests := []struct {
		give string
		want []int64
	}{
		{"group=vip", []int64{f.full.Number}},
		{"group=vip&includeRestricted=true", []int64{f.full.Number, f.restricted.Number}},
		{"type=company", []int64{f.firm.Number}},
		{"q=pelkk%C3%A4", []int64{f.bare.Number}},
		{"email=ASA@example.fi", []int64{f.full.Number}},
		{"phone=0501112222", []int64{f.firm.Number}},
		{"businessId=0737546-2", []int64{f.firm.Number}},
		{"number=" + strconv.FormatInt(f.bare.Number, 10), []int64{f.bare.Number}},
		{"group=b2b&type=person", nil},
	}
	for _, tt := range tests {
		s := e.export(tt.give, bootstrapSecret)
		if got := s.numbers(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: customers %v, want %v", tt.give, got, tt.want)
		}
		// The sections are as wide as the exported set needs, and every
		// group has its column whatever the filter.
		if tt.give == "type=company" {
			if s.col("customerCard:1") >= 0 || s.col("phoneNumber:2") >= 0 || s.col("phoneNumber:1") < 0 || s.col("group:vip") < 0 {
				t.Errorf("type=company: header %q", s.header)
			}
		}
		if tt.want == nil && (len(s.header) != 1+len(exportFieldColumns)+3) {
			t.Errorf("an empty export: header %q, want the fields and the groups", s.header)
		}
	}
}

func TestExportRefusesHostileParameters(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		give, location string
	}{
		{"q=", "query.q"},
		{"q=%20%20", "query.q"},
		{"group=vip&group=b2b", "query.group"},
		{"type=person&type=company", "query.type"},
		{"type=robot", "query.type"},
		{"number=abc", "query.number"},
		{"number=0", "query.number"},
		{"includeSsn=maybe", "query.includeSsn"},
		{"includeSsn", "query.includeSsn"},
		{"includeRestricted=yes", "query.includeRestricted"},
		{"phone=not-a-phone", "query.phone"},
		{"businessId=1234567-8", "query.businessId"},
		{"systemId=99", "query.systemId"},
		{"identifier=abc", "query.systemId"},
		{"updatedSince=yesterday", "query.updatedSince"},
		{"limit=10", "query.limit"},
		{"cursor=abc", "query.cursor"},
		{"q=" + strings.Repeat("a", 201), "query.q"},
		{"q=%00", "query.q"},
	}
	for _, tt := range tests {
		r := e.get(exportPath+"?"+tt.give, bootstrapSecret)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422; body %s", tt.give, r.Status, r.Body)
			continue
		}
		e.wantProblem(r, http.StatusUnprocessableEntity, tt.location)
	}
}
