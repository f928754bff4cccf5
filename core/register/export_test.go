package register_test

import (
	"context"
	"errors"
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

// A customer that outgrows the columns between the plan and its page
// stops the export: writing it would drop an item that a re-import would
// then remove.
func TestExportRowsRefusesACustomerThatOutgrewItsColumns(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c, err := f.svc.Create(ctx, customer.Patch{FirstName: customer.Set("Aino"), LastName: customer.Set("Aalto"),
		PhoneNumbers: customer.Set([]string{"+358401234567"})}, user)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := f.svc.PlanExport(ctx, ports.CustomerQuery{}, register.ExportOptions{}, user)
	if err != nil {
		t.Fatal(err)
	}
	var rows []int64
	if err := f.svc.ExportRows(ctx, plan, func(d customer.Data) error { rows = append(rows, d.Number); return nil }, nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows, []int64{c.Number()}) || plan.Customers != 1 {
		t.Fatalf("rows %v, plan of %d", rows, plan.Customers)
	}
	if _, err := f.svc.Update(ctx, c.ID(), customer.Patch{PhoneNumbers: customer.Set([]string{"+358401234567", "+358501234567"})}, 0, user); err != nil {
		t.Fatal(err)
	}
	err = f.svc.ExportRows(ctx, plan, func(customer.Data) error { return nil }, nil)
	if !errors.Is(err, register.ErrExportShapeChanged) {
		t.Fatalf("ExportRows after the customer grew: %v", err)
	}
}

func TestPlanExportKeepsRestrictedCustomersFromCallersWhoMayNotSeeThem(t *testing.T) {
	f := setup(t)
	_, err := f.svc.PlanExport(context.Background(), ports.CustomerQuery{IncludeRestricted: true}, register.ExportOptions{}, user)
	if err == nil {
		t.Fatal("a caller without SeeRestricted planned an export of restricted customers")
	}
}
