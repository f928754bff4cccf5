// Package ports holds the interfaces between the core and the world, in
// Cockburn's sense: what the core needs from outside (stores, the audit log,
// a clock, ids) and what the outside uses to drive it. They speak in core
// types. The HTTP API is not here: it is an adapter.
package ports

import (
	"context"
	"errors"
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
	// nothing changed). A store that also implements Idempotency forgets,
	// in the same transaction, the stored responses about a customer that
	// this change erases (see Idempotency).
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

// KeyStore keeps API keys, hashed. A key's name is unique among the keys
// that are not revoked.
type KeyStore interface {
	// CreateKey stores a key under the hash of its secret. Storing the same
	// hash again is not an error and changes nothing. A name that an active
	// key already has is a *fault.Conflict on "name".
	CreateKey(ctx context.Context, k access.Key, hash []byte) error
	// KeyByHash finds an active key and records that it was used
	// (LastUsedAt); *fault.NotFound when there is none or it was revoked.
	KeyByHash(ctx context.Context, hash []byte) (access.Key, error)
	// ListKeys returns every key, revoked ones too, by name and creation.
	ListKeys(ctx context.Context) ([]access.Key, error)
	// RevokeKeys revokes the active keys named name at the given time and
	// returns how many there were.
	RevokeKeys(ctx context.Context, name string, at time.Time) (int, error)
	// ReplaceKey makes k, under hash, the one active key of its name: every
	// other active key of that name is revoked at k.CreatedAt, and k is
	// stored unless hash already is. A hash that was revoked, or that belongs
	// to a key of another name, is a *fault.Conflict: a revoked secret never
	// comes back.
	ReplaceKey(ctx context.Context, k access.Key, hash []byte) error
}

// StoredResponse is a response kept for an idempotency key.
type StoredResponse struct {
	Status  int
	Header  map[string]string
	Body    []byte
	Created time.Time
	// Customer is the customer the response is about (the one created, or
	// the one of the path), uuid.Nil when none; Version is the version of
	// that customer the response shows (its ETag), 0 when it shows none.
	Customer uuid.UUID
	Version  int64
	// Erased tells that Customer was erased after the response was made:
	// its Header and Body are gone (they may have held the customer's
	// personal data), and the response must not be replayed as it was.
	Erased bool
}

// The two ways Begin refuses a key. Both are *fault.Conflict; tell them
// apart with errors.Is.
var (
	ErrIdempotencyMismatch = &fault.Conflict{Field: "Idempotency-Key", Message: "this idempotency key was already used with a different request"}
	ErrIdempotencyInFlight = &fault.Conflict{Field: "Idempotency-Key", Message: "the first request with this idempotency key is still being processed; retry later"}
)

// ErrIdempotencyClaimLost is what Finish and Abandon return, changing
// nothing, when the claim is no longer the caller's: a later request took it
// over after IdempotencyLease, or it was released. It is not a client's
// error; the caller logs it.
var ErrIdempotencyClaimLost = errors.New("the idempotency claim is no longer held by this request (taken over after the lease, or released)")

// Idempotency windows: a finished response answers for IdempotencyTTL; an
// unfinished claim (its process died between Begin and Finish) is taken over
// after IdempotencyLease.
const (
	IdempotencyTTL   = 24 * time.Hour
	IdempotencyLease = 2 * time.Minute
)

// Idempotency remembers the first response to a write sent with an
// Idempotency-Key, for IdempotencyTTL.
//
// Personal data: a stored response may show a customer. Implementations
// keep no identity code (and should keep no body) in plain text, and when a
// customer is erased (CustomerStore.Update with customer.Erase), every
// finished response whose Customer is that customer loses its Header and
// Body in the erasure's own transaction (Erased), and Finish stores a
// response about an already erased customer that shows an older Version
// than the erased one the same way. So nothing of an erased customer can be
// replayed, and the key still answers (its request is not run again).
type Idempotency interface {
	// Begin claims (scope, key) for a request whose body hashes to
	// fingerprint and returns the claim's owner token. It returns the
	// stored response instead when one exists for the same fingerprint;
	// ErrIdempotencyMismatch when the key was used with another body;
	// ErrIdempotencyInFlight while the first request runs (for at most
	// IdempotencyLease; then a new Begin takes the claim over with a new
	// token).
	Begin(ctx context.Context, scope, key string, fingerprint []byte) (token uuid.UUID, stored *StoredResponse, err error)
	// Finish stores the response of the claim that token owns;
	// ErrIdempotencyClaimLost, storing nothing, when token no longer owns
	// an unfinished claim of (scope, key).
	Finish(ctx context.Context, scope, key string, token uuid.UUID, r StoredResponse) error
	// Abandon releases the claim that token owns, whose request failed
	// without a response worth keeping, so the client may retry;
	// ErrIdempotencyClaimLost, releasing nothing, when token no longer
	// owns an unfinished claim of (scope, key).
	Abandon(ctx context.Context, scope, key string, token uuid.UUID) error
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
