package porttest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// testBulkSession: BulkStore.Session commits every batch written within it
// together, or none of them with their events and groups; a nested
// Session commits with the outer one, or rolls back alone.
func testBulkSession(t *testing.T, open opener) {
	t.Run("Commit", func(t *testing.T) {
		f := setup(t, open)
		a, b := f.newWrite(withEmail(person("Eka", "Istunto"), "eka@example.fi")), f.newWrite(withEmail(person("Toka", "Istunto"), "toka@example.fi"))
		err := f.Bulk.Session(f.ctx, func(ctx context.Context) error {
			for _, w := range []ports.BatchWrite{a, b} {
				rej, err := f.Bulk.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{w}})
				if err != nil || len(rej) > 0 {
					t.Fatalf("WriteBatch in a session: %v %v", rej, err)
				}
			}
			// Within the session, its writes are seen.
			got, err := f.Bulk.CustomersByEmail(ctx, []string{"EKA@example.fi", "toka@example.fi"})
			if err != nil || len(got) != 2 {
				t.Errorf("CustomersByEmail within the session: %d customers, %v; want 2", len(got), err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		assertData(t, "first customer", f.get(a.Customer.ID()), a.Customer.Data())
		assertData(t, "second customer", f.get(b.Customer.ID()), b.Customer.Data())
	})
	t.Run("RollBack", func(t *testing.T) {
		f := setup(t, open)
		kept := f.create(person("Pysyvä", "Asiakas"))
		f.drain()
		p := withEmail(person("Uusi", "Istunto"), "uusi@example.fi")
		p.MarketingEmail = customer.Set(true)
		p.Groups = customer.Set([]string{"session-group"})
		created := f.newWrite(p)
		updated := f.updateWrite(kept.ID(), customer.Patch{MarketingSMS: customer.Set(true)})
		boom := errors.New("boom")
		err := f.Bulk.Session(f.ctx, func(ctx context.Context) error {
			rej, err := f.Bulk.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{created},
				Groups: []customer.Group{{ExternalID: "session-group", Name: "session-group"}}})
			if err != nil || len(rej) > 0 {
				t.Fatalf("WriteBatch in a session: %v %v", rej, err)
			}
			// A nested session's success commits nothing yet: it commits
			// with the outer one.
			if err := f.Bulk.Session(ctx, func(ctx context.Context) error {
				rej, err := f.Bulk.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{updated}})
				if err != nil || len(rej) > 0 {
					t.Fatalf("WriteBatch in a nested session: %v %v", rej, err)
				}
				return nil
			}); err != nil {
				t.Fatalf("nested Session: %v", err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Session = %v, want fn's error", err)
		}
		if _, err := f.Customers.Get(f.ctx, created.Customer.ID()); !fault.IsNotFound(err) {
			t.Errorf("customer of a rolled back session: Get = %v, want not found", err)
		}
		assertData(t, "updated customer after the rollback", f.get(kept.ID()), kept.Data())
		groups, err := f.Customers.ListGroups(f.ctx)
		if err != nil || len(groups) != 0 {
			t.Errorf("groups after the rollback: %v, %v; want none", groups, err)
		}
		if ev := f.drain(); len(ev) != 0 {
			t.Errorf("outbox after the rollback: %d events, want none", len(ev))
		}
	})
	t.Run("NestedRollsBackAlone", func(t *testing.T) {
		f := setup(t, open)
		kept := f.create(person("Pysyvä", "Asiakas"))
		f.drain()
		consenting := func(first string) customer.Patch {
			p := withEmail(person(first, "Sisäkkäin"), first+"@example.fi")
			p.MarketingEmail = customer.Set(true)
			return p
		}
		var outer, undone, nested *customer.Customer
		boom := errors.New("boom")
		err := f.Bulk.Session(f.ctx, func(ctx context.Context) error {
			var err error
			if outer, err = f.reg.Create(ctx, consenting("ulompi"), admin); err != nil {
				t.Fatalf("Create in the session: %v", err)
			}
			// A nested session that fails takes only its own writes with
			// it, through every path of the store: the register's create
			// and update, and a batch.
			err = f.Bulk.Session(ctx, func(ctx context.Context) error {
				var err error
				if undone, err = f.reg.Create(ctx, consenting("peruttu"), admin); err != nil {
					t.Fatalf("Create in the nested session: %v", err)
				}
				if _, err := f.reg.Update(ctx, kept.ID(), customer.Patch{FirstName: customer.Set("Muutettu")}, 0, admin); err != nil {
					t.Fatalf("Update in the nested session: %v", err)
				}
				w := f.newWrite(withEmail(person("Erä", "Sisäkkäin"), "era@example.fi"))
				if rej, err := f.Bulk.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{w}}); err != nil || len(rej) > 0 {
					t.Fatalf("WriteBatch in the nested session: %v %v", rej, err)
				}
				// Its writes are seen within it.
				if got, err := f.Bulk.CustomersByEmail(ctx, []string{"peruttu@example.fi", "era@example.fi"}); err != nil || len(got) != 2 {
					t.Errorf("CustomersByEmail within the nested session: %d customers, %v; want 2", len(got), err)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("nested Session = %v, want its fn's error", err)
			}
			// The outer session goes on without them, and sees its own.
			if _, err := f.Customers.Get(ctx, undone.ID()); !fault.IsNotFound(err) {
				t.Errorf("customer of a rolled back nested session, within the outer: Get = %v, want not found", err)
			}
			if got, err := f.Customers.Get(ctx, kept.ID()); err != nil || got.Data().FirstName != "Pysyvä" {
				t.Errorf("customer updated in a rolled back nested session, within the outer: %v, %v", got, err)
			}
			if _, err := f.Customers.Get(ctx, outer.ID()); err != nil {
				t.Errorf("the outer session's customer after a nested rollback: %v", err)
			}
			// A nested session that succeeds commits with the outer one.
			return f.Bulk.Session(ctx, func(ctx context.Context) error {
				var err error
				nested, err = f.reg.Create(ctx, consenting("sisempi"), admin)
				return err
			})
		})
		if err != nil {
			t.Fatalf("Session: %v", err)
		}
		for _, c := range []*customer.Customer{outer, nested} {
			assertData(t, "customer of a committed session", f.get(c.ID()), c.Data())
		}
		if _, err := f.Customers.Get(f.ctx, undone.ID()); !fault.IsNotFound(err) {
			t.Errorf("customer of a rolled back nested session: Get = %v, want not found", err)
		}
		if got, err := f.Bulk.CustomersByEmail(f.ctx, []string{"era@example.fi"}); err != nil || len(got) != 0 {
			t.Errorf("batch of a rolled back nested session: %d customers, %v; want none", len(got), err)
		}
		assertData(t, "customer updated in a rolled back nested session", f.get(kept.ID()), kept.Data())
		var numbers []int64
		for _, e := range f.drain() {
			numbers = append(numbers, e.CustomerNumber)
		}
		if want := []int64{outer.Number(), nested.Number()}; !slices.Equal(slices.Compact(numbers), want) {
			t.Errorf("events of the customers %v, want those of the committed ones %v", numbers, want)
		}
	})
}

func withEmail(p customer.Patch, email string) customer.Patch {
	p.Email = customer.Set(email)
	return p
}
