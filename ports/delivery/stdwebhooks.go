package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md): the sender signs "{webhook-id}.{webhook-timestamp}.{body}"
// with HMAC-SHA256 under a secret "whsec_<base64>" and sends
//
//	webhook-id:        msg_2KWPBgLlAfxdpx2AI54pPJ85f4W   (the delivery's id, kept on retries)
//	webhook-timestamp: 1674087231                       (Unix seconds)
//	webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= [v1,… …]
//
// The generic contracts (webstore 7, reservation 22) use it.

// Header names of Standard Webhooks, canonical.
const (
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from now, either
// way (the spec's recommendation: five minutes).
const DefaultTolerance = 5 * time.Minute

// SecretPrefix begins a Standard Webhooks secret.
const SecretPrefix = "whsec_"

// ParseSecret decodes a secret "whsec_<base64>" (the prefix may be left
// out). Its error never shows the secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), SecretPrefix)
	if s == "" {
		return nil, errors.New("is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("must be whsec_ followed by standard base64")
	}
	if len(key) < 16 {
		return nil, fmt.Errorf("must hold at least 16 bytes (24 recommended), not %d", len(key))
	}
	return key, nil
}

// StandardWebhooks verifies Standard Webhooks signatures.
type StandardWebhooks struct {
	// Secrets are the keys a signature may be made with: the current one
	// and, while a secret is rotated, the previous one.
	Secrets [][]byte
	// Tolerance bounds |now - webhook-timestamp|; DefaultTolerance when 0.
	Tolerance time.Duration
}

// maxSignatures bounds how many signatures of a header are tried.
const maxSignatures = 10

// Verify checks the headers and the signature over the raw body.
func (s StandardWebhooks) Verify(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	switch {
	case id == "":
		return Unauthentic("missing header webhook-id")
	case ts == "":
		return Unauthentic("missing header webhook-timestamp")
	case sigs == "":
		return Unauthentic("missing header webhook-signature")
	case len(id) > 255:
		return Unauthentic("header webhook-id is longer than 255 characters")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Unauthentic("header webhook-timestamp must be Unix seconds")
	}
	tol := s.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	// Compared in seconds: no overflow for any int64 timestamp.
	if d := now.Unix() - sec; d > int64(tol/time.Second) || -d > int64(tol/time.Second) {
		return Unauthentic(fmt.Sprintf("header webhook-timestamp is outside the tolerance of %s from the server's time", tol))
	}
	var given [][]byte
	for i, f := range strings.Fields(sigs) {
		if i == maxSignatures {
			break
		}
		v, b64, ok := strings.Cut(f, ",")
		if !ok || v != "v1" {
			continue // another scheme (v1a: asymmetric) is not ours
		}
		if b, err := base64.StdEncoding.DecodeString(b64); err == nil {
			given = append(given, b)
		}
	}
	if len(given) == 0 {
		return Unauthentic("header webhook-signature has no v1 signature")
	}
	for _, key := range s.Secrets {
		want := mac(key, id, ts, body)
		for _, g := range given {
			if hmac.Equal(g, want) {
				return nil
			}
		}
	}
	return Unauthentic("no signature of header webhook-signature matches the body")
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignStandardWebhook returns the headers a Standard Webhooks sender sends
// with body: the id, the timestamp of at, and one v1 signature. Tests, the
// benchmark and senders written in Go use it.
func SignStandardWebhook(key []byte, id string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, "v1,"+base64.StdEncoding.EncodeToString(mac(key, id, ts, body)))
	return h
}

// NewStandardWebhooks checks the settings of a Standard Webhooks section
// (the secret, the previous one while it is rotated, the tolerance) and
// builds its verifier. Errors name the setting (signingSecret,
// previousSigningSecret, tolerance) and never show a secret. The generic
// contracts (webstore, reservation) share it.
func NewStandardWebhooks(secret, previous string, tolerance time.Duration) (StandardWebhooks, error) {
	var keys [][]byte
	for _, x := range []struct{ name, value string }{{"signingSecret", secret}, {"previousSigningSecret", previous}} {
		if x.value == "" {
			continue
		}
		k, err := ParseSecret(x.value)
		if err != nil {
			return StandardWebhooks{}, fmt.Errorf("%s: %w", x.name, err)
		}
		keys = append(keys, k)
	}
	if tolerance < time.Second || tolerance > time.Hour {
		return StandardWebhooks{}, fmt.Errorf("tolerance: must be 1s to 1h, not %s", tolerance)
	}
	return StandardWebhooks{Secrets: keys, Tolerance: tolerance}, nil
}

// SigningConfig is the signing part of the section of a connector that
// receives Standard Webhooks (webstore, reservation), embedded in its
// Config with `koanf:",squash"` so that its keys stand beside the
// connector's own.
type SigningConfig struct {
	// SigningSecret is the Standard Webhooks secret, "whsec_<base64>";
	// required when enabled. Also from KIRJURI_CONNECTORS_<NAME>_SIGNING_SECRET.
	SigningSecret string `koanf:"signingSecret"`
	// PreviousSigningSecret is accepted too while the secret is rotated.
	PreviousSigningSecret string `koanf:"previousSigningSecret"`
	// Tolerance bounds how far webhook-timestamp may be from the server's
	// time (DefaultTolerance by default).
	Tolerance time.Duration `koanf:"tolerance"`
}

// String never shows the secrets.
func (c SigningConfig) String() string {
	return fmt.Sprintf("signingSecret: %s, previousSigningSecret: %s, tolerance: %s",
		Redacted(c.SigningSecret), Redacted(c.PreviousSigningSecret), c.Tolerance)
}

// Verifier checks the settings of the connector named name (the
// environment variable of the secret is named after it) and builds its
// verifier.
func (c SigningConfig) Verifier(name string) (StandardWebhooks, error) {
	if c.SigningSecret == "" {
		return StandardWebhooks{}, fmt.Errorf("signingSecret is required when the connector is enabled (or KIRJURI_CONNECTORS_%s_SIGNING_SECRET)", strings.ToUpper(name))
	}
	return NewStandardWebhooks(c.SigningSecret, c.PreviousSigningSecret, c.Tolerance)
}

// DeliveryKey is the webhook-id: a sender's retry of a message keeps it.
func (StandardWebhooks) DeliveryKey(h http.Header, _ []byte) string {
	return h.Get(HeaderWebhookID)
}

// KeptHeaders are the Standard Webhooks id and timestamp.
func (StandardWebhooks) KeptHeaders() []string {
	return []string{HeaderWebhookID, HeaderWebhookTimestamp}
}
