package delivery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The carrier signature: how the merchant's shipping integration
// authenticates the receiver data it posts to the carrier connectors
// (posti 2, matkahuolto 3). Neither carrier sends webhooks of its own
// (../shared/research/connectors.md §4: no inbound mechanism, no signing),
// so the scheme is ours: a shared secret, never sent, signs the Unix time
// and the raw body the way Stripe signs its webhooks
// (https://docs.stripe.com/webhooks, "Verify manually"), which keeps a
// signed timestamp (replay window) in one header that any language can
// make with an HMAC:
//
//	Kirjuri-Signature: t=1709288130,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// v1 is the hex HMAC-SHA256 of "{t}.{body}" under the secret (its bytes as
// written); several v1 entries may be given (the sender's own rotation),
// one must match. t must be within the tolerance (five minutes by default)
// of the server's time.

// HeaderCarrierSignature is the header of the carrier signature.
const HeaderCarrierSignature = "Kirjuri-Signature"

// MinCarrierSecretLen is the shortest carrier secret accepted: 32
// characters, e.g. `openssl rand -hex 32` (64).
const MinCarrierSecretLen = 32

// CheckCarrierSecret checks a carrier secret; its error never shows it.
func CheckCarrierSecret(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case strings.TrimSpace(s) != s:
		return errors.New("must not begin or end with white space")
	case len(s) < MinCarrierSecretLen:
		return fmt.Errorf("must be at least %d characters long (e.g. openssl rand -hex 32), not %d", MinCarrierSecretLen, len(s))
	}
	return nil
}

// CarrierSignature verifies the carrier signature.
type CarrierSignature struct {
	// Secrets are the current secret and, while it is rotated, the
	// previous one.
	Secrets [][]byte
	// Tolerance bounds |now - t|; DefaultTolerance when 0.
	Tolerance time.Duration
}

// Verify checks the header and the signature over the raw body.
func (s CarrierSignature) Verify(h http.Header, body []byte, now time.Time) error {
	v := h.Get(HeaderCarrierSignature)
	if v == "" {
		return Unauthentic("missing header " + HeaderCarrierSignature)
	}
	if len(v) > 2048 {
		return Unauthentic("header " + HeaderCarrierSignature + " is too long")
	}
	var (
		ts    string
		given [][]byte
	)
	for i, part := range strings.Split(v, ",") {
		if i == maxSignatures+1 {
			break
		}
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			if ts != "" {
				return Unauthentic("header " + HeaderCarrierSignature + " has t twice")
			}
			ts = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil && len(b) == sha256.Size {
				given = append(given, b)
			}
		}
	}
	if ts == "" {
		return Unauthentic("header " + HeaderCarrierSignature + " has no t=<Unix seconds>")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Unauthentic("t of header " + HeaderCarrierSignature + " must be Unix seconds")
	}
	tol := s.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	if d := now.Unix() - sec; d > int64(tol/time.Second) || -d > int64(tol/time.Second) {
		return Unauthentic(fmt.Sprintf("t of header %s is outside the tolerance of %s from the server's time", HeaderCarrierSignature, tol))
	}
	if len(given) == 0 {
		return Unauthentic("header " + HeaderCarrierSignature + " has no v1=<hex HMAC-SHA256>")
	}
	for _, key := range s.Secrets {
		want := carrierMAC(key, ts, body)
		for _, g := range given {
			if hmac.Equal(g, want) {
				return nil
			}
		}
	}
	return Unauthentic("no v1 signature of header " + HeaderCarrierSignature + " matches the body")
}

func carrierMAC(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignCarrier returns the header a sender of the carrier connectors sends
// with body, signed at at. Tests and senders written in Go use it.
func SignCarrier(secret []byte, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderCarrierSignature, "t="+ts+",v1="+hex.EncodeToString(carrierMAC(secret, ts, body)))
	return h
}

// SplitName splits a carrier's one-string receiver name ("Maija
// Meikäläinen") into first and last name at the last space: the last word
// is the last name. It is a guess (double surnames, "von", companies); the
// carrier connectors' splitNames turns it off. A single word is a last
// name.
func SplitName(full string) (first, last string) {
	f := strings.FieldsFunc(full, unicode.IsSpace)
	switch len(f) {
	case 0:
		return "", ""
	case 1:
		return "", f[0]
	}
	return strings.Join(f[:len(f)-1], " "), f[len(f)-1]
}

// CarrierConfig is the configuration section of a carrier connector
// (connectors.posti, connectors.matkahuolto): the shared secret of the
// carrier signature, and how receivers' names are read. Both carriers use
// it as their Config.
type CarrierConfig struct {
	// Secret is the shared secret of the carrier signature (at least 32
	// characters); required when enabled. Also from
	// KIRJURI_CONNECTORS_<NAME>_SECRET.
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

// CarrierDefaults fills in the defaults of a carrier's section.
func CarrierDefaults(c *CarrierConfig) { c.Tolerance, c.SplitNames = DefaultTolerance, true }

// String never shows the secrets.
func (c CarrierConfig) String() string {
	return fmt.Sprintf("carrier{secret: %s, previousSecret: %s, tolerance: %s, splitNames: %t}",
		Redacted(c.Secret), Redacted(c.PreviousSecret), c.Tolerance, c.SplitNames)
}

// Redacted is how a secret shows in a String: whether it is set, never
// what it is.
func Redacted(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// Validate checks an enabled section.
func (c *CarrierConfig) Validate() error {
	if c.Secret == "" {
		return errors.New("secret is required when the connector is enabled (or KIRJURI_CONNECTORS_<NAME>_SECRET)")
	}
	if err := CheckCarrierSecret(c.Secret); err != nil {
		return fmt.Errorf("secret: %w", err)
	}
	if c.PreviousSecret != "" {
		if err := CheckCarrierSecret(c.PreviousSecret); err != nil {
			return fmt.Errorf("previousSecret: %w", err)
		}
	}
	if c.Tolerance < time.Second || c.Tolerance > time.Hour {
		return fmt.Errorf("tolerance: must be 1s to 1h, not %s", c.Tolerance)
	}
	return nil
}

// Signature is the verifier of a validated section: the secret, and the
// previous one while it is rotated.
func (c *CarrierConfig) Signature() CarrierSignature {
	keys := [][]byte{[]byte(c.Secret)}
	if c.PreviousSecret != "" {
		keys = append(keys, []byte(c.PreviousSecret))
	}
	return CarrierSignature{Secrets: keys, Tolerance: c.Tolerance}
}

// Carrier is a carrier connector (posti 2, matkahuolto 3): the carrier
// signature and a parser of the carrier's own document, which the
// merchant's shipping integration posts here. Each carrier package gives
// its name, system and parser; the rest is the same for both.
type Carrier struct {
	CarrierSignature
	name       string
	system     customer.SystemID
	splitNames bool
	parse      func(body []byte, splitNames bool) ([]intake.Draft, error)
}

// NewCarrier builds a carrier connector from its validated section.
func NewCarrier(name string, system customer.SystemID, c CarrierConfig, parse func(body []byte, splitNames bool) ([]intake.Draft, error)) (*Carrier, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &Carrier{CarrierSignature: c.Signature(), name: name, system: system, splitNames: c.SplitNames, parse: parse}, nil
}

// Name is the connector's name in configuration and paths.
func (c *Carrier) Name() string { return c.name }

// SystemID is the carrier's external system.
func (c *Carrier) SystemID() customer.SystemID { return c.system }

// DeliveryKey is "": the inbox keys a delivery by the SHA-256 of its body.
// The document is the carrier's own, with no delivery id or event of ours,
// and its reference (Posti's externalId, Matkahuolto's SenderReference) can
// only be read by parsing it. The same document sent again (a retry, with
// a new t) is a replay; a corrected one is a new delivery that reaches the
// same customer by its link.
func (*Carrier) DeliveryKey(http.Header, []byte) string { return "" }

// KeptHeaders: Parse needs none.
func (*Carrier) KeptHeaders() []string { return nil }

// Parse reads one document with the carrier's parser.
func (c *Carrier) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	return c.parse(body, c.splitNames)
}

// ReceiverContact sets what a carrier's receiver gives of the person: the
// name split at its last space into first and last name (only with
// splitNames), the email and the phone. Empty values are left out.
func ReceiverContact(d *intake.Draft, name, email, phone string, splitNames bool) {
	if splitNames && name != "" {
		first, last := SplitName(name)
		if first != "" {
			d.Patch.FirstName = customer.Set(first)
		}
		d.Patch.LastName = customer.Set(last)
	}
	if email != "" {
		d.Patch.Email = customer.Set(email)
	}
	if phone != "" {
		d.AddPhones = []string{phone}
	}
}
