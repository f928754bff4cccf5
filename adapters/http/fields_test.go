package httpapi

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"kirjuri/core/customer"
)

// jsonTags are the JSON member names of a struct's fields.
func jsonTags(v any) []string {
	t := reflect.TypeOf(v)
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// TestWireTypesFollowTheFieldTable keeps the documented bodies (the wire
// types of the OpenAPI document) in step with the core's field table, which
// decodes them: a field added to one and not the other fails here.
func TestWireTypesFollowTheFieldTable(t *testing.T) {
	var top, eInvoice, address []string
	for _, f := range customer.Fields() {
		obj, member, nested := strings.Cut(f.Name, ".")
		switch {
		case nested && obj == "eInvoice":
			eInvoice = append(eInvoice, member)
		case nested:
			t.Errorf("field %s is in an object the wire types do not know", f.Name)
		default:
			top = append(top, f.Name)
		}
		if f.Name == "addresses" {
			address = slices.Clone(f.Members)
		}
	}
	top = append(top, "eInvoice")
	slices.Sort(top)
	slices.Sort(eInvoice)
	slices.Sort(address)

	for _, tt := range []struct {
		name string
		wire any
		want []string
	}{
		{"CustomerWrite", CustomerWrite{}, top},
		{"CustomerPatch", CustomerPatch{}, top},
		{"EInvoiceWrite", EInvoiceWrite{}, eInvoice},
		{"EInvoicePatch", EInvoicePatch{}, eInvoice},
		{"EInvoice", EInvoice{}, eInvoice},
		{"AddressWrite", AddressWrite{}, address},
		{"Address", Address{}, address},
	} {
		if got := jsonTags(tt.wire); !slices.Equal(got, tt.want) {
			t.Errorf("%s members = %v, the field table has %v", tt.name, got, tt.want)
		}
	}
	// The customer as shown has every writable member and the read-only ones.
	shown := jsonTags(Customer{})
	want := slices.Clone(top)
	for n := range readOnlyMembers {
		want = append(want, n)
	}
	slices.Sort(want)
	if !slices.Equal(shown, want) {
		t.Errorf("Customer members = %v, want the table's and the read-only %v", shown, want)
	}
}

// The decoder's bound on problems is the problem's.
func TestDecodeBoundIsTheProblemBound(t *testing.T) {
	if customer.MaxDecodeProblems != maxDetails {
		t.Errorf("customer.MaxDecodeProblems = %d, maxDetails = %d", customer.MaxDecodeProblems, maxDetails)
	}
}
