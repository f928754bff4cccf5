package webstore

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
const Spec = "kirjuri.webstore.v1"

// Event types.
const (
	// CustomerUpserted carries the customer's full state.
	CustomerUpserted = "customer.upserted"
	// ConsentChanged carries the customer's external_id, updated_at and
	// consents only.
	ConsentChanged = "customer.consent_changed"
)

// WebstoreEvent is one delivery of the generic web store contract: JSON, members in
// snake_case, signed the Standard Webhooks way (webhook-id,
// webhook-timestamp, webhook-signature). A member that is absent or null
// changes nothing; an unknown member rejects the event.
type WebstoreEvent struct {
	Spec       string            `json:"spec" enum:"kirjuri.webstore.v1" doc:"The contract and its version."`
	EventID    string            `json:"event_id" minLength:"1" maxLength:"255" doc:"The store's id of the event (for its own tracing; deduplication uses webhook-id)."`
	EventType  string            `json:"event_type" enum:"customer.upserted,customer.consent_changed" doc:"customer.upserted: the customer's full state; customer.consent_changed: external_id, updated_at and consents only."`
	OccurredAt time.Time         `json:"occurred_at" doc:"When the event happened in the store."`
	Source     *WebstoreSource   `json:"source,omitempty" doc:"Which store sent it."`
	Customer   *WebstoreCustomer `json:"customer" doc:"The customer as the store holds it."`
}

// Source names the sending store.
type WebstoreSource struct {
	System   string `json:"system,omitempty" maxLength:"100" doc:"The store's software, free text."`
	Instance string `json:"instance,omitempty" maxLength:"100" doc:"Which of the merchant's stores, free text; it goes into consent evidence."`
}

// WebstoreCustomer is the store's customer.
type WebstoreCustomer struct {
	ExternalID    string            `json:"external_id" minLength:"1" maxLength:"100" doc:"The store's id of the customer: the customer's external-system link (systemId 7)."`
	UpdatedAt     *time.Time        `json:"updated_at,omitempty" doc:"The store's own update time of the customer. An event older than one already taken from the same customer changes nothing (deliveries out of order)."`
	Type          *string           `json:"type,omitempty" enum:"person,company" nullable:"true"`
	FirstName     *string           `json:"first_name,omitempty" nullable:"true"`
	LastName      *string           `json:"last_name,omitempty" nullable:"true"`
	CompanyName   *string           `json:"company_name,omitempty" nullable:"true"`
	BusinessID    *string           `json:"business_id,omitempty" nullable:"true" doc:"Finnish business id (Y-tunnus), 1234567-8."`
	Email         *string           `json:"email,omitempty" nullable:"true"`
	EmailVerified *bool             `json:"email_verified,omitempty" nullable:"true" doc:"Informative; not stored."`
	Phone         *string           `json:"phone,omitempty" nullable:"true" doc:"Added to the customer's phone numbers when not there yet (E.164 or a Finnish number)."`
	Language      *string           `json:"language,omitempty" enum:"fi,sv,en" nullable:"true"`
	Addresses     []WebstoreAddress `json:"addresses,omitempty" nullable:"true" maxItems:"20" doc:"Added to the customer's addresses when not there yet; never replacing what other doors put there."`
	Consents      []WebstoreConsent `json:"consents,omitempty" nullable:"true" maxItems:"10" doc:"Marketing consents the store captured, one per channel. A channel not listed, or with status unknown, leaves the customer's consent as it is."`
	Attributes    map[string]any    `json:"attributes,omitempty" nullable:"true" doc:"Free attributes of the store; not stored."`
}

// WebstoreAddress is one of the customer's addresses in the store.
type WebstoreAddress struct {
	Type       string  `json:"type" enum:"billing,shipping" doc:"billing becomes an Invoice address, shipping a Delivery address."`
	IsDefault  *bool   `json:"is_default,omitempty" nullable:"true" doc:"Informative; not stored."`
	Name       *string `json:"name,omitempty" nullable:"true" doc:"Informative; not stored."`
	Company    *string `json:"company,omitempty" nullable:"true" doc:"Informative; not stored."`
	Line1      string  `json:"line1" minLength:"1"`
	Line2      *string `json:"line2,omitempty" nullable:"true"`
	PostalCode string  `json:"postal_code" minLength:"1"`
	City       string  `json:"city" minLength:"1"`
	Region     *string `json:"region,omitempty" nullable:"true" doc:"Informative; not stored."`
	Country    *string `json:"country,omitempty" nullable:"true" doc:"ISO 3166-1 alpha-2; FI when absent."`
}

// WebstoreConsent is one consent as the store captured it.
type WebstoreConsent struct {
	Channel     string     `json:"channel" enum:"email,sms"`
	Purpose     string     `json:"purpose" enum:"marketing" doc:"Only marketing consents exist in the register."`
	Status      string     `json:"status" enum:"granted,denied,unknown" doc:"granted sets the consent, denied withdraws it, unknown leaves it as it is."`
	CapturedAt  *time.Time `json:"captured_at,omitempty" nullable:"true" doc:"When the customer gave or withdrew it; the customer's updated_at when absent."`
	Method      string     `json:"method,omitempty" maxLength:"100" doc:"How it was captured (checkout_checkbox, account_settings, …); kept as evidence."`
	TextVersion string     `json:"text_version,omitempty" maxLength:"100" doc:"The version of the consent text the customer saw; kept as evidence."`
}

// Drafts turns the event into the one draft of its customer. Errors are
// *fault.Validation naming the member.
func (ev *WebstoreEvent) Drafts() ([]intake.Draft, error) {
	v := &fault.Validation{}
	if ev.Spec != Spec {
		v.Add("spec", "must be %s", Spec)
	}
	if ev.EventType != CustomerUpserted && ev.EventType != ConsentChanged {
		v.Add("event_type", "must be %s or %s (other events are not supported yet)", CustomerUpserted, ConsentChanged)
	}
	c := ev.Customer
	if c == nil {
		v.Add("customer", "is required")
		return nil, v
	}
	if strings.TrimSpace(c.ExternalID) == "" {
		v.Add("customer.external_id", "is required")
	} else if len(c.ExternalID) > 100 {
		v.Add("customer.external_id", "must be at most 100 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	d := intake.Draft{
		Link:  customer.ExternalLink{SystemID: customer.Webstore, Identifier: c.ExternalID},
		Trust: intake.Authoritative,
	}
	if c.UpdatedAt != nil {
		d.SourceUpdatedAt = c.UpdatedAt.UTC()
	}
	if ev.EventType == ConsentChanged {
		if c.Type != nil || c.FirstName != nil || c.LastName != nil || c.CompanyName != nil || c.BusinessID != nil ||
			c.Email != nil || c.Phone != nil || c.Language != nil || len(c.Addresses) > 0 {
			v.Add("customer", "a customer.consent_changed event carries external_id, updated_at and consents only")
		}
	}
	p := &d.Patch
	if c.Type != nil {
		switch t := customer.Type(*c.Type); t {
		case customer.Person, customer.Company:
			p.Type = customer.Set(t)
		default:
			v.Add("customer.type", "must be person or company")
		}
	}
	setString(&p.FirstName, c.FirstName)
	setString(&p.LastName, c.LastName)
	setString(&p.CompanyName, c.CompanyName)
	setString(&p.BusinessID, c.BusinessID)
	setString(&p.Email, c.Email)
	if c.Language != nil && *c.Language != "" {
		// The core says which languages are allowed.
		p.Language = customer.Set(customer.Language(*c.Language))
	}
	if c.Phone != nil && strings.TrimSpace(*c.Phone) != "" {
		d.AddPhones = []string{strings.TrimSpace(*c.Phone)}
	}
	for i, a := range c.Addresses {
		at, ok := map[string]customer.AddressType{"billing": customer.Invoice, "shipping": customer.Delivery}[a.Type]
		if !ok {
			v.Add(fmt.Sprintf("customer.addresses[%d].type", i), "must be billing or shipping")
			continue
		}
		addr := customer.Address{Type: at, StreetAddress1: a.Line1, PostalCode: a.PostalCode, City: a.City, Country: "FI"}
		if a.Line2 != nil {
			addr.StreetAddress2 = *a.Line2
		}
		if a.Country != nil && *a.Country != "" {
			addr.Country = strings.ToUpper(*a.Country)
		}
		d.AddAddresses = append(d.AddAddresses, addr)
	}
	consents := make([]delivery.ChannelConsent, len(c.Consents))
	for i, cs := range c.Consents {
		consents[i] = delivery.ChannelConsent(cs)
	}
	delivery.ConsentClaims(v, "customer.consents", consents, &d, ev.evidence)
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []intake.Draft{d}, nil
}

// evidence says how the store captured a consent: the store, the method
// and the version of the text, never personal data.
func (ev *WebstoreEvent) evidence(c delivery.ChannelConsent) string {
	instance, event := "", ""
	if ev.Source != nil {
		instance = ev.Source.Instance
	}
	if ev.EventID != "" {
		event = "event " + ev.EventID
	}
	return delivery.ConsentEvidence("web store", instance, c, event)
}

func setString(o *customer.Opt[string], s *string) {
	if s != nil {
		*o = customer.Set(*s)
	}
}
