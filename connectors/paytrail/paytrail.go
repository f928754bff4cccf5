// Package paytrail is the connector of Paytrail, formerly Checkout Finland
// (external system 4). Paytrail keeps no customers: the payer's data is
// what the merchant sent in the payment request (POST /payments, its
// customer, deliveryAddress and invoicingAddress), and Paytrail's
// callbacks carry only the payment's status (HTTP GET with checkout-*
// query parameters and an HMAC signature; ../shared/research/connectors.md
// §3). So the payer reaches kirjuri through the merchant's integration,
// which forwards the two together when Paytrail calls back:
//
//	POST /v1/connectors/paytrail/webhook
//	checkout-account: 375917                 (the merchant id)
//	checkout-algorithm: sha256               (or sha512)
//	checkout-method: POST
//	checkout-nonce: <unique per request>
//	checkout-timestamp: 2024-03-01T10:15:30.123Z
//	signature: <hex HMAC of the checkout-* headers and the body>
//
//	{"callback": {"checkout-account": "375917", …, "signature": "…"},   the callback's parameters as received
//	 "payment":  {"stamp": "…", "amount": 1590, "customer": {…}, …}}    the payment request as sent to Paytrail
//
// Both signatures are Paytrail's own scheme under the merchant's secret key
// (§3.1): the request is signed as the integration signs its requests to
// Paytrail (the lower-case checkout-* headers sorted as key:value lines,
// then the raw body, joined by "\n"; checkout-timestamp within the
// tolerance), and the callback's signature is checked over its checkout-*
// parameters with an empty body, as Paytrail made it. The outer signature
// is what authenticates the payer: the callback's parameters alone also
// reach the payer's browser (the redirect carries the same ones), so
// anyone who paid could pair them with made-up customer data.
//
// What it does: a callback with checkout-status ok whose payment's stamp
// and amount are the callback's becomes one Observation of the payer
// (email, names, phone, company and business id from a Finnish vatId,
// language, delivery and invoicing addresses), linked by systemId 4 and
// checkout-transaction-id; it fills only what is empty, never sets
// consents. Other statuses are processed with no change. The delivery key
// is the transaction id and the status. What it does not: the payment
// report (no email, no phone), pull, push (Paytrail has no customer API).
package paytrail

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"sort"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "paytrail"

// Header and parameter names of Paytrail's signing scheme (lower case, as
// Paytrail signs them).
const (
	Account       = "checkout-account"
	Algorithm     = "checkout-algorithm"
	Method        = "checkout-method"
	Nonce         = "checkout-nonce"
	Timestamp     = "checkout-timestamp"
	TransactionID = "checkout-transaction-id"
	Status        = "checkout-status"
	Stamp         = "checkout-stamp"
	Amount        = "checkout-amount"
	Signature     = "signature"
	prefix        = "checkout-"
)

// Config is the connectors.paytrail section.
type Config struct {
	// MerchantID is the merchant's Paytrail account (checkout-account);
	// required when enabled. Deliveries of another account are refused.
	MerchantID string `koanf:"merchantId"`
	// SecretKey is the merchant's Paytrail secret key, which signs both
	// the callback and the integration's forward; required when enabled.
	// Also from KIRJURI_CONNECTORS_PAYTRAIL_SECRET_KEY.
	SecretKey string `koanf:"secretKey"`
	// PreviousSecretKey is accepted too while the key is changed.
	PreviousSecretKey string `koanf:"previousSecretKey"`
	// Tolerance bounds how far the forward's checkout-timestamp may be
	// from the server's time (five minutes by default).
	Tolerance time.Duration `koanf:"tolerance"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) { c.Tolerance = delivery.DefaultTolerance }

// String never shows the secrets.
func (c Config) String() string {
	return fmt.Sprintf("paytrail{merchantId: %s, secretKey: %s, previousSecretKey: %s, tolerance: %s}",
		c.MerchantID, delivery.Redacted(c.SecretKey), delivery.Redacted(c.PreviousSecretKey), c.Tolerance)
}

// Validate checks an enabled section.
func (c *Config) Validate() error {
	if c.MerchantID == "" {
		return errors.New("merchantId is required when the connector is enabled (the Paytrail account, checkout-account)")
	}
	if len(c.MerchantID) > 20 || strings.Trim(c.MerchantID, "0123456789") != "" {
		return errors.New("merchantId: must be the digits of the Paytrail account (checkout-account)")
	}
	if c.SecretKey == "" {
		return errors.New("secretKey is required when the connector is enabled (or KIRJURI_CONNECTORS_PAYTRAIL_SECRET_KEY)")
	}
	if strings.TrimSpace(c.SecretKey) != c.SecretKey {
		return errors.New("secretKey: must not begin or end with white space")
	}
	if strings.TrimSpace(c.PreviousSecretKey) != c.PreviousSecretKey {
		return errors.New("previousSecretKey: must not begin or end with white space")
	}
	if c.Tolerance < time.Second || c.Tolerance > time.Hour {
		return fmt.Errorf("tolerance: must be 1s to 1h, not %s", c.Tolerance)
	}
	return nil
}

// Connector is the Paytrail connector.
type Connector struct {
	merchant  string
	keys      [][]byte
	tolerance time.Duration
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
	conn := &Connector{merchant: c.MerchantID, tolerance: c.Tolerance}
	for _, s := range []string{c.SecretKey, c.PreviousSecretKey} {
		if s != "" {
			conn.keys = append(conn.keys, []byte(s))
		}
	}
	return conn, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.Paytrail }

// Verify checks the forward's own signature over its checkout-* headers
// and raw body, its timestamp and account, and then, when the body holds a
// callback, the callback's signature over its checkout-* parameters. A
// body that does not parse is authentic by the first check alone: it is
// stored and rejected by Parse with its reason.
func (c *Connector) Verify(h http.Header, body []byte, now time.Time) error {
	params := map[string]string{}
	for k := range h {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, prefix) {
			params[lk] = h.Get(k)
		}
	}
	for _, name := range []string{Account, Algorithm, Method, Nonce, Timestamp} {
		if params[name] == "" {
			return delivery.Unauthentic("missing header " + name)
		}
	}
	sig := h.Get(Signature)
	if sig == "" {
		return delivery.Unauthentic("missing header signature")
	}
	if params[Account] != c.merchant {
		return delivery.Unauthentic("header checkout-account is not the merchant id of the configuration")
	}
	if params[Method] != http.MethodPost {
		return delivery.Unauthentic("header checkout-method must be POST")
	}
	ts, err := time.Parse(time.RFC3339, params[Timestamp])
	if err != nil {
		return delivery.Unauthentic("header checkout-timestamp must be an ISO 8601 time (2024-03-01T10:15:30.123Z)")
	}
	if d := now.Sub(ts); d > c.tolerance || -d > c.tolerance {
		return delivery.Unauthentic(fmt.Sprintf("header checkout-timestamp is outside the tolerance of %s from the server's time", c.tolerance))
	}
	if err := c.check(params, body, sig); err != nil {
		return delivery.Unauthentic(err.Error() + " (header signature over the checkout-* headers and the body)")
	}
	var d struct {
		Callback map[string]string `json:"callback"`
	}
	if json.Unmarshal(body, &d) != nil || d.Callback == nil {
		return nil // authentic; Parse says what is wrong with it
	}
	cb := map[string]string{}
	for k, v := range d.Callback {
		if strings.HasPrefix(k, prefix) {
			cb[k] = v
		}
	}
	if cb[Algorithm] == "" {
		return delivery.Unauthentic("missing callback parameter checkout-algorithm")
	}
	if d.Callback[Signature] == "" {
		return delivery.Unauthentic("missing callback parameter signature")
	}
	if cb[Account] != c.merchant {
		return delivery.Unauthentic("callback parameter checkout-account is not the merchant id of the configuration")
	}
	if err := c.check(cb, nil, d.Callback[Signature]); err != nil {
		return delivery.Unauthentic(err.Error() + " (callback parameter signature over the callback's checkout-* parameters)")
	}
	return nil
}

// check compares sig with the HMAC of params and body under each key, in
// constant time. Its error names no value.
func (c *Connector) check(params map[string]string, body []byte, sig string) error {
	newHash, ok := algorithms[params[Algorithm]]
	if !ok {
		return errors.New("checkout-algorithm must be sha256 or sha512")
	}
	given, err := hex.DecodeString(sig)
	if err != nil {
		return errors.New("the signature is not hexadecimal")
	}
	for _, key := range c.keys {
		if hmac.Equal(given, mac(newHash, key, params, body)) {
			return nil
		}
	}
	return errors.New("the signature does not match")
}

var algorithms = map[string]func() hash.Hash{"sha256": sha256.New, "sha512": sha512.New}

// mac is Paytrail's HMAC: the checkout-* entries of params sorted by name
// as "name:value" lines, then the body, joined by "\n".
func mac(newHash func() hash.Hash, key []byte, params map[string]string, body []byte) []byte {
	names := make([]string, 0, len(params))
	for k := range params {
		if strings.HasPrefix(k, prefix) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	m := hmac.New(newHash, key)
	for _, k := range names {
		m.Write([]byte(k))
		m.Write([]byte{':'})
		m.Write([]byte(params[k]))
		m.Write([]byte{'\n'})
	}
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns Paytrail's signature (hex) of params (only their checkout-*
// entries count; names in lower case) and body, with algorithm sha256 or
// sha512: the callback's signature when body is empty, a request's
// otherwise. Tests and senders written in Go use it.
func Sign(algorithm string, key []byte, params map[string]string, body []byte) (string, error) {
	newHash, ok := algorithms[algorithm]
	if !ok {
		return "", errors.New("algorithm must be sha256 or sha512")
	}
	return hex.EncodeToString(mac(newHash, key, params, body)), nil
}

// SignForward returns the headers of a forward of body by the merchant
// with account, signed with key at the time at, sha256.
func SignForward(key []byte, account, nonce string, at time.Time, body []byte) http.Header {
	params := map[string]string{
		Account: account, Algorithm: "sha256", Method: http.MethodPost, Nonce: nonce,
		Timestamp: at.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	sig, _ := Sign("sha256", key, params, body)
	h := http.Header{}
	for k, v := range params {
		h.Set(k, v)
	}
	h.Set(Signature, sig)
	h.Set("Content-Type", "application/json; charset=utf-8")
	return h
}

// DeliveryKey is checkout-transaction-id and checkout-status of the
// callback ("<transaction id>/<status>"): Paytrail may call the callback
// URL several times for one status, and a payment goes from pending to ok.
// Verify has authenticated the body; one whose callback cannot be read is
// keyed by the digest of its body ("").
func (*Connector) DeliveryKey(_ http.Header, body []byte) string {
	var d struct {
		Callback map[string]string `json:"callback"`
	}
	if json.Unmarshal(body, &d) != nil {
		return ""
	}
	id, st := d.Callback[TransactionID], d.Callback[Status]
	if id == "" || st == "" || len(id)+len(st) > 200 {
		return ""
	}
	return id + "/" + st
}

// KeptHeaders: nothing of the headers is needed after verification.
func (*Connector) KeptHeaders() []string { return nil }

// Parse reads one forwarded callback.
func (*Connector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	d, err := decode(body)
	if err != nil {
		return nil, fmt.Errorf("the body is not a forwarded Paytrail callback: %w", err)
	}
	return d.Drafts()
}
