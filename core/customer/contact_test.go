package customer_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

var (
	contactID1 = uuid.MustParse("0195f3a0-0000-7000-8000-0000000000c1")
	contactID2 = uuid.MustParse("0195f3a0-0000-7000-8000-0000000000c2")
)

func TestAddContact(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Contact
		want customer.Contact
	}{
		{
			name: "every field, normalised",
			give: customer.Contact{ID: contactID1, Name: " Liisa Virtanen ", Role: " CFO ", Email: "Liisa@Kirjuri.FI", Phone: "040 1234567"},
			want: customer.Contact{ID: contactID1, Name: "Liisa Virtanen", Role: "CFO", Email: "Liisa@kirjuri.fi", Phone: "+358401234567"},
		},
		{
			name: "name only",
			give: customer.Contact{ID: contactID1, Name: "Liisa"},
			want: customer.Contact{ID: contactID1, Name: "Liisa"},
		},
		{
			name: "foreign phone with 00",
			give: customer.Contact{ID: contactID1, Name: "Sven", Phone: "0046 70 123 45 67"},
			want: customer.Contact{ID: contactID1, Name: "Sven", Phone: "+46701234567"},
		},
		{
			name: "blank optional fields",
			give: customer.Contact{ID: contactID1, Name: "Liisa", Role: " ", Email: " ", Phone: "\t"},
			want: customer.Contact{ID: contactID1, Name: "Liisa"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, fullCompany())
			if err := c.AddContact(tt.give, noIDs(t, t1)); err != nil {
				t.Fatalf("AddContact: %v", err)
			}
			want := fullCompanyData(func(d *customer.Data) {
				d.Contacts = []customer.Contact{tt.want}
				d.Version = 2
				d.UpdatedAt = t1
			})
			if got := c.Data(); !reflect.DeepEqual(got, want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestAddContactRejects(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Contact
		want  []string
	}{
		{name: "person customer", start: fullPerson(), give: customer.Contact{ID: contactID1, Name: "Liisa"}, want: []string{"type"}},
		{name: "no name", start: company(), give: customer.Contact{ID: contactID1, Email: "liisa@kirjuri.fi"}, want: []string{"name"}},
		{name: "blank name", start: company(), give: customer.Contact{ID: contactID1, Name: " \t "}, want: []string{"name"}},
		{name: "name with line break", start: company(), give: customer.Contact{ID: contactID1, Name: "Liisa\nVirtanen"}, want: []string{"name"}},
		{name: "name too long", start: company(), give: customer.Contact{ID: contactID1, Name: repeat("n", customer.MaxNameLen+1)}, want: []string{"name"}},
		{name: "role with control character", start: company(), give: customer.Contact{ID: contactID1, Name: "Liisa", Role: "C\x00FO"}, want: []string{"role"}},
		{name: "invalid email", start: company(), give: customer.Contact{ID: contactID1, Name: "Liisa", Email: "liisa@"}, want: []string{"email"}},
		{name: "invalid phone", start: company(), give: customer.Contact{ID: contactID1, Name: "Liisa", Phone: "12"}, want: []string{"phone"}},
		{name: "no id", start: company(), give: customer.Contact{Name: "Liisa"}, want: []string{"id"}},
		// BUG: once another field is wrong, a missing name is not reported
		// (normalizeContact tests v.Err() == nil instead of the name alone).
		{name: "everything wrong", start: company(), give: customer.Contact{Name: "", Email: "x", Phone: "y"}, want: []string{"email", "id", "name", "phone"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			before := c.Data()
			err := c.AddContact(tt.give, noIDs(t, t1))
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
			if after := c.Data(); !reflect.DeepEqual(after, before) {
				t.Errorf("a failed AddContact changed the customer:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
}

// TestAddContactLimit: contacts are bounded like every other list.
//
// BUG: MaxListLen names contacts, but AddContact never checks it.
func TestAddContactLimit(t *testing.T) {
	t.Parallel()

	c := mustNew(t, company())
	for i := range customer.MaxListLen {
		if err := c.AddContact(customer.Contact{ID: uuid.UUID{15: byte(i), 14: 1}, Name: "n"}, change(t1)); err != nil {
			t.Fatalf("contact %d: %v", i+1, err)
		}
	}
	err := c.AddContact(customer.Contact{ID: uuid.UUID{14: 2}, Name: "one too many"}, change(t1))
	if got, want := errFields(err), []string{"contacts"}; !reflect.DeepEqual(got, want) {
		t.Errorf("contact %d: error fields %q, want %q (%v)", customer.MaxListLen+1, got, want, err)
	}
}

func TestRemoveContact(t *testing.T) {
	t.Parallel()

	liisa := customer.Contact{ID: contactID1, Name: "Liisa"}
	pekka := customer.Contact{ID: contactID2, Name: "Pekka"}

	tests := []struct {
		name        string
		give        uuid.UUID
		want        []customer.Contact
		wantVersion int64
	}{
		{name: "first", give: contactID1, want: []customer.Contact{pekka}, wantVersion: 4},
		{name: "second", give: contactID2, want: []customer.Contact{liisa}, wantVersion: 4},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, company())
			if err := errors.Join(c.AddContact(liisa, change(t1)), c.AddContact(pekka, change(t1))); err != nil {
				t.Fatalf("AddContact: %v", err)
			}
			if err := c.RemoveContact(tt.give, noIDs(t, t2)); err != nil {
				t.Fatalf("RemoveContact: %v", err)
			}
			d := c.Data()
			if !reflect.DeepEqual(d.Contacts, tt.want) || d.Version != tt.wantVersion || !d.UpdatedAt.Equal(t2) {
				t.Errorf("contacts, version, updatedAt = %+v, %d, %v; want %+v, %d, %v", d.Contacts, d.Version, d.UpdatedAt, tt.want, tt.wantVersion, t2)
			}
		})
	}
}

func TestRemoveContactNotFound(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		contacts []customer.Contact
		give     uuid.UUID
	}{
		{name: "no contacts", give: contactID1},
		{name: "other contact", contacts: []customer.Contact{{ID: contactID2, Name: "Pekka"}}, give: contactID1},
		{name: "nil id", contacts: []customer.Contact{{ID: contactID2, Name: "Pekka"}}, give: uuid.Nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, company())
			for _, ct := range tt.contacts {
				if err := c.AddContact(ct, change(t1)); err != nil {
					t.Fatalf("AddContact: %v", err)
				}
			}
			before := c.Data()
			err := c.RemoveContact(tt.give, noIDs(t, t2))
			var nf *fault.NotFound
			if !errors.As(err, &nf) || nf.What != "contact" || nf.Key != tt.give.String() {
				t.Errorf("error = %#v, want *fault.NotFound{What: contact, Key: %s}", err, tt.give)
			}
			if after := c.Data(); !reflect.DeepEqual(after, before) {
				t.Errorf("customer changed:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
}

// TestContactsOnlyOnCompanies: a company with contact persons cannot turn
// into a person.
func TestContactsOnlyOnCompanies(t *testing.T) {
	t.Parallel()

	c := mustNew(t, company())
	if err := c.AddContact(customer.Contact{ID: contactID1, Name: "Liisa"}, change(t1)); err != nil {
		t.Fatalf("AddContact: %v", err)
	}
	_, err := c.Apply(customer.Patch{
		Type: customer.Set(customer.Person), FirstName: customer.Set("Matti"), LastName: customer.Set("M"),
		CompanyName: customer.Clear[string](), BusinessID: customer.Clear[string](),
	}, change(t2))
	if got, want := errFields(err), []string{"contacts"}; !reflect.DeepEqual(got, want) {
		t.Errorf("error fields %q, want %q (%v)", got, want, err)
	}
}
