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
		var held [2]string
		heldKeys(c, func(field, key string) {
			switch field {
			case "number":
				held[0] = key
			case "email":
				held[1] = key
			}
		})
		if got := customerKeys(c); got != held {
			t.Errorf("email %q: customerKeys %q, heldKeys %q", email, got, held)
		}
	}
}
