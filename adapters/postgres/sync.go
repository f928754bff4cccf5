package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/fault"
	"kirjuri/ports"
)

var _ ports.SyncStore = (*Store)(nil)

const syncColumns = `id, connector, status, mode, actor, from_cursor, progress, error,
	created_at, started_at, finished_at, updated_at`

// CreateSync stores a sync and its job in one transaction, unless the
// connector has one queued or running. An advisory lock on the connector
// makes two requests at once wait for each other, so that the second one
// finds the first (the partial unique index connector_syncs_active is the
// backstop).
func (s *Store) CreateSync(ctx context.Context, sy ports.Sync, job ports.Job) (ports.Sync, error) {
	var out ports.Sync
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "sync:"+sy.Connector); err != nil {
			return fmt.Errorf("postgres: syncs: lock the connector: %w", err)
		}
		var jobID *int64
		active, err := scanSync(tx.QueryRow(ctx, `SELECT `+syncColumns+`, job_id FROM connector_syncs
			WHERE connector = $1 AND status IN ('queued', 'running') FOR UPDATE`, sy.Connector), &jobID)
		switch {
		case err == nil:
			alive, err := jobAlive(ctx, tx, jobID)
			if err != nil {
				return err
			}
			if alive {
				return &ports.SyncInProgress{Sync: active}
			}
			// Its job was discarded or deleted without the sync being
			// finished (a process killed on the last attempt): it would
			// block the connector for ever.
			if _, err := tx.Exec(ctx, `UPDATE connector_syncs SET status = 'failed', error = $2, finished_at = $3, updated_at = $3
				WHERE id = $1`, active.ID, "its job ended without finishing the sync", sy.Created.UTC()); err != nil {
				return fmt.Errorf("postgres: syncs: end an orphaned sync: %w", err)
			}
		case !fault.IsNotFound(err):
			return err
		}
		from := ""
		if sy.Mode == ports.SyncCatchUp {
			err := tx.QueryRow(ctx, `SELECT cursor FROM connector_pulls WHERE connector = $1`, sy.Connector).Scan(&from)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("postgres: syncs: read the connector's cursor: %w", err)
			}
		}
		enq, err := insertJob(ctx, tx, job)
		if err != nil {
			return err
		}
		out = sy
		out.Status, out.From, out.Error = ports.SyncQueued, from, ""
		out.Created = sy.Created.UTC()
		out.Updated, out.Started, out.Finished = out.Created, time.Time{}, time.Time{}
		out.Progress = ports.SyncProgress{Cursor: from, Total: -1, Rejections: []ports.SyncRejection{}}
		progress, err := json.Marshal(out.Progress)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO connector_syncs (id, connector, status, mode, actor, from_cursor, job_id, progress,
				created_at, updated_at)
			VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $8)`,
			out.ID, out.Connector, string(out.Mode), out.Actor, from, enq.ID, progress, out.Created); err != nil {
			return fmt.Errorf("postgres: syncs: store a sync: %w", err)
		}
		return nil
	})
	if err != nil {
		return ports.Sync{}, err
	}
	return out, nil
}

// jobAlive tells whether a sync's job can still run it: it is in the
// queue and not finished. River deletes finished jobs after a while, so a
// job that is gone has ended too.
func jobAlive(ctx context.Context, tx pgx.Tx, id *int64) (bool, error) {
	if id == nil {
		return true, nil
	}
	var state string
	err := tx.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, *id).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: syncs: the state of job %d: %w", *id, err)
	}
	switch state {
	case "completed", "cancelled", "discarded":
		return false, nil
	}
	return true, nil
}

// Sync returns one sync of a connector.
func (s *Store) Sync(ctx context.Context, connector string, id uuid.UUID) (ports.Sync, error) {
	return scanSync(s.pool.QueryRow(ctx, `SELECT `+syncColumns+` FROM connector_syncs WHERE id = $1 AND connector = $2`, id, connector), nil)
}

// Syncs lists a connector's syncs, newest first.
func (s *Store) Syncs(ctx context.Context, connector string, limit int) ([]ports.Sync, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+syncColumns+` FROM connector_syncs WHERE connector = $1
		ORDER BY created_at DESC, id DESC LIMIT $2`, connector, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: syncs: list: %w", err)
	}
	defer rows.Close()
	out := []ports.Sync{}
	for rows.Next() {
		sy, err := scanSync(rows, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, sy)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: syncs: list: %w", err)
	}
	return out, nil
}

// StartSync marks a queued sync running.
func (s *Store) StartSync(ctx context.Context, id uuid.UUID, at time.Time) (ports.Sync, error) {
	row := s.pool.QueryRow(ctx, `WITH started AS (
			UPDATE connector_syncs SET status = 'running', started_at = $2, updated_at = $2
			WHERE id = $1 AND status = 'queued'
			RETURNING `+syncColumns+`)
		SELECT * FROM started
		UNION ALL
		SELECT `+syncColumns+` FROM connector_syncs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM started)`, id, at.UTC())
	return scanSync(row, nil)
}

// SaveSyncProgress stores a page's progress, and with done the sync's
// success and the connector's cursor, in one transaction.
func (s *Store) SaveSyncProgress(ctx context.Context, id uuid.UUID, pagesBefore int64, p ports.SyncProgress, done bool, at time.Time) error {
	if p.Rejections == nil {
		p.Rejections = []ports.SyncRejection{}
	}
	progress, err := json.Marshal(p)
	if err != nil {
		return err
	}
	at = at.UTC()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var connector string
		err := tx.QueryRow(ctx, `UPDATE connector_syncs SET progress = $3, updated_at = $4,
				status = CASE WHEN $5 THEN 'succeeded' ELSE status END,
				finished_at = CASE WHEN $5 THEN $4 ELSE finished_at END
			WHERE id = $1 AND status = 'running' AND (progress->>'pages')::bigint = $2
			RETURNING connector`, id, pagesBefore, progress, at, done).Scan(&connector)
		if errors.Is(err, pgx.ErrNoRows) {
			return ports.ErrSyncMoved
		}
		if err != nil {
			return fmt.Errorf("postgres: syncs: save the progress: %w", err)
		}
		if !done {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO connector_pulls (connector, cursor, last_pull, sync_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (connector) DO UPDATE SET cursor = excluded.cursor, last_pull = excluded.last_pull, sync_id = excluded.sync_id`,
			connector, p.Cursor, at, id); err != nil {
			return fmt.Errorf("postgres: syncs: store the connector's cursor: %w", err)
		}
		return nil
	})
}

// SyncAttempted records the error of an attempt that will be retried.
func (s *Store) SyncAttempted(ctx context.Context, id uuid.UUID, lastError string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE connector_syncs SET progress = jsonb_set(progress, '{lastError}', to_jsonb($2::text)),
			updated_at = $3
		WHERE id = $1 AND status IN ('queued', 'running')`, id, lastError, at.UTC())
	if err != nil {
		return fmt.Errorf("postgres: syncs: record an attempt: %w", err)
	}
	return nil
}

// FailSync ends a sync as failed.
func (s *Store) FailSync(ctx context.Context, id uuid.UUID, reason string, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE connector_syncs SET status = 'failed', error = $2, finished_at = $3, updated_at = $3
		WHERE id = $1 AND status IN ('queued', 'running')`, id, reason, at.UTC())
	if err != nil {
		return fmt.Errorf("postgres: syncs: fail a sync: %w", err)
	}
	return nil
}

// ConnectorPull returns the connector's cursor and last pull.
func (s *Store) ConnectorPull(ctx context.Context, connector string) (ports.ConnectorPull, error) {
	var p ports.ConnectorPull
	err := s.pool.QueryRow(ctx, `SELECT cursor, last_pull, sync_id FROM connector_pulls WHERE connector = $1`, connector).
		Scan(&p.Cursor, &p.LastPull, &p.Sync)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.ConnectorPull{}, nil
	}
	if err != nil {
		return ports.ConnectorPull{}, fmt.Errorf("postgres: syncs: the connector's cursor: %w", err)
	}
	p.LastPull = p.LastPull.UTC()
	return p, nil
}

// scanSync reads a row of syncColumns, and then job_id into jobID when
// it is not nil.
func scanSync(row pgx.Row, jobID **int64) (ports.Sync, error) {
	var (
		sy                ports.Sync
		status, mode      string
		progress          []byte
		started, finished *time.Time
		dest              []any
	)
	dest = append(dest, &sy.ID, &sy.Connector, &status, &mode, &sy.Actor, &sy.From, &progress, &sy.Error,
		&sy.Created, &started, &finished, &sy.Updated)
	if jobID != nil {
		dest = append(dest, jobID)
	}
	err := row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Sync{}, &fault.NotFound{What: "sync"}
	}
	if err != nil {
		return ports.Sync{}, fmt.Errorf("postgres: syncs: read a sync: %w", err)
	}
	if err := json.Unmarshal(progress, &sy.Progress); err != nil {
		return ports.Sync{}, fmt.Errorf("postgres: syncs: sync %s: its progress: %w", sy.ID, err)
	}
	if sy.Progress.Rejections == nil {
		sy.Progress.Rejections = []ports.SyncRejection{}
	}
	sy.Status, sy.Mode = ports.SyncStatus(status), ports.SyncMode(mode)
	sy.Created, sy.Updated = sy.Created.UTC(), sy.Updated.UTC()
	if started != nil {
		sy.Started = started.UTC()
	}
	if finished != nil {
		sy.Finished = finished.UTC()
	}
	return sy, nil
}
