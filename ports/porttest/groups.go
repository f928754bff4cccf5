package porttest

import (
	"slices"
	"testing"

	"kirjuri/core/customer"
)

func testGroups(t *testing.T, open opener) {
	t.Run("ListEmpty", func(t *testing.T) {
		f := setup(t, open)
		got, err := f.Customers.ListGroups(f.ctx)
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		if len(got) != 0 {
			t.Errorf("ListGroups on an empty store = %v, want none", got)
		}
	})

	t.Run("ListSortedByExternalID", func(t *testing.T) {
		f := setup(t, open)
		give := []customer.Group{
			{ExternalID: "vip", Name: "Kanta-asiakkaat"},
			{ExternalID: "b2b", Name: "Yritykset"},
			{ExternalID: "henkilöstö", Name: "Henkilökunta"},
			{ExternalID: "alennus-10", Name: "Alennus 10 %"},
		}
		for _, g := range give {
			if err := f.Customers.CreateGroup(f.ctx, g); err != nil {
				t.Fatalf("CreateGroup(%+v): %v", g, err)
			}
		}
		want := slices.Clone(give)
		slices.SortFunc(want, func(a, b customer.Group) int {
			switch {
			case a.ExternalID < b.ExternalID:
				return -1
			case a.ExternalID > b.ExternalID:
				return 1
			}
			return 0
		})
		got, err := f.Customers.ListGroups(f.ctx)
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListGroups =\n\t%v\nwant\n\t%v", got, want)
		}
	})

	t.Run("DuplicateExternalID", func(t *testing.T) {
		f := setup(t, open)
		first := customer.Group{ExternalID: "vip", Name: "Kanta-asiakkaat"}
		if err := f.Customers.CreateGroup(f.ctx, first); err != nil {
			t.Fatalf("CreateGroup: %v", err)
		}
		err := f.Customers.CreateGroup(f.ctx, customer.Group{ExternalID: "vip", Name: "Toinen nimi"})
		wantConflict(t, "second CreateGroup with the same externalId", err, "externalId")
		got, err := f.Customers.ListGroups(f.ctx)
		if err != nil {
			t.Fatalf("ListGroups: %v", err)
		}
		if !slices.Equal(got, []customer.Group{first}) {
			t.Errorf("ListGroups after the conflict = %v, want only %v", got, first)
		}
	})

	t.Run("MissingGroupOnCreate", func(t *testing.T) {
		f := setup(t, open)
		f.groups("vip")
		before := f.backlog()
		p := person("Ryhmätön", "Asiakas")
		p.Groups = customer.Set([]string{"vip", "puuttuva"})
		p.MarketingEmail = customer.Set(true)
		c, events := f.build(p, apiOrigin)
		err := f.Customers.Create(f.ctx, c, events)
		wantValidation(t, "Create with a missing group", err, "groups")
		_, err = f.Customers.GetByNumber(f.ctx, c.Number())
		wantNotFound(t, "GetByNumber after the failed create", err)
		if n := f.backlog(); n != before {
			t.Errorf("outbox holds %d events after the failed create, want %d", n, before)
		}
	})

	t.Run("MissingGroupOnUpdate", func(t *testing.T) {
		f := setup(t, open)
		f.groups("vip")
		c := f.create(person("Ryhmä", "Asiakas"))
		before := f.backlog()
		p := customer.Patch{
			GroupMembership: map[string]bool{"vip": true, "puuttuva": true},
			MarketingSMS:    customer.Set(true),
		}
		wantValidation(t, "Update with a missing group", f.tryApply(c.ID(), p, apiOrigin), "groups")
		assertData(t, "customer after the failed update", f.get(c.ID()), c.Data())
		if n := f.backlog(); n != before {
			t.Errorf("outbox holds %d events after the failed update, want %d", n, before)
		}
	})

	t.Run("MembershipChanges", func(t *testing.T) {
		f := setup(t, open)
		f.groups("a", "b", "c")
		c := f.create(customer.Patch{
			FirstName: customer.Set("Ryhmä"), LastName: customer.Set("Jäsen"),
			Groups: customer.Set([]string{"a", "b"}),
		})
		after, _ := f.apply(c.ID(), customer.Patch{GroupMembership: map[string]bool{"a": false, "c": true}}, importOrigin)
		got := f.get(c.ID())
		assertData(t, "Get after changing memberships", got, after.Data())
		if g := slices.Sorted(slices.Values(got.Groups)); !slices.Equal(g, []string{"b", "c"}) {
			t.Errorf("groups = %v, want [b c]", g)
		}
		after, _ = f.apply(c.ID(), customer.Patch{Groups: customer.Clear[[]string]()}, apiOrigin)
		assertData(t, "Get after clearing groups", f.get(c.ID()), after.Data())
	})
}
