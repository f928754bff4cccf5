package main

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/finnish"
)

// The generated customers must all pass the core's rules (the load stops at
// the first that does not), and their identifiers must be unique.
func TestGeneratedCustomers(t *testing.T) {
	var numbers []int64
	for n := int64(customer.FirstNumber); n < customer.FirstNumber+3000; n++ {
		numbers = append(numbers, n)
	}
	for n := int64(customer.FirstNumber + 3000); n < customer.FirstNumber+1_100_000; n += 997 {
		numbers = append(numbers, n)
	}
	ids := map[string]int64{}
	ssns := map[string]int64{}
	for _, n := range numbers {
		c, err := build(n)
		if err != nil {
			t.Fatal(err)
		}
		d := c.Data()
		if d.Number != n || d.ID.Version() != 7 {
			t.Fatalf("customer %d: number %d, id version %d", n, d.Number, d.ID.Version())
		}
		if prev, ok := ids[d.ID.String()]; ok {
			t.Fatalf("customers %d and %d have the same id", prev, n)
		}
		ids[d.ID.String()] = n
		if d.SSN != "" {
			if prev, ok := ssns[d.SSN]; ok {
				t.Fatalf("customers %d and %d have the same identity code", prev, n)
			}
			ssns[d.SSN] = n
		}
		if d.MarketingEmail || d.MarketingSMS || d.GDPRRestricted {
			t.Fatalf("customer %d starts with a consent, which the loader writes no event for", n)
		}
		r := gen(n)
		if d.Email != r.Email || len(d.ExternalSystems) != 1 || d.ExternalSystems[0].Identifier != "wc-"+strconv.FormatInt(n, 10) {
			t.Fatalf("customer %d: email %q, links %v", n, d.Email, d.ExternalSystems)
		}
		if r.Phone != "" {
			if p, err := customer.NormalizePhone(r.LocalForm); err != nil || p != r.Phone {
				t.Fatalf("customer %d: %q reads as %q, %v; want %q", n, r.LocalForm, p, err, r.Phone)
			}
		}
	}
	if len(ssns) < len(numbers)/10 {
		t.Errorf("only %d of %d customers have an identity code", len(ssns), len(numbers))
	}
}

func TestHetuIsValidAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for n := int64(customer.FirstNumber); n < customer.FirstNumber+200_000; n += 7 {
		h := hetu(n)
		if _, err := finnish.ParseHETU(h, dataEpoch); err != nil {
			t.Fatalf("hetu(%d) = %s: %v", n, h, err)
		}
		if seen[h] {
			t.Fatalf("hetu(%d) = %s again", n, h)
		}
		seen[h] = true
	}
}

func TestSearchTexts(t *testing.T) {
	tg := &targets{n: 1000}
	rng := rand.New(rand.NewPCG(1, 2))
	for kind := range findKinds {
		q := tg.searchText(rng, kind)
		if strings.TrimSpace(q) == "" {
			t.Errorf("kind %d: empty search text", kind)
		}
	}
}
