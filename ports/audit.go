package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
)

// Outbox is the PostgreSQL side of the consent audit: the events that the
// customer store wrote in the same transaction as their changes, waiting to
// be shipped.
type Outbox interface {
	// Relay claims up to max unshipped events, oldest first, and hands them
	// to ship. When ship returns nil the events are marked shipped; when it
	// fails they stay and are offered again later. Several relays may run at
	// once (in several processes): a claimed event is offered to one of them
	// at a time. It returns how many events were shipped.
	Relay(ctx context.Context, max int, ship func(ctx context.Context, events []consent.Event) error) (int, error)
	// Backlog counts unshipped events and tells when the oldest occurred
	// (zero time when none wait).
	Backlog(ctx context.Context) (count int64, oldest time.Time, err error)
}

// ConsentAudit is the consent audit log (ClickHouse). Appending the same
// event twice is harmless: every query answers as if it were there once.
type ConsentAudit interface {
	Append(ctx context.Context, events []consent.Event) error
	// History lists one customer's events, newest first.
	History(ctx context.Context, customerID uuid.UUID, page AuditPageRequest) (AuditPage, error)
	// Events lists events in a period matching the filter, oldest first.
	Events(ctx context.Context, q AuditQuery) (AuditPage, error)
	// State gives each consent's value for a customer at a moment (false
	// where no event had happened by then).
	State(ctx context.Context, customerID uuid.UUID, at time.Time) (ConsentState, error)
	// Summary counts grants (false→true) and withdrawals (true→false) per day
	// (UTC) and source in [From, To).
	Summary(ctx context.Context, from, to time.Time) ([]SummaryRow, error)
}

// AuditPageRequest asks for one page.
type AuditPageRequest struct {
	Limit  int
	Cursor string
}

// AuditQuery filters the compliance listing. Zero values do not filter.
type AuditQuery struct {
	From, To   time.Time // [From, To)
	Consent    consent.Kind
	Source     consent.Source
	SystemID   int
	Actor      string
	CustomerID uuid.UUID
	AuditPageRequest
}

// AuditPage is a page of events.
type AuditPage struct {
	Items      []consent.Event
	NextCursor string
}

// ConsentState is the value of each consent at a moment, with the event
// that set it (nil when the consent was never changed).
type ConsentState struct {
	At     time.Time
	Values map[consent.Kind]bool
	SetBy  map[consent.Kind]*consent.Event
}

// SummaryRow counts one day's changes from one source.
type SummaryRow struct {
	Day         time.Time
	Source      consent.Source
	Consent     consent.Kind
	Grants      int64
	Withdrawals int64
}
