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

// Connector is the Matkahuolto connector: the carriers' shared one
// (delivery.Carrier) with Matkahuolto's request parser.
type Connector = delivery.Carrier

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
)

// New builds the connector from a validated section.
func New(c Config) (*Connector, error) {
	return delivery.NewCarrier(Name, customer.Matkahuolto, c, parse)
}

// parse reads one MHShipmentRequest: a draft per Shipment.
func parse(body []byte, splitNames bool) ([]intake.Draft, error) {
	r, err := decodeRequest(body)
	if err != nil {
		return nil, err
	}
	return r.drafts(splitNames)
}
