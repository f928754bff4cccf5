// Package matkahuolto is the connector of Matkahuolto (external system 3).
// Matkahuolto has no customer register and sends no webhooks
// (../shared/research/connectors.md §4.2, §4.3): what it knows of a
// merchant's customers is the receiver of each shipment, which the
// merchant's shipping integration sends to Matkahuolto as an XML
// MHShipmentRequest. The integration posts the same document here (with
// its UserId and Password left out or empty: they are Matkahuolto's
// credentials and never read here), signed with a shared secret
// (delivery.CarrierSignature: header Kirjuri-Signature,
// t=<Unix seconds>,v1=<hex HMAC-SHA256 of "t.body">).
//
// What it does: the receiver of each Shipment becomes one draft of trust
// Observation (it fills only what is empty, never overwrites an
// authoritative source, never sets consents), linked by systemId 3 and the
// shipment's SenderReference. What it does not: consents (Matkahuolto
// captures none), the pickup point (DestinationPlaceCode: a place the
// receiver collects a parcel from, not where the receiver lives; the
// register has no field for it and it is never stored as an address), the
// payer, pull and push.
package matkahuolto

import (
	"net/http"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "matkahuolto"

// Config is the connectors.matkahuolto section: the carriers' shared one
// (delivery.CarrierConfig).
type Config = delivery.CarrierConfig

// Defaults fills in the defaults.
func Defaults(c *Config) { delivery.CarrierDefaults(c) }

// Connector is the Matkahuolto connector.
type Connector struct {
	delivery.CarrierSignature
	splitNames bool
}

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
)

// New builds the connector from a validated section.
func New(c Config) (*Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Connector{CarrierSignature: c.Signature(), splitNames: c.SplitNames}, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.Matkahuolto }

// DeliveryKey is "": the inbox keys a delivery by the SHA-256 of its body.
// The request is Matkahuolto's own document, with no delivery id or event
// of ours, and its SenderReference can only be read by parsing it. The
// same request sent again (a retry, with a new t) is a replay; a corrected
// shipment is a new delivery that reaches the same customer by its link.
func (*Connector) DeliveryKey(http.Header, []byte) string { return "" }

// KeptHeaders: Parse needs none.
func (*Connector) KeptHeaders() []string { return nil }

// Parse reads one MHShipmentRequest: a draft per Shipment.
func (c *Connector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	r, err := decodeRequest(body)
	if err != nil {
		return nil, err
	}
	return r.drafts(c.splitNames)
}
