package porttest

import (
	"fmt"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// ExportStores is what RunExport needs: a customer store and its export
// path (the same value).
type ExportStores struct {
	Customers ports.CustomerStore
	Export    ports.ExportStore
}

// RunExport is the contract of ports.ExportStore: the shape of a set is
// what paging through Find with the same query shows. open must hand back
// stores over an empty database.
func RunExport(t *testing.T, open func(t *testing.T) ExportStores) {
	t.Helper()
	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		got, err := s.Export.ExportShape(t.Context(), ports.CustomerQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got != (ports.ExportShape{}) {
			t.Errorf("ExportShape of an empty store = %+v, want zero", got)
		}
	})
	t.Run("AgreesWithFind", testExportShapeAgreesWithFind(open))
}

func testExportShapeAgreesWithFind(open func(t *testing.T) ExportStores) func(t *testing.T) {
	return func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		reg := register.New(s.Customers, newClock(), idSource{})
		for _, g := range []string{"vip", "b2b"} {
			if err := s.Customers.CreateGroup(ctx, customer.Group{ExternalID: g, Name: g}); err != nil {
				t.Fatal(err)
			}
		}
		addr := func(n int) []customer.Address {
			out := make([]customer.Address, n)
			for i := range out {
				out[i] = customer.Address{Type: customer.Delivery, StreetAddress1: fmt.Sprintf("Katu %d", i+1), PostalCode: "00100", City: "Helsinki"}
			}
			return out
		}
		phones := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("+35840123450%d", i)
			}
			return out
		}
		cards := func(prefix string, n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("%s-%d", prefix, i)
			}
			return out
		}
		create := func(p customer.Patch) *customer.Customer {
			t.Helper()
			c, err := reg.Create(ctx, p, admin)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			return c
		}
		create(customer.Patch{FirstName: customer.Set("Aino"), LastName: customer.Set("Aalto"), Email: customer.Set("aino@example.fi"),
			CustomerCards: customer.Set(cards("A", 2)), Addresses: customer.Set(addr(3)), PhoneNumbers: customer.Set(phones(1))})
		create(customer.Patch{Type: customer.Set(customer.Company), CompanyName: customer.Set("Bemari Oy"), BusinessID: customer.Set("2077474-0"), Email: customer.Set("info@bemari.fi"),
			Addresses: customer.Set(addr(1)), PhoneNumbers: customer.Set([]string{"+358501111111", "+358502222222", "+358503333333", "+358504444444"}),
			Groups: customer.Set([]string{"b2b"})})
		restricted := create(customer.Patch{FirstName: customer.Set("Cecilia"), LastName: customer.Set("Ceder"),
			CustomerCards: customer.Set(cards("C", 5)), Groups: customer.Set([]string{"vip"})})
		if _, err := reg.Restrict(ctx, restricted.ID(), true, 0, admin); err != nil {
			t.Fatal(err)
		}
		erased := create(customer.Patch{FirstName: customer.Set("Daniel"), LastName: customer.Set("Dahl"),
			CustomerCards: customer.Set(cards("D", 7)), Addresses: customer.Set(addr(6)), Groups: customer.Set([]string{"vip"})})
		if _, err := reg.Erase(ctx, erased.ID(), 0, admin); err != nil {
			t.Fatal(err)
		}
		vip := create(customer.Patch{FirstName: customer.Set("Eero"), LastName: customer.Set("Esko"), Email: customer.Set("eero@example.fi"),
			Groups: customer.Set([]string{"vip"}), PhoneNumbers: customer.Set(phones(2))})

		tests := []struct {
			give ports.CustomerQuery
			want ports.ExportShape
		}{
			{ports.CustomerQuery{}, ports.ExportShape{Customers: 3, CustomerCards: 2, Addresses: 3, PhoneNumbers: 4}},
			{ports.CustomerQuery{IncludeRestricted: true}, ports.ExportShape{Customers: 4, CustomerCards: 5, Addresses: 3, PhoneNumbers: 4}},
			{ports.CustomerQuery{Group: "vip"}, ports.ExportShape{Customers: 1, PhoneNumbers: 2}},
			{ports.CustomerQuery{Group: "vip", IncludeRestricted: true}, ports.ExportShape{Customers: 2, CustomerCards: 5, PhoneNumbers: 2}},
			{ports.CustomerQuery{Type: customer.Company}, ports.ExportShape{Customers: 1, Addresses: 1, PhoneNumbers: 4}},
			{ports.CustomerQuery{Q: "aino"}, ports.ExportShape{Customers: 1, CustomerCards: 2, Addresses: 3, PhoneNumbers: 1}},
			{ports.CustomerQuery{Email: "EERO@example.fi"}, ports.ExportShape{Customers: 1, PhoneNumbers: 2}},
			{ports.CustomerQuery{Number: vip.Number()}, ports.ExportShape{Customers: 1, PhoneNumbers: 2}},
			{ports.CustomerQuery{Group: "nobody"}, ports.ExportShape{}},
			// Limit and Cursor are the pages' business, not the set's.
			{ports.CustomerQuery{Limit: 1, Cursor: mustCursor(t, s.Customers)}, ports.ExportShape{Customers: 3, CustomerCards: 2, Addresses: 3, PhoneNumbers: 4}},
		}
		for _, tt := range tests {
			got, err := s.Export.ExportShape(ctx, tt.give)
			if err != nil {
				t.Fatalf("ExportShape(%+v): %v", tt.give, err)
			}
			if got != tt.want {
				t.Errorf("ExportShape(%+v) = %+v, want %+v", tt.give, got, tt.want)
			}
			q := tt.give
			q.Cursor, q.Limit = "", 2
			if seen := shapeByFind(t, s.Customers, q); seen != got {
				t.Errorf("ExportShape(%+v) = %+v, but paging through Find shows %+v", tt.give, got, seen)
			}
		}
	}
}

// mustCursor is the cursor after the first page of one customer.
func mustCursor(t *testing.T, s ports.CustomerStore) string {
	t.Helper()
	page, err := s.Find(t.Context(), ports.CustomerQuery{Limit: 1})
	if err != nil || page.NextCursor == "" {
		t.Fatalf("Find: %v, cursor %q", err, page.NextCursor)
	}
	return page.NextCursor
}

// shapeByFind is the shape of what Find lists, page by page.
func shapeByFind(t *testing.T, s ports.CustomerStore, q ports.CustomerQuery) ports.ExportShape {
	t.Helper()
	var shape ports.ExportShape
	for {
		page, err := s.Find(t.Context(), q)
		if err != nil {
			t.Fatalf("Find(%+v): %v", q, err)
		}
		for _, c := range page.Items {
			d := c.Data()
			shape.Customers++
			shape.CustomerCards = max(shape.CustomerCards, len(d.CustomerCards))
			shape.Addresses = max(shape.Addresses, len(d.Addresses))
			shape.PhoneNumbers = max(shape.PhoneNumbers, len(d.PhoneNumbers))
		}
		if page.NextCursor == "" {
			return shape
		}
		q.Cursor = page.NextCursor
	}
}
