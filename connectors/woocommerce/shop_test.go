package woocommerce_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"kirjuri/connectors/woocommerce"
	"kirjuri/core/intake"
	"kirjuri/ports/inbound"
)

// A REST API key as WooCommerce makes them ('ck_'/'cs_' and wc_rand_hash()).
const (
	consumerKey    = "ck_4b1f2f0c8a9e7d6c5b4a39281706f5e4d3c2b1a0"
	consumerSecret = "cs_0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
)

// request is what the shop received.
type request struct {
	method string
	path   string
	query  map[string][]string
	header http.Header
	body   []byte
}

// shop is an httptest server playing a WooCommerce shop's REST API; it
// records every request.
type shop struct {
	*httptest.Server
	mu   sync.Mutex
	seen []request
}

func (s *shop) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.seen...)
}

// newShop starts a shop over TLS (as a real shop is) answering with h.
func newShop(t *testing.T, h http.HandlerFunc) *shop {
	t.Helper()
	s := &shop{}
	s.Server = httptest.NewTLSServer(s.record(h))
	t.Cleanup(s.Close)
	return s
}

// newPlainShop starts a shop over plain http on the loopback address.
func newPlainShop(t *testing.T, h http.HandlerFunc) *shop {
	t.Helper()
	s := &shop{}
	s.Server = httptest.NewServer(s.record(h))
	t.Cleanup(s.Close)
	return s
}

func (s *shop) record(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, request{method: r.Method, path: r.URL.Path, query: r.URL.Query(), header: r.Header.Clone(), body: b})
		s.mu.Unlock()
		h(w, r)
	}
}

// apiConfig is a section with the REST API settings of s.
func apiConfig(s *shop) woocommerce.Config {
	return woocommerce.Config{WebhookSecret: secret, BaseURL: s.URL, ConsumerKey: consumerKey, ConsumerSecret: consumerSecret}
}

// build makes the connector of cfg, talking to s with its client.
func build(t *testing.T, s *shop, cfg woocommerce.Config) inbound.Connector {
	t.Helper()
	c, err := woocommerce.New(cfg, woocommerce.WithHTTPClient(s.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answer writes a JSON answer as WordPress does.
func answer(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// serveFixture answers every request with status and the fixture name.
func serveFixture(t *testing.T, status int, name string) http.HandlerFunc {
	body := fixture(t, name)
	return func(w http.ResponseWriter, _ *http.Request) { answer(w, status, body) }
}

// checkBasic answers 401 as WooCommerce does unless r carries the key by
// HTTP Basic; it reports whether it did.
func checkBasic(t *testing.T, w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if ok && user == consumerKey && pass == consumerSecret {
		return true
	}
	answer(w, http.StatusUnauthorized, fixture(t, "error_401.json"))
	return false
}

// asWebhook is the draft that a customer.updated webhook of the customer
// JSON raw makes.
func asWebhook(t *testing.T, c inbound.Connector, raw []byte) intake.Draft {
	t.Helper()
	h := http.Header{}
	h.Set("X-WC-Webhook-Topic", "customer.updated")
	drafts, err := c.(inbound.Receiver).Parse(h, raw)
	if err != nil || len(drafts) != 1 {
		t.Fatalf("as a webhook: %v, %d drafts", err, len(drafts))
	}
	return drafts[0]
}

// items splits a page fixture into its customers.
func items(t *testing.T, page []byte) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	if err := json.Unmarshal(page, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// errKind is how the sync and push jobs take an error.
func errKind(err error) string {
	var rl *inbound.RateLimited
	switch {
	case err == nil:
		return "none"
	case errors.As(err, &rl):
		return "rate limited"
	case inbound.IsPermanent(err):
		return "permanent"
	}
	return "retried"
}

// noSecrets fails when an error or text shows a key, the webhook secret or
// the shop's own error message.
func noSecrets(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{consumerKey, consumerSecret, secret, consumerKey[3:20], consumerSecret[3:20], "Sorry", "Invalid email", "Please log in"} {
		if strings.Contains(text, s) {
			t.Errorf("%q shows %q", text, s)
		}
	}
}
