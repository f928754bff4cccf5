package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/customer"
)

// PushArgs is the job that pushes one customer's state to one connector.
// It carries ids only; the worker reads the customer as it is when it runs,
// so that changes made while it waited are sent together.
type PushArgs struct {
	Connector string `json:"connector"`
	Customer  string `json:"customer"`
}

// Kind is the job's kind.
func (PushArgs) Kind() string { return PushJobKind }

// PushJobKind is the kind of a push's job; PushQueue is its queue, apart
// from the default one, so that the pushes of a large import do not hold
// up the processing of inbound deliveries.
const (
	PushJobKind = "connector.push"
	PushQueue   = "pushes"
)

// PushJob is the job that pushes customer to connector: coalesced, so
// that many changes of one customer while its push waits make one push
// (see Job.Coalesce). maxAttempts 0 takes the queue's default.
func PushJob(connector string, customer uuid.UUID, maxAttempts int) Job {
	return Job{
		Args:        PushArgs{Connector: connector, Customer: customer.String()},
		Queue:       PushQueue,
		MaxAttempts: maxAttempts,
		Coalesce:    true,
	}
}

// PushStatus is where a dead letter of a push stands.
type PushStatus string

const (
	// PushRejected: the other system refused it (a 4xx that retrying
	// cannot mend), or its connector no longer pushes; not retried.
	PushRejected PushStatus = "rejected"
	// PushFailed: every attempt failed (the other system was down).
	PushFailed PushStatus = "failed"
	// PushQueued: an admin queued it again; its attempts start again.
	PushQueued PushStatus = "queued"
)

// FailedPush is a push that gave up: a dead letter an admin may retry.
// It names the customer by id only; its error holds no personal data.
type FailedPush struct {
	// ID is the job's id.
	ID        int64
	Connector string
	Customer  uuid.UUID
	Status    PushStatus
	// Attempts is how many times it was tried; LastError the last
	// attempt's error.
	Attempts  int
	LastError string
	// QueuedAt is when the change that caused it queued it; FinishedAt
	// when it gave up (zero once queued again).
	QueuedAt   time.Time
	FinishedAt time.Time
}

// PushHealth is what is known of a connector's pushes.
type PushHealth struct {
	// LastPush is when a push last succeeded; zero: never.
	LastPush time.Time
	// Backlog counts the pushes waiting or running.
	Backlog int64
	// DeadLetters counts the pushes that gave up.
	DeadLetters int64
}

// Pushes keeps the record of connectors' pushes beside their jobs: the
// dead letters, their retry, and the health of each connector's pushes.
type Pushes interface {
	// PushDeadLetters lists a connector's failed pushes, newest first, at
	// most limit.
	PushDeadLetters(ctx context.Context, connector string, limit int) ([]FailedPush, error)
	// RetryPush queues a failed push of the connector again, its attempts
	// starting again from the first. *fault.NotFound when the connector
	// has no push with id; *fault.Conflict (field "status") when it has
	// not given up.
	RetryPush(ctx context.Context, connector string, id int64) (FailedPush, error)
	// PushHealth counts a connector's pushes.
	PushHealth(ctx context.Context, connector string) (PushHealth, error)
	// PushSucceeded records that a push of customer to the connector
	// succeeded at at (LastPush never moves back), and drops the
	// customer's dead letters of the connector that ended before it: the
	// customer as it is now was sent, so they are superseded (an admin's
	// retry of one would send the same again).
	PushSucceeded(ctx context.Context, connector string, customer uuid.UUID, at time.Time) error
	// HoldLink runs fn (a push to link and the recording of its echo)
	// while drafts from link wait: an UpdateFromSource of the link with
	// SourceTime.AwaitPush starts only after fn has returned. The other
	// system may send the webhook that a push causes before it answers
	// the push; it is then taken in only once the echo is recorded, and
	// recognised. fn's error is returned.
	HoldLink(ctx context.Context, link customer.ExternalLink, fn func(ctx context.Context) error) error
}
