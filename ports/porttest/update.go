package porttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
)

func testUpdate(t *testing.T, open opener) {
	t.Run("FnError", func(t *testing.T) {
		errPlain := errors.New("porttest: the closure refused")
		tests := []struct {
			name string
			give error
		}{
			{"plain error", errPlain},
			{"wrapped error", fmt.Errorf("row 17: %w", errPlain)},
			{"validation", fault.Invalid("email", "is not a valid email address")},
			{"conflict", &fault.Conflict{Message: "the customer has been erased"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				c := f.create(person("Virhe", "Tilanne"))
				before := f.backlog()
				_, err := f.Customers.Update(f.ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, error) {
					// Change the customer first: none of it may be kept.
					events, err := cu.Apply(customer.Patch{LastName: customer.Set("Muuttunut"), MarketingEmail: customer.Set(true)}, f.change(apiOrigin))
					if err != nil || len(events) != 1 {
						return nil, fmt.Errorf("porttest: Apply = %v, %v", events, err)
					}
					return events, tt.give
				})
				if !errors.Is(err, tt.give) {
					t.Errorf("Update returned %v (%T), want the closure's error %v (%T)", err, err, tt.give, tt.give)
				}
				assertData(t, "customer after the failed update", f.get(c.ID()), c.Data())
				if n := f.backlog(); n != before {
					t.Errorf("outbox holds %d events after the failed update, want %d", n, before)
				}
			})
		}
	})

	t.Run("NoChange", func(t *testing.T) {
		tests := []struct {
			name string
			fn   func(f *fixture, cu *customer.Customer) ([]consent.Event, error)
		}{
			{"closure does nothing", func(*fixture, *customer.Customer) ([]consent.Event, error) { return nil, nil }},
			{"empty patch", func(f *fixture, cu *customer.Customer) ([]consent.Event, error) {
				return cu.Apply(customer.Patch{}, f.change(apiOrigin))
			}},
			{"patch to the same values", func(f *fixture, cu *customer.Customer) ([]consent.Event, error) {
				d := cu.Data()
				return cu.Apply(customer.Patch{
					FirstName:      customer.Set(d.FirstName),
					Email:          customer.Set(d.Email),
					MarketingEmail: customer.Set(d.MarketingEmail),
					MarketingSMS:   customer.Set(d.MarketingSMS),
					Groups:         customer.Set(d.Groups),
					PhoneNumbers:   customer.Set(d.PhoneNumbers),
				}, f.change(apiOrigin))
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				f.groups("vip")
				p := person("Sama", "Ennallaan")
				p.Email = customer.Set("sama@example.fi")
				p.MarketingEmail = customer.Set(true)
				p.Groups = customer.Set([]string{"vip"})
				p.PhoneNumbers = customer.Set([]string{"040 1234567"})
				c := f.create(p)
				before := f.backlog()
				got, err := f.Customers.Update(f.ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, error) {
					return tt.fn(f, cu)
				})
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				assertData(t, "customer returned by Update", got.Data(), c.Data())
				assertData(t, "Get after Update", f.get(c.ID()), c.Data())
				if n := f.backlog(); n != before {
					t.Errorf("outbox holds %d events after an update that changed nothing, want %d", n, before)
				}
			})
		}
	})

	t.Run("Change", func(t *testing.T) {
		f := setup(t, open)
		c := f.create(person("Vanha", "Nimi"))
		after, events := f.apply(c.ID(), customer.Patch{
			FirstName:      customer.Set("Uusi"),
			MarketingEmail: customer.Set(true),
			Addresses:      customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Kotikatu 1", PostalCode: "33100", City: "Tampere"}}),
		}, importOrigin)
		want := after.Data()
		if want.Version != 2 || want.FirstName != "Uusi" || len(events) != 1 || !want.UpdatedAt.After(want.CreatedAt) {
			t.Fatalf("the core made an unexpected change: %+v, events %v", want, events)
		}
		assertData(t, "Get after the change", f.get(c.ID()), want)

		// And once more, from the stored state.
		after, _ = f.apply(c.ID(), customer.Patch{Addresses: customer.Clear[[]customer.Address]()}, apiOrigin)
		if after.Version() != 3 {
			t.Errorf("version after the second change = %d, want 3", after.Version())
		}
		assertData(t, "Get after the second change", f.get(c.ID()), after.Data())
	})

	t.Run("Concurrent", func(t *testing.T) {
		f := setup(t, open)
		c := f.create(person("Kalle", "Kiire"))
		before := f.drain()
		const writers = 16
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			names = map[string]bool{}
		)
		for i := range writers {
			name := fmt.Sprintf("Kalle%02d", i)
			names[name] = true
			wg.Go(func() {
				<-start
				_, err := f.Customers.Update(f.ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, error) {
					// Hold the customer a while, so that a store that does not
					// serialise updates loses some.
					time.Sleep(2 * time.Millisecond)
					return cu.Apply(customer.Patch{
						MarketingSMS: customer.Set(!cu.Data().MarketingSMS),
						FirstName:    customer.Set(name),
					}, f.change(apiOrigin))
				})
				if err != nil {
					t.Errorf("concurrent Update %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()

		got := f.get(c.ID())
		if got.Version != 1+writers {
			t.Errorf("version after %d concurrent updates = %d, want %d (an update was lost)", writers, got.Version, 1+writers)
		}
		if got.MarketingSMS {
			t.Errorf("marketingSms = true after an even number of toggles")
		}
		if !names[got.FirstName] {
			t.Errorf("firstName = %q, want one of the writers' names", got.FirstName)
		}
		if len(before) != 0 {
			t.Fatalf("creating the customer made events %v, want none", eventList(before))
		}
		events := f.drain()
		if len(events) != writers {
			t.Fatalf("outbox shipped %d events, want %d: %s", len(events), writers, eventList(events))
		}
		for i, e := range events {
			// Serialised toggles alternate false→true, true→false, …
			wantOld := i%2 == 1
			if e.Consent != consent.MarketingSMS || e.CustomerID != c.ID() || e.OldValue != wantOld || e.NewValue != !wantOld {
				t.Errorf("event %d = %s %v→%v of %s; want marketingSms %v→%v of %s", i, e.Consent, e.OldValue, e.NewValue, e.CustomerID, wantOld, !wantOld, c.ID())
			}
			if i > 0 && e.OccurredAt.Before(events[i-1].OccurredAt) {
				t.Errorf("event %d occurred at %s, before event %d at %s: not in commit order", i, e.OccurredAt, i-1, events[i-1].OccurredAt)
			}
		}
	})

	t.Run("StaleIfMatch", func(t *testing.T) {
		f := setup(t, open)
		c := f.create(person("Versio", "Yksi"))
		v2, err := f.reg.Update(f.ctx, c.ID(), customer.Patch{LastName: customer.Set("Kaksi")}, register.IfVersion(1), admin)
		if err != nil {
			t.Fatalf("Update with the current version: %v", err)
		}
		before := f.backlog()
		_, err = f.reg.Update(f.ctx, c.ID(), customer.Patch{LastName: customer.Set("Kolme"), MarketingEmail: customer.Set(true)}, register.IfVersion(1), admin)
		var stale *fault.Stale
		if !errors.As(err, &stale) {
			t.Fatalf("Update with a stale version: got %v (%T), want *fault.Stale", err, err)
		}
		if stale.Want != 1 || stale.Have != 2 {
			t.Errorf("Stale = %+v, want Want 1, Have 2", stale)
		}
		assertData(t, "customer after the stale update", f.get(c.ID()), v2.Data())
		if n := f.backlog(); n != before {
			t.Errorf("outbox holds %d events after the stale update, want %d", n, before)
		}
	})
}
