// Package webstore is the connector of the generic web store (external
// system 7): any web store that sends its customers to kirjuri in our own
// JSON contract (WebstoreEvent, published in the OpenAPI document), signed the
// Standard Webhooks way. The contract follows the proposal of
// ../shared/research/connectors.md §6.2: one event per request, the
// customer's full state, per-channel consents with their evidence.
//
// What it does: a customer.upserted or customer.consent_changed event
// becomes one authoritative draft linked by systemId 7 and the store's
// customer id; members absent or null change nothing; phones and addresses
// are added to the customer's lists; consents set only by the channels the
// event names with status granted or denied. What it does not (yet):
// customer.deleted, order.placed (guests), pull and push.
package webstore

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
const Name = "webstore"

// Config is the connectors.webstore section.
type Config struct {
	// SigningConfig holds signingSecret (required when enabled),
	// previousSigningSecret and tolerance.
	delivery.SigningConfig `koanf:",squash"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) { c.Tolerance = delivery.DefaultTolerance }

// String never shows the secrets.
func (c Config) String() string { return "webstore{" + c.SigningConfig.String() + "}" }

// Validate checks an enabled section.
func (c *Config) Validate() error {
	_, err := c.Verifier(Name)
	return err
}

// Connector is the webstore connector.
type Connector struct {
	delivery.StandardWebhooks
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
	return &Connector{StandardWebhooks: sw}, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.Webstore }

// Parse reads one event.
func (c *Connector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	var ev WebstoreEvent
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return nil, fmt.Errorf("the body is not a webstore event: %w", delivery.JSONError(err, ""))
	}
	if dec.More() {
		return nil, errors.New("the body is not a webstore event: data after the JSON object")
	}
	return ev.Drafts()
}

// ExampleJSON is an example event (the OpenAPI document shows it); it is
// the example of ../shared/research/connectors.md §6.2 in this contract.
//
//go:embed example.json
var ExampleJSON []byte
