// Package jobs runs background jobs (imports, exports, pushes to external
// systems) from the job queue in PostgreSQL, with River
// (github.com/riverqueue/river). The queue's tables live in the service's
// own database (River's migrations run with `kirjuri migrate`); jobs are
// enqueued through ports.Jobs and ports.ChangeJobs, which the PostgreSQL
// store implements, so that a job can be stored in the transaction of the
// change that sets it off. This package only works them: each feature
// gives a ports.JobWorker, and a Runner fetches, runs, retries and, at
// shutdown, stops them gracefully.
package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.uber.org/zap"

	"kirjuri/ports"
)

// DefaultQueue is the queue of a job that names none.
const DefaultQueue = river.QueueDefault

// Config is how this instance works jobs.
type Config struct {
	// Queues maps each queue this instance works to how many of its jobs
	// it runs at once. A queue left out is not worked here.
	Queues map[string]int
	// StopTimeout is how long running jobs get to finish at shutdown
	// before their contexts are cancelled; a cancelled job runs again at
	// the next start of any instance, without using an attempt.
	StopTimeout time.Duration
	// JobTimeout bounds one attempt of a job whose worker sets no Timeout.
	JobTimeout time.Duration
	// RescueAfter is how long a job may be running before River takes it
	// for stuck (its process died) and runs it again (River's
	// RescueStuckJobsAfter). A job whose worker sets a longer Timeout is
	// rescued only once that has passed too. 0 is River's default:
	// JobTimeout + 1 h. It may not be less than JobTimeout.
	RescueAfter time.Duration
	// PollInterval is how often queues are polled besides the
	// notifications PostgreSQL sends when a job is inserted (River's
	// default, 1 s, when 0).
	PollInterval time.Duration
	// FetchCooldown is the least time between two fetches of jobs (River's
	// FetchCooldown); DefaultFetchCooldown when 0.
	FetchCooldown time.Duration
	// DeadJobRetention is how long jobs that gave up (discarded after
	// their last attempt, or cancelled) are kept, with their errors, before
	// River's cleaner deletes them; DefaultDeadJobRetention when 0. Failed
	// pushes are dead letters an admin lists and retries: River's own
	// defaults (a day for cancelled jobs, a week for discarded ones) would
	// lose a refused push over a long weekend.
	DeadJobRetention time.Duration
}

// DefaultDeadJobRetention keeps dead jobs as long as the connectors' inbox
// keeps its dead letters (30 days).
const DefaultDeadJobRetention = 30 * 24 * time.Hour

// DefaultFetchCooldown is the least time between two fetches. River fetches
// at most as many jobs as it has free workers, so its own default, 100 ms,
// caps a queue at workers × 10 jobs a second: 40 webhook deliveries a second
// with 4 workers, whatever the machine could do (measured by bench:connectors).
// 5 ms costs one indexed query per fetch while jobs keep coming.
const DefaultFetchCooldown = 5 * time.Millisecond

var _ ports.Readiness = (*Runner)(nil)

// Runner works the jobs of its workers. With no worker it runs nothing.
type Runner struct {
	client *river.Client[pgx.Tx] // nil without workers
	pool   *pgxpool.Pool
	log    *zap.Logger

	mu      sync.Mutex
	backlog int64
	known   bool
}

// New builds a runner on pool for workers (one per kind). It starts with
// Start.
func New(pool *pgxpool.Pool, cfg Config, workers []ports.JobWorker, log *zap.Logger) (*Runner, error) {
	if log == nil {
		log = zap.NewNop()
	}
	r := &Runner{pool: pool, log: log}
	if len(workers) == 0 {
		return r, nil
	}
	// Value groups come in random order: register in kind order, so that
	// a duplicate is reported the same way every time.
	workers = slices.Clone(workers)
	slices.SortFunc(workers, func(a, b ports.JobWorker) int { return strings.Compare(a.Kind(), b.Kind()) })
	bundle := river.NewWorkers()
	for _, w := range workers {
		if w.Kind() == "" {
			return nil, fmt.Errorf("jobs: a worker (%T) has no kind", w)
		}
		rw := &riverWorker{w: w}
		if t, ok := w.(interface{ Timeout() time.Duration }); ok {
			rw.timeout = t.Timeout()
		}
		if n, ok := w.(interface {
			NextRetry(attempt int) time.Duration
		}); ok {
			rw.nextRetry = n.NextRetry
		}
		if err := addWorker(bundle, w.Kind(), rw); err != nil {
			return nil, err
		}
	}
	if len(cfg.Queues) == 0 {
		// An instance that serves only the API (jobs.workers 0, no
		// jobs.queues) leaves the jobs to the instances that work them.
		log.Info("jobs: this instance works no queue (jobs.workers is 0 and jobs.queues is empty); jobs wait for an instance that does")
		return r, nil
	}
	queues := make(map[string]river.QueueConfig, len(cfg.Queues))
	for name, n := range cfg.Queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{
		Queues:               queues,
		Workers:              bundle,
		SoftStopTimeout:      cfg.StopTimeout,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        cmp.Or(cfg.FetchCooldown, DefaultFetchCooldown),
		// Cancelled and discarded jobs are dead letters: kept alike.
		CancelledJobRetentionPeriod: cmp.Or(cfg.DeadJobRetention, DefaultDeadJobRetention),
		DiscardedJobRetentionPeriod: cmp.Or(cfg.DeadJobRetention, DefaultDeadJobRetention),
		Logger:                      newSlog(log.Named("river")),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	r.client = client
	return r, nil
}

// Start begins fetching and running jobs in the background; it does not
// wait for any job.
func (r *Runner) Start(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	// The client's life is not the start's: River stops when the context
	// given to Start ends.
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching, lets running jobs finish for Config.StopTimeout,
// then cancels them (they run again at the next start) and waits, within
// ctx, for them to return.
func (r *Runner) Stop(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	if err := r.client.Stop(ctx); err != nil {
		return fmt.Errorf("jobs: stop: running jobs did not return after their contexts were cancelled: %w", err)
	}
	return nil
}

// Name is the dependency's name in readiness reports.
func (r *Runner) Name() string { return "jobs" }

// Ready counts the backlog for Details. A backlog never makes the
// service unready (jobs wait in the database; PostgreSQL's own check
// reports it being down), so Ready always returns nil.
func (r *Runner) Ready(ctx context.Context) error {
	n, err := r.Backlog(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backlog, r.known = n, err == nil
	return nil
}

// Details shows the backlog counted by the last Ready.
func (r *Runner) Details() map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		return nil
	}
	return map[string]any{"backlog": r.backlog}
}

// Backlog counts the jobs waiting to run now: available, or failed and
// waiting for their retry.
func (r *Runner) Backlog(ctx context.Context) (int64, error) {
	var n int64
	err := r.pool.QueryRow(ctx,
		`SELECT count(*) FROM river_job WHERE state IN ('available', 'retryable')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("jobs: count the backlog: %w", err)
	}
	return n, nil
}

// RegisterMetrics adds the gauge kirjuri_jobs_backlog, counted at each
// scrape.
func (r *Runner) RegisterMetrics(reg prometheus.Registerer) error {
	return reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "kirjuri_jobs_backlog",
		Help: "Jobs waiting to run: available, or failed and waiting for a retry.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := r.Backlog(ctx)
		if err != nil {
			r.log.Debug("jobs backlog for /metrics", zap.Error(err))
			r.mu.Lock()
			defer r.mu.Unlock()
			n = r.backlog // the last count, rather than a false zero
		}
		return float64(n)
	}))
}

// rawArgs is every job's args as River hands them over: the JSON, decoded
// by the worker (ports.RunningJob.Decode). The workers are registered
// under their own kinds with river.AddWorkerArgs.
type rawArgs struct {
	kind string
	json json.RawMessage
}

func (a rawArgs) Kind() string { return a.kind }

func (a *rawArgs) UnmarshalJSON(b []byte) error {
	a.json = append(json.RawMessage(nil), b...)
	return nil
}

// addWorker registers w under kind. River's AddWorker takes the kind from
// the zero args, which rawArgs has not; AddWorkerArgs takes it from the
// args given, and panics on a kind registered twice.
func addWorker(bundle *river.Workers, kind string, w *riverWorker) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("jobs: worker of kind %q: %v", kind, p)
		}
	}()
	river.AddWorkerArgs(bundle, rawArgs{kind: kind}, river.Worker[rawArgs](w))
	return nil
}

// riverWorker runs a ports.JobWorker as a River worker.
type riverWorker struct {
	river.WorkerDefaults[rawArgs]
	w         ports.JobWorker
	timeout   time.Duration
	nextRetry func(attempt int) time.Duration // nil: River's policy
}

func (rw *riverWorker) Timeout(*river.Job[rawArgs]) time.Duration { return rw.timeout }

// NextRetry asks the worker, when it has its own backoff, when to try
// again after the attempt that just failed. River takes a time before now
// for a mistake and falls back to its own policy: the wait is at least a
// millisecond.
func (rw *riverWorker) NextRetry(job *river.Job[rawArgs]) time.Time {
	if rw.nextRetry == nil {
		return time.Time{}
	}
	return time.Now().Add(max(rw.nextRetry(job.Attempt), time.Millisecond))
}

func (rw *riverWorker) Work(ctx context.Context, job *river.Job[rawArgs]) error {
	err := rw.w.Work(ctx, ports.RunningJob{
		ID: job.ID, Kind: job.Kind, Args: job.Args.json,
		Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, CreatedAt: job.CreatedAt,
	})
	var snoozed *ports.JobSnoozed
	if errors.As(err, &snoozed) {
		return river.JobSnooze(snoozed.After)
	}
	var cancelled *ports.JobCancelled
	if errors.As(err, &cancelled) {
		return river.JobCancel(cancelled.Err)
	}
	return err
}
