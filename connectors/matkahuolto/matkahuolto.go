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
	"errors"
	"fmt"
	"net/http"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "matkahuolto"

// Config is the connectors.matkahuolto section.
type Config struct {
	// Secret is the shared secret of the carrier signature (at least 32
	// characters); required when enabled. Also from
	// KIRJURI_CONNECTORS_MATKAHUOLTO_SECRET.
	Secret string `koanf:"secret"`
	// PreviousSecret is accepted too while the secret is rotated.
	PreviousSecret string `koanf:"previousSecret"`
	// Tolerance bounds how far the signature's t may be from the server's
	// time (five minutes by default).
	Tolerance time.Duration `koanf:"tolerance"`
	// SplitNames splits the receiver's one-string name at its last space
	// into first and last name (the last word is the last name). On by
	// default: the register needs both names to make a person, and the
	// phone match compares last names. It is a guess (double first names
	// fine, "von Wright" not), which the research advises to make only
	// when configured; false takes no name, so that receivers only fill
	// in customers found by email, and a receiver who is no customer yet
	// is refused by the register (a person needs names).
	SplitNames bool `koanf:"splitNames"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) { c.Tolerance, c.SplitNames = delivery.DefaultTolerance, true }

// String never shows the secrets.
func (c Config) String() string {
	return fmt.Sprintf("matkahuolto{secret: %s, previousSecret: %s, tolerance: %s, splitNames: %t}",
		redacted(c.Secret), redacted(c.PreviousSecret), c.Tolerance, c.SplitNames)
}

func redacted(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// Validate checks an enabled section.
func (c *Config) Validate() error {
	if c.Secret == "" {
		return errors.New("secret is required when the connector is enabled (or KIRJURI_CONNECTORS_MATKAHUOLTO_SECRET)")
	}
	if err := delivery.CheckCarrierSecret(c.Secret); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	if c.PreviousSecret != "" {
		if err := delivery.CheckCarrierSecret(c.PreviousSecret); err != nil {
			return fmt.Errorf("previousSecret: %w", err)
		}
	}
	if c.Tolerance < time.Second || c.Tolerance > time.Hour {
		return fmt.Errorf("tolerance: must be 1s to 1h, not %s", c.Tolerance)
	}
	return nil
}

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
	keys := [][]byte{[]byte(c.Secret)}
	if c.PreviousSecret != "" {
		keys = append(keys, []byte(c.PreviousSecret))
	}
	return &Connector{
		CarrierSignature: delivery.CarrierSignature{Secrets: keys, Tolerance: c.Tolerance},
		splitNames:       c.SplitNames,
	}, nil
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
