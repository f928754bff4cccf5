package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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

// writeColumns are written by insert and update, in customerColumns' order.
var writeColumns = func() []string {
	names := make([]string, len(customerColumns))
	for i, c := range customerColumns {
		names[i] = c.name
	}
	return names
}()

// customerColumns are the columns that insert and update write, each with
// its kind and where its value comes from. It is the one description of a
// stored customer's row: writeArgs (one customer, by SQL) and
// appendCustomerTuple (a batch, by binary COPY) both read it, so the two
// cannot store different values.
var customerColumns = []customerColumn{
	column("id", uuidKind, func(r *rowSource) uuid.UUID { return r.ID }),
	column("number", int8Kind, func(r *rowSource) int64 { return r.Number }),
	column("type", textKind, func(r *rowSource) string { return string(r.Type) }),
	column("first_name", textKind, func(r *rowSource) string { return r.FirstName }),
	column("last_name", textKind, func(r *rowSource) string { return r.LastName }),
	column("company_name", textKind, func(r *rowSource) string { return r.CompanyName }),
	column("business_id", textKind, func(r *rowSource) string { return r.BusinessID }),
	column("vat_number", textKind, func(r *rowSource) string { return r.VATNumber }),
	column("vat_status", int2Kind, func(r *rowSource) int16 { return int16(r.VATStatus) }),
	column("email", nullTextKind, func(r *rowSource) string { return r.Email }),
	column("language", textKind, func(r *rowSource) string { return string(r.Language) }),
	column("ssn_enc", byteaKind, func(r *rowSource) []byte { return r.ssnEnc }),
	column("ssn_hash", byteaKind, func(r *rowSource) []byte { return r.ssnHash }),
	column("marketing_email", boolKind, func(r *rowSource) bool { return r.MarketingEmail }),
	column("marketing_sms", boolKind, func(r *rowSource) bool { return r.MarketingSMS }),
	column("gdpr_restricted", boolKind, func(r *rowSource) bool { return r.GDPRRestricted }),
	column("credit_allowed", boolKind, func(r *rowSource) bool { return r.CreditAllowed }),
	column("external_id", nullTextKind, func(r *rowSource) string { return r.ExternalID }),
	column("netvisor_id", nullTextKind, func(r *rowSource) string { return r.NetvisorID }),
	appendedColumn("external_systems", appendLinksJSON),
	column("customer_cards", textArrayKind, func(r *rowSource) []string { return r.CustomerCards }),
	column("groups", textArrayKind, func(r *rowSource) []string { return r.Groups }),
	appendedColumn("addresses", appendAddressesJSON),
	column("phone_numbers", textArrayKind, func(r *rowSource) []string { return r.PhoneNumbers }),
	appendedColumn("e_invoice", appendEInvoiceJSON),
	appendedColumn("contacts", appendContactsJSON),
	column("version", int8Kind, func(r *rowSource) int64 { return r.Version }),
	column("created_at", timeKind, func(r *rowSource) time.Time { return r.CreatedAt }),
	column("updated_at", timeKind, func(r *rowSource) time.Time { return r.UpdatedAt }),
	column("erased_at", nullTimeKind, func(r *rowSource) *time.Time { return r.ErasedAt }),
	appendedColumn("search", appendSearch),
}

// rowSource is what a customer's columns are read from: its data, and
// what is derived from it at a cost (the sealed identity code and its
// lookup hash, nil without a code), made once per write.
type rowSource struct {
	*customer.Data
	ssnEnc, ssnHash []byte
}

func (s *Store) rowSource(d *customer.Data) (rowSource, error) {
	r := rowSource{Data: d}
	if d.SSN != "" {
		var err error
		if r.ssnEnc, err = s.ssn.Seal(d.ID, d.SSN); err != nil {
			return rowSource{}, err
		}
		r.ssnHash = s.ssn.Hash(d.SSN)
	}
	return r, nil
}

// customerColumn is one column of customerColumns: its value as a query
// argument (for pgx to encode) and as a field of binary COPY (length, then
// bytes: copybin.go), both made from one getter by the column's kind.
type customerColumn struct {
	name string
	arg  func(*rowSource) any
	put  func([]byte, *rowSource) []byte
}

// columnKind is how a Go value is passed as one PostgreSQL type.
type columnKind[T any] struct {
	arg func(T) any
	put func([]byte, T) []byte
}

func column[T any](name string, k columnKind[T], get func(*rowSource) T) customerColumn {
	return customerColumn{
		name: name,
		arg:  func(r *rowSource) any { return k.arg(get(r)) },
		put:  func(b []byte, r *rowSource) []byte { return k.put(b, get(r)) },
	}
}

// The kinds of customerColumns. The optional identifiers are NULL when
// empty (their unique indexes must not see empty strings), as are the
// identity code's columns without a code; the lists are empty arrays when
// empty, never NULL; times are stored in UTC.
var (
	uuidKind     = columnKind[uuid.UUID]{func(u uuid.UUID) any { return pgUUID(u) }, appendUUIDField}
	int8Kind     = columnKind[int64]{func(v int64) any { return v }, appendInt8Field}
	int2Kind     = columnKind[int16]{func(v int16) any { return v }, appendInt2Field}
	boolKind     = columnKind[bool]{func(v bool) any { return v }, appendBoolField}
	textKind     = columnKind[string]{func(s string) any { return s }, appendTextField}
	nullTextKind = columnKind[string]{func(s string) any { return nullText(s) }, appendNullTextField}
	// A nil []byte is NULL to pgx as well.
	byteaKind     = columnKind[[]byte]{func(b []byte) any { return b }, appendByteaField}
	textArrayKind = columnKind[[]string]{func(s []string) any { return textArray(s) }, appendTextArrayField}
	timeKind      = columnKind[time.Time]{func(t time.Time) any { return t.UTC() }, appendTimeField}
	nullTimeKind  = columnKind[*time.Time]{nullTime, appendNullTimeField}
)

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// appendedColumn is a text or json column (json since migration 00017:
// its binary form is its text) whose value app writes straight into the
// buffer: the search text and the JSON of the lists, made without a string
// or a []byte of their own on the COPY path.
func appendedColumn(name string, app func([]byte, *customer.Data) []byte) customerColumn {
	return customerColumn{
		name: name,
		arg:  func(r *rowSource) any { return string(app(nil, r.Data)) },
		put: func(b []byte, r *rowSource) []byte {
			at := len(b)
			b = appendInt32(b, 0) // the length, set below
			return setFieldLength(app(b, r.Data), at)
		},
	}
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

// The JSON of the list columns is written by hand, in the shapes above
// (their members, omitempty as their tags say): encoding/json's reflection
// and allocations were a large share of encoding a batch. The tests hold
// both to the same values (TestListJSONMatchesEncodingJSON).

func appendLinksJSON(b []byte, d *customer.Data) []byte {
	b = append(b, '[')
	for i, l := range d.ExternalSystems {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"systemId":`...)
		b = strconv.AppendInt(b, int64(l.SystemID), 10)
		b = appendJSONMember(b, "identifier", l.Identifier)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendAddressesJSON(b []byte, d *customer.Data) []byte {
	b = append(b, '[')
	for i, a := range d.Addresses {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendJSONMember(b, "type", string(a.Type))
		b = appendJSONOptional(b, "streetAddress1", a.StreetAddress1)
		b = appendJSONOptional(b, "streetAddress2", a.StreetAddress2)
		b = appendJSONOptional(b, "postalCode", a.PostalCode)
		b = appendJSONOptional(b, "city", a.City)
		b = appendJSONOptional(b, "country", a.Country)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendEInvoiceJSON(b []byte, d *customer.Data) []byte {
	b = append(b, '{')
	b = appendJSONOptional(b, "mode", string(d.EInvoice.Mode))
	b = appendJSONOptional(b, "broker", d.EInvoice.Broker)
	b = appendJSONOptional(b, "address", d.EInvoice.Address)
	b = appendJSONOptional(b, "email", d.EInvoice.Email)
	return append(b, '}')
}

func appendContactsJSON(b []byte, d *customer.Data) []byte {
	b = append(b, '[')
	for i, c := range d.Contacts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = appendUUIDText(b, c.ID)
		b = append(b, '"')
		b = appendJSONMember(b, "name", c.Name)
		b = appendJSONOptional(b, "role", c.Role)
		b = appendJSONOptional(b, "email", c.Email)
		b = appendJSONOptional(b, "phone", c.Phone)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendJSONMember appends "key":"value" to the object b ends in, after a
// comma unless the object has just begun. Keys are written as they are.
func appendJSONMember(b []byte, key, value string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

// appendJSONOptional is appendJSONMember leaving out an empty value
// (omitempty).
func appendJSONOptional(b []byte, key, value string) []byte {
	if value == "" {
		return b
	}
	return appendJSONMember(b, key, value)
}

// appendJSONString appends s as a JSON string. Like encoding/json, it
// turns each byte of invalid UTF-8 into U+FFFD; it leaves <, > and & as
// they are (jsonb keeps the characters, not their escapes).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				start = i + 1
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendUUIDText appends u in its text form (as uuid.UUID.String).
func appendUUIDText(b []byte, u uuid.UUID) []byte {
	const hex = "0123456789abcdef"
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hex[x>>4], hex[x&0xf])
	}
	return b
}

// writeArgs are the values of writeColumns for d.
func (s *Store) writeArgs(d customer.Data) ([]any, error) {
	r, err := s.rowSource(&d)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(customerColumns))
	for i, c := range customerColumns {
		args[i] = c.arg(&r)
	}
	return args, nil
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
func searchText(d customer.Data) string { return string(appendSearch(nil, &d)) }

// appendSearch appends d's searchText to b: the words joined by spaces,
// lower-cased as strings.ToLower does (rune by rune, an invalid byte
// becoming U+FFFD).
func appendSearch(b []byte, d *customer.Data) []byte {
	if d.ErasedAt != nil {
		return b
	}
	first := true
	word := func(s string) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= utf8.RuneSelf {
				for _, r := range s[i:] {
					b = utf8.AppendRune(b, unicode.ToLower(r))
				}
				return
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	for _, s := range [...]string{d.FirstName, d.LastName, d.CompanyName, d.Email} {
		if s != "" {
			word(s)
		}
	}
	for _, p := range d.PhoneNumbers {
		word(p)
		word(strings.TrimPrefix(p, "+"))
	}
	word("")
	return strconv.AppendInt(b, d.Number, 10)
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
