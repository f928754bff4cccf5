// Package maestro is the connector of Maestro (external system 1), the
// merchant's back-office system. Which product enum 1 names is not known and
// its export format is not public (../shared/research/connectors.md §5), so
// the connector reads what any ERP can export: a customer file (CSV) or a
// JSON array of flat objects, one customer per row, whose columns the
// merchant maps onto the register's fields in configuration. The sender is
// the merchant's own export job; it signs each delivery the way the carrier
// connectors' senders do (delivery.CarrierSignature: header
// Kirjuri-Signature, t=<Unix seconds>,v1=<hex HMAC-SHA256 of "t.body">), with
// a secret of its own.
//
// What it does: POST /v1/connectors/maestro/webhook with Content-Type
// text/csv (a header row; ';' or ',' told from the header; UTF-8 with or
// without a byte order mark; quoted fields; CRLF or LF) or application/json
// (an array of objects, or {"customers": [...]}); each row becomes one draft
// linked by systemId 1 and the row's idColumn, of the configured trust
// (authoritative by default: the ERP is where the merchant keeps these
// data). A cell is read through the core's field table (customer.ParseColumn,
// Column.ParseText), so a value means what the same text means in a
// spreadsheet cell; the columns mapped to phoneNumber:{index} and
// address:{index}:{field} are added to the customer's lists, never replacing
// them. An empty cell or a missing column keeps the field. Source columns
// that are not mapped are ignored, or refused with strictColumns.
//
// What it does not: spreadsheets (.xlsx go to POST /v1/imports, the
// spreadsheet door, with its row report); consents and restriction (a
// column mapping carries no evidence of how a consent was captured;
// restriction is the data subject's request through the API); groups and
// customer cards (lists a draft cannot change); values translated from the
// ERP's own words ("Yritys" is not "company": the file must use the
// register's words, as a spreadsheet must); character sets other than
// UTF-8; pull and push. A file is taken whole or not at all: one row the
// connector refuses rejects the delivery, naming every row and source
// column at fault (never the value).
package maestro

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "maestro"

// HeaderDeliveryID is the sender's optional id of a delivery (its export
// run): a delivery sent again with the same id and body is a replay.
const HeaderDeliveryID = "Kirjuri-Delivery-Id"

// maxDeliveryID bounds the delivery id, so that with the body's digest it
// fits the inbox's key (300 characters).
const maxDeliveryID = 200

// DefaultMaxRows is how many customers one delivery may hold by default.
const DefaultMaxRows = 10_000

// maxMaxRows bounds maxRows; a delivery's body is at most 1 MiB anyway.
const maxMaxRows = 100_000

// Trust words of the configuration.
const (
	TrustAuthoritative = "authoritative"
	TrustObservation   = "observation"
)

// Config is the connectors.maestro section.
type Config struct {
	// SigningSecret is the shared secret of the carrier signature (at
	// least 32 characters); required when enabled. Also from
	// KIRJURI_CONNECTORS_MAESTRO_SIGNING_SECRET.
	SigningSecret string `koanf:"signingSecret"`
	// PreviousSigningSecret is accepted too while the secret is rotated.
	PreviousSigningSecret string `koanf:"previousSigningSecret"`
	// Tolerance bounds how far the signature's t may be from the server's
	// time (five minutes by default).
	Tolerance time.Duration `koanf:"tolerance"`
	// IDColumn is the source column with Maestro's customer id: the
	// customer's link 1/<id>. Required; every row must have it.
	IDColumn string `koanf:"idColumn"`
	// UpdatedAtColumn is the optional source column with the time Maestro
	// last changed the customer, for the staleness rule (an older row
	// changes nothing). RFC 3339 (2024-03-01T12:00:00+02:00), or without a
	// zone in Finnish time: ISO (2024-03-01 12:00[:00], 2024-03-01) or
	// Finnish (1.3.2024 12.00[.00], 1.3.2024 12:00, 1.3.2024 klo 12.00,
	// 1.3.2024). An empty cell is an unknown time.
	UpdatedAtColumn string `koanf:"updatedAtColumn"`
	// Columns maps a source column (a CSV header or a JSON member, matched
	// ignoring case and surrounding white space) to the register's column
	// as the spreadsheet names it: "Etunimi": firstName, "Sähköposti":
	// email, "Puhelin": phoneNumber:1, "Katuosoite":
	// address:1:streetAddress1. Checked at start.
	Columns map[string]string `koanf:"columns"`
	// AddressTypes gives the type of address:{n} (AddressTypes[n-1]:
	// Invoice, Delivery or Home) where no column is mapped to
	// address:{n}:type, or where that cell is empty.
	AddressTypes []string `koanf:"addressTypes"`
	// Trust is "authoritative" (the default: its values set the fields
	// they give) or "observation" (they only fill what is empty).
	Trust string `koanf:"trust"`
	// MaxRows bounds the customers of one delivery (10,000 by default).
	MaxRows int `koanf:"maxRows"`
	// StrictColumns refuses a delivery with a source column that is not
	// mapped (false by default: such columns are ignored).
	StrictColumns bool `koanf:"strictColumns"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) {
	c.Tolerance, c.Trust, c.MaxRows = delivery.DefaultTolerance, TrustAuthoritative, DefaultMaxRows
}

// String never shows the secrets.
func (c Config) String() string {
	return fmt.Sprintf("maestro{signingSecret: %s, previousSigningSecret: %s, tolerance: %s, idColumn: %q, updatedAtColumn: %q, columns: %d, addressTypes: %q, trust: %q, maxRows: %d, strictColumns: %t}",
		delivery.Redacted(c.SigningSecret), delivery.Redacted(c.PreviousSigningSecret), c.Tolerance, c.IDColumn, c.UpdatedAtColumn,
		len(c.Columns), c.AddressTypes, c.Trust, c.MaxRows, c.StrictColumns)
}

// Validate checks an enabled section, every mistake at once.
func (c *Config) Validate() error {
	_, err := c.compile()
	return err
}

func (c *Config) compile() (*mapping, error) {
	var errs []error
	switch {
	case c.SigningSecret == "":
		errs = append(errs, errors.New("signingSecret is required when the connector is enabled (or KIRJURI_CONNECTORS_MAESTRO_SIGNING_SECRET)"))
	default:
		if err := delivery.CheckCarrierSecret(c.SigningSecret); err != nil {
			errs = append(errs, fmt.Errorf("signingSecret: %w", err))
		}
	}
	if c.PreviousSigningSecret != "" {
		if err := delivery.CheckCarrierSecret(c.PreviousSigningSecret); err != nil {
			errs = append(errs, fmt.Errorf("previousSigningSecret: %w", err))
		}
	}
	if c.Tolerance < time.Second || c.Tolerance > time.Hour {
		errs = append(errs, fmt.Errorf("tolerance: must be 1s to 1h, not %s", c.Tolerance))
	}
	if c.MaxRows < 1 || c.MaxRows > maxMaxRows {
		errs = append(errs, fmt.Errorf("maxRows: must be 1 to %d, not %d", maxMaxRows, c.MaxRows))
	}
	m, err := compileMapping(c)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// Connector is the Maestro connector.
type Connector struct {
	sig delivery.CarrierSignature
	m   *mapping
}

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
)

// New builds the connector from a section (Defaults, then the file); it
// validates the section.
func New(c Config) (*Connector, error) {
	m, err := c.compile()
	if err != nil {
		return nil, err
	}
	keys := [][]byte{[]byte(c.SigningSecret)}
	if c.PreviousSigningSecret != "" {
		keys = append(keys, []byte(c.PreviousSigningSecret))
	}
	return &Connector{sig: delivery.CarrierSignature{Secrets: keys, Tolerance: c.Tolerance}, m: m}, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.Maestro }

// Verify checks the carrier signature, then the delivery id when the
// sender gives one: an id the inbox could not keep is refused rather than
// silently dropped, so that the sender learns of it.
func (c *Connector) Verify(h http.Header, body []byte, now time.Time) error {
	if err := c.sig.Verify(h, body, now); err != nil {
		return err
	}
	if _, ok := deliveryID(h); !ok {
		return delivery.Unauthentic(fmt.Sprintf("header %s must be 1 to %d visible ASCII characters", HeaderDeliveryID, maxDeliveryID))
	}
	return nil
}

// deliveryID is the sender's delivery id, "" when it gives none; false
// when the header is there but not an id.
func deliveryID(h http.Header) (string, bool) {
	vs := h.Values(HeaderDeliveryID)
	if len(vs) == 0 {
		return "", true
	}
	id := strings.TrimSpace(vs[0])
	if len(vs) > 1 || id == "" || len(id) > maxDeliveryID {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return "", false
		}
	}
	return id, true
}

// DeliveryKey is the sender's Kirjuri-Delivery-Id with the SHA-256 of the
// body, or "" without one (the inbox then keys the delivery by the body's
// digest alone). With the id, an export job's retry of a run is a replay
// while a new run is processed even when its file is the same as the last
// one (re-asserting the ERP's values over changes made elsewhere); with the
// digest, an id reused for another file by mistake loses nothing.
func (*Connector) DeliveryKey(h http.Header, body []byte) string {
	id, ok := deliveryID(h)
	if !ok || id == "" {
		return ""
	}
	sum := sha256.Sum256(body)
	return id + "/" + hex.EncodeToString(sum[:])
}

// KeptHeaders: Parse tells CSV from JSON by the Content-Type.
func (*Connector) KeptHeaders() []string { return []string{"Content-Type"} }

// Parse reads one export: every row a draft, in the file's order.
func (c *Connector) Parse(h http.Header, body []byte) ([]intake.Draft, error) {
	f, err := bodyFormat(h.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	body = trimBOM(body)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("the body is empty: send the export (a CSV file with its header row, or a JSON array of customers)")
	}
	if f == formatCSV {
		return c.m.parseCSV(body)
	}
	return c.m.parseJSON(body)
}
