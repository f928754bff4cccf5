package customer

import "kirjuri/core/consent"

// Unnumbered is the number of a new customer built before its number is
// taken: a door checks the input first (New with Unnumbered) and takes a
// number from the store only for a customer that will be stored, so that
// bad input burns none. Numbered then gives it its number.
const Unnumbered int64 = 0

// Numbered returns the new customer c, as New built it, with the number n,
// and its events with the same number. c and events are left as they were.
// Only a new customer that has not been stored may be numbered: its version
// is 1.
func Numbered(c *Customer, events []consent.Event, n int64) (*Customer, []consent.Event) {
	d := c.d // the lists shared: neither customer changes them in place
	d.Number = n
	out := make([]consent.Event, len(events))
	for i, e := range events {
		e.CustomerNumber = n
		out[i] = e
	}
	return &Customer{d: d}, out
}
