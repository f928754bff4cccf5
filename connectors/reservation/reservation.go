// Package reservation is the connector of the generic reservation (booking)
// system (external system 22): any booking system that sends its
// reservations to kirjuri in our own JSON contract (ReservationEvent,
// published in the OpenAPI document), signed the Standard Webhooks way,
// exactly as the generic web store (connectors/webstore) is. The contract
// follows the proposal of ../shared/research/connectors.md §6.3: one event
// per request, the reservation with its booker, organisations as bookers,
// the booker's per-channel consents with their evidence, guests apart.
//
// What it does: a reservation.upserted event becomes one authoritative
// draft of the booker, linked by systemId 22 and the booking system's id of
// the booker; members absent or null change nothing; the phone and address
// are added to the customer's lists; consents are set only by the channels
// the event names with status granted or denied. An email the booking
// system marks as a relay (email_is_relay: an OTA's alias) is not taken.
// With ingestGuests, each guest with an id of its own and an email or a
// phone becomes an observation (fills only what is empty, never consents).
// What it does not (yet): the thin customer.changed event (it needs a pull
// from the booking system), the billing contact (documented, not stored),
// pull and push.
package reservation

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "reservation"

// Config is the connectors.reservation section.
type Config struct {
	// SigningConfig holds signingSecret (required when enabled),
	// previousSigningSecret and tolerance.
	delivery.SigningConfig `koanf:",squash"`
	// IngestGuests makes each guest with an id and an email or a phone an
	// observation on the register (false by default: only the booker).
	IngestGuests bool `koanf:"ingestGuests"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) { c.Tolerance = delivery.DefaultTolerance }

// String never shows the secrets.
func (c Config) String() string {
	return fmt.Sprintf("reservation{%s, ingestGuests: %t}", c.SigningConfig, c.IngestGuests)
}

// Validate checks an enabled section.
func (c *Config) Validate() error {
	_, err := c.Verifier(Name)
	return err
}

// Connector is the reservation connector.
type Connector struct {
	delivery.StandardWebhooks
	ingestGuests bool
}

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
)

// New builds the connector from a validated section.
func New(c Config) (*Connector, error) {
	sw, err := c.Verifier(Name)
	if err != nil {
		return nil, err
	}
	return &Connector{StandardWebhooks: sw, ingestGuests: c.IngestGuests}, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.Reservation }

// Parse reads one event.
func (c *Connector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	var ev ReservationEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("the body is not a reservation event: %w", delivery.JSONError(err, ""))
	}
	if dec.More() {
		return nil, errors.New("the body is not a reservation event: data after the JSON object")
	}
	return ev.Drafts(c.ingestGuests)
}

// ExampleJSON is an example event (the OpenAPI document shows it); it is
// the example of ../shared/research/connectors.md §6.3 in this contract.
//
//go:embed example.json
var ExampleJSON []byte
