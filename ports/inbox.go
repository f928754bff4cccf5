package ports

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// DeliveryStatus is where an inbound delivery of a connector stands.
type DeliveryStatus string

const (
	// DeliveryReceived: stored, its job waits or runs (the backlog).
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
	// Attempts counts the runs of its job; LastError is the last one's
	// error, or the reason of a rejection.
	Attempts    int
	LastError   string
	ProcessedAt time.Time
	// Outcome says what the register did, per draft ("created <id>").
	Outcome string
}

// ConnectorHealth is what the inbox knows of a connector.
type ConnectorHealth struct {
	// LastDelivery is when the last delivery was received; zero: never.
	LastDelivery time.Time
	// Backlog counts the deliveries received and not yet processed.
	Backlog int64
	// DeadLetters counts the rejected and failed deliveries.
	DeadLetters int64
}

// Inbox stores connectors' inbound deliveries, deduplicated by key, each
// with the job that processes it in the same transaction.
type Inbox interface {
	// Receive stores d (status received) and job in one transaction. When
	// the connector already has a delivery with d.Key, it returns that one
	// with duplicate true, and stores nothing.
	Receive(ctx context.Context, d Delivery, job Job) (stored Delivery, duplicate bool, err error)
	// Delivery returns one delivery; *fault.NotFound when there is none.
	Delivery(ctx context.Context, id uuid.UUID) (Delivery, error)
	// Attempted records a failed attempt that will be retried: attempts
	// grow, err is kept, the status stays received.
	Attempted(ctx context.Context, id uuid.UUID, err string) error
	// FinishDelivery records the end of a delivery: processed with its outcome,
	// or rejected or failed with its reason (reason is "" when processed).
	FinishDelivery(ctx context.Context, id uuid.UUID, status DeliveryStatus, outcome, reason string, at time.Time) error
	// DeadLetters lists a connector's rejected and failed deliveries,
	// newest first, at most limit, without their bodies.
	DeadLetters(ctx context.Context, connector string, limit int) ([]Delivery, error)
	// RetryDelivery puts a dead letter of the connector back to received and
	// stores job in the same transaction. *fault.NotFound when the
	// connector has no such delivery; *fault.Conflict (field "status")
	// when it is not a dead letter.
	RetryDelivery(ctx context.Context, connector string, id uuid.UUID, job Job) (Delivery, error)
	// InboxHealth counts a connector's deliveries.
	InboxHealth(ctx context.Context, connector string) (ConnectorHealth, error)
}
