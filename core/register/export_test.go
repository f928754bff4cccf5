package register_test

import (
	"context"
	"slices"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

func exportNames(cols []customer.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name()
	}
	return out
}

func TestExportColumns(t *testing.T) {
	shape := ports.ExportShape{Customers: 9, CustomerCards: 1, Addresses: 1, PhoneNumbers: 2}
	got := exportNames(register.ExportColumns(shape, []string{"zeta", "B2B", "alpha"}, false))
	want := []string{"number", "type", "firstName", "lastName", "companyName", "businessId", "vatNumber", "vatStatus",
		"email", "language", "marketingEmail", "marketingSms", "gdprRestricted", "creditAllowed", "externalId", "netvisorId",
		"eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress", "einvoiceEmail",
		"customerCard:1",
		"address:1:type", "address:1:streetAddress1", "address:1:streetAddress2", "address:1:postalCode", "address:1:city", "address:1:country",
		"phoneNumber:1", "phoneNumber:2",
		"group:alpha", "group:B2B", "group:zeta"}
	if !slices.Equal(got, want) {
		t.Errorf("columns\n got %q\nwant %q", got, want)
	}
	// Every column reads back as the column it is.
	for _, name := range got {
		c, err := customer.ParseColumn(name)
		if err != nil || c.Name() != name {
			t.Errorf("ParseColumn(%q) = %q, %v", name, c.Name(), err)
		}
	}
	withSSN := exportNames(register.ExportColumns(ports.ExportShape{}, nil, true))
	if i := slices.Index(withSSN, "ssn"); i != slices.Index(withSSN, "language")+1 || slices.ContainsFunc(withSSN, func(s string) bool {
		return s == "customerCard:1" || s == "phoneNumber:1"
	}) {
		t.Errorf("with ssn and an empty shape: %q", withSSN)
	}
}

// The export is one snapshot: a customer that gains a phone number after
// the plan is written as it was, in columns that fit it (the paging
// export failed here), and a customer created meanwhile is not in it.
func TestExportIsOneSnapshot(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Aino"), LastName: customer.Set("Aalto"),
		PhoneNumbers: customer.Set([]string{"+358401234567"})}, user)
	if err != nil {
		t.Fatal(err)
	}
	var (
		plan *register.ExportPlan
		rows []customer.Data
	)
	err = f.svc.Export(ctx, ports.CustomerQuery{}, register.ExportOptions{}, user, func(p *register.ExportPlan) error {
		plan = p
		if _, err := f.svc.Update(ctx, c.ID(), customer.Patch{PhoneNumbers: customer.Set([]string{"+358401234567", "+358501234567"})}, 0, user); err != nil {
			return err
		}
		_, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Uusi"), LastName: customer.Set("Asiakas")}, user)
		return err
	}, func(d customer.Data) error { rows = append(rows, d); return nil })
	if err != nil {
		t.Fatalf("Export while a customer changes: %v", err)
	}
	if plan.Customers != 1 || len(rows) != 1 || rows[0].Number != c.Number() || len(rows[0].PhoneNumbers) != 1 {
		t.Fatalf("plan of %d, rows %+v", plan.Customers, rows)
	}
	if names := exportNames(plan.Columns); !slices.Contains(names, "phoneNumber:1") || slices.Contains(names, "phoneNumber:2") {
		t.Errorf("columns %q", names)
	}
}

// The export's query is checked as Find's: restricted customers only for
// a caller who may see them, and a bad filter before anything is read.
func TestExportChecksTheQueryAsFind(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	for _, tt := range []struct {
		q      ports.CustomerQuery
		caller register.Caller
	}{
		{ports.CustomerQuery{IncludeRestricted: true}, user},
		{ports.CustomerQuery{Identifier: "x"}, admin},
		{ports.CustomerQuery{Type: "robot"}, admin},
	} {
		started := false
		err := f.svc.Export(ctx, tt.q, register.ExportOptions{}, tt.caller,
			func(*register.ExportPlan) error { started = true; return nil }, func(customer.Data) error { return nil })
		if err == nil || started {
			t.Errorf("Export(%+v) by %+v: %v (started %v), want refused before the plan", tt.q, tt.caller, err, started)
		}
	}
	// Restricted customers with the admin scope, erased ones never.
	restricted, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Rauha"), LastName: customer.Set("Rajattu")}, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Restrict(ctx, restricted.ID(), true, 0, admin); err != nil {
		t.Fatal(err)
	}
	erased, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Eetu"), LastName: customer.Set("Poistettu")}, user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Erase(ctx, erased.ID(), 0, admin); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		q    ports.CustomerQuery
		want []int64
	}{
		{ports.CustomerQuery{}, nil},
		{ports.CustomerQuery{IncludeRestricted: true}, []int64{restricted.Number()}},
	} {
		var got []int64
		if err := f.svc.Export(ctx, tt.q, register.ExportOptions{}, admin, func(*register.ExportPlan) error { return nil },
			func(d customer.Data) error { got = append(got, d.Number); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Export(%+v): %v, want %v", tt.q, got, tt.want)
		}
	}
}

// Identity codes only with IncludeSSN.
func TestExportIdentityCodesOnlyWhenAsked(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	if _, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Aino"), LastName: customer.Set("Aalto"),
		SSN: customer.Set("131052-308T")}, user); err != nil {
		t.Fatal(err)
	}
	for _, include := range []bool{false, true} {
		var ssn string
		var cols []string
		err := f.svc.Export(ctx, ports.CustomerQuery{}, register.ExportOptions{IncludeSSN: include}, user,
			func(p *register.ExportPlan) error { cols = exportNames(p.Columns); return nil },
			func(d customer.Data) error { ssn = d.SSN; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if (ssn != "") != include || slices.Contains(cols, "ssn") != include {
			t.Errorf("IncludeSSN %v: ssn %q, columns have ssn: %v", include, ssn, slices.Contains(cols, "ssn"))
		}
	}
}
