// Package woocommerce is the connector of WooCommerce (external system 6):
// the shop's webhooks, as WooCommerce's WC_Webhook::deliver() sends them
// (../shared/research/connectors.md §1.5), with the payloads of the WP REST
// API v3 (§1.2 customers, §1.4 orders).
//
// What it does: customer.created and customer.updated become an
// authoritative draft linked 6/<customer id> with the customer's
// date_modified_gmt as the source's update time; order.created becomes an
// observation of the billing data, linked 6/<customer_id> for a registered
// customer and 6/guest-order-<order id> for a guest; customer.deleted is
// recorded and changes nothing; the unsigned ping WooCommerce sends when a
// webhook is saved changes nothing. Consents are never set: WooCommerce's
// core customer has no marketing consent. What it does not (yet): the pull
// of /wp-json/wc/v3/customers and the push back.
package woocommerce

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "woocommerce"

// Header names WooCommerce sends, canonical (X-WC-… as Go spells it).
const (
	HeaderSignature  = "X-Wc-Webhook-Signature"
	HeaderTopic      = "X-Wc-Webhook-Topic"
	HeaderResource   = "X-Wc-Webhook-Resource"
	HeaderEvent      = "X-Wc-Webhook-Event"
	HeaderWebhookID  = "X-Wc-Webhook-Id"
	HeaderDeliveryID = "X-Wc-Webhook-Delivery-Id"
	HeaderSource     = "X-Wc-Webhook-Source"
	// HeaderOldDeliveryID is the delivery id's name in older revisions of
	// WooCommerce's documentation; accepted too.
	HeaderOldDeliveryID = "X-Wc-Delivery-Id"
)

// MinSecretLen bounds the webhook secret from below. WooCommerce's admin
// generates 50 characters, its REST API an MD5 hex digest (32).
const MinSecretLen = 16

// maxDeliveryID bounds the delivery id header (WooCommerce's wp_hash is 32
// hex digits); it becomes part of the inbox key.
const maxDeliveryID = 128

// Config is the connectors.woocommerce section.
type Config struct {
	// WebhookSecret is the secret of the shop's webhooks (WooCommerce ›
	// Settings › Advanced › Webhooks › Secret), as WooCommerce shows it;
	// required when enabled. Also from
	// KIRJURI_CONNECTORS_WOOCOMMERCE_WEBHOOK_SECRET.
	WebhookSecret string `koanf:"webhookSecret"`
	// PreviousWebhookSecret is accepted too while the secret is rotated
	// (the shop's webhooks changed one by one).
	PreviousWebhookSecret string `koanf:"previousWebhookSecret"`
}

// String never shows the secrets.
func (c Config) String() string {
	return fmt.Sprintf("woocommerce{webhookSecret: %s, previousWebhookSecret: %s}", redacted(c.WebhookSecret), redacted(c.PreviousWebhookSecret))
}

func redacted(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// Validate checks an enabled section.
func (c *Config) Validate() error {
	if c.WebhookSecret == "" {
		return errors.New("webhookSecret is required when the connector is enabled (or KIRJURI_CONNECTORS_WOOCOMMERCE_WEBHOOK_SECRET)")
	}
	if err := checkSecret(c.WebhookSecret); err != nil {
		return fmt.Errorf("webhookSecret: %w", err)
	}
	if c.PreviousWebhookSecret != "" {
		if err := checkSecret(c.PreviousWebhookSecret); err != nil {
			return fmt.Errorf("previousWebhookSecret: %w", err)
		}
	}
	return nil
}

func checkSecret(s string) error {
	if strings.TrimSpace(s) != s {
		return errors.New("must not begin or end with white space")
	}
	if len(s) < MinSecretLen {
		return fmt.Errorf("must be at least %d characters, not %d", MinSecretLen, len(s))
	}
	return nil
}

// Connector is the WooCommerce connector.
type Connector struct {
	secrets [][]byte
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
	conn := &Connector{}
	for _, s := range []string{c.WebhookSecret, c.PreviousWebhookSecret} {
		if s != "" {
			conn.secrets = append(conn.secrets, []byte(s))
		}
	}
	return conn, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.WooCommerce }

// Sign is X-WC-Webhook-Signature of body under secret: the base64 of its
// HMAC-SHA256 (WC_Webhook::generate_signature). Tests and the benchmark
// use it.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac([]byte(secret), body))
}

func mac(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}

// maxSignatureHeader bounds the signature header (a SHA-256 in base64 is
// 44 characters; a hash algorithm changed by the shop's filter up to
// SHA-512 is 88).
const maxSignatureHeader = 200

// Verify checks X-WC-Webhook-Signature over the raw body with the secret
// (and the previous one while rotating), in constant time. WooCommerce
// signs no timestamp, so there is no tolerance: replays are caught by the
// delivery key and older customer data by date_modified_gmt. The ping,
// unsigned, never reaches Verify: it is a handshake (IsHandshake).
func (c *Connector) Verify(h http.Header, body []byte, _ time.Time) error {
	sig := h.Get(HeaderSignature)
	if sig == "" {
		return delivery.Unauthentic("missing header X-WC-Webhook-Signature")
	}
	if len(sig) > maxSignatureHeader {
		return delivery.Unauthentic("header X-WC-Webhook-Signature is too long to be a signature")
	}
	given, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return delivery.Unauthentic("header X-WC-Webhook-Signature must be standard base64")
	}
	ok := false
	for _, key := range c.secrets {
		if hmac.Equal(given, mac(key, body)) {
			ok = true
		}
	}
	if !ok {
		return delivery.Unauthentic("header X-WC-Webhook-Signature does not match the body")
	}
	if id := deliveryID(h); len(id) > maxDeliveryID {
		return delivery.Unauthentic(fmt.Sprintf("header X-WC-Webhook-Delivery-ID is longer than %d characters", maxDeliveryID))
	}
	return nil
}

// pingBody is the ping's body: WC_Webhook::deliver_ping() posts the string
// "webhook_id=<the webhook's post id>".
var pingBody = regexp.MustCompile(`^webhook_id=[1-9][0-9]{0,19}$`)

// IsPing reports whether a request is WooCommerce's ping, sent unsigned
// when a webhook is saved active: the body exactly "webhook_id=<digits>",
// form-encoded or without a content type, and no X-WC-* header at all (a
// signed delivery always has them). WooCommerce reports anything but 200
// to the admin saving the webhook.
func IsPing(h http.Header, body []byte) bool {
	if !pingBody.Match(body) {
		return false
	}
	for k := range h {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Wc-") {
			return false
		}
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return false
		}
	}
	return true
}

// IsHandshake is IsPing: the framework answers the ping 200, as WooCommerce
// requires of it, and stores nothing.
func (*Connector) IsHandshake(h http.Header, body []byte) bool {
	return h.Get(HeaderSignature) == "" && IsPing(h, body)
}

// DeliveryKey is X-WC-Webhook-Delivery-ID (or the older X-WC-Delivery-ID)
// with the SHA-256 of the body: WooCommerce derives the id from the
// webhook's id and the current second (wp_hash(id . time())), so two
// deliveries of one webhook in the same second (two customers changed
// together) share it; the body tells them apart, and a replay repeats
// both. Without the header: "" (the inbox keys by the body's SHA-256).
func (*Connector) DeliveryKey(h http.Header, body []byte) string {
	id := deliveryID(h)
	if id == "" {
		return ""
	}
	sum := sha256.Sum256(body)
	return id + "/" + hex.EncodeToString(sum[:])
}

func deliveryID(h http.Header) string {
	if id := strings.TrimSpace(h.Get(HeaderDeliveryID)); id != "" {
		return id
	}
	return strings.TrimSpace(h.Get(HeaderOldDeliveryID))
}

// KeptHeaders are the topic (Parse needs it: the body does not say what it
// is) and, for tracing, the webhook, delivery and shop.
func (*Connector) KeptHeaders() []string {
	return []string{HeaderTopic, HeaderResource, HeaderEvent, HeaderWebhookID, HeaderDeliveryID, HeaderSource}
}
