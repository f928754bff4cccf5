package mycashflow

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/finnish"
	"kirjuri/core/intake"
)

// mcfCustomer is the members of a customer account (GET /customers,
// GET and PATCH /customers/{id}) this connector reads, as §2.2 gives them;
// the others (external_id, customer_groups, what an expand adds) are
// ignored. A null member reads as "".
type mcfCustomer struct {
	ID            flexID `json:"id"`
	Email         string `json:"email"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	Company       string `json:"company"`
	VATCode       string `json:"vat_code"`
	StreetAddress string `json:"street_address"`
	PostalCode    string `json:"postal_code"`
	City          string `json:"city"`
	Country       string `json:"country"`
	Phone         string `json:"phone"`
	CreatedAt     string `json:"created_at"`
	UpdatedAt     string `json:"updated_at"`
}

// flexID is a customer's id: a JSON integer in the customer resource, a
// string of digits where orders refer to it (§2.2); both are read. Any
// other value reads as "", which the register refuses (a draft names the
// customer's id), so a strange id costs one customer, not the whole page.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	*f = ""
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		var s string
		if json.Unmarshal(b, &s) == nil {
			*f = flexID(strings.TrimSpace(s))
		}
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil && n > 0 {
			*f = flexID(strconv.FormatInt(n, 10))
		}
	}
	return nil
}

// draft is the authoritative draft of a customer account. Names, email,
// phone and address are MyCashFlow's when it gives them; what it leaves
// empty changes nothing (it writes "" for what it does not know, which is
// not a request to erase what other doors brought).
//
// company and vat_code make a company customer only together and only
// when vat_code is a valid Finnish business ID (or the FI VAT number made
// of one): the register's company customer needs both, and a company name
// is for company customers only. Otherwise both are left out and the
// customer is whatever the register holds (a new one is a person): shops
// let consumers fill in "company" freely, and a foreign or mistyped VAT
// code does not name a Finnish company.
func (m *mcfCustomer) draft() intake.Draft {
	d := intake.Draft{
		Link:            customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: string(m.ID)},
		Trust:           intake.Authoritative,
		SourceUpdatedAt: m.updatedAt(),
	}
	d.Patch.FirstName = given(m.FirstName)
	d.Patch.LastName = given(m.LastName)
	d.Patch.Email = given(m.Email)
	if bid, vat, ok := m.businessID(); ok {
		d.Patch.Type = customer.Set(customer.Company)
		d.Patch.CompanyName = customer.Set(m.Company)
		d.Patch.BusinessID = customer.Set(bid)
		if vat != "" {
			d.Patch.VATNumber = customer.Set(vat)
		}
	}
	if !customer.IsBlank(m.Phone) {
		d.AddPhones = []string{m.Phone}
	}
	// The account's address is its billing address (the order's
	// customer_information carries the same fields, §8.6): an Invoice
	// address, when it is whole.
	if !customer.IsBlank(m.StreetAddress) && !customer.IsBlank(m.PostalCode) && !customer.IsBlank(m.City) {
		d.AddAddresses = []customer.Address{{
			Type:           customer.Invoice,
			StreetAddress1: m.StreetAddress,
			PostalCode:     m.PostalCode,
			City:           m.City,
			Country:        strings.ToUpper(strings.TrimSpace(m.Country)),
		}}
	}
	return d
}

// businessID is the business ID of a company account, and its VAT number
// when vat_code was written as one; ok false when the account is not a
// company the register can hold.
func (m *mcfCustomer) businessID() (bid, vat string, ok bool) {
	if customer.IsBlank(m.Company) || customer.IsBlank(m.VATCode) {
		return "", "", false
	}
	bid, err := finnish.ParseBusinessID(m.VATCode)
	if err != nil {
		return "", "", false
	}
	if v, err := finnish.ParseVATNumber(m.VATCode); err == nil {
		vat = v
	}
	return bid, vat, true
}

// updatedAt is updated_at, or created_at for an account never changed;
// zero (unknown: always newer) when neither is an RFC 3339 time, rather
// than refusing MyCashFlow's current data for a date's form.
func (m *mcfCustomer) updatedAt() time.Time {
	for _, s := range []string{m.UpdatedAt, m.CreatedAt} {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(s)); err == nil {
			return t
		}
	}
	return time.Time{}
}

// given is a value MyCashFlow gave, or Keep for a blank one.
func given(s string) customer.Opt[string] {
	if customer.IsBlank(s) {
		return customer.Keep[string]()
	}
	return customer.Set(s)
}

// pushBody is the PATCH of a customer: the fields this connector maps, as
// the register holds them. A field the register has no value for is left
// out rather than sent empty (the register's "unknown" is not MyCashFlow's
// "erase"). Lists are sent only when they say one thing: the phone when
// the customer has one number, the address when it has one Invoice
// address; with several, the register cannot tell which is the shop's
// (a pull adds MyCashFlow's new address beside the old one), and the
// shop's own is kept. company and vat_code are sent for a company only.
func pushBody(d customer.Data) map[string]string {
	b := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			b[k] = v
		}
	}
	set("first_name", d.FirstName)
	set("last_name", d.LastName)
	set("email", d.Email)
	if d.Type == customer.Company {
		set("company", d.CompanyName)
		if d.VATNumber != "" {
			set("vat_code", d.VATNumber)
		} else {
			set("vat_code", d.BusinessID)
		}
	}
	if len(d.PhoneNumbers) == 1 {
		set("phone", d.PhoneNumbers[0])
	}
	var invoice []customer.Address
	for _, a := range d.Addresses {
		if a.Type == customer.Invoice {
			invoice = append(invoice, a)
		}
	}
	if len(invoice) == 1 {
		a := invoice[0]
		street := a.StreetAddress1
		if a.StreetAddress2 != "" {
			// MyCashFlow's account has one street line.
			street += ", " + a.StreetAddress2
		}
		set("street_address", street)
		set("postal_code", a.PostalCode)
		set("city", a.City)
		set("country", a.Country)
	}
	return b
}
