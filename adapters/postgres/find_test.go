package postgres_test

import (
	"errors"
	"fmt"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

func TestFindPhoneAndNumber(t *testing.T) {
	e := newEnv(t)
	p := person("Puhelin", "Ihminen")
	p.PhoneNumbers = customer.Set([]string{"040 1234567"})
	c := e.create(p)
	e.create(person("Muu", "Henkilö"))

	tests := []struct {
		name string
		give ports.CustomerQuery
		want int
	}{
		{"phone filter, local form", ports.CustomerQuery{Phone: "0401234567"}, 1},
		{"phone filter, E.164", ports.CustomerQuery{Phone: "+358401234567"}, 1},
		{"phone filter, spaces", ports.CustomerQuery{Phone: "040 123 4567"}, 1},
		{"q, local form", ports.CustomerQuery{Q: "0401234567"}, 1},
		{"q, partial local", ports.CustomerQuery{Q: "040 1234"}, 1},
		{"q, international", ports.CustomerQuery{Q: "+358 40 123"}, 1},
		{"q, without plus", ports.CustomerQuery{Q: "35840123"}, 1},
		{"q, number", ports.CustomerQuery{Q: fmt.Sprint(c.Number())}, 1},
		{"q, two words any order", ports.CustomerQuery{Q: "ihminen PUHELIN"}, 1},
		{"q, ä", ports.CustomerQuery{Q: "henkilö"}, 1},
		{"q, like wildcards are literal", ports.CustomerQuery{Q: "%"}, 0},
		{"q, underscore is literal", ports.CustomerQuery{Q: "p_helin"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.store.Find(e.ctx, tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != tt.want {
				t.Errorf("found %d, want %d", len(page.Items), tt.want)
			}
		})
	}
}

func TestFindBadCursor(t *testing.T) {
	e := newEnv(t)
	for _, c := range []string{"nonsense", "bjE6eA", "!!!", "bjI6MTA"} {
		_, err := e.store.Find(e.ctx, ports.CustomerQuery{Cursor: c})
		var v *fault.Validation
		if !errors.As(err, &v) || v.Fields[0].Field != "cursor" {
			t.Errorf("cursor %q: got %v, want a validation error on cursor", c, err)
		}
	}
}
