// Package consent describes the consent-change events the core produces. Every
// committed change of marketingEmail, marketingSms or gdprRestricted, from any
// door, becomes exactly one Event; an erasure is recorded as an Event too.
package consent

import (
	"time"

	"github.com/google/uuid"
)

// Kind names what changed.
type Kind string

const (
	MarketingEmail Kind = "marketingEmail"
	MarketingSMS   Kind = "marketingSms"
	GDPRRestricted Kind = "gdprRestricted"
	// Erased records a GDPR erasure of the customer (old false, new true). It
	// is not a consent, but the audit log must prove that the erasure
	// happened, keyed by the customer id only.
	Erased Kind = "erased"
)

// Kinds lists every kind in a fixed order.
var Kinds = []Kind{MarketingEmail, MarketingSMS, GDPRRestricted, Erased}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// Source names the door a change came through.
type Source string

const (
	SourceAPI       Source = "api"
	SourceImport    Source = "import"
	SourceConnector Source = "connector"
	SourceErasure   Source = "erasure"
)

// Sources lists every source in a fixed order.
var Sources = []Source{SourceAPI, SourceImport, SourceConnector, SourceErasure}

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	for _, x := range Sources {
		if s == x {
			return true
		}
	}
	return false
}

// Origin says who made a change, through which door, and why. It travels with
// every change into the core and onto the events.
type Origin struct {
	Source         Source
	SourceSystemID int // the external system, 0 when none
	Actor          string
	RequestID      string
	ImportID       string
	Evidence       string
}

// Event is one consent change. It holds no personal data: the customer is
// named by id and number only.
type Event struct {
	ID             uuid.UUID
	OccurredAt     time.Time
	CustomerID     uuid.UUID
	CustomerNumber int64
	Consent        Kind
	OldValue       bool
	NewValue       bool
	Source         Source
	SourceSystemID int
	Actor          string
	RequestID      string
	ImportID       string
	Evidence       string
}
