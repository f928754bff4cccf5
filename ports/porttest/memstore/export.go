package memstore

import (
	"cmp"
	"context"
	"slices"

	"kirjuri/core/customer"
	"kirjuri/ports"
)

var _ ports.ExportStore = (*Store)(nil)

// Export copies the customers Find lists under q and the groups while it
// holds the store's lock (its snapshot), then hands over the shape and the
// copies in number order with the lock released: a change made meanwhile
// is not seen. q.Limit and q.Cursor are ignored.
func (s *Store) Export(ctx context.Context, q ports.ExportQuery, start func(ports.ExportShape) error, row func(*customer.Customer) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		shape ports.ExportShape
		found []customer.Data
	)
	s.mu.Lock()
	for _, d := range s.customers {
		if !matches(d, q.CustomerQuery) {
			continue
		}
		d = clone(d)
		if !q.WithSSN {
			d.SSN = ""
		}
		found = append(found, d)
		shape.CustomerCards = max(shape.CustomerCards, len(d.CustomerCards))
		shape.Addresses = max(shape.Addresses, len(d.Addresses))
		shape.PhoneNumbers = max(shape.PhoneNumbers, len(d.PhoneNumbers))
	}
	for id := range s.groups {
		shape.Groups = append(shape.Groups, id)
	}
	s.mu.Unlock()

	shape.Customers = int64(len(found))
	slices.Sort(shape.Groups)
	slices.SortFunc(found, func(a, b customer.Data) int { return cmp.Compare(a.Number, b.Number) })
	if err := start(shape); err != nil {
		return err
	}
	for _, d := range found {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := rebuild(d)
		if err != nil {
			return err
		}
		if err := row(c); err != nil {
			return err
		}
	}
	return nil
}
