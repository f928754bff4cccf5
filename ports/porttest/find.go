package porttest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/ports"
)

// findWorld is the data set the filters are tried on. Customers are created
// in the order of the fields, so their numbers are in that order.
type findWorld struct {
	aino    *customer.Customer // person, group vip, woo-1, +358401234567
	pekka   *customer.Customer // person, woo-2 and web-2, +358501112223; updated after mark
	virta   *customer.Customer // company Sähkö Virta Oy, groups vip and b2b, web-1
	esim    *customer.Customer // company Esimerkki Ab, group b2b
	eetu    *customer.Customer // person Eetu Äijälä
	liisa   *customer.Customer // restricted person, group vip, woo-3; updated after mark
	erkki   *customer.Customer // erased after mark
	mark    time.Time          // between the creations and the later changes
	numbers map[string]int64
}

func buildFindWorld(f *fixture) *findWorld {
	f.t.Helper()
	f.groups("vip", "b2b", "tyhjä")
	woo := func(id string) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: id}
	}
	web := func(id string) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}
	}
	w := &findWorld{}

	p := person("Aino", "Virtanen")
	p.Email = customer.Set("aino.virtanen@example.fi")
	p.PhoneNumbers = customer.Set([]string{"040 1234567"})
	p.Groups = customer.Set([]string{"vip"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("woo-1")})
	w.aino = f.create(p)

	p = person("Pekka", "Virtala")
	p.Email = customer.Set("pekka@firma.fi")
	p.PhoneNumbers = customer.Set([]string{"+358 50 1112223"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("woo-2"), web("web-2")})
	w.pekka = f.create(p)

	p = company("Sähkö Virta Oy", businessID1)
	p.Email = customer.Set("info@virta.fi")
	p.Groups = customer.Set([]string{"vip", "b2b"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{web("web-1")})
	w.virta = f.create(p)

	p = company("Esimerkki Ab", businessID2)
	p.Groups = customer.Set([]string{"b2b"})
	w.esim = f.create(p)

	w.eetu = f.create(person("Eetu", "Äijälä"))

	p = person("Liisa", "Virtanen")
	p.Email = customer.Set("liisa@example.fi")
	p.PhoneNumbers = customer.Set([]string{"040 7654321"})
	p.Groups = customer.Set([]string{"vip"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("woo-3")})
	p.GDPRRestricted = customer.Set(true)
	w.liisa = f.create(p)

	p = person("Urho", "Virtanen")
	p.Email = customer.Set("urho@example.fi")
	p.Groups = customer.Set([]string{"vip"})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{woo("woo-4")})
	w.erkki = f.create(p)

	w.mark = f.clock.Now()
	if _, err := f.reg.Update(f.ctx, w.pekka.ID(), customer.Patch{Language: customer.Set(customer.English)}, 0, admin); err != nil {
		f.t.Fatalf("Update: %v", err)
	}
	if _, err := f.reg.Update(f.ctx, w.liisa.ID(), customer.Patch{CreditAllowed: customer.Set(true)}, 0, admin); err != nil {
		f.t.Fatalf("Update: %v", err)
	}
	if _, err := f.reg.Erase(f.ctx, w.erkki.ID(), 0, admin); err != nil {
		f.t.Fatalf("Erase: %v", err)
	}
	return w
}

func testFind(t *testing.T, open opener) {
	t.Run("Filters", func(t *testing.T) {
		f := setup(t, open)
		w := buildFindWorld(f)
		num := func(c *customer.Customer) string { return strconv.FormatInt(c.Number(), 10) }
		tests := []struct {
			name string
			give ports.CustomerQuery
			want []*customer.Customer
		}{
			{"everything", ports.CustomerQuery{}, []*customer.Customer{w.aino, w.pekka, w.virta, w.esim, w.eetu}},
			{"everything with restricted", ports.CustomerQuery{IncludeRestricted: true}, []*customer.Customer{w.aino, w.pekka, w.virta, w.esim, w.eetu, w.liisa}},

			{"Q last names and company name", ports.CustomerQuery{Q: "virta"}, []*customer.Customer{w.aino, w.pekka, w.virta}},
			{"Q with restricted", ports.CustomerQuery{Q: "virta", IncludeRestricted: true}, []*customer.Customer{w.aino, w.pekka, w.virta, w.liisa}},
			{"Q upper case", ports.CustomerQuery{Q: "VIRTANEN"}, []*customer.Customer{w.aino}},
			{"Q first name", ports.CustomerQuery{Q: "pekk"}, []*customer.Customer{w.pekka}},
			{"Q company name, other case", ports.CustomerQuery{Q: "sähkö virta"}, []*customer.Customer{w.virta}},
			{"Q Finnish letters in other case", ports.CustomerQuery{Q: "ÄIJÄLÄ"}, []*customer.Customer{w.eetu}},
			{"Q email part", ports.CustomerQuery{Q: "firma.fi"}, []*customer.Customer{w.pekka}},
			{"Q whole email, other case", ports.CustomerQuery{Q: "AINO.Virtanen@Example.FI"}, []*customer.Customer{w.aino}},
			{"Q phone E.164", ports.CustomerQuery{Q: "+358401234567"}, []*customer.Customer{w.aino}},
			{"Q phone local form", ports.CustomerQuery{Q: "0401234567"}, []*customer.Customer{w.aino}},
			{"Q phone digits", ports.CustomerQuery{Q: "1112223"}, []*customer.Customer{w.pekka}},
			{"Q customer number", ports.CustomerQuery{Q: num(w.esim)}, []*customer.Customer{w.esim}},
			{"Q erased customer's number", ports.CustomerQuery{Q: num(w.erkki), IncludeRestricted: true}, nil},
			{"Q erased customer's old name", ports.CustomerQuery{Q: "urho", IncludeRestricted: true}, nil},
			{"Q nothing matches", ports.CustomerQuery{Q: "zzyzx"}, nil},

			{"Email exact ignoring case", ports.CustomerQuery{Email: "AINO.virtanen@EXAMPLE.fi"}, []*customer.Customer{w.aino}},
			{"Email is not a substring match", ports.CustomerQuery{Email: "aino.virtanen@example"}, nil},
			{"Email of a restricted customer", ports.CustomerQuery{Email: "liisa@example.fi"}, nil},
			{"Email of a restricted customer, included", ports.CustomerQuery{Email: "liisa@example.fi", IncludeRestricted: true}, []*customer.Customer{w.liisa}},
			{"Email of an erased customer", ports.CustomerQuery{Email: "urho@example.fi", IncludeRestricted: true}, nil},

			{"Phone", ports.CustomerQuery{Phone: "+358501112223"}, []*customer.Customer{w.pekka}},
			{"Phone of a restricted customer, included", ports.CustomerQuery{Phone: "+358407654321", IncludeRestricted: true}, []*customer.Customer{w.liisa}},
			{"Phone nobody has", ports.CustomerQuery{Phone: "+358409999999"}, nil},

			{"Number", ports.CustomerQuery{Number: w.pekka.Number()}, []*customer.Customer{w.pekka}},
			{"Number of a restricted customer", ports.CustomerQuery{Number: w.liisa.Number()}, nil},
			{"Number of an erased customer", ports.CustomerQuery{Number: w.erkki.Number(), IncludeRestricted: true}, nil},

			{"BusinessID", ports.CustomerQuery{BusinessID: businessID1}, []*customer.Customer{w.virta}},
			{"BusinessID nobody has", ports.CustomerQuery{BusinessID: "0112038-9"}, nil},

			{"Group", ports.CustomerQuery{Group: "vip"}, []*customer.Customer{w.aino, w.virta}},
			{"Group with restricted", ports.CustomerQuery{Group: "vip", IncludeRestricted: true}, []*customer.Customer{w.aino, w.virta, w.liisa}},
			{"Group b2b", ports.CustomerQuery{Group: "b2b"}, []*customer.Customer{w.virta, w.esim}},
			{"Group without members", ports.CustomerQuery{Group: "tyhjä"}, nil},

			{"Type company", ports.CustomerQuery{Type: customer.Company}, []*customer.Customer{w.virta, w.esim}},
			{"Type person", ports.CustomerQuery{Type: customer.Person}, []*customer.Customer{w.aino, w.pekka, w.eetu}},
			{"Type person with restricted", ports.CustomerQuery{Type: customer.Person, IncludeRestricted: true}, []*customer.Customer{w.aino, w.pekka, w.eetu, w.liisa}},

			{"SystemID", ports.CustomerQuery{SystemID: customer.WooCommerce}, []*customer.Customer{w.aino, w.pekka}},
			{"SystemID with restricted", ports.CustomerQuery{SystemID: customer.WooCommerce, IncludeRestricted: true}, []*customer.Customer{w.aino, w.pekka, w.liisa}},
			{"SystemID other", ports.CustomerQuery{SystemID: customer.Webstore}, []*customer.Customer{w.pekka, w.virta}},
			{"SystemID nobody has", ports.CustomerQuery{SystemID: customer.Matkahuolto}, nil},
			{"SystemID and Identifier", ports.CustomerQuery{SystemID: customer.WooCommerce, Identifier: "woo-2"}, []*customer.Customer{w.pekka}},
			{"SystemID and Identifier of another system", ports.CustomerQuery{SystemID: customer.Webstore, Identifier: "woo-2"}, nil},
			{"SystemID and Identifier of an erased customer", ports.CustomerQuery{SystemID: customer.WooCommerce, Identifier: "woo-4", IncludeRestricted: true}, nil},

			{"UpdatedSince", ports.CustomerQuery{UpdatedSince: w.mark}, []*customer.Customer{w.pekka}},
			{"UpdatedSince with restricted", ports.CustomerQuery{UpdatedSince: w.mark, IncludeRestricted: true}, []*customer.Customer{w.pekka, w.liisa}},
			{"UpdatedSince in another time zone", ports.CustomerQuery{UpdatedSince: w.mark.In(time.FixedZone("EET", 2*60*60))}, []*customer.Customer{w.pekka}},
			{"UpdatedSince before everything", ports.CustomerQuery{UpdatedSince: w.aino.Data().CreatedAt.Add(-time.Hour)}, []*customer.Customer{w.aino, w.pekka, w.virta, w.esim, w.eetu}},

			{"Q and Type", ports.CustomerQuery{Q: "virta", Type: customer.Person}, []*customer.Customer{w.aino, w.pekka}},
			{"Type and Group", ports.CustomerQuery{Type: customer.Company, Group: "vip"}, []*customer.Customer{w.virta}},
			{"Group and SystemID", ports.CustomerQuery{Group: "vip", SystemID: customer.WooCommerce, IncludeRestricted: true}, []*customer.Customer{w.aino, w.liisa}},
			{"Email and Phone of different customers", ports.CustomerQuery{Email: "pekka@firma.fi", Phone: "+358401234567"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := tt.give
				q.Limit = 100
				page, err := f.Customers.Find(f.ctx, q)
				if err != nil {
					t.Fatalf("Find(%+v): %v", q, err)
				}
				if got, want := labels(w, page.Items), labels(w, tt.want); !slices.Equal(got, want) {
					t.Errorf("Find(%+v) = %v, want %v", tt.give, got, want)
				}
				if page.NextCursor != "" {
					t.Errorf("NextCursor = %q on the only page, want empty", page.NextCursor)
				}
			})
		}
	})

	t.Run("ItemsAreWholeCustomers", func(t *testing.T) {
		f := setup(t, open)
		f.groups("vip", "b2c")
		c := f.create(fullPerson())
		page, err := f.Customers.Find(f.ctx, ports.CustomerQuery{Number: c.Number(), Limit: 10})
		if err != nil {
			t.Fatalf("Find: %v", err)
		}
		if len(page.Items) != 1 {
			t.Fatalf("Find by number found %d customers, want 1", len(page.Items))
		}
		assertData(t, "Find", page.Items[0].Data(), c.Data())
	})

	t.Run("Paging", func(t *testing.T) {
		// 23 persons named Sivu, with 5 companies between them that only
		// the unfiltered listing includes.
		tests := []struct {
			name      string
			give      ports.CustomerQuery
			companies bool // the companies are listed too
		}{
			{"everything", ports.CustomerQuery{Limit: 5}, true},
			{"with a filter", ports.CustomerQuery{Q: "sivu", Limit: 5}, false},
			{"with restricted", ports.CustomerQuery{Type: customer.Person, IncludeRestricted: true, Limit: 5}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				var want []uuid.UUID
				for i := range 23 {
					p := person("Sivu", fmt.Sprintf("Numero %02d", i))
					if tt.give.IncludeRestricted && i%4 == 0 {
						p.GDPRRestricted = customer.Set(true)
					}
					want = append(want, f.create(p).ID())
					if i%5 == 2 {
						c := f.create(company(fmt.Sprintf("Muu %d Oy", i), businessID1))
						if tt.companies {
							want = append(want, c.ID())
						}
					}
				}
				var wantSizes []int
				for rest := len(want); rest > 0; rest -= 5 {
					wantSizes = append(wantSizes, min(rest, 5))
				}

				var (
					got        []uuid.UUID
					sizes      []int
					lastNumber int64
				)
				q := tt.give
				for {
					if len(sizes) > 10 {
						t.Fatalf("more than 10 pages of 5 for %d customers", len(want))
					}
					page, err := f.Customers.Find(f.ctx, q)
					if err != nil {
						t.Fatalf("Find page %d: %v", len(sizes)+1, err)
					}
					sizes = append(sizes, len(page.Items))
					for _, c := range page.Items {
						if c.Number() <= lastNumber {
							t.Errorf("customer %d listed after %d: not in number order", c.Number(), lastNumber)
						}
						lastNumber = c.Number()
						got = append(got, c.ID())
					}
					if page.NextCursor == "" {
						break
					}
					q.Cursor = page.NextCursor
				}
				if !slices.Equal(sizes, wantSizes) {
					t.Errorf("pages of sizes %v, want %v", sizes, wantSizes)
				}
				if !slices.Equal(got, want) {
					t.Errorf("the pages listed %d customers, want each of the %d exactly once, in number order", len(got), len(want))
				}
			})
		}
	})

	t.Run("InvalidCursor", func(t *testing.T) {
		f := setup(t, open)
		for i := range 3 {
			f.create(person("Kursori", fmt.Sprintf("Testi %d", i)))
		}
		for _, give := range []string{"%%%", "not a cursor!", "ä", strings.Repeat("A", 300)} {
			t.Run(give[:min(len(give), 12)], func(t *testing.T) {
				_, err := f.Customers.Find(f.ctx, ports.CustomerQuery{Limit: 2, Cursor: give})
				wantValidation(t, "Find with cursor "+strconv.Quote(give), err, "cursor")
			})
		}
	})
}

// labels names customers for messages: "aino(10000)".
func labels(w *findWorld, cs []*customer.Customer) []string {
	names := map[uuid.UUID]string{
		w.aino.ID(): "aino", w.pekka.ID(): "pekka", w.virta.ID(): "virta", w.esim.ID(): "esim",
		w.eetu.ID(): "eetu", w.liisa.ID(): "liisa", w.erkki.ID(): "erkki",
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		n, ok := names[c.ID()]
		if !ok {
			n = "?"
		}
		out[i] = fmt.Sprintf("%s(%d)", n, c.Number())
	}
	return out
}
