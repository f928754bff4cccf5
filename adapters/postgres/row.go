package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
)

// readColumns are read to rebuild a customer, in scanRow's order.
const readColumns = `id, number, type, first_name, last_name, company_name, business_id,
	vat_number, vat_status, email, language, ssn_enc, marketing_email, marketing_sms,
	gdpr_restricted, credit_allowed, external_id, netvisor_id, external_systems,
	customer_cards, groups, addresses, phone_numbers, e_invoice, contacts, version,
	created_at, updated_at, erased_at`

// writeColumns are written by insert and update, in writeArgs' order.
var writeColumns = []string{
	"id", "number", "type", "first_name", "last_name", "company_name", "business_id",
	"vat_number", "vat_status", "email", "language", "ssn_enc", "ssn_hash",
	"marketing_email", "marketing_sms", "gdpr_restricted", "credit_allowed",
	"external_id", "netvisor_id", "external_systems", "customer_cards", "groups",
	"addresses", "phone_numbers", "e_invoice", "contacts", "version", "created_at",
	"updated_at", "erased_at", "search",
}

var (
	insertCustomerSQL = func() string {
		ph := make([]string, len(writeColumns))
		for i := range writeColumns {
			ph[i] = "$" + strconv.Itoa(i+1)
		}
		return "INSERT INTO customers (" + strings.Join(writeColumns, ", ") +
			") VALUES (" + strings.Join(ph, ", ") + ")"
	}()
	// updateCustomerSQL sets every column but id ($1); the old version is
	// the last argument.
	updateCustomerSQL = func() string {
		set := make([]string, 0, len(writeColumns)-1)
		for i, c := range writeColumns[1:] {
			set = append(set, c+" = $"+strconv.Itoa(i+2))
		}
		return "UPDATE customers SET " + strings.Join(set, ", ") +
			" WHERE id = $1 AND version = $" + strconv.Itoa(len(writeColumns)+1)
	}()
)

// The JSON shapes of the denormalised list columns. They are the storage
// format: change them only with a migration.
type (
	linkJSON struct {
		SystemID   int    `json:"systemId"`
		Identifier string `json:"identifier"`
	}
	addressJSON struct {
		Type           string `json:"type"`
		StreetAddress1 string `json:"streetAddress1,omitempty"`
		StreetAddress2 string `json:"streetAddress2,omitempty"`
		PostalCode     string `json:"postalCode,omitempty"`
		City           string `json:"city,omitempty"`
		Country        string `json:"country,omitempty"`
	}
	eInvoiceJSON struct {
		Mode    string `json:"mode,omitempty"`
		Broker  string `json:"broker,omitempty"`
		Address string `json:"address,omitempty"`
		Email   string `json:"email,omitempty"`
	}
	contactJSON struct {
		ID    uuid.UUID `json:"id"`
		Name  string    `json:"name"`
		Role  string    `json:"role,omitempty"`
		Email string    `json:"email,omitempty"`
		Phone string    `json:"phone,omitempty"`
	}
)

// writeArgs are the values of writeColumns for d.
func (s *Store) writeArgs(d customer.Data) ([]any, error) {
	var ssnEnc, ssnHash []byte
	if d.SSN != "" {
		var err error
		if ssnEnc, err = s.ssn.Seal(d.ID, d.SSN); err != nil {
			return nil, err
		}
		ssnHash = s.ssn.Hash(d.SSN)
	}
	links := make([]linkJSON, len(d.ExternalSystems))
	for i, l := range d.ExternalSystems {
		links[i] = linkJSON{SystemID: int(l.SystemID), Identifier: l.Identifier}
	}
	addrs := make([]addressJSON, len(d.Addresses))
	for i, a := range d.Addresses {
		addrs[i] = addressJSON{
			Type: string(a.Type), StreetAddress1: a.StreetAddress1, StreetAddress2: a.StreetAddress2,
			PostalCode: a.PostalCode, City: a.City, Country: a.Country,
		}
	}
	contacts := make([]contactJSON, len(d.Contacts))
	for i, c := range d.Contacts {
		contacts[i] = contactJSON{ID: c.ID, Name: c.Name, Role: c.Role, Email: c.Email, Phone: c.Phone}
	}
	ei := eInvoiceJSON{Mode: string(d.EInvoice.Mode), Broker: d.EInvoice.Broker, Address: d.EInvoice.Address, Email: d.EInvoice.Email}
	var js [4][]byte
	for i, v := range []any{links, addrs, ei, contacts} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("postgres: encode customer %s: %w", d.ID, err)
		}
		js[i] = b
	}
	var erasedAt *time.Time
	if d.ErasedAt != nil {
		t := d.ErasedAt.UTC()
		erasedAt = &t
	}
	return []any{
		d.ID, d.Number, string(d.Type), d.FirstName, d.LastName, d.CompanyName, d.BusinessID,
		d.VATNumber, int16(d.VATStatus), nullText(d.Email), string(d.Language), ssnEnc, ssnHash,
		d.MarketingEmail, d.MarketingSMS, d.GDPRRestricted, d.CreditAllowed,
		nullText(d.ExternalID), nullText(d.NetvisorID), string(js[0]), textArray(d.CustomerCards), textArray(d.Groups),
		string(js[1]), textArray(d.PhoneNumbers), string(js[2]), string(js[3]), d.Version, d.CreatedAt.UTC(),
		d.UpdatedAt.UTC(), erasedAt, searchText(d),
	}, nil
}

// scanCustomer reads one row of readColumns and rebuilds the customer
// through customer.FromStorage.
func (s *Store) scanCustomer(row pgx.Row) (*customer.Customer, error) {
	return s.scanCustomerWith(row, true)
}

// scanCustomerWith is scanCustomer that decrypts the identity code only
// with withSSN (else the customer's SSN is left empty: the export).
func (s *Store) scanCustomerWith(row pgx.Row, withSSN bool) (*customer.Customer, error) {
	var (
		d                                customer.Data
		typ, lang                        string
		vatStatus                        int16
		email, externalID, netvisorID    *string
		ssnEnc                           []byte
		links, addrs, einvoice, contacts []byte
		createdAt, updatedAt             time.Time
		erasedAt                         *time.Time
	)
	err := row.Scan(&d.ID, &d.Number, &typ, &d.FirstName, &d.LastName, &d.CompanyName, &d.BusinessID,
		&d.VATNumber, &vatStatus, &email, &lang, &ssnEnc, &d.MarketingEmail, &d.MarketingSMS,
		&d.GDPRRestricted, &d.CreditAllowed, &externalID, &netvisorID, &links,
		&d.CustomerCards, &d.Groups, &addrs, &d.PhoneNumbers, &einvoice, &contacts, &d.Version,
		&createdAt, &updatedAt, &erasedAt)
	if err != nil {
		return nil, err
	}
	d.Type = customer.Type(typ)
	d.Language = customer.Language(lang)
	d.VATStatus = customer.VATStatus(vatStatus)
	d.Email, d.ExternalID, d.NetvisorID = deref(email), deref(externalID), deref(netvisorID)
	d.CreatedAt, d.UpdatedAt = createdAt.UTC(), updatedAt.UTC()
	if erasedAt != nil {
		t := erasedAt.UTC()
		d.ErasedAt = &t
	}
	if ssnEnc != nil && withSSN {
		if d.SSN, err = s.ssn.Open(d.ID, ssnEnc); err != nil {
			return nil, fmt.Errorf("customer %s: %w", d.ID, err)
		}
	}
	if err := decodeLists(&d, links, addrs, einvoice, contacts); err != nil {
		return nil, fmt.Errorf("postgres: customer %s: %w", d.ID, err)
	}
	c, err := customer.FromStorage(d)
	if err != nil {
		return nil, fmt.Errorf("postgres: stored customer %s breaks the rules: %w", d.ID, err)
	}
	return c, nil
}

func decodeLists(d *customer.Data, links, addrs, einvoice, contacts []byte) error {
	ls, ok1 := fastLinks(links)
	as, ok2 := fastAddresses(addrs)
	ei, ok3 := fastEInvoice(einvoice)
	cs, ok4 := fastContacts(contacts)
	if ok1 && ok2 && ok3 && ok4 {
		d.ExternalSystems, d.Addresses, d.EInvoice, d.Contacts = ls, as, ei, cs
		return nil
	}
	return decodeListsJSON(d, links, addrs, einvoice, contacts)
}

// decodeListsJSON is decodeLists through encoding/json, for every form.
func decodeListsJSON(d *customer.Data, links, addrs, einvoice, contacts []byte) error {
	var ls []linkJSON
	if err := json.Unmarshal(links, &ls); err != nil {
		return fmt.Errorf("external_systems: %w", err)
	}
	for _, l := range ls {
		d.ExternalSystems = append(d.ExternalSystems, customer.ExternalLink{SystemID: customer.SystemID(l.SystemID), Identifier: l.Identifier})
	}
	var as []addressJSON
	if err := json.Unmarshal(addrs, &as); err != nil {
		return fmt.Errorf("addresses: %w", err)
	}
	for _, a := range as {
		d.Addresses = append(d.Addresses, customer.Address{
			Type: customer.AddressType(a.Type), StreetAddress1: a.StreetAddress1, StreetAddress2: a.StreetAddress2,
			PostalCode: a.PostalCode, City: a.City, Country: a.Country,
		})
	}
	var ei eInvoiceJSON
	if err := json.Unmarshal(einvoice, &ei); err != nil {
		return fmt.Errorf("e_invoice: %w", err)
	}
	d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceMode(ei.Mode), Broker: ei.Broker, Address: ei.Address, Email: ei.Email}
	var cs []contactJSON
	if err := json.Unmarshal(contacts, &cs); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	for _, c := range cs {
		d.Contacts = append(d.Contacts, customer.Contact{ID: c.ID, Name: c.Name, Role: c.Role, Email: c.Email, Phone: c.Phone})
	}
	return nil
}

// searchText is what free-text search matches: lower-cased names, company
// name, email, phone numbers with and without the +, and the number. An
// erased customer is never listed and keeps nothing here.
func searchText(d customer.Data) string {
	if d.ErasedAt != nil {
		return ""
	}
	parts := make([]string, 0, 5+2*len(d.PhoneNumbers))
	for _, s := range []string{d.FirstName, d.LastName, d.CompanyName, d.Email} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	for _, p := range d.PhoneNumbers {
		parts = append(parts, p, strings.TrimPrefix(p, "+"))
	}
	parts = append(parts, strconv.FormatInt(d.Number, 10))
	return strings.ToLower(strings.Join(parts, " "))
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// textArray never returns nil: a nil slice is sent as NULL.
func textArray(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
