package excel

import (
	"bytes"
	"testing"

	"kirjuri/core/customer"
)

// The customer sheet writes each column as the cell kind the importer
// reads back, and Flush pushes rows out without spoiling the file.
func TestCustomerSheet(t *testing.T) {
	var cols []customer.Column
	for _, h := range []string{"number", "firstName", "vatStatus", "marketingEmail", "phoneNumber:1", "address:1:postalCode", "group:vip"} {
		c, err := customer.ParseColumn(h)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	var out bytes.Buffer
	s, err := NewCustomerSheets().NewCustomerSheet(&out, cols)
	if err != nil {
		t.Fatal(err)
	}
	d := customer.Data{Number: 10042, FirstName: "Aino", VATStatus: 1, MarketingEmail: true,
		PhoneNumbers: []string{"+358401234567"}, Addresses: []customer.Address{{PostalCode: "00100"}}, Groups: []string{"b2b"}}
	if err := s.Write(d); err != nil {
		t.Fatal(err)
	}
	before := out.Len()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if out.Len() <= before {
		t.Errorf("Flush wrote nothing (%d bytes before, %d after)", before, out.Len())
	}
	if err := s.Write(customer.Data{Number: 10043}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var rows []Row
	for rd.Next() {
		r := rd.Row()
		rows = append(rows, Row{Number: r.Number, Cells: append([]Cell(nil), r.Cells...)})
	}
	if err := rd.Err(); err != nil || len(rows) != 3 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	want := []Cell{
		{Text: "10042", Kind: Number, Format: "General"}, {Text: "Aino", Kind: String}, {Text: "1", Kind: Number, Format: "General"},
		{Text: "TRUE", Kind: Bool}, {Text: "+358401234567", Kind: String}, {Text: "00100", Kind: String}, {Text: "FALSE", Kind: Bool},
	}
	for i, w := range want {
		if g := rows[1].Cells[i]; g != w {
			t.Errorf("column %s: %+v, want %+v", cols[i].Name(), g, w)
		}
	}
	if got := rows[2].Cells; len(got) != 7 || got[1].Kind != Empty || got[4].Kind != Empty || got[6].Text != "FALSE" {
		t.Errorf("a bare customer: %+v", got)
	}
}
