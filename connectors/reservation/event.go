package reservation

import (
	"fmt"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// Spec names this contract and its version in every event.
const Spec = "kirjuri.reservation.v1"

// Event types.
const (
	// ReservationUpserted carries the reservation's full state with its
	// booker.
	ReservationUpserted = "reservation.upserted"
	// thinCustomerChanged is the thin event of §6.3 (ids only, the
	// receiver pulls the rest): not supported, there is no pull yet.
	thinCustomerChanged = "customer.changed"
)

// Bounds of the lists, checked when parsing (the document says them too).
const (
	maxGuests   = 100
	maxConsents = 10
)

// ReservationEvent is one delivery of the generic reservation contract:
// JSON, members in snake_case, signed the Standard Webhooks way
// (webhook-id, webhook-timestamp, webhook-signature). The booker is the
// customer. A member that is absent or null changes nothing; an unknown
// member rejects the event.
type ReservationEvent struct {
	Spec           string              `json:"spec" enum:"kirjuri.reservation.v1" doc:"The contract and its version."`
	EventID        string              `json:"event_id" minLength:"1" maxLength:"255" doc:"The booking system's id of the event (for its own tracing and the consent evidence; deduplication uses webhook-id)."`
	EventType      string              `json:"event_type" enum:"reservation.upserted" doc:"reservation.upserted: a reservation was made or changed (cancellations too, by its status); it carries the booker's full state."`
	OccurredAt     time.Time           `json:"occurred_at" doc:"When the event happened in the booking system; the booker's update time when booker.updated_at is absent."`
	Source         *ReservationSource  `json:"source,omitempty" doc:"Which booking system sent it."`
	Reservation    *ReservationDetails `json:"reservation,omitempty" doc:"The reservation; informative (its id goes into the consent evidence), not stored."`
	Booker         *ReservationBooker  `json:"booker" doc:"Who made the reservation: the customer."`
	BillingContact *ReservationContact `json:"billing_contact,omitempty" doc:"Who pays, when not the booker; informative, not stored. null or absent: none."`
	Guests         []ReservationGuest  `json:"guests,omitempty" nullable:"true" maxItems:"100" doc:"The other participants. Taken only when the connector's ingestGuests is on, and then only guests with an external_id and an email or a phone, as observations: they fill only what is empty and never set consents."`
}

// ReservationSource names the sending booking system.
type ReservationSource struct {
	System   string `json:"system,omitempty" maxLength:"100" doc:"The booking system's software, free text."`
	Instance string `json:"instance,omitempty" maxLength:"100" doc:"Which of the merchant's booking systems, free text; it goes into consent evidence."`
}

// ReservationDetails is the reservation itself.
type ReservationDetails struct {
	ExternalID string               `json:"external_id,omitempty" maxLength:"100" doc:"The booking system's id of the reservation; it goes into consent evidence."`
	Status     string               `json:"status,omitempty" maxLength:"50" doc:"confirmed, tentative, cancelled, …; informative."`
	Channel    string               `json:"channel,omitempty" maxLength:"50" doc:"direct, an OTA's name, …; informative."`
	StartsAt   *time.Time           `json:"starts_at,omitempty" nullable:"true"`
	EndsAt     *time.Time           `json:"ends_at,omitempty" nullable:"true"`
	Resource   *ReservationResource `json:"resource,omitempty" doc:"What was reserved."`
	UpdatedAt  *time.Time           `json:"updated_at,omitempty" nullable:"true" doc:"The booking system's update time of the reservation; informative (the booker's update time is booker.updated_at, else occurred_at)."`
}

// ReservationResource is what was reserved.
type ReservationResource struct {
	ID   string `json:"id,omitempty" maxLength:"100"`
	Name string `json:"name,omitempty" maxLength:"200"`
}

// ReservationBooker is the booker as the booking system holds them.
type ReservationBooker struct {
	ExternalID       string               `json:"external_id" minLength:"1" maxLength:"100" doc:"The booking system's id of the booker (its user or customer id, not the reservation's): the customer's external-system link (systemId 22)."`
	UpdatedAt        *time.Time           `json:"updated_at,omitempty" nullable:"true" doc:"The booking system's own update time of the booker; occurred_at when absent. An event older than one already taken from the same booker changes nothing (deliveries out of order)."`
	Type             *string              `json:"type,omitempty" enum:"person,organisation" nullable:"true" doc:"organisation makes the customer a company."`
	FirstName        *string              `json:"first_name,omitempty" nullable:"true" doc:"For an organisation, its contact person."`
	LastName         *string              `json:"last_name,omitempty" nullable:"true"`
	OrganisationName *string              `json:"organisation_name,omitempty" nullable:"true" doc:"The customer's company name."`
	BusinessID       *string              `json:"business_id,omitempty" nullable:"true" doc:"Finnish business id (Y-tunnus), 1234567-8."`
	Email            *string              `json:"email,omitempty" nullable:"true"`
	EmailIsRelay     *bool                `json:"email_is_relay,omitempty" nullable:"true" doc:"true: the email is an alias of a booking channel (an OTA's relay address), not the booker's own; it is not taken."`
	Phone            *string              `json:"phone,omitempty" nullable:"true" doc:"Added to the customer's phone numbers when not there yet (E.164 or a Finnish number)."`
	Language         *string              `json:"language,omitempty" enum:"fi,sv,en" nullable:"true"`
	Address          *ReservationAddress  `json:"address,omitempty" doc:"Added to the customer's addresses when not there yet: a Home address, or an Invoice address when type is organisation; never replacing what other doors put there."`
	Consents         []ReservationConsent `json:"consents,omitempty" nullable:"true" maxItems:"10" doc:"Marketing consents the booking system captured, one per channel. A channel not listed, or with status unknown, leaves the customer's consent as it is."`
}

// ReservationAddress is a postal address.
type ReservationAddress struct {
	Line1      string  `json:"line1" minLength:"1"`
	Line2      *string `json:"line2,omitempty" nullable:"true"`
	PostalCode string  `json:"postal_code" minLength:"1"`
	City       string  `json:"city" minLength:"1"`
	Country    *string `json:"country,omitempty" nullable:"true" doc:"ISO 3166-1 alpha-2; FI when absent."`
}

// ReservationContact is the billing contact; informative, not stored.
type ReservationContact struct {
	FirstName        *string             `json:"first_name,omitempty" nullable:"true"`
	LastName         *string             `json:"last_name,omitempty" nullable:"true"`
	OrganisationName *string             `json:"organisation_name,omitempty" nullable:"true"`
	BusinessID       *string             `json:"business_id,omitempty" nullable:"true"`
	Email            *string             `json:"email,omitempty" nullable:"true"`
	Phone            *string             `json:"phone,omitempty" nullable:"true"`
	Address          *ReservationAddress `json:"address,omitempty"`
}

// ReservationGuest is another participant of the reservation.
type ReservationGuest struct {
	ExternalID *string `json:"external_id,omitempty" nullable:"true" maxLength:"100" doc:"The booking system's id of the guest, when it has one: the link of the observation (systemId 22). A guest without one is not taken."`
	FirstName  *string `json:"first_name,omitempty" nullable:"true"`
	LastName   *string `json:"last_name,omitempty" nullable:"true"`
	Email      *string `json:"email,omitempty" nullable:"true"`
	Phone      *string `json:"phone,omitempty" nullable:"true"`
}

// ReservationConsent is one consent as the booking system captured it.
type ReservationConsent struct {
	Channel     string     `json:"channel" enum:"email,sms"`
	Purpose     string     `json:"purpose" enum:"marketing" doc:"Only marketing consents exist in the register."`
	Status      string     `json:"status" enum:"granted,denied,unknown" doc:"granted sets the consent, denied withdraws it, unknown leaves it as it is."`
	CapturedAt  *time.Time `json:"captured_at,omitempty" nullable:"true" doc:"When the booker gave or withdrew it; the booker's update time when absent."`
	Method      string     `json:"method,omitempty" maxLength:"100" doc:"How it was captured (booking_form_checkbox, account_settings, …); kept as evidence."`
	TextVersion string     `json:"text_version,omitempty" maxLength:"100" doc:"The version of the consent text the booker saw; kept as evidence."`
}

// Drafts turns the event into the draft of its booker and, with guests,
// the observations of its guests. Errors are *fault.Validation naming the
// member.
func (ev *ReservationEvent) Drafts(guests bool) ([]intake.Draft, error) {
	v := &fault.Validation{}
	if ev.Spec != Spec {
		v.Add("spec", "must be %s", Spec)
	}
	switch ev.EventType {
	case ReservationUpserted:
	case thinCustomerChanged:
		v.Add("event_type", "%s (a thin event) is not supported: send %s with the booker", thinCustomerChanged, ReservationUpserted)
	default:
		v.Add("event_type", "must be %s", ReservationUpserted)
	}
	if ev.OccurredAt.IsZero() {
		v.Add("occurred_at", "is required")
	}
	if len(ev.Guests) > maxGuests {
		v.Add("guests", "must be at most %d", maxGuests)
	}
	b := ev.Booker
	if b == nil {
		v.Add("booker", "is required")
		return nil, v
	}
	checkID(v, "booker.external_id", b.ExternalID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	at := ev.OccurredAt.UTC()
	if b.UpdatedAt != nil {
		at = b.UpdatedAt.UTC()
	}
	d := intake.Draft{
		Link:            customer.ExternalLink{SystemID: customer.Reservation, Identifier: b.ExternalID},
		Trust:           intake.Authoritative,
		SourceUpdatedAt: at,
	}
	p := &d.Patch
	addrType := customer.Home
	if b.Type != nil {
		switch *b.Type {
		case "person":
			p.Type = customer.Set(customer.Person)
		case "organisation":
			p.Type = customer.Set(customer.Company)
			addrType = customer.Invoice
		default:
			v.Add("booker.type", "must be person or organisation")
		}
	}
	setString(&p.FirstName, b.FirstName)
	setString(&p.LastName, b.LastName)
	setString(&p.CompanyName, b.OrganisationName)
	setString(&p.BusinessID, b.BusinessID)
	if b.EmailIsRelay == nil || !*b.EmailIsRelay {
		// A relay address is the channel's, not the booker's: matching
		// by it would join strangers, so it is not taken at all.
		setString(&p.Email, b.Email)
	}
	if b.Language != nil && *b.Language != "" {
		// The core says which languages are allowed.
		p.Language = customer.Set(customer.Language(*b.Language))
	}
	if b.Phone != nil && strings.TrimSpace(*b.Phone) != "" {
		d.AddPhones = []string{strings.TrimSpace(*b.Phone)}
	}
	if a := b.Address; a != nil {
		addr := customer.Address{Type: addrType, StreetAddress1: a.Line1, PostalCode: a.PostalCode, City: a.City, Country: "FI"}
		if a.Line2 != nil {
			addr.StreetAddress2 = *a.Line2
		}
		if a.Country != nil && *a.Country != "" {
			addr.Country = strings.ToUpper(*a.Country)
		}
		d.AddAddresses = []customer.Address{addr}
	}
	if len(b.Consents) > maxConsents {
		v.Add("booker.consents", "must be at most %d", maxConsents)
	}
	consents := make([]delivery.ChannelConsent, min(len(b.Consents), maxConsents))
	for i, cs := range b.Consents[:len(consents)] {
		consents[i] = delivery.ChannelConsent(cs)
	}
	delivery.ConsentClaims(v, "booker.consents", consents, &d, ev.evidence)
	out := []intake.Draft{d}
	if guests {
		for i, g := range ev.Guests {
			if i == maxGuests {
				break
			}
			if g.ExternalID == nil || strings.TrimSpace(*g.ExternalID) == "" {
				continue // nothing to link it by
			}
			if !present(g.Email) && !present(g.Phone) {
				continue // no contact details: not a customer (§6.3)
			}
			field := fmt.Sprintf("guests[%d].external_id", i)
			if checkID(v, field, *g.ExternalID) {
				continue
			}
			if *g.ExternalID == b.ExternalID {
				continue // the booker, taken above
			}
			gd := intake.Draft{
				Link:            customer.ExternalLink{SystemID: customer.Reservation, Identifier: *g.ExternalID},
				Trust:           intake.Observation,
				SourceUpdatedAt: ev.OccurredAt.UTC(),
			}
			setString(&gd.Patch.FirstName, g.FirstName)
			setString(&gd.Patch.LastName, g.LastName)
			if present(g.Email) {
				gd.Patch.Email = customer.Set(strings.TrimSpace(*g.Email))
			}
			if present(g.Phone) {
				gd.AddPhones = []string{strings.TrimSpace(*g.Phone)}
			}
			out = append(out, gd)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// checkID adds an error for an id that is empty or too long; it reports
// whether it did.
func checkID(v *fault.Validation, field, id string) bool {
	switch {
	case strings.TrimSpace(id) == "":
		v.Add(field, "is required")
	case len(id) > 100:
		v.Add(field, "must be at most 100 characters")
	default:
		return false
	}
	return true
}

// evidence says how the booking system captured a consent: the system,
// the method, the version of the text, the reservation and the event,
// never personal data.
func (ev *ReservationEvent) evidence(c delivery.ChannelConsent) string {
	instance, reservation, event := "", "", ""
	if ev.Source != nil {
		instance = ev.Source.Instance
	}
	if ev.Reservation != nil && ev.Reservation.ExternalID != "" {
		reservation = "reservation " + ev.Reservation.ExternalID
	}
	if ev.EventID != "" {
		event = "event " + ev.EventID
	}
	return delivery.ConsentEvidence("booking system", instance, c, reservation, event)
}

func present(s *string) bool { return s != nil && strings.TrimSpace(*s) != "" }

func setString(o *customer.Opt[string], s *string) {
	if s != nil {
		*o = customer.Set(*s)
	}
}
