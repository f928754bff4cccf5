package porttest

import (
	"context"
	"errors"
	"testing"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// testBulkSession: BulkStore.Session commits every batch written within it
// together, or none of them with their events and groups; a nested
// Session joins the outer one; ImportBatch runs within it.
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
			// A nested session joins: its success commits nothing yet.
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
}

func withEmail(p customer.Patch, email string) customer.Patch {
	p.Email = customer.Set(email)
	return p
}
