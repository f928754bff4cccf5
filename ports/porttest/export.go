package porttest

import (
	"fmt"
	"reflect"
	"slices"
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

// RunExport is the contract of ports.ExportStore: the shape and the rows
// of a set are what paging through Find with the same query shows, in
// number order, read as one snapshot that no change committed meanwhile
// reaches. open must hand back stores over an empty database.
func RunExport(t *testing.T, open func(t *testing.T) ExportStores) {
	t.Helper()
	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		shape, rows := export(t, s.Export, ports.ExportQuery{})
		if !reflect.DeepEqual(shape, ports.ExportShape{}) || len(rows) != 0 {
			t.Errorf("Export of an empty store: shape %+v, %d rows; want zero", shape, len(rows))
		}
	})
	t.Run("AgreesWithFind", testExportAgreesWithFind(open))
	t.Run("IdentityCodesOnlyWhenAsked", testExportSSN(open))
	t.Run("OneSnapshot", testExportSnapshot(open))
	t.Run("StopsAtTheFirstError", testExportStops(open))
}

// export runs an export and keeps what it hands over.
func export(t *testing.T, s ports.ExportStore, q ports.ExportQuery) (ports.ExportShape, []customer.Data) {
	t.Helper()
	var (
		shape   ports.ExportShape
		started int
		rows    []customer.Data
	)
	err := s.Export(t.Context(), q, func(sh ports.ExportShape) error {
		if len(rows) > 0 {
			t.Error("Export called start after a row")
		}
		shape = sh
		started++
		return nil
	}, func(c *customer.Customer) error {
		rows = append(rows, c.Data())
		return nil
	})
	if err != nil {
		t.Fatalf("Export(%+v): %v", q, err)
	}
	if started != 1 {
		t.Fatalf("Export(%+v) called start %d times", q, started)
	}
	return shape, rows
}

func testExportAgreesWithFind(open func(t *testing.T) ExportStores) func(t *testing.T) {
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

		groups := []string{"b2b", "vip"}
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
			{ports.CustomerQuery{Number: erased.Number(), IncludeRestricted: true}, ports.ExportShape{}},
			{ports.CustomerQuery{Group: "nobody"}, ports.ExportShape{}},
			// Limit and Cursor are the pages' business, not the set's.
			{ports.CustomerQuery{Limit: 1, Cursor: mustCursor(t, s.Customers)}, ports.ExportShape{Customers: 3, CustomerCards: 2, Addresses: 3, PhoneNumbers: 4}},
		}
		for _, tt := range tests {
			tt.want.Groups = groups
			shape, rows := export(t, s.Export, ports.ExportQuery{CustomerQuery: tt.give, WithSSN: true})
			if !reflect.DeepEqual(shape, tt.want) {
				t.Errorf("Export(%+v): shape %+v, want %+v", tt.give, shape, tt.want)
			}
			q := tt.give
			q.Cursor, q.Limit = "", 2
			found := listByFind(t, s.Customers, q)
			if !reflect.DeepEqual(rows, found) {
				t.Errorf("Export(%+v) rows %v, but paging through Find lists %v", tt.give, numbers(rows), numbers(found))
			}
			if int64(len(rows)) != shape.Customers {
				t.Errorf("Export(%+v): %d rows, shape says %d", tt.give, len(rows), shape.Customers)
			}
			for _, d := range rows {
				if d.ErasedAt != nil || (d.GDPRRestricted && !tt.give.IncludeRestricted) {
					t.Errorf("Export(%+v) handed over customer %d (erased %v, restricted %v)", tt.give, d.Number, d.ErasedAt != nil, d.GDPRRestricted)
				}
			}
		}
	}
}

// testExportSSN: identity codes are read only when asked for.
func testExportSSN(open func(t *testing.T) ExportStores) func(t *testing.T) {
	return func(t *testing.T) {
		s := open(t)
		reg := register.New(s.Customers, newClock(), idSource{})
		if _, err := reg.Create(t.Context(), customer.Patch{FirstName: customer.Set("Aino"), LastName: customer.Set("Aalto"),
			SSN: customer.Set(hetu1)}, admin); err != nil {
			t.Fatal(err)
		}
		_, with := export(t, s.Export, ports.ExportQuery{WithSSN: true})
		_, without := export(t, s.Export, ports.ExportQuery{})
		if len(with) != 1 || with[0].SSN == "" {
			t.Fatalf("with the identity codes: %+v", with)
		}
		if len(without) != 1 || without[0].SSN != "" {
			t.Errorf("without the identity codes, the row still has %q", without[0].SSN)
		}
	}
}

// testExportSnapshot changes the set while an export runs, from another
// connection, both after the shape and after the first row: the export
// shows the set as it was, whole, and the shape fits every row.
func testExportSnapshot(open func(t *testing.T) ExportStores) func(t *testing.T) {
	return func(t *testing.T) {
		s := open(t)
		ctx := t.Context()
		reg := register.New(s.Customers, newClock(), idSource{})
		var before []*customer.Customer
		for i := range 5 {
			c, err := reg.Create(ctx, customer.Patch{FirstName: customer.Set(fmt.Sprintf("Etu%d", i)), LastName: customer.Set("Suku"),
				PhoneNumbers: customer.Set([]string{fmt.Sprintf("+35840100000%d", i)})}, admin)
			if err != nil {
				t.Fatal(err)
			}
			before = append(before, c)
		}
		want := listByFind(t, s.Customers, ports.CustomerQuery{Limit: 100})

		var (
			shape ports.ExportShape
			rows  []customer.Data
		)
		err := s.Export.Export(ctx, ports.ExportQuery{WithSSN: true}, func(sh ports.ExportShape) error {
			shape = sh
			// Committed after the snapshot: a customer gains a phone (it
			// would no longer fit the shape), one is erased, one is
			// restricted, one is new, and a group appears.
			if _, err := reg.Update(ctx, before[1].ID(), customer.Patch{PhoneNumbers: customer.Set([]string{"+358401000001", "+358501000001"})}, 0, admin); err != nil {
				return err
			}
			if _, err := reg.Erase(ctx, before[2].ID(), 0, admin); err != nil {
				return err
			}
			if _, err := reg.Restrict(ctx, before[3].ID(), true, 0, admin); err != nil {
				return err
			}
			if _, err := reg.Create(ctx, customer.Patch{FirstName: customer.Set("Uusi"), LastName: customer.Set("Asiakas")}, admin); err != nil {
				return err
			}
			return s.Customers.CreateGroup(ctx, customer.Group{ExternalID: "late", Name: "late"})
		}, func(c *customer.Customer) error {
			rows = append(rows, c.Data())
			if len(rows) == 1 {
				// And one while the rows stream, on a customer not yet
				// handed over.
				_, err := reg.Update(ctx, before[4].ID(), customer.Patch{LastName: customer.Set("Muutettu"),
					PhoneNumbers: customer.Set([]string{"+358401000004", "+358501000004", "+358451000004"})}, 0, admin)
				return err
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Export while the set changes: %v", err)
		}
		if wantShape := (ports.ExportShape{Customers: 5, PhoneNumbers: 1}); !reflect.DeepEqual(shape, wantShape) {
			t.Errorf("shape %+v, want %+v (as before the changes)", shape, wantShape)
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("rows seen during changes: numbers %v versions %v, want %v versions %v (as before the changes)",
				numbers(rows), versions(rows), numbers(want), versions(want))
		}
		// The changes were made, and a new export sees them.
		shape, rows = export(t, s.Export, ports.ExportQuery{})
		if shape.Customers != 4 || shape.PhoneNumbers != 3 || !slices.Equal(shape.Groups, []string{"late"}) || len(rows) != 4 {
			t.Errorf("after the changes: shape %+v, rows %v", shape, numbers(rows))
		}
	}
}

// testExportStops: an error of start or row ends the export with it.
func testExportStops(open func(t *testing.T) ExportStores) func(t *testing.T) {
	return func(t *testing.T) {
		s := open(t)
		reg := register.New(s.Customers, newClock(), idSource{})
		for i := range 3 {
			if _, err := reg.Create(t.Context(), customer.Patch{FirstName: customer.Set(fmt.Sprintf("Etu%d", i)), LastName: customer.Set("Suku")}, admin); err != nil {
				t.Fatal(err)
			}
		}
		stop := fmt.Errorf("test: stop")
		rows := 0
		err := s.Export.Export(t.Context(), ports.ExportQuery{}, func(ports.ExportShape) error { return stop },
			func(*customer.Customer) error { rows++; return nil })
		if err != stop || rows != 0 {
			t.Errorf("start failed: Export = %v after %d rows", err, rows)
		}
		err = s.Export.Export(t.Context(), ports.ExportQuery{}, func(ports.ExportShape) error { return nil },
			func(*customer.Customer) error {
				if rows++; rows == 2 {
					return stop
				}
				return nil
			})
		if err != stop || rows != 2 {
			t.Errorf("row failed: Export = %v after %d rows", err, rows)
		}
		// The store is still usable (no transaction or lock left behind).
		if _, rows := export(t, s.Export, ports.ExportQuery{}); len(rows) != 3 {
			t.Errorf("after the failures: %d rows", len(rows))
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

// listByFind is what Find lists, page by page.
func listByFind(t *testing.T, s ports.CustomerStore, q ports.CustomerQuery) []customer.Data {
	t.Helper()
	var out []customer.Data
	for {
		page, err := s.Find(t.Context(), q)
		if err != nil {
			t.Fatalf("Find(%+v): %v", q, err)
		}
		for _, c := range page.Items {
			out = append(out, c.Data())
		}
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
}

func versions(ds []customer.Data) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Version
	}
	return out
}

func numbers(ds []customer.Data) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.Number
	}
	return out
}
