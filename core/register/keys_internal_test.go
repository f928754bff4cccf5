package register

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/customer"
)

// TestCustomerKeysAreHeldKeys: the keys a row names a customer by
// (customerKeys, read directly) are the number and email keys among the
// customer's footprint keys (heldKeys), whatever the email's case.
func TestCustomerKeysAreHeldKeys(t *testing.T) {
	for _, email := range []string{"", "matti@example.fi", "Matti.Meikalainen@Example.FI"} {
		p := customer.Patch{FirstName: customer.Set("Matti"), LastName: customer.Set("Meikäläinen")}
		if email != "" {
			p.Email = customer.Set(email)
		}
		c, _, err := customer.New(uuid.Must(uuid.NewV7()), 10042, p, customer.Change{At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		var held [2]uint64
		heldKeys(c, func(kind footKind, key uint64) {
			switch kind {
			case footNumber:
				held[0] = key
			case footEmail:
				held[1] = key
			}
		})
		if held[0] != numberKey(10042) {
			t.Errorf("heldKeys's number key %x, numberKey(10042) %x", held[0], numberKey(10042))
		}
		if got := customerKeys(c); got != held {
			t.Errorf("email %q: customerKeys %x, heldKeys %x", email, got, held)
		}
	}
}

// TestFootprintShares: Shares finds a common key wherever it is in either
// set, and none in disjoint sets; the kinds keep equal values apart.
func TestFootprintShares(t *testing.T) {
	a := footprintOf([]uint64{footKey(footCard, "K-1"), numberKey(7), emailKeyOf("a@example.fi"), numberKey(7)})
	if len(a) != 3 {
		t.Fatalf("footprint of 3 keys, one twice, holds %d", len(a))
	}
	for _, c := range []struct {
		name string
		keys []uint64
		want bool
	}{
		{"the same card", []uint64{footKey(footCard, "K-1")}, true},
		{"the same number among others", []uint64{numberKey(1), numberKey(7), numberKey(9)}, true},
		{"the same email", []uint64{footKey(footEmail, "a@example.fi")}, true},
		{"another card", []uint64{footKey(footCard, "K-2")}, false},
		{"the card's value as an external id", []uint64{footKey(footExternalID, "K-1")}, false},
		{"the number's digits as a card", []uint64{footKey(footCard, "7")}, false},
		{"nothing", nil, false},
	} {
		b := footprintOf(c.keys)
		if got := a.Shares(b); got != c.want {
			t.Errorf("%s: Shares %v, want %v", c.name, got, c.want)
		}
		if got := b.Shares(a); got != c.want {
			t.Errorf("%s, the other way: Shares %v, want %v", c.name, got, c.want)
		}
	}
}
