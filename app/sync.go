package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// Defaults of the sync worker.
const (
	// DefaultSyncRunFor is SyncWorker.RunFor when 0.
	DefaultSyncRunFor = 5 * time.Minute
	// DefaultRateLimitWait is how long a sync waits when the other system
	// answered 429 without saying how long.
	DefaultRateLimitWait = time.Minute
	// MaxRateLimitWait bounds a Retry-After: a system that asks for a day
	// is asked again within the hour.
	MaxRateLimitWait = time.Hour
	// MaxSyncCursor bounds a connector's cursor (it is stored and shown).
	MaxSyncCursor = 2000
	// SyncRetryWait is how long a run that finished pages before an error
	// waits before the next run asks for the failed page again.
	SyncRetryWait = 10 * time.Second
)

// SyncWorker is the job worker of syncs (inbound.SyncArgs, kind
// connector.sync): it drives a connector's Puller page by page and hands
// every draft to the register (ports.Ingest), as the delivery worker does
// with a webhook's drafts.
//
// After each page the cursor reached and the page's counts are stored in
// one write (SyncStore.SaveSyncProgress, guarded by the pages done), so a
// run stopped anywhere resumes after the last page it finished and counts
// no page twice. A page cut off in the middle is fetched and ingested again
// as a whole: its drafts that were already applied come out unchanged.
type SyncWorker struct {
	Syncs      ports.SyncStore
	Ingest     ports.Ingest
	Connectors inbound.Set
	Clock      ports.Clock
	Log        *zap.Logger
	// RunFor bounds one run: once it has passed, the run yields to the
	// queue after the page it is on (its progress is stored page by
	// page), and the queue runs the job again at once, so that no run of
	// a long backfill outlasts the job timeout. A run does at least one
	// page. DefaultSyncRunFor when 0.
	RunFor time.Duration
}

var _ ports.JobWorker = (*SyncWorker)(nil)

// Kind is the kind of inbound.SyncArgs.
func (*SyncWorker) Kind() string { return inbound.SyncArgs{}.Kind() }

// Timeout is how long one run may take: RunFor and ten minutes for the
// page it is on, whatever jobs.jobTimeout says.
func (w *SyncWorker) Timeout() time.Duration { return w.runFor() + 10*time.Minute }

func (w *SyncWorker) runFor() time.Duration {
	if w.RunFor <= 0 {
		return DefaultSyncRunFor
	}
	return w.RunFor
}

// Work runs a sync from where its record says it is.
//
// The other system's rate limit (*inbound.RateLimited) snoozes the job for
// its Retry-After (DefaultRateLimitWait when it gives none, at most
// MaxRateLimitWait) without using an attempt; the next run asks for the same
// page. A permanent error (*inbound.Permanent) fails the sync with the
// reason. Other errors are retried by the queue, and the last attempt
// fails the sync; a run that finished pages before the error waits
// SyncRetryWait instead, using no attempt. A draft the register refuses
// (*fault.Validation, *fault.Conflict) is counted and listed, and the sync
// goes on.
func (w *SyncWorker) Work(ctx context.Context, job ports.RunningJob) error {
	var args inbound.SyncArgs
	if err := job.Decode(&args); err != nil {
		return ports.CancelJob(err)
	}
	id, err := uuid.Parse(args.Sync)
	if err != nil {
		return ports.CancelJob(fmt.Errorf("job %d: sync: %w", job.ID, err))
	}
	s, err := w.Syncs.Sync(ctx, args.Connector, id)
	if fault.IsNotFound(err) {
		return ports.CancelJob(fmt.Errorf("connector %s has no sync %s", args.Connector, id))
	}
	if err != nil {
		return err
	}
	if s.Status.Finished() {
		return nil // a job run again after its sync ended
	}
	log := w.log().With(zap.String("connector", s.Connector), zap.Stringer("sync", s.ID))
	c, ok := w.Connectors[s.Connector]
	puller, canPull := c.(inbound.Puller)
	if !ok || !canPull {
		// Disabled (or changed) since the sync was asked for: retrying
		// cannot help.
		log.Info("connector sync failed: the connector is not enabled or cannot pull")
		return w.Syncs.FailSync(ctx, s.ID, fmt.Sprintf("connector %s is not enabled, or cannot pull", s.Connector), w.now())
	}
	if s, err = w.Syncs.StartSync(ctx, s.ID, w.now()); err != nil {
		return err
	}
	if s.Status.Finished() {
		return nil
	}
	origin := consent.Origin{
		Source:         consent.SourceConnector,
		SourceSystemID: int(c.SystemID()),
		Actor:          inbound.Actor(c),
		RequestID:      s.ID.String(),
	}
	run := &syncRun{w: w, job: job, s: s, p: s.Progress, puller: puller, origin: origin, log: log}
	return run.run(ctx)
}

// syncRun is one run of a sync's job.
type syncRun struct {
	w      *SyncWorker
	job    ports.RunningJob
	s      ports.Sync
	p      ports.SyncProgress // as stored
	puller inbound.Puller
	origin consent.Origin
	log    *zap.Logger
	// saved counts the pages this run stored.
	saved int
}

func (r *syncRun) run(ctx context.Context) error {
	deadline := time.Now().Add(r.w.runFor())
	for {
		if ctx.Err() != nil {
			return r.interrupted(ctx)
		}
		page, err := r.puller.Pull(ctx, r.p.Cursor)
		if err != nil {
			return r.pullFailed(ctx, err)
		}
		if err := r.checkPage(page); err != nil {
			return r.fail(ctx, err.Error())
		}
		next, err := r.ingest(ctx, page)
		if err != nil {
			if ctx.Err() != nil {
				return r.interrupted(ctx)
			}
			return r.attemptFailed(ctx, err)
		}
		if err := r.w.Syncs.SaveSyncProgress(ctx, r.s.ID, r.p.Pages, next, page.Done, r.w.now()); err != nil {
			if ctx.Err() != nil {
				return r.interrupted(ctx)
			}
			// ErrSyncMoved included: the queue's retry reads the sync
			// again and sees where it is.
			return err
		}
		r.p = next
		r.saved++
		if page.Done {
			r.log.Info("connector sync succeeded", zap.Int64("pages", next.Pages), zap.Int64("customers", next.Customers()),
				zap.Int64("created", next.Created), zap.Int64("updated", next.Updated), zap.Int64("rejected", next.Rejected))
			return nil
		}
		if time.Now().After(deadline) {
			// Every finished page is stored: yield, and go on in a new
			// run at once.
			r.log.Debug("connector sync yields after its run time", zap.Int64("pages", r.p.Pages))
			return ports.SnoozeJob(0)
		}
	}
}

// checkPage refuses a page that would make the sync loop or store too
// much: a connector's bug, which retrying cannot mend.
func (r *syncRun) checkPage(page inbound.Page) error {
	if len(page.Next) > MaxSyncCursor {
		return fmt.Errorf("connector %s returned a cursor of %d bytes (at most %d)", r.s.Connector, len(page.Next), MaxSyncCursor)
	}
	if !page.Done && page.Next == r.p.Cursor {
		return fmt.Errorf("connector %s returned the cursor it was given as the next page's: its pull does not advance", r.s.Connector)
	}
	return nil
}

// ingest hands a page's drafts to the register and returns the progress
// with the page counted. A refused draft is counted and listed; any other
// error stops the page, and nothing of it is counted.
func (r *syncRun) ingest(ctx context.Context, page inbound.Page) (ports.SyncProgress, error) {
	next := r.p
	next.Rejections = append([]ports.SyncRejection(nil), r.p.Rejections...)
	for _, d := range page.Drafts {
		res, err := r.w.Ingest.Ingest(ctx, d, r.origin)
		if err != nil {
			var (
				v  *fault.Validation
				cf *fault.Conflict
			)
			if !errors.As(err, &v) && !errors.As(err, &cf) {
				return ports.SyncProgress{}, err
			}
			next.Rejected++
			if len(next.Rejections) < ports.MaxSyncRejections {
				next.Rejections = append(next.Rejections, ports.SyncRejection{Link: d.Link.Identifier, Reason: err.Error()})
			}
			continue
		}
		switch res.Outcome {
		case intake.Created:
			next.Created++
		case intake.Updated:
			next.Updated++
		case intake.Stale:
			next.Stale++
		default:
			next.Unchanged++
		}
	}
	next.Pages++
	next.Cursor = page.Next
	if page.Total >= 0 {
		next.Total = int64(page.Total)
	}
	next.LastError = ""
	return next, nil
}

// pullFailed decides what a Pull error means.
func (r *syncRun) pullFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return r.interrupted(ctx)
	}
	var rl *inbound.RateLimited
	if errors.As(err, &rl) {
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = DefaultRateLimitWait
		}
		wait = min(wait, MaxRateLimitWait)
		r.log.Info("connector sync waits for the system's rate limit", zap.Duration("wait", wait), zap.Int64("pages", r.p.Pages))
		if err := r.w.Syncs.SyncAttempted(ctx, r.s.ID, fmt.Sprintf("%s; waiting %s", err.Error(), wait), r.w.now()); err != nil {
			return err
		}
		return ports.SnoozeJob(wait)
	}
	if inbound.IsPermanent(err) {
		return r.fail(ctx, err.Error())
	}
	return r.attemptFailed(ctx, err)
}

// attemptFailed records an error worth retrying. A run that stored pages
// before it waits SyncRetryWait without using an attempt, so that the
// attempts count the runs that could not finish a single page, not every
// hiccup of a long backfill. Otherwise the error goes back to the queue,
// and on the last attempt the sync fails with it.
func (r *syncRun) attemptFailed(ctx context.Context, err error) error {
	if r.saved > 0 {
		r.log.Info("connector sync retries a page", zap.Error(err), zap.Int64("pages", r.p.Pages))
		if rerr := r.w.Syncs.SyncAttempted(ctx, r.s.ID, err.Error(), r.w.now()); rerr != nil {
			return errors.Join(err, rerr)
		}
		return ports.SnoozeJob(SyncRetryWait)
	}
	var rerr error
	if r.job.MaxAttempts > 0 && r.job.Attempt >= r.job.MaxAttempts {
		r.log.Warn("connector sync failed: its last attempt failed", zap.Error(err))
		rerr = r.w.Syncs.FailSync(ctx, r.s.ID, fmt.Sprintf("attempt %d of %d failed: %s", r.job.Attempt, r.job.MaxAttempts, err), r.w.now())
	} else {
		rerr = r.w.Syncs.SyncAttempted(ctx, r.s.ID, err.Error(), r.w.now())
	}
	return errors.Join(err, rerr)
}

// fail ends the sync as failed; the job is done (retrying cannot help).
func (r *syncRun) fail(ctx context.Context, reason string) error {
	r.log.Info("connector sync failed", zap.String("reason", reason), zap.Int64("pages", r.p.Pages))
	return r.w.Syncs.FailSync(ctx, r.s.ID, reason, r.w.now())
}

// interrupted ends a run whose context ended. At shutdown (cancelled) the
// job is snoozed for no time, so that the next start resumes it without
// using an attempt. A run that outlasted its timeout is an attempt that
// failed; it is recorded (on the last attempt the sync fails) outside the
// ended context, so that no sync is left running with no job behind it.
func (r *syncRun) interrupted(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ports.SnoozeJob(0)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return r.attemptFailed(wctx, fmt.Errorf("the run took longer than its timeout (%s)", r.w.Timeout()))
}

func (w *SyncWorker) now() time.Time { return clockNow(w.Clock) }

func (w *SyncWorker) log() *zap.Logger { return orNop(w.Log) }

// syncShared is what pulls need when at least one enabled connector can
// pull: the sync store, given to the HTTP API too, and the worker.
var syncShared = fx.Module("syncs",
	fx.Provide(
		func(s *postgres.Store) ports.SyncStore { return s },
		jobs.AsWorker(newSyncWorker),
	),
)

func newSyncWorker(set inbound.Set, syncs ports.SyncStore, ingest ports.Ingest, clock ports.Clock, log *zap.Logger) *SyncWorker {
	return &SyncWorker{Syncs: syncs, Ingest: ingest, Connectors: set, Clock: clock, Log: log.Named("connectors")}
}
