package connectors

import (
	"errors"
	"net/http"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
)

// Connector is one external system's connector. What it can do is told by
// the optional interfaces below, found by type assertion.
type Connector interface {
	// Name is the connector's name in configuration and in paths
	// (/v1/connectors/{name}/…): "webstore".
	Name() string
	// SystemID is the external system the connector's links name.
	SystemID() customer.SystemID
}

// Verifier authenticates an inbound delivery by the connector's own scheme
// (a signature over the raw body, a shared secret). It sees the raw bytes
// before anything parses them, compares secrets in constant time, and
// refuses timestamps outside its tolerance. Its error is a *VerifyError;
// it never contains a secret or a whole signature.
type Verifier interface {
	Verify(header http.Header, body []byte, now time.Time) error
}

// Handshaker is a Receiver whose system sends an unsigned handshake when a
// webhook is set up (WooCommerce's ping) and wants exactly 200 back. A
// request IsHandshake accepts is answered 200 before verification and
// stores nothing, so it must accept only the handshake's exact shape.
type Handshaker interface {
	IsHandshake(header http.Header, body []byte) bool
}

// Receiver takes webhook deliveries. A connector that receives must verify
// (Verifier): the HTTP adapter refuses to serve a Receiver that does not.
type Receiver interface {
	// DeliveryKey is the delivery's key for deduplication (the sender's
	// delivery or message id), read from the headers or the raw body
	// without parsing it: an authentic delivery whose body does not parse
	// is stored too, then rejected with its reason. "" lets the inbox key
	// the delivery by the SHA-256 of its body.
	DeliveryKey(header http.Header, body []byte) string
	// KeptHeaders are the request headers stored with the delivery for
	// Parse (canonical names); the others are not kept.
	KeptHeaders() []string
	// Parse turns a stored delivery into drafts of customers, in core
	// terms; header holds the KeptHeaders. Any error is permanent (the
	// body will not change): the delivery is rejected with the error as
	// its reason, which must hold no personal data beyond field names.
	Parse(header http.Header, body []byte) ([]intake.Draft, error)
}

// VerifyError is why a delivery was not authentic: the HTTP adapter
// answers 401 with Reason, and stores nothing.
type VerifyError struct {
	Reason string
}

func (e *VerifyError) Error() string { return "webhook not authentic: " + e.Reason }

// Unauthentic makes a *VerifyError.
func Unauthentic(reason string) error { return &VerifyError{Reason: reason} }

// IsUnauthentic reports whether err is a *VerifyError.
func IsUnauthentic(err error) bool {
	var v *VerifyError
	return errors.As(err, &v)
}

// Actor is the actor of the changes a connector brings in, as consent
// events and logs name it: "connector:webstore".
func Actor(c Connector) string { return "connector:" + c.Name() }

// Group is the fx value group of the enabled connectors: each enabled
// connector's module provides its Connector into it.
const Group = "connectors"
