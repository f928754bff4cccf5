package posti

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// Order is the part of a Posti order (Orders API, PUT /v2/orders; the shape
// of Posti's own WooCommerce plugin, prepare_posti_order()) that the
// connector reads. Other members (vendor, sender, rows, prices, services,
// preferences, …) are Posti's business and ignored.
type Order struct {
	// ExternalID is the merchant's id of the order: the receiver's link
	// (systemId 2). Required.
	ExternalID string `json:"externalId"`
	// OrderDate ("2024-03-01T12:00:00.000+02:00") is the draft's source
	// time.
	OrderDate string `json:"orderDate"`
	// Client is the buyer (the plugin fills it from the billing data); not
	// read: it may be another person than the receiver.
	Client *Party `json:"client"`
	// Recipient is the receiver: the customer of the draft.
	Recipient *Party `json:"recipient"`
	// DeliveryAddress is where and to whom the parcel goes, with the
	// contact for the arrival notice.
	DeliveryAddress *Party `json:"deliveryAddress"`
	// PickupPointID is the pickup point chosen for the parcel; read, not
	// stored (not the receiver's address).
	PickupPointID string `json:"pickupPointId"`
}

// Party is a party block of a Posti order.
type Party struct {
	Name          string `json:"name"`
	StreetAddress string `json:"streetAddress"`
	PostalCode    string `json:"postalCode"`
	PostOffice    string `json:"postOffice"`
	Country       string `json:"country"`
	Telephone     string `json:"telephone"`
	Email         string `json:"email"`
}

func (p *Party) empty() bool {
	return p == nil || *p == Party{}
}

// maxText bounds every text the connector reads (the register's own
// limits are tighter for most fields and checked there).
const maxText = 255

func decodeOrder(body []byte) (*Order, error) {
	var o Order
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("the body is not a Posti order: %w", delivery.JSONError(err, ""))
	}
	if dec.More() {
		return nil, errors.New("the body is not a Posti order: data after the JSON object")
	}
	return &o, nil
}

// draft is the order's receiver as an observation. Errors are
// *fault.Validation naming Posti's members.
func (o *Order) draft(splitNames bool) (intake.Draft, error) {
	v := &fault.Validation{}
	text := func(field, s string) string {
		if utf8.RuneCountInString(s) > maxText {
			v.Add(field, "must be at most %d characters", maxText)
			return ""
		}
		return strings.TrimSpace(s)
	}
	id := text("externalId", o.ExternalID)
	if id == "" && utf8.RuneCountInString(o.ExternalID) <= maxText {
		v.Add("externalId", "is required: the order's id is the receiver's link")
	}
	var at time.Time
	if s := strings.TrimSpace(o.OrderDate); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			v.Add("orderDate", "must be a date and time in RFC 3339 (2024-03-01T12:00:00.000+02:00)")
		}
		at = t.UTC()
	}
	text("pickupPointId", o.PickupPointID)
	parties := map[string]*Party{"recipient": o.Recipient, "deliveryAddress": o.DeliveryAddress}
	clean := map[string]Party{}
	for _, name := range []string{"recipient", "deliveryAddress"} {
		p := parties[name]
		if p.empty() {
			continue
		}
		clean[name] = Party{
			Name:          text(name+".name", p.Name),
			StreetAddress: text(name+".streetAddress", p.StreetAddress),
			PostalCode:    text(name+".postalCode", p.PostalCode),
			PostOffice:    text(name+".postOffice", p.PostOffice),
			Country:       text(name+".country", p.Country),
			Telephone:     text(name+".telephone", p.Telephone),
			Email:         text(name+".email", p.Email),
		}
	}
	if len(clean) == 0 {
		v.Add("recipient", "is required (or deliveryAddress): the receiver is the customer")
	}
	if err := v.Err(); err != nil {
		return intake.Draft{}, err
	}

	// The receiver is the recipient, or the delivery block when there is no
	// recipient. The delivery block adds to it only when it names the same
	// person (or no one): a gift's delivery address is not the buyer's.
	recv, hasRecipient := clean["recipient"]
	deliv, hasDelivery := clean["deliveryAddress"]
	if !hasRecipient {
		recv, deliv, hasDelivery = deliv, Party{}, false
	}
	samePerson := hasDelivery && (deliv.Name == "" || recv.Name == "" || sameName(deliv.Name, recv.Name))

	d := intake.Draft{
		Link:            customer.ExternalLink{SystemID: customer.Posti, Identifier: id},
		Trust:           intake.Observation,
		SourceUpdatedAt: at,
	}
	name := recv.Name
	email, phone := recv.Email, recv.Telephone
	if samePerson {
		if name == "" {
			name = deliv.Name
		}
		if email == "" {
			email = deliv.Email
		}
		if phone == "" {
			phone = deliv.Telephone
		}
	}
	delivery.ReceiverContact(&d, name, email, phone, splitNames)
	// The delivery address, else the recipient's own: a complete street
	// address only (a pickup-point shipment may carry none). Never the
	// pickup point.
	for _, p := range []struct {
		ok    bool
		party Party
	}{{samePerson, deliv}, {true, recv}} {
		a := p.party
		if p.ok && a.StreetAddress != "" && a.PostalCode != "" && a.PostOffice != "" {
			d.AddAddresses = []customer.Address{{
				Type: customer.Delivery, StreetAddress1: a.StreetAddress, PostalCode: a.PostalCode,
				City: a.PostOffice, Country: strings.ToUpper(a.Country),
			}}
			break
		}
	}
	return d, nil
}
