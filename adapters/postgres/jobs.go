package postgres

import (
	"context"
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
	opts := &river.InsertOpts{Queue: job.Queue, MaxAttempts: job.MaxAttempts, ScheduledAt: job.RunAt}
	if job.Unique {
		opts.UniqueOpts = river.UniqueOpts{ByArgs: true, ByQueue: true, ByState: uniqueStates}
	}
	res, err := c.InsertTx(ctx, tx, job.Args, opts)
	if err != nil {
		return ports.Enqueued{}, fmt.Errorf("postgres: enqueue %s: %w", job.Args.Kind(), err)
	}
	return ports.Enqueued{ID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
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

// UpdateWithJobs is Update whose fn also returns jobs, stored in the
// change's transaction when the change is saved.
func (s *Store) UpdateWithJobs(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.update(ctx, id, fn)
}
