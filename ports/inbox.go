package ports

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// DeliveryStatus is where an inbound delivery of a connector stands.
type DeliveryStatus string

const (
	// DeliveryReceived: stored, waiting for a drain or being processed,
	// or waiting for its next attempt (the backlog).
	DeliveryReceived DeliveryStatus = "received"
	// DeliveryProcessed: every draft of it went through the register.
	DeliveryProcessed DeliveryStatus = "processed"
	// DeliveryRejected: it does not parse, or the register refused it
	// (invalid data); not retried. A dead letter.
	DeliveryRejected DeliveryStatus = "rejected"
	// DeliveryFailed: every attempt failed (the register or the store was
	// down); a dead letter an admin may retry.
	DeliveryFailed DeliveryStatus = "failed"
)

// DeadLetter reports whether the status is a dead letter's.
func (s DeliveryStatus) DeadLetter() bool { return s == DeliveryRejected || s == DeliveryFailed }

// MaxDeliveryBody bounds the body of a stored delivery; the webhook route
// refuses more before anything is stored.
const MaxDeliveryBody = 1 << 20

// Delivery is one inbound delivery of a connector, as the inbox keeps it.
// Its body may hold personal data: it is never logged.
type Delivery struct {
	ID        uuid.UUID
	Connector string
	// Key is the sender's delivery id (unique per connector): a delivery
	// sent again with the same key is a replay and changes nothing.
	Key        string
	ReceivedAt time.Time
	// Headers are the request headers the connector keeps for parsing.
	Headers map[string]string
	Body    []byte
	Status  DeliveryStatus
	// Attempts counts the attempts to process it, across an admin's
	// retries; LastError is the last one's error, or the reason of a
	// rejection.
	Attempts int
	// RetryBase is Attempts when an admin last retried it (0 before): the
	// attempts since count against the limit.
	RetryBase   int
	LastError   string
	ProcessedAt time.Time
	// Outcome says what the register did, per draft ("created <id>").
	Outcome string
	// NextAttempt is when a received delivery is due after a failed
	// attempt; one not attempted since it arrived (or since an admin's
	// retry) is due at once, and has its arrival here.
	NextAttempt time.Time
}

// DeliveryResult is what became of one delivery a drain claimed. Each
// result counts one attempt.
type DeliveryResult struct {
	ID uuid.UUID
	// Status processed, rejected or failed ends the delivery; received
	// leaves it waiting for another attempt at NextAttempt.
	Status DeliveryStatus
	// Outcome is what the register did (processed; also what it did
	// before it refused a later draft of a rejected delivery).
	Outcome string
	// Reason is the error: why it was rejected or failed, or what failed
	// in an attempt that will be made again.
	Reason string
	// At is when it ended; NextAttempt when it is tried again (received).
	At, NextAttempt time.Time
}

// ConnectorHealth is what the inbox knows of a connector.
type ConnectorHealth struct {
	// LastDelivery is when the last delivery was received; zero: never.
	LastDelivery time.Time
	// Backlog counts the deliveries received and not yet processed
	// (waiting to be claimed, being processed, or waiting for their next
	// attempt).
	Backlog int64
	// DeadLetters counts the rejected and failed deliveries.
	DeadLetters int64
}

// Inbox stores connectors' inbound deliveries, deduplicated by key, and is
// the queue they are processed from: a drain of a connector claims its
// received deliveries in batches, each held by one drain only (two
// instances draining at once never process a delivery twice), and records
// their results in one go.
//
// A drain is a job (the connector's drain job, given by the caller so that
// the inbox knows no job args). At most one is requested per connector:
// storing a delivery stores the drain job only when none is requested, and
// a drain that finds nothing due asks EndDrain, which ends the request
// unless deliveries were stored meanwhile. A delivery stored while a drain
// is requested is thus always claimed by that drain or a later one. A
// request that stays open for minutes is taken for lost (its job deleted,
// its instance gone) and made again.
type Inbox interface {
	// Receive stores d (status received, due at once) and, when no
	// drain of d.Connector is requested, requests one: stores drain, in the
	// same transaction. When the connector already has a delivery with
	// d.Key, it returns that one with duplicate true, and stores nothing.
	Receive(ctx context.Context, d Delivery, drain Job) (stored Delivery, duplicate bool, err error)
	// Delivery returns one delivery; *fault.NotFound when there is none.
	Delivery(ctx context.Context, id uuid.UUID) (Delivery, error)
	// Drain claims up to limit received deliveries of connector that are
	// due at now and that no other drain holds, oldest first, and calls fn
	// with them while it holds them; then it records fn's results in one
	// statement and lets them go. A delivery without a result is left as
	// it was, not attempted. It returns how many it claimed (0: none was
	// due, or every due one is held by another drain). fn must not
	// use the inbox.
	//
	// It is one transaction, and fn runs in it: the context fn gets
	// carries it as a Session's fn's does, so every call of the same store
	// made with that context (the customer store's, its bulk and ingest
	// paths) takes part. What fn so writes commits together with the
	// results, and is rolled back when they cannot be recorded (Drain then
	// returns the error). fn calls the store from one goroutine at a time;
	// a Session within fn is a part of the transaction that rolls back
	// alone, which lets one delivery's failed processing leave the others'.
	Drain(ctx context.Context, connector string, limit int, now time.Time, fn func(ctx context.Context, ds []Delivery) []DeliveryResult) (int, error)
	// Session runs fn in a transaction of the inbox's store, as
	// BulkStore.Session does; within Drain's fn it is a part of the
	// drain's transaction (a savepoint) that rolls back alone when fn
	// fails, also when ctx has ended.
	Session(ctx context.Context, fn func(ctx context.Context) error) error
	// EndDrain ends the connector's drain request when no delivery is due
	// at now: it waits for deliveries being stored, and when one of them
	// or any other is due (and not held by a drain), it returns false and
	// the drain goes on. When it ends the request and deliveries wait for
	// a later attempt, it stores retry(the earliest of those times), so
	// that a drain runs then.
	EndDrain(ctx context.Context, connector string, now time.Time, retry func(at time.Time) Job) (ended bool, err error)
	// RequestDrain stores drain and marks a drain of the connector
	// requested, whether one is or not (a drain handing over to the next,
	// a start finding a backlog).
	RequestDrain(ctx context.Context, connector string, drain Job) error
	// DeadLetters lists a connector's rejected and failed deliveries,
	// newest first, at most limit, without their bodies.
	DeadLetters(ctx context.Context, connector string, limit int) ([]Delivery, error)
	// RetryDelivery puts a dead letter of the connector back to received,
	// due now, its attempts counted afresh against the limit (Attempts
	// keeps growing: RetryBase is set to it), and requests a drain with
	// drain, in the same transaction. *fault.NotFound when the connector
	// has no such delivery; *fault.Conflict (field "status") when it is
	// not a dead letter.
	RetryDelivery(ctx context.Context, connector string, id uuid.UUID, drain Job) (Delivery, error)
	// InboxHealth counts a connector's deliveries.
	InboxHealth(ctx context.Context, connector string) (ConnectorHealth, error)
}
