package register

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/ports"
)

// ExportOptions say what a spreadsheet export holds besides the customers
// the query finds.
type ExportOptions struct {
	// IncludeSSN writes the ssn column. The door decides who may ask for
	// it (the API: the pii:read scope); without it the column is left out,
	// so that importing the file again keeps every identity code.
	IncludeSSN bool
}

// ExportPlan is an export about to be written: its columns, in order, and
// how many rows follow.
type ExportPlan struct {
	// Columns are the header: number, every field column of the customer
	// (ssn only with IncludeSSN), then customerCard:1..N,
	// address:1..M:{field}, phoneNumber:1..K (N, M, K the largest counts
	// in the set) and group:{id} for every group that exists.
	Columns []customer.Column
	// Customers is how many rows follow: exactly as many as the export
	// writes (it reads one snapshot).
	Customers int64
}

// Export reads the customers q finds (q.Limit and q.Cursor are ignored),
// with Find's rules (restricted customers only for a caller who may see
// them and asks, erased ones never), as one consistent snapshot of the
// store: start gets the plan (the columns and the count) before the first
// row, then row gets each customer in number order. A change committed
// while the export runs is not in it, not even in part. Rows stream:
// memory does not grow with the set. It stops at the first error of
// start, row or the store; a refused query is refused before start.
func (s *Service) Export(ctx context.Context, q ports.CustomerQuery, opts ExportOptions, c Caller,
	start func(*ExportPlan) error, row func(customer.Data) error) error {
	es, ok := s.store.(ports.ExportStore)
	if !ok {
		return errors.New("register: the customer store cannot export (ports.ExportStore)")
	}
	q.Limit, q.Cursor = 0, ""
	if err := s.checkFind(q, c); err != nil {
		return err
	}
	var shape ports.ExportShape
	return es.Export(ctx, ports.ExportQuery{CustomerQuery: q, WithSSN: opts.IncludeSSN}, func(sh ports.ExportShape) error {
		shape = sh
		return start(&ExportPlan{Columns: ExportColumns(sh, sh.Groups, opts.IncludeSSN), Customers: sh.Customers})
	}, func(cu *customer.Customer) error {
		d := cu.Data()
		// The snapshot makes this impossible; a store that broke it would
		// drop items here, which importing the file again would remove.
		if len(d.CustomerCards) > shape.CustomerCards || len(d.Addresses) > shape.Addresses ||
			len(d.PhoneNumbers) > shape.PhoneNumbers {
			return fmt.Errorf("customer %d: %w", d.Number, errExportInconsistent)
		}
		if !opts.IncludeSSN {
			d.SSN = ""
		}
		return row(d)
	})
}

// errExportInconsistent is what Export returns when the store hands over
// a customer wider than the shape it gave for the same snapshot.
var errExportInconsistent = errors.New("register: the store's export is not one snapshot: a customer has more items than its shape allows")

// ExportColumns are the columns of an export of a set with the given shape
// and groups (sorted case-insensitively here): see ExportPlan.Columns.
func ExportColumns(shape ports.ExportShape, groups []string, includeSSN bool) []customer.Column {
	cols := []customer.Column{{Number: true}}
	var cards, addresses, phones, groupField customer.Field
	for _, f := range customer.Fields() {
		switch {
		case f.Name == "customerCards":
			cards = f
		case f.Name == "addresses":
			addresses = f
		case f.Name == "phoneNumbers":
			phones = f
		case f.Name == "groups":
			groupField = f
		case f.Column == "" || f.Kind == customer.KindList:
		case f.Name == "ssn" && !includeSSN:
		default:
			cols = append(cols, customer.Column{Field: f})
		}
	}
	for i := 1; i <= shape.CustomerCards; i++ {
		cols = append(cols, customer.Column{Field: cards, Index: i})
	}
	// An address's members in the order a merchant reads an address.
	members := []string{"type", "streetAddress1", "streetAddress2", "postalCode", "city", "country"}
	if len(members) != len(addresses.Members) {
		panic(fmt.Sprintf("register: the export knows the address members %v, the table has %v", members, addresses.Members))
	}
	for i := 1; i <= shape.Addresses; i++ {
		for _, m := range members {
			cols = append(cols, customer.Column{Field: addresses, Index: i, Member: m})
		}
	}
	for i := 1; i <= shape.PhoneNumbers; i++ {
		cols = append(cols, customer.Column{Field: phones, Index: i})
	}
	groups = slices.Clone(groups)
	slices.SortFunc(groups, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, g := range groups {
		cols = append(cols, customer.Column{Field: groupField, Group: g})
	}
	return cols
}
