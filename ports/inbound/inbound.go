// Package inbound is the contract every connector shares with the HTTP
// adapter and the delivery worker: what a connector is, the capabilities it
// may have (verify, receive, handshake), the set of the enabled ones, and the
// job that processes stored deliveries. It sits beside the ports, apart from them, so
// that the core, which uses the ports, needs no HTTP types.
package inbound

import (
	"fmt"
	"net/http"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports"
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
// refuses timestamps outside its tolerance. Its error is a *delivery.VerifyError;
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

// Actor is the actor of the changes a connector brings in, as consent
// events and logs name it: "connector:webstore".
func Actor(c Connector) string { return "connector:" + c.Name() }

// Group is the fx value group of the enabled connectors: each enabled
// connector's module provides its Connector into it.
const Group = "connectors"

// DrainArgs is the job that processes a connector's received deliveries:
// it claims them from the inbox in batches until none is due (see
// ports.Inbox). At most one is requested per connector at a time; a
// delivery stored meanwhile needs no job of its own.
type DrainArgs struct {
	Connector string `json:"connector"`
	// Due is set on the drain that runs when deliveries whose attempt
	// failed are due again; it tells those jobs apart, so that one is
	// kept per time.
	Due *time.Time `json:"due,omitempty"`
}

// Kind is the job's kind.
func (DrainArgs) Kind() string { return "connector.drain" }

// DrainJob is the job of a drain of connector.
func DrainJob(connector string) ports.Job {
	return ports.Job{Args: DrainArgs{Connector: connector}}
}

// DrainRetryJob is the drain of connector that runs at at, when deliveries
// wait for another attempt and nothing else would run a drain then. One
// per connector and time (to the millisecond, rounded up: never before
// at) is kept.
func DrainRetryJob(connector string, at time.Time) ports.Job {
	due := at.UTC().Truncate(time.Millisecond)
	if due.Before(at) {
		due = due.Add(time.Millisecond)
	}
	return ports.Job{Args: DrainArgs{Connector: connector, Due: &due}, RunAt: due, Unique: true}
}

// DeliveryAttempts is how many times a delivery is tried before it is a
// dead letter (failed), with waits of attempt⁴ seconds (±10 %) between
// them: about four hours and a quarter in all.
const DeliveryAttempts = 10

// Set is the enabled connectors, by name.
type Set map[string]Connector

// NewSet indexes the enabled connectors. A Receiver that is not a
// Verifier is refused: nothing unauthenticated reaches the inbox.
func NewSet(cs []Connector) (Set, error) {
	s := make(Set, len(cs))
	for _, c := range cs {
		if _, dup := s[c.Name()]; dup {
			return nil, fmt.Errorf("connectors: %s is registered twice", c.Name())
		}
		if _, r := c.(Receiver); r {
			if _, v := c.(Verifier); !v {
				return nil, fmt.Errorf("connectors: %s receives webhooks but does not verify them", c.Name())
			}
		}
		s[c.Name()] = c
	}
	return s, nil
}
