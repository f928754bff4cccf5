package httpapi

import (
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/finnish"
)

// Wire types: the JSON the API speaks. Their Go names are the schema names
// of the OpenAPI document. Enum tags list the core's values; a test keeps
// them in step with customer.Types, customer.Languages and the other lists.

// Customer is a customer as the API shows it.
type Customer struct {
	ID              string         `json:"id" format:"uuid" doc:"Internal id (UUID v7)."`
	Number          int64          `json:"number" doc:"Customer number, assigned by kirjuri, never changed or reused."`
	Type            string         `json:"type" enum:"person,company"`
	FirstName       string         `json:"firstName"`
	LastName        string         `json:"lastName"`
	CompanyName     string         `json:"companyName"`
	BusinessID      string         `json:"businessId" doc:"Finnish business id (Y-tunnus), NNNNNNN-C."`
	VATNumber       string         `json:"vatNumber"`
	VATStatus       int            `json:"vatStatus" enum:"1,2,3,4,5,6,7" doc:"1 domestic, 2 construction reverse charge, 3 EU goods, 4 EU services, 5 EU other, 6 EU triangulation, 7 outside the EU."`
	Email           string         `json:"email"`
	Language        string         `json:"language" enum:"fi,sv,en"`
	SSN             string         `json:"ssn" doc:"Finnish personal identity code; masked as *********** (eleven asterisks, nothing of the code shown) unless the API key has pii:read."`
	MarketingEmail  bool           `json:"marketingEmail"`
	MarketingSMS    bool           `json:"marketingSms"`
	GDPRRestricted  bool           `json:"gdprRestricted" doc:"Restriction of processing: left out of listings unless an admin asks."`
	CreditAllowed   bool           `json:"creditAllowed"`
	ExternalID      string         `json:"externalId"`
	NetvisorID      string         `json:"netvisorId"`
	ExternalSystems []ExternalLink `json:"externalSystems" nullable:"false"`
	CustomerCards   []string       `json:"customerCards" nullable:"false"`
	Groups          []string       `json:"groups" nullable:"false" doc:"External ids of the customer's groups."`
	Addresses       []Address      `json:"addresses" nullable:"false"`
	PhoneNumbers    []string       `json:"phoneNumbers" nullable:"false" doc:"E.164."`
	EInvoice        EInvoice       `json:"eInvoice"`
	Contacts        []Contact      `json:"contacts" nullable:"false"`
	CreatedAt       time.Time      `json:"createdAt"`
	UpdatedAt       time.Time      `json:"updatedAt"`
	Version         int64          `json:"version" doc:"Grows by one on every change; the ETag."`
	ErasedAt        *time.Time     `json:"erasedAt,omitempty" doc:"When the customer's personal data was erased."`
}

// ExternalLink ties a customer to its record in an external system.
type ExternalLink struct {
	SystemID   int    `json:"systemId" enum:"1,2,3,4,5,6,7,22" doc:"1 Maestro, 2 Posti, 3 Matkahuolto, 4 Checkout Finland (Paytrail), 5 MyCashFlow, 6 WooCommerce, 7 generic webstore, 22 generic reservation system."`
	Identifier string `json:"identifier" minLength:"1" maxLength:"255"`
}

// Address is a postal address.
type Address struct {
	Type           string `json:"type" enum:"Invoice,Delivery,Home"`
	StreetAddress1 string `json:"streetAddress1"`
	StreetAddress2 string `json:"streetAddress2"`
	PostalCode     string `json:"postalCode"`
	City           string `json:"city"`
	Country        string `json:"country" doc:"ISO 3166-1 alpha-2; FI when empty."`
}

// EInvoice holds the e-invoice settings.
type EInvoice struct {
	Mode    string `json:"mode" enum:",Broker,Email" doc:"Broker needs broker and address; Email needs email."`
	Broker  string `json:"broker" doc:"Operator (intermediator) id."`
	Address string `json:"address" doc:"E-invoice address (OVT or IBAN)."`
	Email   string `json:"email"`
}

// Contact is a contact person of a company customer.
type Contact struct {
	ID    string `json:"id" format:"uuid"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// view shows a customer to a caller; the identity code is masked unless the
// caller may read it.
func view(c *customer.Customer, pii bool) *Customer {
	d := c.Data()
	out := &Customer{
		ID:              d.ID.String(),
		Number:          d.Number,
		Type:            string(d.Type),
		FirstName:       d.FirstName,
		LastName:        d.LastName,
		CompanyName:     d.CompanyName,
		BusinessID:      d.BusinessID,
		VATNumber:       d.VATNumber,
		VATStatus:       int(d.VATStatus),
		Email:           d.Email,
		Language:        string(d.Language),
		SSN:             d.SSN,
		MarketingEmail:  d.MarketingEmail,
		MarketingSMS:    d.MarketingSMS,
		GDPRRestricted:  d.GDPRRestricted,
		CreditAllowed:   d.CreditAllowed,
		ExternalID:      d.ExternalID,
		NetvisorID:      d.NetvisorID,
		ExternalSystems: make([]ExternalLink, len(d.ExternalSystems)),
		CustomerCards:   nonNil(d.CustomerCards),
		Groups:          nonNil(d.Groups),
		Addresses:       make([]Address, len(d.Addresses)),
		PhoneNumbers:    nonNil(d.PhoneNumbers),
		EInvoice: EInvoice{
			Mode:    string(d.EInvoice.Mode),
			Broker:  d.EInvoice.Broker,
			Address: d.EInvoice.Address,
			Email:   d.EInvoice.Email,
		},
		Contacts:  make([]Contact, len(d.Contacts)),
		CreatedAt: d.CreatedAt,
		UpdatedAt: d.UpdatedAt,
		Version:   d.Version,
		ErasedAt:  d.ErasedAt,
	}
	if d.SSN != "" && !pii {
		out.SSN = finnish.MaskedHETU
	}
	for i, l := range d.ExternalSystems {
		out.ExternalSystems[i] = ExternalLink{SystemID: int(l.SystemID), Identifier: l.Identifier}
	}
	for i, a := range d.Addresses {
		out.Addresses[i] = Address{
			Type:           string(a.Type),
			StreetAddress1: a.StreetAddress1,
			StreetAddress2: a.StreetAddress2,
			PostalCode:     a.PostalCode,
			City:           a.City,
			Country:        a.Country,
		}
	}
	for i, ct := range d.Contacts {
		out.Contacts[i] = contactView(ct)
	}
	return out
}

func contactView(ct customer.Contact) Contact {
	return Contact{ID: ct.ID.String(), Name: ct.Name, Role: ct.Role, Email: ct.Email, Phone: ct.Phone}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// CustomerWrite documents the body of POST /v1/customers. Every field is
// optional; the defaults of a new customer apply to what is left out.
// Unknown fields are refused.
type CustomerWrite struct {
	Type            *string        `json:"type,omitempty" enum:"person,company" doc:"Default person."`
	FirstName       *string        `json:"firstName,omitempty" maxLength:"200" doc:"Required for a person."`
	LastName        *string        `json:"lastName,omitempty" maxLength:"200" doc:"Required for a person."`
	CompanyName     *string        `json:"companyName,omitempty" maxLength:"200" doc:"Required for a company."`
	BusinessID      *string        `json:"businessId,omitempty" doc:"Required for a company; FI prefix, spaces and a missing hyphen are accepted."`
	VATNumber       *string        `json:"vatNumber,omitempty"`
	VATStatus       *int           `json:"vatStatus,omitempty" enum:"1,2,3,4,5,6,7" doc:"Default 1."`
	Email           *string        `json:"email,omitempty" maxLength:"254"`
	Language        *string        `json:"language,omitempty" enum:"fi,sv,en" doc:"Default fi."`
	SSN             *string        `json:"ssn,omitempty" doc:"Finnish personal identity code, person only."`
	MarketingEmail  *bool          `json:"marketingEmail,omitempty"`
	MarketingSMS    *bool          `json:"marketingSms,omitempty"`
	GDPRRestricted  *bool          `json:"gdprRestricted,omitempty"`
	CreditAllowed   *bool          `json:"creditAllowed,omitempty"`
	ExternalID      *string        `json:"externalId,omitempty" maxLength:"255"`
	NetvisorID      *string        `json:"netvisorId,omitempty" maxLength:"255"`
	ExternalSystems []ExternalLink `json:"externalSystems,omitempty" nullable:"false" maxItems:"100"`
	CustomerCards   []string       `json:"customerCards,omitempty" nullable:"false" maxItems:"100"`
	Groups          []string       `json:"groups,omitempty" nullable:"false" maxItems:"100"`
	Addresses       []AddressWrite `json:"addresses,omitempty" nullable:"false" maxItems:"100"`
	PhoneNumbers    []string       `json:"phoneNumbers,omitempty" nullable:"false" maxItems:"100" doc:"Finnish numbers without a country code are accepted and stored in E.164."`
	EInvoice        *EInvoiceWrite `json:"eInvoice,omitempty"`
}

// AddressWrite is an address in a create or patch body: what the decoder
// and the core's rules require (type, streetAddress1, postalCode, city), and
// nothing more. streetAddress2 and country may be left out or null.
type AddressWrite struct {
	Type           string `json:"type" enum:"Invoice,Delivery,Home"`
	StreetAddress1 string `json:"streetAddress1" maxLength:"200"`
	StreetAddress2 string `json:"streetAddress2,omitempty" nullable:"true" maxLength:"200"`
	PostalCode     string `json:"postalCode" doc:"Checked for Finland (five digits)."`
	City           string `json:"city" maxLength:"200"`
	Country        string `json:"country,omitempty" nullable:"true" doc:"ISO 3166-1 alpha-2; FI when left out or null."`
}

// EInvoiceWrite documents the e-invoice settings in a create body.
type EInvoiceWrite struct {
	Mode    *string `json:"mode,omitempty" enum:",Broker,Email"`
	Broker  *string `json:"broker,omitempty"`
	Address *string `json:"address,omitempty"`
	Email   *string `json:"email,omitempty"`
}

// CustomerPatch documents the body of PATCH /v1/customers/{id}, a JSON Merge
// Patch (RFC 7396): an absent field is kept, null clears it (or restores
// its default), a value sets it. Lists are replaced whole; eInvoice is merged
// field by field. Unknown and read-only fields are refused.
type CustomerPatch struct {
	Type            *string        `json:"type,omitempty" nullable:"true" enum:"person,company"`
	FirstName       *string        `json:"firstName,omitempty" nullable:"true" maxLength:"200"`
	LastName        *string        `json:"lastName,omitempty" nullable:"true" maxLength:"200"`
	CompanyName     *string        `json:"companyName,omitempty" nullable:"true" maxLength:"200"`
	BusinessID      *string        `json:"businessId,omitempty" nullable:"true"`
	VATNumber       *string        `json:"vatNumber,omitempty" nullable:"true"`
	VATStatus       *int           `json:"vatStatus,omitempty" nullable:"true" enum:"1,2,3,4,5,6,7" doc:"null restores 1."`
	Email           *string        `json:"email,omitempty" nullable:"true" maxLength:"254"`
	Language        *string        `json:"language,omitempty" nullable:"true" enum:"fi,sv,en" doc:"null restores fi."`
	SSN             *string        `json:"ssn,omitempty" nullable:"true"`
	MarketingEmail  *bool          `json:"marketingEmail,omitempty" nullable:"true" doc:"null withdraws."`
	MarketingSMS    *bool          `json:"marketingSms,omitempty" nullable:"true" doc:"null withdraws."`
	GDPRRestricted  *bool          `json:"gdprRestricted,omitempty" nullable:"true"`
	CreditAllowed   *bool          `json:"creditAllowed,omitempty" nullable:"true"`
	ExternalID      *string        `json:"externalId,omitempty" nullable:"true" maxLength:"255"`
	NetvisorID      *string        `json:"netvisorId,omitempty" nullable:"true" maxLength:"255"`
	ExternalSystems []ExternalLink `json:"externalSystems,omitempty" nullable:"true" maxItems:"100"`
	CustomerCards   []string       `json:"customerCards,omitempty" nullable:"true" maxItems:"100"`
	Groups          []string       `json:"groups,omitempty" nullable:"true" maxItems:"100"`
	Addresses       []AddressWrite `json:"addresses,omitempty" nullable:"true" maxItems:"100"`
	PhoneNumbers    []string       `json:"phoneNumbers,omitempty" nullable:"true" maxItems:"100"`
	// The schema of eInvoice is set to "EInvoicePatch or null" by hand:
	// Huma does not mark objects nullable.
	EInvoice *EInvoicePatch `json:"eInvoice,omitempty" doc:"Merged field by field; null clears every e-invoice setting."`
}

// EInvoicePatch documents the e-invoice part of a merge patch.
type EInvoicePatch struct {
	Mode    *string `json:"mode,omitempty" nullable:"true" enum:",Broker,Email"`
	Broker  *string `json:"broker,omitempty" nullable:"true"`
	Address *string `json:"address,omitempty" nullable:"true"`
	Email   *string `json:"email,omitempty" nullable:"true"`
}

// ConsentEvent is one change of a consent, from the audit log.
type ConsentEvent struct {
	EventID        string    `json:"eventId" format:"uuid"`
	OccurredAt     time.Time `json:"occurredAt"`
	CustomerID     string    `json:"customerId" format:"uuid"`
	CustomerNumber int64     `json:"customerNumber"`
	Consent        string    `json:"consent" enum:"marketingEmail,marketingSms,gdprRestricted,erased"`
	OldValue       bool      `json:"oldValue"`
	NewValue       bool      `json:"newValue"`
	Source         string    `json:"source" enum:"api,import,connector,erasure"`
	SourceSystemID int       `json:"sourceSystemId,omitempty"`
	Actor          string    `json:"actor"`
	RequestID      string    `json:"requestId,omitempty"`
	ImportID       string    `json:"importId,omitempty"`
	Evidence       string    `json:"evidence,omitempty"`
}

func eventView(e consent.Event) ConsentEvent {
	return ConsentEvent{
		EventID:        e.ID.String(),
		OccurredAt:     e.OccurredAt,
		CustomerID:     e.CustomerID.String(),
		CustomerNumber: e.CustomerNumber,
		Consent:        string(e.Consent),
		OldValue:       e.OldValue,
		NewValue:       e.NewValue,
		Source:         string(e.Source),
		SourceSystemID: e.SourceSystemID,
		Actor:          e.Actor,
		RequestID:      e.RequestID,
		ImportID:       e.ImportID,
		Evidence:       e.Evidence,
	}
}

func eventViews(events []consent.Event) []ConsentEvent {
	out := make([]ConsentEvent, len(events))
	for i, e := range events {
		out[i] = eventView(e)
	}
	return out
}
