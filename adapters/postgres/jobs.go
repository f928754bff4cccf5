package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"go.uber.org/zap"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

// The job queue is River's, in the same database: its tables (river_job,
// river_queue, river_leader, …) come from River's own migrations, and jobs
// are inserted here, in the caller's transaction when there is one. The
// workers run in adapters/jobs.

var (
	_ ports.Jobs       = (*Store)(nil)
	_ ports.ChangeJobs = (*Store)(nil)
)

// RiverSchemaVersion is the River migration Migrate brings the database
// to: the newest of the River release in go.mod (v0.51: migration 008).
// Raise it on purpose with a River upgrade whose notes call for it.
const RiverSchemaVersion = 8

// riverMigrateLock is the advisory lock key that serialises River's
// migrations across processes ("kirjuri:river" in hex; goose uses its own).
const riverMigrateLock int64 = 0x6b69726a75726976

// migrateRiver brings River's schema up to RiverSchemaVersion. With the
// schema there already it is one query.
func migrateRiver(ctx context.Context, databaseURL string, cfg migrateConfig) error {
	pc, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: migrate the job queue: the database URL: %w", redactURLError(err))
	}
	pc.MaxConns = 2 // the lock's connection and the migrator's
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("postgres: migrate the job queue: %w", err)
	}
	defer pool.Close()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate the job queue: %w", err)
	}
	defer conn.Release()
	// River's migrator takes no lock: two instances migrating at once
	// would both try to create its tables.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, riverMigrateLock); err != nil {
		return fmt.Errorf("postgres: migrate the job queue: lock: %w", err)
	}
	defer func() {
		// A lost connection releases the lock too.
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, riverMigrateLock)
	}()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: quietLog})
	if err != nil {
		return fmt.Errorf("postgres: migrate the job queue: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: RiverSchemaVersion})
	if err != nil {
		return fmt.Errorf("postgres: migrate the job queue: %w", err)
	}
	if cfg.log != nil {
		for _, v := range res.Versions {
			cfg.log.Info("postgres migration applied",
				zap.String("migration", fmt.Sprintf("river %03d %s", v.Version, v.Name)), zap.Duration("took", v.Duration))
		}
	}
	return nil
}

// quietLog drops River's own messages here: migrations are reported from
// their results, and the insert-only client has nothing to say.
var quietLog = slog.New(slog.DiscardHandler)

// inserter is an insert-only River client: no pool, no workers. It can
// only insert in a transaction it is given, which is all the store needs.
var inserter = sync.OnceValues(func() (*river.Client[pgx.Tx], error) {
	return river.NewClient(riverpgxv5.New(nil), &river.Config{Logger: quietLog})
})

// uniqueStates are the states in which a Unique job blocks another like
// it: waiting or running, not finished.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// waitingStates are the states in which a Coalesce job takes in another
// like it: waiting, not running (SQL; River's state is an enum).
const waitingStates = `('available', 'pending', 'retryable', 'scheduled')`

// insertOpts are River's options for job.
func insertOpts(job ports.Job) *river.InsertOpts {
	opts := &river.InsertOpts{Queue: job.Queue, MaxAttempts: job.MaxAttempts, ScheduledAt: job.RunAt}
	if job.Unique {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: uniqueStates}
	}
	return opts
}

// encodeArgs is the JSON River stores as a job's args (it marshals them
// the same way), for finding a job like it.
func encodeArgs(job ports.Job) ([]byte, error) {
	b, err := json.Marshal(job.Args)
	if err != nil {
		return nil, fmt.Errorf("postgres: enqueue %s: encode args: %w", job.Args.Kind(), err)
	}
	return b, nil
}

// findWaitingSQL finds a waiting job like a Coalesce one, and locks it.
// River's fetch takes jobs FOR UPDATE SKIP LOCKED: while the lock is held
// the job cannot start, so it runs only after this transaction commits
// and reads what it changed. A job that a fetch took first is running by
// the time the lock is granted, no longer matches, and a new job is
// inserted. Two transactions that change one customer are serialised by
// its row lock, taken before the job, so they do not both insert one.
const findWaitingSQL = `SELECT id FROM river_job
	WHERE kind = $1 AND queue = $2 AND args @> $3::jsonb AND args <@ $3::jsonb AND state IN ` + waitingStates + `
	ORDER BY id LIMIT 1 FOR UPDATE`

// insertJob stores job in tx; it becomes visible to workers when tx
// commits, and is gone if tx rolls back.
func insertJob(ctx context.Context, tx pgx.Tx, job ports.Job) (ports.Enqueued, error) {
	if job.Args == nil {
		return ports.Enqueued{}, errors.New("postgres: enqueue: a job without args")
	}
	c, err := inserter()
	if err != nil {
		return ports.Enqueued{}, fmt.Errorf("postgres: the job queue client: %w", err)
	}
	if job.Coalesce {
		args, err := encodeArgs(job)
		if err != nil {
			return ports.Enqueued{}, err
		}
		var id int64
		err = tx.QueryRow(ctx, findWaitingSQL, job.Args.Kind(), cmp.Or(job.Queue, river.QueueDefault), args).Scan(&id)
		switch {
		case err == nil:
			return ports.Enqueued{ID: id, Duplicate: true}, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return ports.Enqueued{}, fmt.Errorf("postgres: enqueue %s: find a waiting job: %w", job.Args.Kind(), err)
		}
	}
	res, err := c.InsertTx(ctx, tx, job.Args, insertOpts(job))
	if err != nil {
		return ports.Enqueued{}, fmt.Errorf("postgres: enqueue %s: %w", job.Args.Kind(), err)
	}
	return ports.Enqueued{ID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// insertJobs stores jobs in tx, one by one (a change causes few).
func insertJobs(ctx context.Context, tx pgx.Tx, jobs []ports.Job) error {
	for _, j := range jobs {
		if _, err := insertJob(ctx, tx, j); err != nil {
			return err
		}
	}
	return nil
}

// Enqueue stores a job in a transaction of its own.
func (s *Store) Enqueue(ctx context.Context, job ports.Job) (ports.Enqueued, error) {
	var out ports.Enqueued
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = insertJob(ctx, tx, job)
		return err
	})
	return out, err
}

// CreateWithJobs is Create that also stores jobs, in its transaction.
func (s *Store) CreateWithJobs(ctx context.Context, c *customer.Customer, events []consent.Event, jobs []ports.Job) error {
	return s.create(ctx, c, events, nil, jobs)
}

// UpdateWithJobs is Update whose fn also returns jobs, stored in the
// change's transaction when the change is saved.
func (s *Store) UpdateWithJobs(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.update(ctx, id, fn)
}
