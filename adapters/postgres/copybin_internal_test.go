package postgres

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/core/customer"
)

// CopyTuples appends ds to buf as WriteBatch encodes new customers: binary
// COPY tuples of writeColumns (for the external benchmark).
func (s *Store) CopyTuples(buf []byte, ds []customer.Data) ([]byte, error) {
	for i := range ds {
		r, err := s.rowSource(&ds[i])
		if err != nil {
			return nil, err
		}
		buf = appendCustomerTuple(buf, &r, false, 0)
	}
	return buf, nil
}

// PgxCopyTuples appends ds to buf as pgx's CopyFrom encoded them before:
// writeArgs, then each value through pgx's type map in binary
// (pgx.CopyFromRows; encodeCopyValue) under its column's type.
func (s *Store) PgxCopyTuples(m *pgtype.Map, buf []byte, ds []customer.Data) ([]byte, error) {
	for _, d := range ds {
		args, err := s.writeArgs(d)
		if err != nil {
			return nil, err
		}
		buf = appendInt16(buf, int16(len(args)))
		for i, a := range args {
			at := len(buf)
			buf = appendInt32(buf, -1)
			out, err := m.Encode(writeColumnOIDs[writeColumns[i]], pgtype.BinaryFormatCode, a, buf)
			if err != nil {
				return nil, err
			}
			if out != nil {
				buf = setFieldLength(out, at)
			}
		}
	}
	return buf, nil
}

// writeColumnOIDs are the types of writeColumns (\d customers), as pgx
// learnt them by describing the table.
var writeColumnOIDs = map[string]uint32{
	"id": pgtype.UUIDOID, "number": pgtype.Int8OID, "type": pgtype.TextOID, "first_name": pgtype.TextOID,
	"last_name": pgtype.TextOID, "company_name": pgtype.TextOID, "business_id": pgtype.TextOID,
	"vat_number": pgtype.TextOID, "vat_status": pgtype.Int2OID, "email": pgtype.TextOID,
	"language": pgtype.TextOID, "ssn_enc": pgtype.ByteaOID, "ssn_hash": pgtype.ByteaOID,
	"marketing_email": pgtype.BoolOID, "marketing_sms": pgtype.BoolOID, "gdpr_restricted": pgtype.BoolOID,
	"credit_allowed": pgtype.BoolOID, "external_id": pgtype.TextOID, "netvisor_id": pgtype.TextOID,
	"external_systems": pgtype.JSONBOID, "customer_cards": pgtype.TextArrayOID, "groups": pgtype.TextArrayOID,
	"addresses": pgtype.JSONBOID, "phone_numbers": pgtype.TextArrayOID, "e_invoice": pgtype.JSONBOID,
	"contacts": pgtype.JSONBOID, "version": pgtype.Int8OID, "created_at": pgtype.TimestamptzOID,
	"updated_at": pgtype.TimestamptzOID, "erased_at": pgtype.TimestamptzOID, "search": pgtype.TextOID,
}

func TestWriteColumnOIDsCoverEveryColumn(t *testing.T) {
	if len(writeColumnOIDs) != len(writeColumns) {
		t.Errorf("writeColumnOIDs has %d columns, writeColumns %d", len(writeColumnOIDs), len(writeColumns))
	}
	for _, c := range writeColumns {
		if _, ok := writeColumnOIDs[c]; !ok {
			t.Errorf("writeColumnOIDs lacks %s", c)
		}
	}
}

// listData holds list values that JSON must escape or leave out.
func listData() []customer.Data {
	return []customer.Data{
		{},
		{
			ExternalSystems: []customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: `wc "1" \ 2`}, {SystemID: 0, Identifier: ""}},
			Addresses: []customer.Address{
				{Type: customer.Invoice},
				{Type: customer.Delivery, StreetAddress1: "Hämeenkatu 1\tB", StreetAddress2: "c/o <Öhman> & \u2028 \U0001F600",
					PostalCode: "33100", City: "Tampere\n", Country: "FI"},
			},
			EInvoice: customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "003721291126", Address: "FI21\x01\x1f", Email: "a@b.fi"},
			Contacts: []customer.Contact{
				{ID: uuid.MustParse("0192f0c1-7a3b-7c4d-8e5f-6a7b8c9d0e1f"), Name: "Maija \"M\" Mallikas", Role: "talous\\johtaja", Email: "m@e.fi", Phone: "+358501112223"},
				{ID: uuid.New(), Name: "Ville"},
			},
		},
		{
			Addresses: []customer.Address{{Type: customer.Invoice, City: "bad \xff\xfe utf-8 \xe2\x82"}},
			EInvoice:  customer.EInvoice{Mode: customer.EInvoiceEmail, Email: "laskut@esimerkki.fi"},
		},
	}
}

// TestListJSONMatchesEncodingJSON holds the hand-written JSON of the list
// columns to what encoding/json makes of their shapes (linkJSON and the
// others, whose tags decodeListsJSON reads), as JSON values: jsonb keeps
// values, not spelling.
func TestListJSONMatchesEncodingJSON(t *testing.T) {
	for i, d := range listData() {
		links := make([]linkJSON, len(d.ExternalSystems))
		for j, l := range d.ExternalSystems {
			links[j] = linkJSON{SystemID: int(l.SystemID), Identifier: l.Identifier}
		}
		addrs := make([]addressJSON, len(d.Addresses))
		for j, a := range d.Addresses {
			addrs[j] = addressJSON{Type: string(a.Type), StreetAddress1: a.StreetAddress1, StreetAddress2: a.StreetAddress2,
				PostalCode: a.PostalCode, City: a.City, Country: a.Country}
		}
		contacts := make([]contactJSON, len(d.Contacts))
		for j, c := range d.Contacts {
			contacts[j] = contactJSON{ID: c.ID, Name: c.Name, Role: c.Role, Email: c.Email, Phone: c.Phone}
		}
		ei := eInvoiceJSON{Mode: string(d.EInvoice.Mode), Broker: d.EInvoice.Broker, Address: d.EInvoice.Address, Email: d.EInvoice.Email}
		tests := []struct {
			name string
			give func([]byte, *customer.Data) []byte
			want any
		}{
			{"external_systems", appendLinksJSON, links},
			{"addresses", appendAddressesJSON, addrs},
			{"e_invoice", appendEInvoiceJSON, ei},
			{"contacts", appendContactsJSON, contacts},
		}
		for _, tt := range tests {
			got := tt.give([]byte("x"), &d)[1:] // appends, after what b holds
			want, err := json.Marshal(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Errorf("data %d, %s: %s is not JSON: %v", i, tt.name, got, err)
				continue
			}
			if err := json.Unmarshal(want, &wantV); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotV, wantV) {
				t.Errorf("data %d, %s:\n got %s\nwant %s", i, tt.name, got, want)
			}
		}
	}
}

// oldSearchText is searchText as it was written first: the reference.
func oldSearchText(d customer.Data) string {
	if d.ErasedAt != nil {
		return ""
	}
	var parts []string
	for _, s := range []string{d.FirstName, d.LastName, d.CompanyName, d.Email} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	for _, p := range d.PhoneNumbers {
		parts = append(parts, p, strings.TrimPrefix(p, "+"))
	}
	parts = append(parts, strconv.FormatInt(d.Number, 10))
	return strings.ToLower(strings.Join(parts, " "))
}

func TestAppendSearchMatchesToLowerJoin(t *testing.T) {
	erased := time.Unix(0, 0)
	tests := []customer.Data{
		{Number: 10000},
		{Number: 12, FirstName: "ÄIJÄ", LastName: "Öhman-ÅBERG", Email: "A.B@Example.FI", PhoneNumbers: []string{"+358401234567", "0401234567"}},
		{Number: -3, CompanyName: "İstanbul ΣΟΦΙΑ Straße \xff\xe2\x82 X", PhoneNumbers: []string{"", "+"}},
		{Number: 7, FirstName: "Erased", ErasedAt: &erased},
	}
	for _, d := range tests {
		got := string(appendSearch([]byte("prefix"), &d))
		if want := "prefix" + oldSearchText(d); got != want {
			t.Errorf("appendSearch(%q) = %q, want %q", d.FirstName+d.CompanyName, got, want)
		}
	}
}

func TestCopyHeaderAndData(t *testing.T) {
	if len(copyHeader) != 19 || !bytes.HasPrefix(copyHeader, []byte("PGCOPY\n\377\r\n\000")) {
		t.Errorf("copyHeader = %q", copyHeader)
	}
	// Reads fill across parts, whatever the size of the reader's buffer.
	want := bytes.Repeat([]byte("0123456789"), 50)
	for _, size := range []int{1, 7, 64, 1000} {
		r := &copyData{parts: [][]byte{want[:3], nil, want[3:200], want[200:]}}
		var got []byte
		p := make([]byte, size)
		for {
			n, err := r.Read(p)
			got = append(got, p[:n]...)
			if err != nil {
				break
			}
			if n < size {
				t.Errorf("size %d: read %d bytes with more to come", size, n)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("size %d: read %q", size, got)
		}
	}
}
