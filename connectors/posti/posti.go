// Package posti is the connector of Posti (external system 2). Posti has no
// customer register and sends no webhooks (../shared/research/connectors.md
// §4.1, §4.3): what it knows of a merchant's customers is the receiver of
// each shipment, which the merchant's shipping integration sends to Posti's
// Orders API. The integration posts the same order document here, signed
// with a shared secret (delivery.CarrierSignature: header
// Kirjuri-Signature, t=<Unix seconds>,v1=<hex HMAC-SHA256 of "t.body">).
//
// What it does: the order's receiver becomes one draft of trust
// Observation (it fills only what is empty, never overwrites an
// authoritative source, never sets consents), linked by systemId 2 and
// the order's externalId. What it does not: consents (Posti captures
// none), the buyer (`client`, possibly another person), the pickup point
// (a place the receiver collects a parcel from, not where the receiver
// lives: the register has no field for it and it is never stored as an
// address), pull of Posti's order history and push.
package posti

import (
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "posti"

// Config is the connectors.posti section: the carriers' shared one
// (delivery.CarrierConfig).
type Config = delivery.CarrierConfig

// Defaults fills in the defaults.
func Defaults(c *Config) { delivery.CarrierDefaults(c) }

// Connector is the Posti connector: the carriers' shared one
// (delivery.Carrier) with Posti's order parser.
type Connector = delivery.Carrier

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
)

// New builds the connector from a validated section.
func New(c Config) (*Connector, error) {
	return delivery.NewCarrier(Name, customer.Posti, c, parse)
}

// parse reads one order.
func parse(body []byte, splitNames bool) ([]intake.Draft, error) {
	o, err := decodeOrder(body)
	if err != nil {
		return nil, err
	}
	d, err := o.draft(splitNames)
	if err != nil {
		return nil, err
	}
	return []intake.Draft{d}, nil
}

// sameName tells whether two names of the order are one person's.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}
