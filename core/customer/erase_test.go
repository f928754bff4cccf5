package customer_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// erasureEvent is event() with the source an erasure sets.
func erasureEvent(n int, kind consent.Kind, was, now bool) consent.Event {
	e := event(n, t1, kind, was, now)
	e.Source = consent.SourceErasure
	return e
}

func TestErase(t *testing.T) {
	t.Parallel()

	erasedAt := t1
	erasedPerson := customer.Data{
		ID: testID, Number: testNumber, Type: customer.Person,
		VATStatus: customer.VATDomestic, Language: customer.Finnish,
		GDPRRestricted: true,
		CreatedAt:      t0, UpdatedAt: t1, Version: 2, ErasedAt: &erasedAt,
	}
	erasedCompany := erasedPerson
	erasedCompany.Type = customer.Company

	tests := []struct {
		name       string
		give       customer.Patch
		wantData   customer.Data
		wantEvents []consent.Event
	}{
		{
			name:     "person with marketing email",
			give:     fullPerson(),
			wantData: erasedPerson,
			wantEvents: []consent.Event{
				erasureEvent(1, consent.MarketingEmail, true, false),
				// An erased record stays restricted: that is a change too.
				erasureEvent(2, consent.GDPRRestricted, false, true),
				erasureEvent(3, consent.Erased, false, true),
			},
		},
		{
			name:     "company with both marketing consents",
			give:     fullCompany(),
			wantData: erasedCompany,
			wantEvents: []consent.Event{
				erasureEvent(1, consent.MarketingEmail, true, false),
				erasureEvent(2, consent.MarketingSMS, true, false),
				erasureEvent(3, consent.GDPRRestricted, false, true),
				erasureEvent(4, consent.Erased, false, true),
			},
		},
		{
			name:     "no consents",
			give:     person(),
			wantData: erasedPerson,
			wantEvents: []consent.Event{
				erasureEvent(1, consent.GDPRRestricted, false, true),
				erasureEvent(2, consent.Erased, false, true),
			},
		},
		{
			name:     "every consent true",
			give:     fullPersonWith(consents(yes, yes, yes)),
			wantData: erasedPerson,
			wantEvents: []consent.Event{
				erasureEvent(1, consent.MarketingEmail, true, false),
				erasureEvent(2, consent.MarketingSMS, true, false),
				erasureEvent(3, consent.Erased, false, true),
			},
		},
		{
			name:     "restricted only",
			give:     company(consents(keep, keep, yes)),
			wantData: erasedCompany,
			wantEvents: []consent.Event{
				erasureEvent(1, consent.Erased, false, true),
			},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.give)
			got := c.Erase(change(t1))
			if !reflect.DeepEqual(got, tt.wantEvents) {
				t.Errorf("events =\n%+v\nwant\n%+v", got, tt.wantEvents)
			}
			if d := c.Data(); !reflect.DeepEqual(d, tt.wantData) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", d, tt.wantData)
			}
			if !c.Erased() || !c.Restricted() || c.Version() != 2 {
				t.Errorf("Erased, Restricted, Version = %v, %v, %d; want true, true, 2", c.Erased(), c.Restricted(), c.Version())
			}
		})
	}
}

// fullPerson with mods applied on top.
func fullPersonWith(mods ...func(*customer.Patch)) customer.Patch {
	p := fullPerson()
	for _, m := range mods {
		m(&p)
	}
	return p
}

func TestEraseRemovesContacts(t *testing.T) {
	t.Parallel()

	c := mustNew(t, fullCompany())
	if err := c.AddContact(customer.Contact{ID: uuid.New(), Name: "Liisa", Email: "liisa@kirjuri.fi", Phone: "0401234567"}, change(t1)); err != nil {
		t.Fatalf("AddContact: %v", err)
	}
	c.Erase(change(t2))
	if d := c.Data(); d.Contacts != nil || d.Version != 3 || !d.UpdatedAt.Equal(t2) {
		t.Errorf("contacts, version, updatedAt = %+v, %d, %v; want none, 3, %v", d.Contacts, d.Version, d.UpdatedAt, t2)
	}
}

func TestEraseTwice(t *testing.T) {
	t.Parallel()

	c := mustNew(t, fullPerson())
	c.Erase(change(t1))
	before := c.Data()
	if got := c.Erase(noIDs(t, t2)); got != nil {
		t.Errorf("second Erase events = %+v, want none", got)
	}
	if after := c.Data(); !reflect.DeepEqual(after, before) {
		t.Errorf("second Erase changed the customer:\n%+v\nwas\n%+v", after, before)
	}
}

// TestErasedIsReadOnly: nothing changes an erased customer.
func TestErasedIsReadOnly(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give func(c *customer.Customer, ch customer.Change) error
	}{
		{name: "Apply", give: func(c *customer.Customer, ch customer.Change) error {
			_, err := c.Apply(customer.Patch{FirstName: customer.Set("Matti")}, ch)
			return err
		}},
		{name: "Apply of a consent", give: func(c *customer.Customer, ch customer.Change) error {
			_, err := c.Apply(customer.Patch{MarketingEmail: yes}, ch)
			return err
		}},
		{name: "Apply of nothing", give: func(c *customer.Customer, ch customer.Change) error {
			_, err := c.Apply(customer.Patch{}, ch)
			return err
		}},
		{name: "AddContact", give: func(c *customer.Customer, ch customer.Change) error {
			return c.AddContact(customer.Contact{ID: uuid.New(), Name: "Liisa"}, ch)
		}},
		{name: "RemoveContact of a contact it had", give: func(c *customer.Customer, ch customer.Change) error {
			return c.RemoveContact(contactID1, ch)
		}},
		{name: "RemoveContact of an unknown contact", give: func(c *customer.Customer, ch customer.Change) error {
			return c.RemoveContact(contactID2, ch)
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, fullCompany())
			if err := c.AddContact(customer.Contact{ID: contactID1, Name: "Liisa"}, change(t1)); err != nil {
				t.Fatalf("AddContact: %v", err)
			}
			c.Erase(change(t1))
			before := c.Data()
			err := tt.give(c, noIDs(t, t2))
			var conflict *fault.Conflict
			if !errors.As(err, &conflict) {
				t.Errorf("error = %v (%T), want *fault.Conflict", err, err)
			}
			if after := c.Data(); !reflect.DeepEqual(after, before) {
				t.Errorf("erased customer changed:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
}
