package postgres

import (
	"reflect"
	"testing"

	"kirjuri/core/customer"
)

// listColumns are inputs for each list column, in decodeLists' order: the
// forms PostgreSQL prints (jsonb puts a space after ':' and ',' and sorts
// the keys by length), and forms only encoding/json reads or refuses.
var listColumns = [4][]string{
	{`[]`, `[ ]`, `[{"systemId": 1, "identifier": "A-1"}]`, `[{"identifier":"x","systemId":12},{"systemId": 2, "identifier": ""}]`,
		`[{"systemId": -1, "identifier": "x"}]`, `[{"systemId": 01, "identifier": "x"}]`, `[{"systemId": 1.5}]`, `[{"systemId": 1234567890123}]`,
		`[{"SystemID": 1, "identifier": "x"}]`, `null`, `[`, `[1]`, `[{"systemId": 1}] x`, ``},
	{`[]`, `[ ]`, `[{}]`, `[{"city": "Helsinki", "type": "invoice", "country": "FI", "postalCode": "00100", "streetAddress1": "Mannerheimintie 1 A 2"}]`,
		`[{"city": "Åbo", "type": "delivery", "streetAddress1": "Läntinen Rantakatu 5"}, {"type": "invoice", "streetAddress2": "c/o \"Oy\""}]`,
		`[{"city": "Tampere\u00e4"}]`, `[{"city": "a\tb"}]`, "[{\"city\": \"\xff\"}]", `[{"city": null}]`, `[{"city": 1}]`, `[{"Type": "invoice"}]`,
		`[{"type": "invoice", "type": "delivery"}]`, `[{"type": "invoice"},]`, `[{"type": "invoice"} {"type": "x"}]`, `[{"type" "x"}]`, `{}`},
	{`{}`, `{ }`, `{"mode": "einvoice", "broker": "003721291126", "address": "003712345678"}`, `{"email": "lasku@example.fi", "mode": "email"}`,
		`{"mode": "x\\y"}`, `{"mode": true}`, `{"extra": "x"}`, `[]`, `{"mode": "a"`, `null`},
	{`[]`, `[ ]`, `[{"id": "0192d4e0-0000-7000-8000-000000000001", "name": "Maija", "role": "talous"}]`, `null`, `{}`},
}

// decodeLists (the fast path, falling back to encoding/json) reads every
// input exactly as decodeListsJSON (encoding/json alone) does: the same
// data, or an error in both.
func TestDecodeListsAgreesWithEncodingJSON(t *testing.T) {
	defaults := [4]string{`[]`, `[]`, `{}`, `[]`}
	for col, inputs := range listColumns {
		for _, in := range inputs {
			args := defaults
			args[col] = in
			checkDecodeLists(t, args)
		}
	}
}

func checkDecodeLists(t *testing.T, args [4]string) {
	t.Helper()
	var fast, slow customer.Data
	errFast := decodeLists(&fast, []byte(args[0]), []byte(args[1]), []byte(args[2]), []byte(args[3]))
	errSlow := decodeListsJSON(&slow, []byte(args[0]), []byte(args[1]), []byte(args[2]), []byte(args[3]))
	if (errFast != nil) != (errSlow != nil) {
		t.Fatalf("%q: decodeLists error %v, encoding/json error %v", args, errFast, errSlow)
	}
	if errFast == nil && !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%q:\ndecodeLists  %+v\nencoding/json %+v", args, fast, slow)
	}
}

// The fast path is taken for what PostgreSQL prints (else it is no
// faster).
func TestDecodeListsFastPathTakesTheCommonForms(t *testing.T) {
	if _, ok := fastAddresses([]byte(listColumns[1][3])); !ok {
		t.Error("addresses")
	}
	if _, ok := fastAddresses([]byte(listColumns[1][4])); ok {
		t.Error("an escaped quote took the fast path")
	}
	if _, ok := fastLinks([]byte(listColumns[0][3])); !ok {
		t.Error("links")
	}
	if _, ok := fastEInvoice([]byte(listColumns[2][2])); !ok {
		t.Error("e-invoice")
	}
}

func FuzzDecodeLists(f *testing.F) {
	for col, inputs := range listColumns {
		for _, in := range inputs {
			f.Add(uint8(col), in)
		}
	}
	f.Fuzz(func(t *testing.T, col uint8, in string) {
		args := [4]string{`[]`, `[]`, `{}`, `[]`}
		args[col%4] = in
		checkDecodeLists(t, args)
	})
}
