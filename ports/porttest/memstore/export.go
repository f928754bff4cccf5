package memstore

import (
	"context"

	"kirjuri/ports"
)

var _ ports.ExportStore = (*Store)(nil)

// ExportShape counts the customers Find lists under q and the most items of
// each section one of them has (q.Limit and q.Cursor are ignored).
func (s *Store) ExportShape(ctx context.Context, q ports.CustomerQuery) (ports.ExportShape, error) {
	if err := ctx.Err(); err != nil {
		return ports.ExportShape{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var shape ports.ExportShape
	for _, d := range s.customers {
		if !matches(d, q) {
			continue
		}
		shape.Customers++
		shape.CustomerCards = max(shape.CustomerCards, len(d.CustomerCards))
		shape.Addresses = max(shape.Addresses, len(d.Addresses))
		shape.PhoneNumbers = max(shape.PhoneNumbers, len(d.PhoneNumbers))
	}
	return shape, nil
}
