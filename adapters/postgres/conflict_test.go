package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// TestConflictFields breaks every uniqueness rule, through Create and
// Update, and checks the field the conflict names and that nothing of the
// failed change survives.
func TestConflictFields(t *testing.T) {
	e := newEnv(t)
	if err := e.store.CreateGroup(e.ctx, customer.Group{ExternalID: "vip", Name: "VIP"}); err != nil {
		t.Fatal(err)
	}
	base := person("Olli", "Omistaja")
	base.Email = customer.Set("olli@example.fi")
	base.SSN = customer.Set("131052-308T")
	base.ExternalID = customer.Set("ext-1")
	base.NetvisorID = customer.Set("nv-1")
	base.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "woo-1"}})
	base.CustomerCards = customer.Set([]string{"CARD-1"})
	owner := e.create(base)

	tests := []struct {
		name  string
		give  customer.Patch
		field string
	}{
		{"email, another case", customer.Patch{Email: customer.Set("OLLI@example.fi")}, "email"},
		{"externalId", customer.Patch{ExternalID: customer.Set("ext-1")}, "externalId"},
		{"netvisorId", customer.Patch{NetvisorID: customer.Set("nv-1")}, "netvisorId"},
		{"externalSystems", customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "p"}, {SystemID: customer.WooCommerce, Identifier: "woo-1"}})}, "externalSystems"},
		{"customerCards", customer.Patch{CustomerCards: customer.Set([]string{"CARD-9", "CARD-1"})}, "customerCards"},
		{"ssn", customer.Patch{SSN: customer.Set("131052-308t")}, "ssn"},
	}
	for _, tt := range tests {
		t.Run("Create/"+tt.name, func(t *testing.T) {
			p := tt.give
			p.FirstName, p.LastName = customer.Set("Toinen"), customer.Set("Tulija")
			p.MarketingSMS = customer.Set(true) // an event that must not survive
			before := e.unshipped()
			_, err := e.reg.Create(e.ctx, p, caller)
			wantConflict(t, err, tt.field)
			if after := e.unshipped(); after != before {
				t.Errorf("a failed create left %d events in the outbox", after-before)
			}
		})
		t.Run("Update/"+tt.name, func(t *testing.T) {
			other := e.create(person("Kolmas", "Kävijä"))
			p := tt.give
			p.MarketingEmail = customer.Set(true) // an event that must not survive
			before := e.unshipped()
			_, err := e.reg.Update(e.ctx, other.ID(), p, 0, caller)
			wantConflict(t, err, tt.field)
			got, err := e.store.Get(e.ctx, other.ID())
			if err != nil {
				t.Fatal(err)
			}
			if got.Version() != 1 || got.Data().MarketingEmail {
				t.Errorf("a failed update was saved: version %d", got.Version())
			}
			if after := e.unshipped(); after != before {
				t.Errorf("a failed update left %d events in the outbox", after-before)
			}
		})
	}

	t.Run("number", func(t *testing.T) {
		c, _, err := customer.New(uuid.Must(uuid.NewV7()), owner.Number(), person("Sama", "Numero"),
			customer.Change{At: time.Now(), Origin: caller.Origin, NewID: v7{}.New})
		if err != nil {
			t.Fatal(err)
		}
		wantConflict(t, e.store.Create(e.ctx, c, nil), "number")
	})
	t.Run("id", func(t *testing.T) {
		c, _, err := customer.New(owner.ID(), owner.Number()+1000, person("Sama", "Tunniste"),
			customer.Change{At: time.Now(), Origin: caller.Origin, NewID: v7{}.New})
		if err != nil {
			t.Fatal(err)
		}
		wantConflict(t, e.store.Create(e.ctx, c, nil), "id")
	})
	t.Run("group externalId", func(t *testing.T) {
		wantConflict(t, e.store.CreateGroup(e.ctx, customer.Group{ExternalID: "vip", Name: "again"}), "externalId")
	})
	t.Run("identifiers are released", func(t *testing.T) {
		// Removing them frees the identifiers for another customer.
		if _, err := e.reg.Update(e.ctx, owner.ID(), customer.Patch{
			CustomerCards: customer.Clear[[]string](), ExternalSystems: customer.Clear[[]customer.ExternalLink](),
			Email: customer.Clear[string](), SSN: customer.Clear[string](),
		}, 0, caller); err != nil {
			t.Fatal(err)
		}
		p := person("Uusi", "Omistaja")
		p.CustomerCards = customer.Set([]string{"CARD-1"})
		p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "woo-1"}})
		p.Email = customer.Set("olli@example.fi")
		p.SSN = customer.Set("131052-308T")
		e.create(p)
	})
}

func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var c *fault.Conflict
	if !errors.As(err, &c) {
		t.Fatalf("got %v (%T), want *fault.Conflict on %q", err, err, field)
	}
	if c.Field != field {
		t.Errorf("conflict on %q (%v), want %q", c.Field, c, field)
	}
	if strings.Contains(c.Message, "duplicate key") || strings.Contains(c.Message, "constraint") {
		t.Errorf("the conflict leaks the SQL message: %q", c.Message)
	}
}

func TestUnknownGroup(t *testing.T) {
	e := newEnv(t)
	p := person("Ryhmä", "Tön")
	p.Groups = customer.Set([]string{"nope"})
	_, err := e.reg.Create(e.ctx, p, caller)
	var v *fault.Validation
	if !errors.As(err, &v) || v.Fields[0].Field != "groups" || !strings.Contains(v.Fields[0].Message, `"nope"`) {
		t.Fatalf("got %v, want a validation error on groups naming the group", err)
	}
}

// TestEveryUniqueConstraintIsMapped keeps the conflict table in step with
// the schema: a new unique constraint or index must name its field (the job
// queue's tables, River's, are not ours to map).
func TestEveryUniqueConstraintIsMapped(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.NewDatabase(t))
	rows, err := pool.Query(t.Context(), `SELECT i.relname FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class c ON c.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE x.indisunique AND n.nspname = 'public' AND c.relname <> 'goose_db_version'
		  AND c.relname NOT LIKE 'river\_%'`) // River's own tables: no customer writes them
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	mapped := postgres.ConflictConstraints()
	seen := 0
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		seen++
		if _, ok := mapped[name]; !ok {
			t.Errorf("unique index %s has no entry in conflicts", name)
		}
	}
	if seen == 0 {
		t.Fatal("found no unique indexes")
	}
}

// TestCrossedIdentifierClaims races two customers claiming the same cards
// and links in opposite orders: one wins, the other gets a conflict, and
// neither a deadlock nor a half-saved customer results.
func TestCrossedIdentifierClaims(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		x, y := fmt.Sprintf("X-%d", i), fmt.Sprintf("Y-%d", i)
		lx := customer.ExternalLink{SystemID: customer.Webstore, Identifier: x}
		ly := customer.ExternalLink{SystemID: customer.Webstore, Identifier: y}
		give := []customer.Patch{person("Eka", "Ehtijä"), person("Toka", "Tulija")}
		give[0].CustomerCards = customer.Set([]string{x, y})
		give[1].CustomerCards = customer.Set([]string{y, x})
		give[0].ExternalSystems = customer.Set([]customer.ExternalLink{lx, ly})
		give[1].ExternalSystems = customer.Set([]customer.ExternalLink{ly, lx})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for j := range give {
			wg.Go(func() { _, errs[j] = e.reg.Create(e.ctx, give[j], caller) })
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !fault.IsConflict(err):
				t.Fatalf("round %d: %v, want success or a conflict", i, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d customers got the same cards (%v)", i, wins, errs)
		}
	}
	var cards, orphans int
	if err := e.pool.QueryRow(e.ctx, `SELECT (SELECT count(*) FROM customer_cards),
		(SELECT count(*) FROM customer_cards cc WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = cc.customer_id AND cc.card = ANY(c.customer_cards)))`).Scan(&cards, &orphans); err != nil {
		t.Fatal(err)
	}
	if cards != 40 || orphans != 0 {
		t.Errorf("%d cards claimed (want 40), %d not on their customer's row", cards, orphans)
	}
}
