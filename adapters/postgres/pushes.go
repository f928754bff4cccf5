package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

var _ ports.Pushes = (*Store)(nil)

// A push's dead letters are its River jobs that gave up: discarded after
// their last attempt, or cancelled by the worker (the other system refused
// the data). River's cleaner deletes them after its retention periods,
// which the job runner sets (adapters/jobs: Config.DeadJobRetention).

const pushColumns = `id, coalesce(args->>'customer', ''), state, attempt,
	coalesce((errors[array_upper(errors, 1)])->>'error', ''), created_at, finalized_at`

// PushDeadLetters lists a connector's failed pushes, newest first.
func (s *Store) PushDeadLetters(ctx context.Context, connector string, limit int) ([]ports.FailedPush, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+pushColumns+` FROM river_job
		WHERE kind = $1 AND state IN ('discarded', 'cancelled') AND args->>'connector' = $2
		ORDER BY created_at DESC, id DESC LIMIT $3`, ports.PushJobKind, connector, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: pushes: dead letters: %w", err)
	}
	defer rows.Close()
	var out []ports.FailedPush
	for rows.Next() {
		p, err := scanPush(rows, connector)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: pushes: dead letters: %w", err)
	}
	return out, nil
}

// RetryPush queues a failed push again, as River's JobRetry does, but with
// its attempts counted from the first again (River's would give it one
// more attempt): an admin retries after mending the cause, and the push
// deserves its whole backoff.
func (s *Store) RetryPush(ctx context.Context, connector string, id int64) (ports.FailedPush, error) {
	var out ports.FailedPush
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		p, err := scanPush(tx.QueryRow(ctx, `SELECT `+pushColumns+` FROM river_job
			WHERE id = $1 AND kind = $2 AND args->>'connector' = $3 FOR UPDATE`, id, ports.PushJobKind, connector), connector)
		if err != nil {
			return err
		}
		if p.Status == ports.PushQueued {
			return &fault.Conflict{Field: "status", Message: "the push has not given up (it waits or runs): there is nothing to retry"}
		}
		if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'available', attempt = 0, scheduled_at = now(),
			finalized_at = NULL, metadata = metadata - 'cancel_attempted_at' WHERE id = $1`, id); err != nil {
			return fmt.Errorf("postgres: pushes: retry: %w", err)
		}
		p.Status, p.FinishedAt = ports.PushQueued, time.Time{}
		out = p
		return nil
	})
	if err != nil {
		return ports.FailedPush{}, wrap("retry a push", err)
	}
	return out, nil
}

// PushHealth counts a connector's pushes: the waiting and running ones
// and the dead letters (by River's state index), and the last success.
func (s *Store) PushHealth(ctx context.Context, connector string) (ports.PushHealth, error) {
	var (
		h    ports.PushHealth
		last *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT last_push FROM connector_pushes WHERE connector = $2),
			count(*) FILTER (WHERE state NOT IN ('discarded', 'cancelled')),
			count(*) FILTER (WHERE state IN ('discarded', 'cancelled'))
		FROM river_job
		WHERE kind = $1 AND state IN ('available', 'pending', 'retryable', 'scheduled', 'running', 'discarded', 'cancelled')
			AND args->>'connector' = $2`, ports.PushJobKind, connector).Scan(&last, &h.Backlog, &h.DeadLetters)
	if err != nil {
		return ports.PushHealth{}, fmt.Errorf("postgres: pushes: health: %w", err)
	}
	if last != nil {
		h.LastPush = last.UTC()
	}
	return h, nil
}

// PushSucceeded records a successful push of customer to the connector
// and deletes the customer's dead letters of the connector (its push jobs
// that gave up, finished before now): they are superseded.
func (s *Store) PushSucceeded(ctx context.Context, connector string, customer uuid.UUID, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connector_pushes (connector, last_push) VALUES ($1, $2)
			ON CONFLICT (connector) DO UPDATE SET last_push = greatest(connector_pushes.last_push, EXCLUDED.last_push)`,
			connector, at.UTC()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM river_job WHERE kind = $1 AND state IN ('discarded', 'cancelled')
			AND args->>'connector' = $2 AND args->>'customer' = $3 AND finalized_at <= now()`,
			ports.PushJobKind, connector, customer.String())
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: pushes: record a success: %w", err)
	}
	return nil
}

// linkLockSQL names a link's advisory lock: two keys (apart from the
// one-key locks of migrations), the first 27500 ("kl" in hex) for links,
// the second a hash of the link. Two links whose hashes collide only wait
// for each other's pushes.
const linkLockSQL = `(27500, hashtext($1::int::text || '/' || $2::text))`

// HoldLink runs fn while holding the link's advisory lock, exclusively, in
// a transaction of its own that does nothing else: the lock goes with the
// transaction, even when the connection or the process dies. An
// UpdateFromSource of the link that awaits pushes takes the same lock,
// shared, before it reads anything (awaitPush), so it waits for fn.
//
// Within a session the lock is taken in the session's transaction and
// held to its end: a savepoint of its own would be rolled back after fn,
// and take with it what fn wrote with ctx (the same connection).
func (s *Store) HoldLink(ctx context.Context, link customer.ExternalLink, fn func(ctx context.Context) error) error {
	if tx := sessionTx(ctx); tx != nil {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock`+linkLockSQL, int32(link.SystemID), link.Identifier); err != nil {
			return fmt.Errorf("postgres: pushes: hold a link: %w", err)
		}
		return fn(ctx)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: pushes: hold a link: %w", err)
	}
	// The rollback ends the transaction and releases the lock, whatever
	// fn did; nothing is written in it.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock`+linkLockSQL, int32(link.SystemID), link.Identifier); err != nil {
		return fmt.Errorf("postgres: pushes: hold a link: %w", err)
	}
	return fn(ctx)
}

// awaitPush waits, in tx, for a push of st's link under way (HoldLink),
// when st asks for it. It must come before anything is read in tx: under
// READ COMMITTED each later statement then sees what the push recorded.
func awaitPush(ctx context.Context, tx pgx.Tx, st *ports.SourceTime) error {
	if st == nil || !st.AwaitPush {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock_shared`+linkLockSQL, int32(st.Link.SystemID), st.Link.Identifier)
	return err
}

func scanPush(row pgx.Row, connector string) (ports.FailedPush, error) {
	var (
		p        ports.FailedPush
		cust     string
		state    string
		finished *time.Time
	)
	err := row.Scan(&p.ID, &cust, &state, &p.Attempts, &p.LastError, &p.QueuedAt, &finished)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.FailedPush{}, &fault.NotFound{What: "push"}
	}
	if err != nil {
		return ports.FailedPush{}, fmt.Errorf("postgres: pushes: read a push: %w", err)
	}
	p.Connector = connector
	p.Customer, _ = uuid.Parse(cust) // the register's own args: a UUID
	switch state {
	case "discarded":
		p.Status = ports.PushFailed
	case "cancelled":
		p.Status = ports.PushRejected
	default:
		p.Status = ports.PushQueued
	}
	// River keeps a cancellation's error behind its own prefix.
	p.LastError = strings.TrimPrefix(p.LastError, "JobCancelError: ")
	p.QueuedAt = p.QueuedAt.UTC()
	if finished != nil {
		p.FinishedAt = finished.UTC()
	}
	return p, nil
}
