package inbound

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
)

// Puller is a connector that fetches customers from its system page by page
// (a backfill, or a catch-up after a pause). The sync job drives it: it
// hands every draft of a page to the register, stores Next as the cursor,
// and asks for the next page, so that a sync stopped anywhere (a restart, a
// rate limit) resumes after the last page it finished.
type Puller interface {
	// Pull fetches the page after cursor; cursor "" is the first page. A
	// cursor is the connector's own text (a page number, an id, a time); it
	// is stored and shown in the sync's progress: no personal data, no
	// secret.
	//
	// Errors: *RateLimited when the system asked to wait (429 and
	// Retry-After): the job waits and asks for the same page again;
	// *Permanent for what retrying cannot mend (401, 403, 404 of the
	// resource, a body that does not parse); any other error is retried
	// with backoff. No error text holds a secret or personal data.
	Pull(ctx context.Context, cursor string) (Page, error)
}

// Page is one page of a pull.
type Page struct {
	Drafts []intake.Draft
	// Next is the cursor of the page after this one; with Done true it
	// is the cursor to start a later catch-up from ("" to start over).
	Next string
	// Done: this was the last page.
	Done bool
	// Total is how many customers the system says there are in all, when
	// it says (WooCommerce's X-WP-Total); -1 when unknown.
	Total int
}

// Pusher is a connector that sends a customer's state back to its system.
// The push job calls it after a change of a customer who holds a link to
// the connector's system (never for a restricted or erased customer, never
// for a change that came from the same system).
type Pusher interface {
	// Push sends c, as it is now, to the system's record named by link
	// (the customer's link to this system, link.SystemID is the
	// connector's). It sends the whole state of the fields the connector
	// maps (PUT/PATCH of every mapped field), so that sending it twice is
	// harmless.
	//
	// Errors: *RateLimited (429 and Retry-After); *Permanent for a 4xx
	// other than 408, 409 and 429 (the other system refuses the data, the
	// record is gone: a dead letter at once); any other error (5xx, a
	// timeout, a refused connection) is retried with backoff and jitter.
	Push(ctx context.Context, c *customer.Customer, link customer.ExternalLink) (PushResult, error)
}

// PushResult is what a push left in the other system.
type PushResult struct {
	// Echo is the system's record after the push, parsed the way an
	// inbound delivery of it would be (the same draft its echo webhook
	// will make), when the system answered with it; nil otherwise. The
	// register keeps its fingerprint: the echo that the push causes
	// changes nothing.
	Echo *intake.Draft
}

// RateLimited is the error of a system that asked to wait.
type RateLimited struct {
	// RetryAfter is how long it asked to wait (Retry-After); 0 when it did
	// not say.
	RetryAfter time.Duration
}

func (e *RateLimited) Error() string {
	if e.RetryAfter <= 0 {
		return "rate limited (429)"
	}
	return fmt.Sprintf("rate limited (429), retry after %s", e.RetryAfter)
}

// Permanent wraps an error that retrying cannot mend.
type Permanent struct{ Err error }

func (e *Permanent) Error() string { return e.Err.Error() }
func (e *Permanent) Unwrap() error { return e.Err }

// IsPermanent tells whether err is (or wraps) a *Permanent.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// SyncArgs is the job of one sync (pull) of a connector.
type SyncArgs struct {
	Connector string `json:"connector"`
	// Sync is the sync's id (its progress record).
	Sync string `json:"sync"`
}

// Kind is the job's kind.
func (SyncArgs) Kind() string { return "connector.sync" }

// ParseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3) for a
// *RateLimited: a number of seconds, or an HTTP date relative to now
// (rounded up to a whole second, the date's own resolution). Absent,
// unreadable, or a date already past is 0 (not said); more than max is
// max, so that a system's odd answer cannot park a job for a year.
func ParseRetryAfter(v string, now time.Time, max time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(max/time.Second) {
			return max
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
		if r := d % time.Second; r > 0 {
			d += time.Second - r
		}
	} else {
		return 0
	}
	switch {
	case d <= 0:
		return 0
	case d > max:
		return max
	}
	return d
}
