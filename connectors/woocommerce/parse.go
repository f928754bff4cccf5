package woocommerce

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// Topics this connector takes.
const (
	CustomerCreated = "customer.created"
	CustomerUpdated = "customer.updated"
	CustomerDeleted = "customer.deleted"
	OrderCreated    = "order.created"
)

// GuestPrefix begins the link identifier of a guest's order: a guest has no
// id in WooCommerce, so the order that brought the guest's data names it.
// The prefix keeps it apart from customer ids (both are plain integers in
// WooCommerce, from different sequences).
const GuestPrefix = "guest-order-"

// wcAddress is a billing or shipping object (§1.2; the same 11 fields in
// customers and orders, shipping without email, and phone only in newer
// cores).
type wcAddress struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// wcCustomer is the members of a customer (GET /wc/v3/customers/{id}) this
// connector reads; the others (role, username, avatar_url, meta_data,
// _links, what plugins add) are ignored.
type wcCustomer struct {
	ID              *int64     `json:"id"`
	DateCreatedGMT  *string    `json:"date_created_gmt"`
	DateModifiedGMT *string    `json:"date_modified_gmt"`
	Email           *string    `json:"email"`
	FirstName       string     `json:"first_name"`
	LastName        string     `json:"last_name"`
	Billing         *wcAddress `json:"billing"`
	Shipping        *wcAddress `json:"shipping"`
	// Legacy is the legacy REST API's envelope ({"customer": {…}}).
	Legacy json.RawMessage `json:"customer"`
}

// wcOrder is the members of an order (GET /wc/v3/orders/{id}) this
// connector reads.
type wcOrder struct {
	ID              *int64          `json:"id"`
	CustomerID      *int64          `json:"customer_id"`
	DateCreatedGMT  *string         `json:"date_created_gmt"`
	DateModifiedGMT *string         `json:"date_modified_gmt"`
	Billing         *wcAddress      `json:"billing"`
	Shipping        *wcAddress      `json:"shipping"`
	Legacy          json.RawMessage `json:"order"`
}

// wcDeleted is the body of a deleted event: {"id": <id>} only.
type wcDeleted struct {
	ID *int64 `json:"id"`
}

// Parse turns a stored delivery into drafts by its topic
// (X-WC-Webhook-Topic, or X-WC-Webhook-Resource and -Event).
func (c *Connector) Parse(h http.Header, body []byte) ([]intake.Draft, error) {
	topic := h.Get(HeaderTopic)
	if topic == "" && h.Get(HeaderResource) != "" && h.Get(HeaderEvent) != "" {
		topic = h.Get(HeaderResource) + "." + h.Get(HeaderEvent)
	}
	if topic == "" {
		if pingBody.Match(body) {
			return nil, nil // the ping: nothing to do
		}
		return nil, errors.New("header X-WC-Webhook-Topic is missing: cannot tell what the body is")
	}
	switch topic {
	case CustomerCreated, CustomerUpdated:
		var wc wcCustomer
		if err := decode(body, &wc, "customer"); err != nil {
			return nil, err
		}
		d, err := wc.draft()
		if err != nil {
			return nil, err
		}
		return []intake.Draft{d}, nil
	case CustomerDeleted:
		// The shop deleted the WordPress user. That is not the person's
		// request for erasure, and the register may hold the customer from
		// other doors: recorded, nothing changed (see the README).
		var wc wcDeleted
		if err := decode(body, &wc, "deleted customer"); err != nil {
			return nil, err
		}
		if wc.ID == nil || *wc.ID <= 0 {
			return nil, &fault.Validation{Fields: []fault.FieldError{{Field: "id", Message: "must be a positive integer"}}}
		}
		return nil, nil
	case OrderCreated:
		var wc wcOrder
		if err := decode(body, &wc, "order"); err != nil {
			return nil, err
		}
		d, err := wc.draft()
		if err != nil {
			return nil, err
		}
		return []intake.Draft{d}, nil
	}
	return nil, fmt.Errorf("topic %s is not taken (only %s, %s, %s and %s): remove it from the shop's webhooks",
		showTopic(topic), CustomerCreated, CustomerUpdated, CustomerDeleted, OrderCreated)
}

var topicShape = regexp.MustCompile(`^[a-z_]{1,40}\.[a-z_]{1,40}$`)

// showTopic shows a topic that looks like one; anything else is not
// echoed.
func showTopic(t string) string {
	if topicShape.MatchString(t) {
		return strconv.Quote(t)
	}
	return "(not a WooCommerce topic)"
}

// decode reads one JSON object into v: unknown members are allowed
// (plugins add their own), wrong types are not.
func decode(body []byte, v any, what string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the body is not a WooCommerce %s: %w", what, delivery.JSONError(err, ""))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("the body is not a WooCommerce %s: data after the JSON object", what)
	}
	return nil
}

// gmtLayout is how the WP REST API writes the _gmt dates: UTC, no offset.
const gmtLayout = "2006-01-02T15:04:05"

// gmtTime reads a _gmt date; null or absent is zero.
func gmtTime(v *fault.Validation, field string, s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.ParseInLocation(gmtLayout, *s, time.UTC)
	if err != nil {
		if t2, err2 := time.Parse(time.RFC3339, *s); err2 == nil {
			return t2.UTC()
		}
		v.Add(field, "must be a date-time like 2024-03-21T19:09:28")
		return time.Time{}
	}
	return t
}

// updatedAt is the source's update time: date_modified_gmt, or when the
// object was never modified (null), date_created_gmt.
func updatedAt(v *fault.Validation, modified, created *string) time.Time {
	if t := gmtTime(v, "date_modified_gmt", modified); !t.IsZero() {
		return t
	}
	return gmtTime(v, "date_created_gmt", created)
}

func checkID(v *fault.Validation, field string, id *int64) {
	switch {
	case id == nil:
		v.Add(field, "is required")
	case *id <= 0:
		v.Add(field, "must be a positive integer")
	}
}

// first is the first of values that is not blank, as a Set, or Keep:
// WooCommerce writes "" for what it does not know, which says nothing.
func first(values ...string) customer.Opt[string] {
	for _, s := range values {
		if !customer.IsBlank(s) {
			return customer.Set(s)
		}
	}
	return customer.Keep[string]()
}

// draft is the authoritative draft of a customer.created or
// customer.updated. Names come from the account, else from billing;
// billing.company is not taken (WooCommerce has no business id, and a
// company name is for company customers only).
func (wc *wcCustomer) draft() (intake.Draft, error) {
	v := &fault.Validation{}
	if len(wc.Legacy) > 0 && wc.ID == nil {
		return intake.Draft{}, errors.New("the body is in the legacy REST API's shape: set the webhook's API version to WP REST API Integration v3")
	}
	checkID(v, "id", wc.ID)
	if wc.Email == nil {
		// Every WooCommerce customer has one; a body without it is not a
		// customer (an order's or a deleted event's body under this topic).
		v.Add("email", "is required in a customer")
	}
	at := updatedAt(v, wc.DateModifiedGMT, wc.DateCreatedGMT)
	if err := v.Err(); err != nil {
		return intake.Draft{}, err
	}
	billing, shipping := orEmpty(wc.Billing), orEmpty(wc.Shipping)
	d := intake.Draft{
		Link:            customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: strconv.FormatInt(*wc.ID, 10)},
		Trust:           intake.Authoritative,
		SourceUpdatedAt: at,
	}
	d.Patch.FirstName = first(wc.FirstName, billing.FirstName)
	d.Patch.LastName = first(wc.LastName, billing.LastName)
	d.Patch.Email = first(*wc.Email, billing.Email)
	d.AddPhones = phones(billing, shipping)
	d.AddAddresses = addresses(billing, shipping)
	return d, nil
}

// draft is the observation of an order.created: the billing data of the
// order. A registered customer's order is linked by the customer's id and
// carries no source time (the order's time is not the customer's: a
// customer.updated delivered after it must not be stale); a guest's is
// linked by the order and carries the order's time.
func (wc *wcOrder) draft() (intake.Draft, error) {
	v := &fault.Validation{}
	if len(wc.Legacy) > 0 && wc.ID == nil {
		return intake.Draft{}, errors.New("the body is in the legacy REST API's shape: set the webhook's API version to WP REST API Integration v3")
	}
	checkID(v, "id", wc.ID)
	switch {
	case wc.CustomerID == nil:
		// Every order has it (0 for guests); a body without it is not an
		// order.
		v.Add("customer_id", "is required in an order")
	case *wc.CustomerID < 0:
		v.Add("customer_id", "must be 0 (a guest) or a customer's id")
	}
	if wc.Billing == nil {
		v.Add("billing", "is required in an order")
	}
	at := updatedAt(v, wc.DateModifiedGMT, wc.DateCreatedGMT)
	if err := v.Err(); err != nil {
		return intake.Draft{}, err
	}
	billing, shipping := orEmpty(wc.Billing), orEmpty(wc.Shipping)
	d := intake.Draft{Trust: intake.Observation}
	if *wc.CustomerID > 0 {
		d.Link = customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: strconv.FormatInt(*wc.CustomerID, 10)}
	} else {
		d.Link = customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: GuestPrefix + strconv.FormatInt(*wc.ID, 10)}
		d.SourceUpdatedAt = at
	}
	d.Patch.FirstName = first(billing.FirstName, shipping.FirstName)
	d.Patch.LastName = first(billing.LastName, shipping.LastName)
	d.Patch.Email = first(billing.Email)
	d.AddPhones = phones(billing, shipping)
	d.AddAddresses = addresses(billing, shipping)
	return d, nil
}

func orEmpty(a *wcAddress) wcAddress {
	if a == nil {
		return wcAddress{}
	}
	return *a
}

// phones are billing.phone (the customer's phone in WooCommerce) and the
// shipping phone of newer cores, when given; the register normalises them.
func phones(billing, shipping wcAddress) []string {
	var out []string
	for _, p := range []string{billing.Phone, shipping.Phone} {
		if !customer.IsBlank(p) && (len(out) == 0 || strings.TrimSpace(out[0]) != strings.TrimSpace(p)) {
			out = append(out, p)
		}
	}
	return out
}

// addresses are billing as the Invoice address and shipping as the
// Delivery address, each only when it has a street, a postal code and a
// city (WooCommerce keeps an unused address as empty strings); the
// country is FI when empty; state is not kept.
func addresses(billing, shipping wcAddress) []customer.Address {
	var out []customer.Address
	for _, a := range []struct {
		typ customer.AddressType
		wc  wcAddress
	}{{customer.Invoice, billing}, {customer.Delivery, shipping}} {
		if customer.IsBlank(a.wc.Address1) || customer.IsBlank(a.wc.Postcode) || customer.IsBlank(a.wc.City) {
			continue
		}
		addr := customer.Address{Type: a.typ, StreetAddress1: a.wc.Address1, StreetAddress2: a.wc.Address2,
			PostalCode: a.wc.Postcode, City: a.wc.City, Country: "FI"}
		if !customer.IsBlank(a.wc.Country) {
			addr.Country = strings.ToUpper(strings.TrimSpace(a.wc.Country))
		}
		out = append(out, addr)
	}
	return out
}
