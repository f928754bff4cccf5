// Package ports holds the interfaces between the core and the world, in
// Cockburn's sense: what the core needs from outside (stores, the audit log,
// a clock, ids) and what the outside uses to drive it. They speak in core
// types. The HTTP API is not here: it is an adapter.
package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// IDs makes new unique ids (UUID v7, time-ordered).
type IDs interface {
	New() uuid.UUID
}

// CustomerStore keeps customers. Every write stores the consent events of the
// change in the same transaction (the outbox), so an event exists exactly when
// its change was committed.
//
// Errors: *fault.NotFound when a customer is missing, *fault.Conflict naming
// the field when a uniqueness rule is broken (email, externalId, netvisorId,
// externalSystems, customerCards, ssn), *fault.Validation for a group that
// does not exist.
type CustomerStore interface {
	// NextNumber takes the next customer number. Numbers are never reused;
	// a number taken by a failed create is simply skipped.
	NextNumber(ctx context.Context) (int64, error)
	// Create stores a new customer and its events.
	Create(ctx context.Context, c *customer.Customer, events []consent.Event) error
	// Update loads the customer, runs fn on it and, when fn returns no error
	// and the customer's version grew, saves it with fn's events, all in one
	// transaction. Concurrent updates of one customer are serialised. It
	// returns the customer as it is after the change (or as it was, when
	// nothing changed).
	Update(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, error)) (*customer.Customer, error)
	Get(ctx context.Context, id uuid.UUID) (*customer.Customer, error)
	GetByNumber(ctx context.Context, number int64) (*customer.Customer, error)
	GetByExternal(ctx context.Context, link customer.ExternalLink) (*customer.Customer, error)
	// Find lists customers matching q in customer-number order, one page at
	// a time. Erased customers are never listed; restricted ones only when
	// q.IncludeRestricted.
	Find(ctx context.Context, q CustomerQuery) (Page, error)

	CreateGroup(ctx context.Context, g customer.Group) error
	ListGroups(ctx context.Context) ([]customer.Group, error)
}

// CustomerQuery filters a find. Zero values do not filter.
type CustomerQuery struct {
	// Q is free text matched against names, company name, email, phone and
	// customer number.
	Q            string
	Email        string // exact, case-insensitive
	Phone        string // E.164, exact
	Number       int64
	BusinessID   string // canonical NNNNNNN-C
	Group        string
	Type         customer.Type
	SystemID     customer.SystemID // customers with a link to this system
	Identifier   string            // with SystemID: that exact link
	UpdatedSince time.Time
	// IncludeRestricted lists restricted customers too.
	IncludeRestricted bool
	// Limit is the page size (1..500); Cursor continues a previous page.
	Limit  int
	Cursor string
}

// Page is one page of a find.
type Page struct {
	Items []*customer.Customer
	// NextCursor continues the listing; empty on the last page.
	NextCursor string
}

// KeyStore keeps API keys, hashed.
type KeyStore interface {
	// CreateKey stores a key under the hash of its secret. Storing the same
	// hash again is not an error and changes nothing.
	CreateKey(ctx context.Context, k access.Key, hash []byte) error
	// KeyByHash finds a key; *fault.NotFound when there is none.
	KeyByHash(ctx context.Context, hash []byte) (access.Key, error)
}

// StoredResponse is a response kept for an idempotency key.
type StoredResponse struct {
	Status  int
	Header  map[string]string
	Body    []byte
	Created time.Time
}

// The two ways Begin refuses a key. Both are *fault.Conflict; tell them
// apart with errors.Is.
var (
	ErrIdempotencyMismatch = &fault.Conflict{Field: "Idempotency-Key", Message: "this idempotency key was already used with a different request"}
	ErrIdempotencyInFlight = &fault.Conflict{Field: "Idempotency-Key", Message: "the first request with this idempotency key is still being processed; retry later"}
)

// Idempotency windows: a finished response answers for IdempotencyTTL; an
// unfinished claim (its process died between Begin and Finish) is taken over
// after IdempotencyLease.
const (
	IdempotencyTTL   = 24 * time.Hour
	IdempotencyLease = 2 * time.Minute
)

// Idempotency remembers the first response to a write sent with an
// Idempotency-Key, for IdempotencyTTL.
type Idempotency interface {
	// Begin claims (scope, key) for a request whose body hashes to
	// fingerprint. It returns the stored response when one exists for the
	// same fingerprint; ErrIdempotencyMismatch when the key was used with
	// another body; ErrIdempotencyInFlight while the first request runs
	// (for at most IdempotencyLease).
	Begin(ctx context.Context, scope, key string, fingerprint []byte) (*StoredResponse, error)
	// Finish stores the response of a claimed key.
	Finish(ctx context.Context, scope, key string, r StoredResponse) error
	// Abandon releases a claim whose request failed without a response
	// worth keeping, so the client may retry.
	Abandon(ctx context.Context, scope, key string) error
}

// Readiness reports whether a dependency answers.
type Readiness interface {
	Name() string
	Ready(ctx context.Context) error
}

// ReadinessDetails is a Readiness with figures worth showing beside its
// status (such as the audit relay's backlog and lag). /readyz needs no key:
// details hold no personal data, secrets or error texts.
type ReadinessDetails interface {
	Details() map[string]any
}
