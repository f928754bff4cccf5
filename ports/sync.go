package ports

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Pulls (POST /v1/connectors/{name}/sync): a sync is one backfill or
// catch-up of a connector that can pull (inbound.Puller). Its record is
// stored with its job in one transaction; the job fetches the connector's
// pages one by one and stores, after each page, the cursor reached together
// with the page's counts, so that a sync stopped anywhere (a restart, a
// rate limit, a failed attempt) resumes after the last page it finished
// and never counts a page twice. A connector has at most one sync queued or
// running at a time.

// SyncStatus is where a sync stands.
type SyncStatus string

const (
	// SyncQueued: stored, its job waits for a worker.
	SyncQueued SyncStatus = "queued"
	// SyncRunning: a worker has taken it (it may be waiting between
	// attempts, or for the other system's rate limit).
	SyncRunning SyncStatus = "running"
	// SyncSucceeded: the last page was fetched; the connector's cursor
	// was moved to where the next catch-up starts.
	SyncSucceeded SyncStatus = "succeeded"
	// SyncFailed: a permanent error (the system refused the credentials,
	// the resource is gone), or every attempt failed.
	SyncFailed SyncStatus = "failed"
)

// Finished reports whether the sync has ended.
func (s SyncStatus) Finished() bool { return s == SyncSucceeded || s == SyncFailed }

// SyncMode is where a sync starts.
type SyncMode string

const (
	// SyncCatchUp starts from the connector's stored cursor (where the
	// last successful sync ended); from the start when there is none.
	SyncCatchUp SyncMode = "catch-up"
	// SyncFull starts from the first page, whatever was pulled before.
	SyncFull SyncMode = "full"
)

// MaxSyncRejections bounds the rejections a sync's record lists; the
// count goes on.
const MaxSyncRejections = 20

// SyncAttempts is how many times a sync's job is tried (a failed page is
// asked for again, with the queue's backoff, attempt⁴ seconds) before the
// sync fails. Waiting for a rate limit uses no attempt.
const SyncAttempts = 10

// SyncRejection is one draft the register refused. It holds the draft's
// link identifier (the system's own id of the customer) and the reason,
// which names fields, never their values.
type SyncRejection struct {
	Link   string `json:"link"`
	Reason string `json:"reason"`
}

// SyncProgress is how far a sync has come, stored as one record after
// each page.
type SyncProgress struct {
	// Cursor is where the next page starts: the cursor reached. Before
	// the first page it is the cursor the sync started from.
	Cursor string `json:"cursor"`
	// Pages counts the pages finished.
	Pages int64 `json:"pages"`
	// Total is how many customers the system says it has; -1 when it
	// does not say.
	Total int64 `json:"total"`
	// The drafts of the finished pages by what the register did with
	// them; Rejected are those it refused (invalid data, a value another
	// customer holds).
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Stale     int64 `json:"stale"`
	Rejected  int64 `json:"rejected"`
	// Rejections are the first MaxSyncRejections of Rejected.
	Rejections []SyncRejection `json:"rejections"`
	// LastError is the error of the last attempt that will be retried
	// (a failed page, a rate limit), "" once a page succeeds after it.
	LastError string `json:"lastError"`
}

// Customers counts the drafts of the finished pages.
func (p SyncProgress) Customers() int64 {
	return p.Created + p.Updated + p.Unchanged + p.Stale + p.Rejected
}

// Sync is one pull of a connector.
type Sync struct {
	ID        uuid.UUID
	Connector string
	Status    SyncStatus
	Mode      SyncMode
	// From is the cursor it started from: "" is the first page.
	From string
	// Actor is who started it ("apikey:<name>").
	Actor    string
	Progress SyncProgress
	// Created is when it was asked for; Started when a worker first
	// took it; Finished when it ended (zero until then); Updated when
	// its record last changed.
	Created, Started, Finished, Updated time.Time
	// Error is why a failed sync failed.
	Error string
}

// SyncInProgress is the error of a sync asked for while the connector has
// one queued or running: Sync is that one.
type SyncInProgress struct{ Sync Sync }

func (e *SyncInProgress) Error() string {
	return fmt.Sprintf("connector %s has a sync %s already (%s)", e.Sync.Connector, e.Sync.Status, e.Sync.ID)
}

// ErrSyncMoved is the error of a progress saved by a run that is not the
// sync's current one: another run finished the page first, or the sync
// has ended. The run stops; nothing it did is counted.
var ErrSyncMoved = errors.New("the sync moved on without this run (another run saved the page, or it has ended)")

// ConnectorPull is what the register keeps of a connector's pulls: where
// the next catch-up starts and when the last sync succeeded.
type ConnectorPull struct {
	// Cursor is where the next catch-up starts ("" from the start).
	Cursor string
	// LastPull is when the last successful sync ended; zero: never.
	LastPull time.Time
	// Sync is that sync.
	Sync uuid.UUID
}

// SyncStore keeps syncs and the connectors' cursors.
type SyncStore interface {
	// CreateSync stores s (status queued) and job in one transaction.
	// s.From is set by s.Mode: the connector's stored cursor for a
	// catch-up, "" for a full sync. When the connector has a sync queued
	// or running, it stores nothing and returns *SyncInProgress; a sync
	// left queued or running by a job that has ended is failed first
	// (it would never finish).
	CreateSync(ctx context.Context, s Sync, job Job) (Sync, error)
	// Sync returns one sync of the connector; *fault.NotFound when the
	// connector has none with this id.
	Sync(ctx context.Context, connector string, id uuid.UUID) (Sync, error)
	// Syncs lists the connector's syncs, newest first, at most limit.
	Syncs(ctx context.Context, connector string, limit int) ([]Sync, error)
	// StartSync marks a queued sync running (Started at at); a running
	// one stays as it is. It returns the sync as stored.
	StartSync(ctx context.Context, id uuid.UUID, at time.Time) (Sync, error)
	// SaveSyncProgress stores the progress after a page, if the sync is
	// running and its stored progress still counts pagesBefore pages
	// (else ErrSyncMoved, and nothing is stored). With done, the sync
	// has succeeded: in the same transaction its status becomes
	// succeeded and the connector's cursor becomes p.Cursor, with at as
	// its last pull.
	SaveSyncProgress(ctx context.Context, id uuid.UUID, pagesBefore int64, p SyncProgress, done bool, at time.Time) error
	// SyncAttempted records the error of an attempt that will be
	// retried (Progress.LastError); the sync stays running.
	SyncAttempted(ctx context.Context, id uuid.UUID, lastError string, at time.Time) error
	// FailSync ends a queued or running sync as failed with reason. The
	// connector's cursor stays where it was.
	FailSync(ctx context.Context, id uuid.UUID, reason string, at time.Time) error
	// ConnectorPull returns the connector's cursor and last pull; the
	// zero value when it has never pulled.
	ConnectorPull(ctx context.Context, connector string) (ConnectorPull, error)
}
