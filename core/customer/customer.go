// Package customer is the customer aggregate: its value types, the rules of
// domain.md, the three-valued patch every door uses, and the consent events a
// change produces. A *Customer always holds a valid customer: it is built by
// New (from a patch) or FromStorage, and changed only through its methods.
package customer

import (
	"reflect"
	"slices"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/fault"
)

// FirstNumber is where customer numbers start.
const FirstNumber = 10000

// Data is a plain copy of everything a customer holds. Adapters read it to
// store or show a customer and hand it back to FromStorage; changing a Data
// changes no customer.
type Data struct {
	ID              uuid.UUID
	Number          int64
	Type            Type
	FirstName       string
	LastName        string
	CompanyName     string
	BusinessID      string
	VATNumber       string
	VATStatus       VATStatus
	Email           string
	Language        Language
	SSN             string
	MarketingEmail  bool
	MarketingSMS    bool
	GDPRRestricted  bool
	CreditAllowed   bool
	ExternalID      string
	NetvisorID      string
	ExternalSystems []ExternalLink
	CustomerCards   []string
	Groups          []string
	Addresses       []Address
	PhoneNumbers    []string
	EInvoice        EInvoice
	Contacts        []Contact
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Version         int64
	// ErasedAt is set once the customer's personal data has been erased.
	ErasedAt *time.Time
}

// Customer is the aggregate. Its fields are unexported: read them with Data.
// Its data is never changed in place: a change builds new data (apply
// starts from a copy) and replaces it whole, so two customers may share
// the slices of their data (Numbered).
type Customer struct {
	d Data
}

// Change says when and by whom a change is made, and gives the ids that
// events need. The core reads no clock and makes no ids itself.
type Change struct {
	At     time.Time
	Origin consent.Origin
	NewID  func() uuid.UUID
	// Evidence, when it has an entry for a kind, is the evidence of that
	// kind's event instead of Origin.Evidence: a source that captured each
	// consent its own way (a connector's draft) proves each with its own.
	Evidence map[consent.Kind]string
}

// New builds a customer from a patch applied to an empty customer with the
// defaults (person, VAT status 1, language fi, no consents). It returns the
// consent events of the new customer: one for each consent that starts true.
func New(id uuid.UUID, number int64, p Patch, ch Change) (*Customer, []consent.Event, error) {
	base := Data{
		ID:        id,
		Number:    number,
		Type:      Person,
		VATStatus: DefaultVATStatus,
		Language:  DefaultLanguage,
		CreatedAt: ch.At,
		UpdatedAt: ch.At,
		Version:   1,
	}
	next, err := apply(base, p, ch.At)
	if err != nil {
		return nil, nil, err
	}
	c := &Customer{d: next}
	return c, consentEvents(Data{ID: id, Number: number}, next, ch), nil
}

// FromStorage rebuilds a stored customer. Stores only ever hold what New and
// the methods made, so single values are trusted as canonical (re-parsing
// every phone number on each read would cost more than the whole lookup);
// the rules between fields are checked, so a row broken by hand is reported
// rather than served.
func FromStorage(d Data) (*Customer, error) {
	d = cloneData(d)
	if d.ErasedAt == nil {
		if err := validate(d); err != nil {
			return nil, err
		}
	}
	return &Customer{d: d}, nil
}

// Data returns a copy of the customer's data.
func (c *Customer) Data() Data { return cloneData(c.d) }

// UniqueValues is UniqueValues of the customer's data, without copying it
// first (a batch asks it of thousands of customers).
func (c *Customer) UniqueValues() []UniqueValue { return UniqueValues(c.d) }

// Groups returns a copy of the groups the customer is in.
func (c *Customer) Groups() []string { return slices.Clone(c.d.Groups) }

func (c *Customer) ID() uuid.UUID    { return c.d.ID }
func (c *Customer) Number() int64    { return c.d.Number }
func (c *Customer) Version() int64   { return c.d.Version }
func (c *Customer) Restricted() bool { return c.d.GDPRRestricted }
func (c *Customer) Erased() bool     { return c.d.ErasedAt != nil }

// Apply changes the customer by p. When nothing changes it returns no events
// and the version stays; otherwise the version grows by one and each changed
// consent yields one event.
func (c *Customer) Apply(p Patch, ch Change) ([]consent.Event, error) {
	if c.Erased() {
		return nil, &fault.Conflict{Message: "the customer has been erased and can no longer be changed"}
	}
	next, err := apply(c.d, p, ch.At)
	if err != nil {
		return nil, err
	}
	return c.commit(next, ch), nil
}

// commit stores next as the new state when it differs from the current one.
func (c *Customer) commit(next Data, ch Change) []consent.Event {
	if reflect.DeepEqual(normalizeLists(next), normalizeLists(c.d)) {
		return nil
	}
	events := consentEvents(c.d, next, ch)
	next.Version = c.d.Version + 1
	next.UpdatedAt = ch.At
	c.d = next
	return events
}

// AddContact adds a contact person to a company customer.
func (c *Customer) AddContact(ct Contact, ch Change) error {
	if c.Erased() {
		return &fault.Conflict{Message: "the customer has been erased and can no longer be changed"}
	}
	if c.d.Type != Company {
		return fault.Invalid("type", "contact persons belong to company customers; this customer is a person")
	}
	norm, v := normalizeContact(ct)
	if err := v.Err(); err != nil {
		return err
	}
	if len(c.d.Contacts) >= MaxListLen {
		return fault.Invalid("contacts", "has %d entries; at most %d are allowed", len(c.d.Contacts), MaxListLen)
	}
	next := cloneData(c.d)
	next.Contacts = append(next.Contacts, norm)
	c.commit(next, ch)
	return nil
}

// RemoveContact removes a contact person by id.
func (c *Customer) RemoveContact(id uuid.UUID, ch Change) error {
	if c.Erased() {
		return &fault.Conflict{Message: "the customer has been erased and can no longer be changed"}
	}
	i := slices.IndexFunc(c.d.Contacts, func(x Contact) bool { return x.ID == id })
	if i < 0 {
		return &fault.NotFound{What: "contact", Key: id.String()}
	}
	next := cloneData(c.d)
	next.Contacts = slices.Delete(next.Contacts, i, i+1)
	c.commit(next, ch)
	return nil
}

// Erase removes the customer's personal data (GDPR erasure): names, email,
// identity code, phones, addresses, contacts, cards and every identifier
// linking it to other systems are removed, so that they can be used again;
// consents are withdrawn. The number, id and type stay, so that invoices and
// the consent history still refer to something. The events returned record
// each withdrawn consent and the erasure itself, with source "erasure".
// Erasing an erased customer changes nothing.
func (c *Customer) Erase(ch Change) []consent.Event {
	if c.Erased() {
		return nil
	}
	at := ch.At
	next := Data{
		ID:        c.d.ID,
		Number:    c.d.Number,
		Type:      c.d.Type,
		VATStatus: DefaultVATStatus,
		Language:  DefaultLanguage,
		CreatedAt: c.d.CreatedAt,
		ErasedAt:  &at,
		// A restriction stays in force: an erased record is never listed.
		GDPRRestricted: true,
	}
	ch.Origin.Source = consent.SourceErasure
	events := consentEvents(c.d, next, ch)
	events = append(events, newEvent(c.d, consent.Erased, false, true, ch))
	next.Version = c.d.Version + 1
	next.UpdatedAt = at
	c.d = next
	return events
}

// consentEvents compares the three consents of two states.
func consentEvents(old, next Data, ch Change) []consent.Event {
	var out []consent.Event
	pairs := []struct {
		kind     consent.Kind
		was, now bool
	}{
		{consent.MarketingEmail, old.MarketingEmail, next.MarketingEmail},
		{consent.MarketingSMS, old.MarketingSMS, next.MarketingSMS},
		{consent.GDPRRestricted, old.GDPRRestricted, next.GDPRRestricted},
	}
	for _, p := range pairs {
		if p.was != p.now {
			out = append(out, newEvent(next, p.kind, p.was, p.now, ch))
		}
	}
	return out
}

func newEvent(d Data, kind consent.Kind, was, now bool, ch Change) consent.Event {
	o := ch.Origin
	if e, ok := ch.Evidence[kind]; ok {
		o.Evidence = e
	}
	return consent.Event{
		ID:             ch.NewID(),
		OccurredAt:     ch.At,
		CustomerID:     d.ID,
		CustomerNumber: d.Number,
		Consent:        kind,
		OldValue:       was,
		NewValue:       now,
		Source:         o.Source,
		SourceSystemID: o.SourceSystemID,
		Actor:          o.Actor,
		RequestID:      o.RequestID,
		ImportID:       o.ImportID,
		Evidence:       o.Evidence,
	}
}

// normalizeLists turns empty lists into nil so that equal states compare
// equal.
func normalizeLists(d Data) Data {
	if len(d.ExternalSystems) == 0 {
		d.ExternalSystems = nil
	}
	if len(d.CustomerCards) == 0 {
		d.CustomerCards = nil
	}
	if len(d.Groups) == 0 {
		d.Groups = nil
	}
	if len(d.Addresses) == 0 {
		d.Addresses = nil
	}
	if len(d.PhoneNumbers) == 0 {
		d.PhoneNumbers = nil
	}
	if len(d.Contacts) == 0 {
		d.Contacts = nil
	}
	return d
}

func cloneData(d Data) Data {
	d.ExternalSystems = slices.Clone(d.ExternalSystems)
	d.CustomerCards = slices.Clone(d.CustomerCards)
	d.Groups = slices.Clone(d.Groups)
	d.Addresses = slices.Clone(d.Addresses)
	d.PhoneNumbers = slices.Clone(d.PhoneNumbers)
	d.Contacts = slices.Clone(d.Contacts)
	if d.ErasedAt != nil {
		t := *d.ErasedAt
		d.ErasedAt = &t
	}
	return normalizeLists(d)
}
