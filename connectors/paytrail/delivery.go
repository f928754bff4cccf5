package paytrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/finnish"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// PaytrailDelivery is what the merchant's integration forwards when
// Paytrail calls its callback URL: the callback's query parameters as
// received, and the payment request it sent to Paytrail. An unknown member
// at the top rejects the delivery; members of the payment request that
// kirjuri does not use (items, redirectUrls, …) are ignored.
type PaytrailDelivery struct {
	Callback map[string]string `json:"callback" doc:"The callback's query parameters as Paytrail sent them (checkout-* and signature), names and values decoded."`
	Payment  *PaytrailPayment  `json:"payment,omitempty" doc:"The payment request (POST /payments body) the merchant sent to Paytrail; required when checkout-status is ok."`
}

// PaytrailPayment is the part of Paytrail's payment request kirjuri reads.
type PaytrailPayment struct {
	Stamp            string           `json:"stamp"`
	Reference        string           `json:"reference,omitempty"`
	Amount           *int64           `json:"amount"`
	Language         string           `json:"language,omitempty" doc:"FI, SV or EN."`
	Customer         *PaytrailPayer   `json:"customer"`
	DeliveryAddress  *PaytrailAddress `json:"deliveryAddress,omitempty"`
	InvoicingAddress *PaytrailAddress `json:"invoicingAddress,omitempty"`
}

// PaytrailPayer is the payment request's customer object.
type PaytrailPayer struct {
	Email       string `json:"email"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Phone       string `json:"phone,omitempty"`
	VATID       string `json:"vatId,omitempty"`
	CompanyName string `json:"companyName,omitempty"`
}

// PaytrailAddress is a delivery or invoicing address of the payment
// request.
type PaytrailAddress struct {
	StreetAddress string `json:"streetAddress"`
	PostalCode    string `json:"postalCode"`
	City          string `json:"city"`
	County        string `json:"county,omitempty"`
	Country       string `json:"country"`
}

// decode reads a delivery: strictly at the top, leniently inside the
// payment request (Paytrail's object has more members than kirjuri reads,
// and gains new ones).
func decode(body []byte) (*PaytrailDelivery, error) {
	var top struct {
		Callback map[string]string `json:"callback"`
		Payment  json.RawMessage   `json:"payment"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&top); err != nil {
		return nil, delivery.JSONError(err, "")
	}
	if dec.More() {
		return nil, errors.New("data after the JSON object")
	}
	d := &PaytrailDelivery{Callback: top.Callback}
	if len(top.Payment) > 0 && string(top.Payment) != "null" {
		d.Payment = &PaytrailPayment{}
		if err := json.Unmarshal(top.Payment, d.Payment); err != nil {
			return nil, delivery.JSONError(err, "payment")
		}
	}
	return d, nil
}

// Drafts turns the delivery into the draft of its payer: none unless the
// status is ok. Errors are *fault.Validation naming the member, never its
// value.
func (d *PaytrailDelivery) Drafts() ([]intake.Draft, error) {
	v := &fault.Validation{}
	if d.Callback == nil {
		v.Add("callback", "is required: the callback's query parameters")
		return nil, v
	}
	id := d.Callback[TransactionID]
	switch {
	case strings.TrimSpace(id) == "":
		v.Add("callback."+TransactionID, "is required")
	case len(id) > 100:
		v.Add("callback."+TransactionID, "must be at most 100 characters")
	}
	if d.Callback[Status] == "" {
		v.Add("callback."+Status, "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if d.Callback[Status] != "ok" {
		return nil, nil // pending, delayed, fail: no payer to observe
	}
	p := d.Payment
	if p == nil {
		v.Add("payment", "is required when checkout-status is ok: the payment request sent to Paytrail")
		return nil, v
	}
	// Paytrail's limits of the payment request (paytrail-api.yaml), in
	// characters: a longer value cannot have been in a payment.
	long := func(field, s string, n int) {
		if utf8.RuneCountInString(s) > n {
			v.Add(field, "must be at most %d characters (Paytrail's limit)", n)
		}
	}
	long("payment.stamp", p.Stamp, 200)
	long("payment.reference", p.Reference, 200)
	// The payment request must be the callback's payment.
	if p.Stamp != d.Callback[Stamp] {
		v.Add("payment.stamp", "is not the callback's checkout-stamp: the payment request is another payment's")
	}
	if p.Amount == nil || strconv.FormatInt(*p.Amount, 10) != d.Callback[Amount] {
		v.Add("payment.amount", "is not the callback's checkout-amount: the payment request is another payment's")
	}
	c := p.Customer
	if c == nil {
		v.Add("payment.customer", "is required: the payer as sent to Paytrail")
		return nil, v
	}
	long("payment.customer.email", c.Email, 200)
	long("payment.customer.firstName", c.FirstName, 50)
	long("payment.customer.lastName", c.LastName, 50)
	long("payment.customer.companyName", c.CompanyName, 100)
	dr := intake.Draft{
		Link:  customer.ExternalLink{SystemID: customer.Paytrail, Identifier: id},
		Trust: intake.Observation,
	}
	pa := &dr.Patch
	setText(&pa.Email, c.Email)
	setText(&pa.FirstName, c.FirstName)
	setText(&pa.LastName, c.LastName)
	// A company only with a Finnish VAT id, which gives its business id;
	// otherwise the payer is a person and the company fields say nothing.
	if strings.TrimSpace(c.CompanyName) != "" {
		if vat, err := finnish.ParseVATNumber(c.VATID); err == nil {
			pa.Type = customer.Set(customer.Company)
			pa.CompanyName = customer.Set(strings.TrimSpace(c.CompanyName))
			pa.BusinessID = customer.Set(vat[2:9] + "-" + vat[9:])
			pa.VATNumber = customer.Set(vat)
		}
	}
	switch l := customer.Language(strings.ToLower(strings.TrimSpace(p.Language))); {
	case l == "":
	case l.Valid():
		pa.Language = customer.Set(l)
	default:
		v.Add("payment.language", "must be FI, SV or EN")
	}
	if ph := strings.TrimSpace(c.Phone); ph != "" {
		dr.AddPhones = []string{ph}
	}
	for _, a := range []struct {
		field string
		addr  *PaytrailAddress
		typ   customer.AddressType
	}{
		{"payment.deliveryAddress", p.DeliveryAddress, customer.Delivery},
		{"payment.invoicingAddress", p.InvoicingAddress, customer.Invoice},
	} {
		if a.addr == nil {
			continue
		}
		long(a.field+".streetAddress", a.addr.StreetAddress, 50)
		long(a.field+".postalCode", a.addr.PostalCode, 15)
		long(a.field+".city", a.addr.City, 30)
		long(a.field+".county", a.addr.County, 200)
		long(a.field+".country", a.addr.Country, 2)
		dr.AddAddresses = append(dr.AddAddresses, customer.Address{
			Type: a.typ, StreetAddress1: a.addr.StreetAddress, PostalCode: a.addr.PostalCode,
			City: a.addr.City, Country: strings.ToUpper(strings.TrimSpace(a.addr.Country)),
		})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return []intake.Draft{dr}, nil
}

func setText(o *customer.Opt[string], s string) {
	if s = strings.TrimSpace(s); s != "" {
		*o = customer.Set(s)
	}
}
