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
// the query its rows come from.
type ExportPlan struct {
	// Columns are the header: number, every field column of the customer
	// (ssn only with IncludeSSN), then customerCard:1..N,
	// address:1..M:{field}, phoneNumber:1..K (N, M, K the largest counts
	// in the set) and group:{id} for every group that exists.
	Columns []customer.Column
	// Customers is how many customers the set had when the plan was made;
	// the rows may differ a little when customers change meanwhile.
	Customers int64

	query  ports.CustomerQuery
	caller Caller
	shape  ports.ExportShape
}

// ErrExportShapeChanged is what ExportRows returns when a customer reached
// while paging has more customer cards, addresses or phone numbers than
// the plan has columns for (it changed after the plan was made). Writing
// the row would drop items, and importing the file again would then remove
// them: the export must fail instead, and can be run again.
var ErrExportShapeChanged = errors.New("register: a customer changed during the export and no longer fits its columns; run the export again")

// exportPage is how many customers ExportRows reads at a time.
const exportPage = 500

// PlanExport checks an export's query as Find does (restricted customers
// only for a caller that may see them), reads the shape of the set and the
// groups, and gives the columns. q.Limit and q.Cursor are ignored.
func (s *Service) PlanExport(ctx context.Context, q ports.CustomerQuery, opts ExportOptions, c Caller) (*ExportPlan, error) {
	es, ok := s.store.(ports.ExportStore)
	if !ok {
		return nil, errors.New("register: the customer store cannot plan an export (ports.ExportStore)")
	}
	q.Limit, q.Cursor = exportPage, ""
	if err := s.checkFind(q, c); err != nil {
		return nil, err
	}
	shape, err := es.ExportShape(ctx, q)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.ExternalID
	}
	return &ExportPlan{
		Columns:   ExportColumns(shape, ids, opts.IncludeSSN),
		Customers: shape.Customers,
		query:     q,
		caller:    c,
		shape:     shape,
	}, nil
}

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

// ExportRows pages through the plan's customers in number order, through
// Find (with its visibility rules), and calls row for each; a page is read
// only when the previous one has been written, so memory does not grow with
// the set. after is called after each page (to flush). It stops at the
// first error of row, after or the store, and returns ErrExportShapeChanged
// when a customer no longer fits the columns.
func (s *Service) ExportRows(ctx context.Context, p *ExportPlan, row func(customer.Data) error, after func() error) error {
	q := p.query
	for {
		page, err := s.Find(ctx, q, p.caller)
		if err != nil {
			return err
		}
		for _, cu := range page.Items {
			d := cu.Data()
			if len(d.CustomerCards) > p.shape.CustomerCards || len(d.Addresses) > p.shape.Addresses ||
				len(d.PhoneNumbers) > p.shape.PhoneNumbers {
				return fmt.Errorf("customer %d: %w", d.Number, ErrExportShapeChanged)
			}
			if err := row(d); err != nil {
				return err
			}
		}
		if after != nil {
			if err := after(); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
	}
}
