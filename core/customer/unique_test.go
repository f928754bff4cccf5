package customer_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/customer"
)

func TestUniqueValues(t *testing.T) {
	id := uuid.MustParse("01234567-89ab-cdef-0123-456789abcdef")
	d := customer.Data{ID: id, Number: 10042, Email: "Matti@Example.fi", ExternalID: "ext-1", SSN: "131052-308T",
		CustomerCards:   []string{"C-1", "C-2"},
		ExternalSystems: []customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "17"}}}
	var got []string
	for _, v := range customer.UniqueValues(d) {
		got = append(got, v.Field+"="+v.Value)
	}
	want := []string{"id=" + id.String(), "number=10042", "email=matti@example.fi", "externalId=ext-1",
		"ssn=131052-308T", "customerCards=C-1", "customerCards=C-2", "externalSystems=6/17"}
	if !slices.Equal(got, want) {
		t.Errorf("UniqueValues\n got %q\nwant %q", got, want)
	}
	// Empty optional values are not claimed.
	if n := len(customer.UniqueValues(customer.Data{ID: id, Number: 1})); n != 2 {
		t.Errorf("a bare customer claims %d values, want its id and number", n)
	}
}
