// Package woocommerce is the connector of WooCommerce (external system 6):
// the shop's webhooks, as WooCommerce's WC_Webhook::deliver() sends them
// (../shared/research/connectors.md §1.5), with the payloads of the WP REST
// API v3 (§1.2 customers, §1.4 orders); the pull of the shop's customers
// (§1.3) and the push of a customer back (PUT /customers/{id}).
//
// What it does: customer.created and customer.updated become an
// authoritative draft linked 6/<customer id> with the customer's
// date_modified_gmt as the source's update time; order.created becomes an
// observation of the billing data, linked 6/<customer_id> for a registered
// customer and 6/guest-order-<order id> for a guest; customer.deleted is
// recorded and changes nothing; the unsigned ping WooCommerce sends when a
// webhook is saved changes nothing. Consents are never set: WooCommerce's
// core customer has no marketing consent.
//
// With the REST API settings (baseUrl, consumerKey, consumerSecret) it also
// pulls: it reads /wp-json/wc/v3/customers page by page in the order of
// their ids, every role but the site's staff, and makes of each customer
// the draft its customer.updated webhook would make. With push as well, it
// sends a customer's name, email, phone and addresses back to the shop's
// record (PUT /wp-json/wc/v3/customers/{id}). What it does not do: pull
// guests (they exist only in orders, which come by webhook), pull only what
// changed (WooCommerce has no such filter for customers: a pull reads them
// all), create or delete customers in the shop, push to a guest's link, or
// send consents (the shop has nowhere to keep them).
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
	"net/netip"
	"net/url"
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

	// BaseURL is the shop's address, where WordPress answers
	// (https://kauppa.example.fi, or https://example.fi/kauppa when
	// WordPress lives in a folder), without /wp-json. It must be https:
	// the keys go with every request. Plain http is accepted only for a
	// loopback host (localhost, 127.0.0.1, ::1), for tests and a shop on
	// the same machine; WooCommerce then wants OAuth 1.0a signatures,
	// which the connector makes. Also from
	// KIRJURI_CONNECTORS_WOOCOMMERCE_BASE_URL.
	BaseURL string `koanf:"baseUrl"`
	// ConsumerKey and ConsumerSecret are a REST API key of the shop
	// (WooCommerce › Settings › Advanced › REST API): Read for the pull,
	// Read/Write for the push. Also from
	// KIRJURI_CONNECTORS_WOOCOMMERCE_CONSUMER_KEY and _CONSUMER_SECRET.
	ConsumerKey    string `koanf:"consumerKey"`
	ConsumerSecret string `koanf:"consumerSecret"`
	// PageSize is how many customers a page of the pull asks for
	// (per_page): 1 to 100, WordPress's limit; 0 is the default, 100.
	PageSize int `koanf:"pageSize"`
	// Timeout bounds each request to the shop, the answer read whole
	// included: 1s to 5m; 0 is the default, 15s.
	Timeout time.Duration `koanf:"timeout"`
	// Push sends the register's changes of a customer back to the shop
	// (false by default: writing into the shop is the merchant's choice).
	// It needs the REST API settings and a Read/Write key.
	Push bool `koanf:"push"`
}

// Defaults of the REST API settings.
const (
	DefaultPageSize = 100
	DefaultTimeout  = 15 * time.Second
	// MaxPageSize is WordPress's cap on per_page.
	MaxPageSize = 100
	minTimeout  = time.Second
	maxTimeout  = 5 * time.Minute
)

// Defaults fills in the defaults.
func Defaults(c *Config) {
	c.PageSize = DefaultPageSize
	c.Timeout = DefaultTimeout
}

// String never shows the secrets (nor a user or password written into
// baseUrl).
func (c Config) String() string {
	return fmt.Sprintf("woocommerce{webhookSecret: %s, previousWebhookSecret: %s, baseUrl: %s, consumerKey: %s, consumerSecret: %s, pageSize: %d, timeout: %s, push: %t}",
		delivery.Redacted(c.WebhookSecret), delivery.Redacted(c.PreviousWebhookSecret), showURL(c.BaseURL),
		delivery.Redacted(c.ConsumerKey), delivery.Redacted(c.ConsumerSecret), c.PageSize, c.Timeout, c.Push)
}

// GoString is String: %#v must not show the secrets either.
func (c Config) GoString() string { return c.String() }

// showURL is baseUrl without what may be a credential: its user and
// password, its query and fragment.
func showURL(s string) string {
	if s == "" {
		return "unset"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(not a URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
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
	if c.PageSize != 0 && (c.PageSize < 1 || c.PageSize > MaxPageSize) {
		return fmt.Errorf("pageSize must be from 1 to %d (WordPress caps per_page at %d), not %d", MaxPageSize, MaxPageSize, c.PageSize)
	}
	if c.Timeout != 0 && (c.Timeout < minTimeout || c.Timeout > maxTimeout) {
		return fmt.Errorf("timeout must be from %s to %s, not %s", minTimeout, maxTimeout, c.Timeout)
	}
	var missing []string
	for _, s := range []struct{ key, value string }{{"baseUrl", c.BaseURL}, {"consumerKey", c.ConsumerKey}, {"consumerSecret", c.ConsumerSecret}} {
		if s.value == "" {
			missing = append(missing, s.key)
		}
	}
	switch {
	case len(missing) == 3 && c.Push:
		return errors.New("push needs the REST API settings baseUrl, consumerKey and consumerSecret (a key with Read/Write permission)")
	case len(missing) == 3:
		return nil // webhooks only
	case len(missing) > 0:
		verb := "are"
		if len(missing) == 1 {
			verb = "is"
		}
		return fmt.Errorf("%s %s missing: the REST API settings baseUrl, consumerKey and consumerSecret go together: set all three (to pull, and to push) or none (webhooks only)",
			strings.Join(missing, " and "), verb)
	}
	if _, err := parseBaseURL(c.BaseURL); err != nil {
		return fmt.Errorf("baseUrl: %w", err)
	}
	if err := checkAPIKey(c.ConsumerKey, "cs_"); err != nil {
		return fmt.Errorf("consumerKey: %w", err)
	}
	if err := checkAPIKey(c.ConsumerSecret, "ck_"); err != nil {
		return fmt.Errorf("consumerSecret: %w", err)
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

// maxAPIKey bounds a consumer key or secret (WooCommerce makes them of a
// prefix and 40 hex digits).
const maxAPIKey = 200

// checkAPIKey checks a consumer key or secret without showing it.
// WooCommerce begins its keys with ck_ and its secrets with cs_: other, the
// prefix of the other one, means the two were swapped. Other prefixes are
// let through (a key inserted by a plugin), the shop is the judge.
func checkAPIKey(s, other string) error {
	switch {
	case len(s) > maxAPIKey:
		return fmt.Errorf("is longer than %d characters: not a WooCommerce key", maxAPIKey)
	case strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) >= 0:
		return errors.New("must be printable ASCII without spaces: copy it again from WooCommerce › Settings › Advanced › REST API")
	case strings.HasPrefix(s, other):
		return fmt.Errorf("begins with %s, as the other of the two does: consumerKey and consumerSecret are swapped (the key begins with ck_, the secret with cs_)", other)
	}
	return nil
}

// parseBaseURL reads baseUrl: https, or http to a loopback host; a host;
// no user, password, query or fragment; not the REST API's own address.
// The trailing slash is dropped. Its errors do not show the URL.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Opaque != "" {
		return nil, errors.New("is not a URL; write it as https://example.fi")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, errors.New("must be https: the API keys go with every request (plain http only to localhost, 127.0.0.1 or ::1)")
		}
	case "":
		return nil, errors.New("must begin with https://")
	default:
		return nil, errors.New("must be an https URL")
	}
	if u.Hostname() == "" {
		return nil, errors.New("has no host")
	}
	if u.User != nil {
		return nil, errors.New("must not hold a user or password: the key goes in consumerKey and consumerSecret")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, errors.New("must not have a query (?…) or a fragment (#…)")
	}
	if p := "/" + strings.Trim(u.Path, "/") + "/"; strings.Contains(p, "/wp-json/") {
		return nil, errors.New("is the shop's address, without /wp-json/… (the connector adds /wp-json/wc/v3)")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// isLoopback: localhost or a loopback address (127.0.0.0/8, ::1).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// Connector is the WooCommerce connector that receives webhooks. New
// returns it as it is when the REST API settings are unset, and inside a
// PullConnector or a PushConnector when they are set: the capabilities
// (inbound.Puller, inbound.Pusher) are found by type assertion, so each is
// on a type of its own.
type Connector struct {
	secrets [][]byte
}

// PullConnector is the connector with the REST API settings: it receives
// webhooks and pulls (inbound.Puller).
type PullConnector struct {
	*Connector
	api *api
}

// PushConnector is the connector with the REST API settings and push: it
// receives webhooks, pulls and pushes (inbound.Pusher).
type PushConnector struct {
	*PullConnector
}

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Verifier  = (*Connector)(nil)
	_ inbound.Receiver  = (*Connector)(nil)
	_ inbound.Puller    = (*PullConnector)(nil)
	_ inbound.Puller    = (*PushConnector)(nil)
	_ inbound.Pusher    = (*PushConnector)(nil)
)

// Option changes how New builds the connector.
type Option func(*options)

type options struct {
	client *http.Client
}

// WithHTTPClient makes the requests to the shop with client (its
// transport: tests give the client of an httptest TLS server). The
// connector still bounds each request by the timeout setting and never
// follows redirects.
func WithHTTPClient(client *http.Client) Option {
	return func(o *options) { o.client = client }
}

// New builds the connector from a validated section: a *Connector
// (webhooks) when the REST API settings are unset, a *PullConnector
// (webhooks and pull) when they are set, a *PushConnector (webhooks, pull
// and push) when push is true as well.
func New(c Config, opts ...Option) (inbound.Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	conn := &Connector{}
	for _, s := range []string{c.WebhookSecret, c.PreviousWebhookSecret} {
		if s != "" {
			conn.secrets = append(conn.secrets, []byte(s))
		}
	}
	if c.BaseURL == "" {
		return conn, nil
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	a, err := newAPI(c, o.client)
	if err != nil {
		return nil, err
	}
	pull := &PullConnector{Connector: conn, api: a}
	if !c.Push {
		return pull, nil
	}
	return &PushConnector{PullConnector: pull}, nil
}

// String names the connector and what it can do, never its secrets.
func (c *Connector) String() string { return "woocommerce connector (webhooks)" }

// String names the connector and what it can do, never its secrets.
func (c *PullConnector) String() string {
	return "woocommerce connector (webhooks, pull from " + c.api.base.String() + ")"
}

// String names the connector and what it can do, never its secrets.
func (c *PushConnector) String() string {
	return "woocommerce connector (webhooks, pull from and push to " + c.api.base.String() + ")"
}

// GoString is String: %#v must not show the secrets either.
func (c *Connector) GoString() string     { return c.String() }
func (c *PullConnector) GoString() string { return c.String() }
func (c *PushConnector) GoString() string { return c.String() }

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
