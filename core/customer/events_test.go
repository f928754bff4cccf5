package customer_test

import (
	"reflect"
	"testing"
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// event is the event that a change at `at` with origin produces, carrying
// the n-th id of ids().
func event(n int, at time.Time, kind consent.Kind, was, now bool) consent.Event {
	return consent.Event{
		ID:             eventID(n),
		OccurredAt:     at,
		CustomerID:     testID,
		CustomerNumber: testNumber,
		Consent:        kind,
		OldValue:       was,
		NewValue:       now,
		Source:         origin.Source,
		SourceSystemID: origin.SourceSystemID,
		Actor:          origin.Actor,
		RequestID:      origin.RequestID,
		ImportID:       origin.ImportID,
		Evidence:       origin.Evidence,
	}
}

// consents sets the three consents of a patch.
func consents(email, sms, restricted customer.Opt[bool]) func(*customer.Patch) {
	return func(p *customer.Patch) {
		p.MarketingEmail, p.MarketingSMS, p.GDPRRestricted = email, sms, restricted
	}
}

var (
	yes  = customer.Set(true)
	no   = customer.Set(false)
	keep = customer.Keep[bool]()
	clr  = customer.Clear[bool]()
)

func TestNewEvents(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Patch
		want []consent.Event
	}{
		{name: "no consents given", give: person(), want: nil},
		{name: "all false", give: person(consents(no, no, no)), want: nil},
		{name: "all cleared", give: person(consents(clr, clr, clr)), want: nil},
		{name: "email", give: person(consents(yes, no, keep)), want: []consent.Event{
			event(1, t0, consent.MarketingEmail, false, true),
		}},
		{name: "sms", give: person(consents(keep, yes, no)), want: []consent.Event{
			event(1, t0, consent.MarketingSMS, false, true),
		}},
		{name: "restricted", give: company(consents(no, keep, yes)), want: []consent.Event{
			event(1, t0, consent.GDPRRestricted, false, true),
		}},
		{name: "all true", give: person(consents(yes, yes, yes)), want: []consent.Event{
			event(1, t0, consent.MarketingEmail, false, true),
			event(2, t0, consent.MarketingSMS, false, true),
			event(3, t0, consent.GDPRRestricted, false, true),
		}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			_, got, err := customer.New(testID, testNumber, tt.give, change(t0))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestNewEventsNotOnError: a rejected customer records nothing.
func TestNewEventsNotOnError(t *testing.T) {
	t.Parallel()

	_, got, err := customer.New(testID, testNumber, person(consents(yes, yes, yes), func(p *customer.Patch) {
		p.Email = customer.Set("bad")
	}), noIDs(t, t0))
	if got != nil || err == nil {
		t.Errorf("New = %+v, %v; want no events and an error", got, err)
	}
}

func TestApplyEvents(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  []consent.Event
	}{
		{name: "grant email", start: person(), give: customer.Patch{MarketingEmail: yes}, want: []consent.Event{
			event(1, t1, consent.MarketingEmail, false, true),
		}},
		{name: "withdraw sms", start: person(consents(keep, yes, keep)), give: customer.Patch{MarketingSMS: no}, want: []consent.Event{
			event(1, t1, consent.MarketingSMS, true, false),
		}},
		{name: "withdraw sms by clearing", start: person(consents(keep, yes, keep)), give: customer.Patch{MarketingSMS: clr}, want: []consent.Event{
			event(1, t1, consent.MarketingSMS, true, false),
		}},
		{name: "restrict", start: company(), give: customer.Patch{GDPRRestricted: yes}, want: []consent.Event{
			event(1, t1, consent.GDPRRestricted, false, true),
		}},
		{name: "lift restriction", start: company(consents(keep, keep, yes)), give: customer.Patch{GDPRRestricted: no}, want: []consent.Event{
			event(1, t1, consent.GDPRRestricted, true, false),
		}},
		{name: "all three change, with other fields", start: person(consents(yes, no, yes)), give: person(consents(no, yes, no), func(p *customer.Patch) {
			p.FirstName = customer.Set("Maija")
		}), want: []consent.Event{
			event(1, t1, consent.MarketingEmail, true, false),
			event(2, t1, consent.MarketingSMS, false, true),
			event(3, t1, consent.GDPRRestricted, true, false),
		}},
		{name: "only the changed one of three", start: person(consents(yes, no, no)), give: customer.Patch{
			MarketingEmail: yes, MarketingSMS: yes, GDPRRestricted: no,
		}, want: []consent.Event{
			event(1, t1, consent.MarketingSMS, false, true),
		}},
		{name: "consent set to its value", start: person(consents(yes, keep, keep)), give: customer.Patch{MarketingEmail: yes}, want: nil},
		{name: "false cleared", start: person(), give: customer.Patch{MarketingEmail: clr, MarketingSMS: clr, GDPRRestricted: clr}, want: nil},
		{name: "other fields only", start: person(consents(yes, yes, yes)), give: customer.Patch{LastName: customer.Set("Virtanen"), CreditAllowed: yes}, want: nil},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			got, err := c.Apply(tt.give, change(t1))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("events =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestApplyEventsCarryTheOrigin: every origin field reaches the event as
// given, whatever the door.
func TestApplyEventsCarryTheOrigin(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give consent.Origin
	}{
		{name: "api", give: consent.Origin{Source: consent.SourceAPI, Actor: "key:admin", RequestID: "r-1", Evidence: "phone call 2025-03-02"}},
		{name: "import", give: consent.Origin{Source: consent.SourceImport, Actor: "user:liisa", ImportID: "imp-9"}},
		{name: "connector", give: consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.Reservation), Actor: "connector:booking", RequestID: "hook-5"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, person())
			got, err := c.Apply(customer.Patch{MarketingSMS: yes}, customer.Change{At: t2, Origin: tt.give, NewID: ids()})
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := []consent.Event{{
				ID: eventID(1), OccurredAt: t2, CustomerID: testID, CustomerNumber: testNumber,
				Consent: consent.MarketingSMS, OldValue: false, NewValue: true,
				Source: tt.give.Source, SourceSystemID: tt.give.SourceSystemID, Actor: tt.give.Actor,
				RequestID: tt.give.RequestID, ImportID: tt.give.ImportID, Evidence: tt.give.Evidence,
			}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("events =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestApplyVersion: the version grows by exactly one per change that
// changes something, and updatedAt follows it; a no-op keeps both.
func TestApplyVersion(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		give        customer.Patch
		wantVersion int64
		wantUpdated time.Time
	}{
		{name: "empty patch", give: customer.Patch{}, wantVersion: 1, wantUpdated: t0},
		{name: "same name", give: customer.Patch{FirstName: customer.Set("Matti")}, wantVersion: 1, wantUpdated: t0},
		{name: "same name with spaces", give: customer.Patch{FirstName: customer.Set(" Matti ")}, wantVersion: 1, wantUpdated: t0},
		{name: "same email, domain in capitals", give: customer.Patch{Email: customer.Set("matti@EXAMPLE.fi")}, wantVersion: 1, wantUpdated: t0},
		{name: "same phone in national form", give: customer.Patch{PhoneNumbers: customer.Set([]string{"040-123 4567"})}, wantVersion: 1, wantUpdated: t0},
		{name: "same ssn in lower case", give: customer.Patch{SSN: customer.Set("131052-308t")}, wantVersion: 1, wantUpdated: t0},
		{name: "same address, country implied", give: customer.Patch{Addresses: customer.Set([]customer.Address{
			{Type: customer.Home, StreetAddress1: "Kotikatu 3", PostalCode: "33100", City: "Tampere"},
		})}, wantVersion: 1, wantUpdated: t0},
		{name: "clear an empty field", give: customer.Patch{VATNumber: customer.Clear[string](), BusinessID: customer.Set("")}, wantVersion: 1, wantUpdated: t0},
		{name: "membership of an absent group removed", give: customer.Patch{GroupMembership: map[string]bool{"absent": false, "regulars": true}}, wantVersion: 1, wantUpdated: t0},
		{name: "consent to its value", give: customer.Patch{MarketingEmail: yes, MarketingSMS: no}, wantVersion: 1, wantUpdated: t0},
		{name: "vatStatus set to its value", give: customer.Patch{VATStatus: customer.Set(customer.VATOutsideEU)}, wantVersion: 1, wantUpdated: t0},
		{name: "one field", give: customer.Patch{FirstName: customer.Set("Maija")}, wantVersion: 2, wantUpdated: t1},
		{name: "many fields", give: customer.Patch{FirstName: customer.Set("Maija"), Email: customer.Clear[string](), CreditAllowed: no, MarketingEmail: no}, wantVersion: 2, wantUpdated: t1},
		{name: "list reordered", give: customer.Patch{Groups: customer.Set([]string{"regulars", "new"})}, wantVersion: 2, wantUpdated: t1},
		{name: "membership", give: customer.Patch{GroupMembership: map[string]bool{"regulars": false}}, wantVersion: 2, wantUpdated: t1},
		{name: "e-invoice email changed", give: customer.Patch{EInvoiceEmail: customer.Set("other@example.fi")}, wantVersion: 2, wantUpdated: t1},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, fullPerson())
			if _, err := c.Apply(tt.give, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			d := c.Data()
			if d.Version != tt.wantVersion || !d.UpdatedAt.Equal(tt.wantUpdated) || c.Version() != tt.wantVersion {
				t.Errorf("version, updatedAt = %d, %v; want %d, %v", d.Version, d.UpdatedAt, tt.wantVersion, tt.wantUpdated)
			}
			if !d.CreatedAt.Equal(t0) {
				t.Errorf("createdAt = %v, want %v", d.CreatedAt, t0)
			}
		})
	}
}

// TestApplyVersionSequence: a run of changes and no-ops counts exactly the
// changes.
func TestApplyVersionSequence(t *testing.T) {
	t.Parallel()

	c := mustNew(t, person())
	steps := []struct {
		give        customer.Patch
		wantVersion int64
		wantEvents  int
	}{
		{give: customer.Patch{MarketingEmail: yes}, wantVersion: 2, wantEvents: 1},
		{give: customer.Patch{MarketingEmail: yes}, wantVersion: 2, wantEvents: 0},
		{give: customer.Patch{Email: customer.Set("matti@example.fi")}, wantVersion: 3, wantEvents: 0},
		{give: customer.Patch{Email: customer.Set("matti@Example.fi")}, wantVersion: 3, wantEvents: 0},
		{give: customer.Patch{MarketingEmail: no, MarketingSMS: yes, GDPRRestricted: yes}, wantVersion: 4, wantEvents: 3},
		{give: customer.Patch{}, wantVersion: 4, wantEvents: 0},
		{give: customer.Patch{Email: customer.Set("bad")}, wantVersion: 4, wantEvents: 0},
		{give: customer.Patch{GDPRRestricted: no}, wantVersion: 5, wantEvents: 1},
	}
	var got, want []int64
	for _, s := range steps {
		events, _ := c.Apply(s.give, change(t1))
		got = append(got, c.Version(), int64(len(events)))
		want = append(want, s.wantVersion, int64(s.wantEvents))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("version, events after each step = %v, want %v", got, want)
	}
}
