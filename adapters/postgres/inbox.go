package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/fault"
	"kirjuri/ports"
)

var _ ports.Inbox = (*Store)(nil)

const inboxColumns = `id, connector, delivery_key, received_at, headers, body, status, attempts, last_error, processed_at, outcome`

// Receive stores a delivery and its job in one transaction, or finds the
// delivery the connector already has with the same key.
func (s *Store) Receive(ctx context.Context, d ports.Delivery, job ports.Job) (ports.Delivery, bool, error) {
	if len(d.Body) > ports.MaxDeliveryBody {
		return ports.Delivery{}, false, fmt.Errorf("postgres: inbox: a body of %d bytes is larger than %d", len(d.Body), ports.MaxDeliveryBody)
	}
	headers := d.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	var (
		out ports.Delivery
		dup bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO connector_inbox (id, connector, delivery_key, received_at, headers, body, status)
			VALUES ($1, $2, $3, $4, $5, $6, 'received') ON CONFLICT (connector, delivery_key) DO NOTHING`,
			d.ID, d.Connector, d.Key, d.ReceivedAt.UTC(), headers, d.Body)
		if err != nil {
			return fmt.Errorf("postgres: inbox: store a delivery: %w", err)
		}
		if tag.RowsAffected() == 0 {
			dup = true
			out, err = scanDelivery(tx.QueryRow(ctx, `SELECT `+inboxColumns+` FROM connector_inbox
				WHERE connector = $1 AND delivery_key = $2`, d.Connector, d.Key))
			return err
		}
		if _, err := insertJob(ctx, tx, job); err != nil {
			return err
		}
		out = d
		out.Headers, out.Status, out.ReceivedAt = headers, ports.DeliveryReceived, d.ReceivedAt.UTC()
		return nil
	})
	if err != nil {
		return ports.Delivery{}, false, err
	}
	return out, dup, nil
}

// Delivery returns one delivery.
func (s *Store) Delivery(ctx context.Context, id uuid.UUID) (ports.Delivery, error) {
	return scanDelivery(s.pool.QueryRow(ctx, `SELECT `+inboxColumns+` FROM connector_inbox WHERE id = $1`, id))
}

// Attempted records a failed attempt that will be retried.
func (s *Store) Attempted(ctx context.Context, id uuid.UUID, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE connector_inbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, id, reason)
	if err != nil {
		return fmt.Errorf("postgres: inbox: record an attempt: %w", err)
	}
	return nil
}

// FinishDelivery records the end of a delivery.
func (s *Store) FinishDelivery(ctx context.Context, id uuid.UUID, status ports.DeliveryStatus, outcome, reason string, at time.Time) error {
	if status == ports.DeliveryReceived {
		return errors.New("postgres: inbox: finish: received is not an end")
	}
	// A processed delivery's data now live in the customer, where an
	// erasure reaches them: its body and headers are dropped, and only the
	// key (for replays) and the outcome stay. Dead letters keep theirs for
	// a retry until PurgeInbox.
	_, err := s.pool.Exec(ctx, `UPDATE connector_inbox SET status = $2, outcome = $3, last_error = $4,
		processed_at = $5, attempts = attempts + 1,
		body = CASE WHEN $2 = 'processed' THEN ''::bytea ELSE body END,
		headers = CASE WHEN $2 = 'processed' THEN '{}'::jsonb ELSE headers END
		WHERE id = $1`, id, string(status), outcome, reason, at.UTC())
	if err != nil {
		return fmt.Errorf("postgres: inbox: finish a delivery: %w", err)
	}
	return nil
}

// DeadLetters lists rejected and failed deliveries, newest first.
func (s *Store) DeadLetters(ctx context.Context, connector string, limit int) ([]ports.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, connector, delivery_key, received_at, '{}'::jsonb, ''::bytea, status,
			attempts, last_error, processed_at, outcome
		FROM connector_inbox WHERE connector = $1 AND status IN ('rejected', 'failed')
		ORDER BY received_at DESC, id DESC LIMIT $2`, connector, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: inbox: dead letters: %w", err)
	}
	defer rows.Close()
	var out []ports.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: inbox: dead letters: %w", err)
	}
	return out, nil
}

// RetryDelivery puts a dead letter back and stores its job.
func (s *Store) RetryDelivery(ctx context.Context, connector string, id uuid.UUID, job ports.Job) (ports.Delivery, error) {
	var out ports.Delivery
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		d, err := scanDelivery(tx.QueryRow(ctx, `SELECT `+inboxColumns+` FROM connector_inbox
			WHERE id = $1 AND connector = $2 FOR UPDATE`, id, connector))
		if err != nil {
			return err
		}
		if !d.Status.DeadLetter() {
			return &fault.Conflict{Field: "status", Message: fmt.Sprintf("the delivery is %s, not a dead letter", d.Status)}
		}
		if _, err := tx.Exec(ctx, `UPDATE connector_inbox SET status = 'received', processed_at = NULL, outcome = ''
			WHERE id = $1`, id); err != nil {
			return fmt.Errorf("postgres: inbox: retry: %w", err)
		}
		if _, err := insertJob(ctx, tx, job); err != nil {
			return err
		}
		d.Status, d.ProcessedAt, d.Outcome = ports.DeliveryReceived, time.Time{}, ""
		out = d
		return nil
	})
	return out, err
}

// InboxHealth counts a connector's deliveries.
func (s *Store) InboxHealth(ctx context.Context, connector string) (ports.ConnectorHealth, error) {
	var (
		h    ports.ConnectorHealth
		last *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT
			(SELECT max(received_at) FROM connector_inbox WHERE connector = $1),
			(SELECT count(*) FROM connector_inbox WHERE connector = $1 AND status = 'received'),
			(SELECT count(*) FROM connector_inbox WHERE connector = $1 AND status IN ('rejected', 'failed'))`,
		connector).Scan(&last, &h.Backlog, &h.DeadLetters)
	if err != nil {
		return ports.ConnectorHealth{}, fmt.Errorf("postgres: inbox: health: %w", err)
	}
	if last != nil {
		h.LastDelivery = last.UTC()
	}
	return h, nil
}

func scanDelivery(row pgx.Row) (ports.Delivery, error) {
	var (
		d         ports.Delivery
		status    string
		processed *time.Time
	)
	err := row.Scan(&d.ID, &d.Connector, &d.Key, &d.ReceivedAt, &d.Headers, &d.Body, &status,
		&d.Attempts, &d.LastError, &processed, &d.Outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Delivery{}, &fault.NotFound{What: "delivery"}
	}
	if err != nil {
		return ports.Delivery{}, fmt.Errorf("postgres: inbox: read a delivery: %w", err)
	}
	d.Status = ports.DeliveryStatus(status)
	d.ReceivedAt = d.ReceivedAt.UTC()
	if processed != nil {
		d.ProcessedAt = processed.UTC()
	}
	return d, nil
}

// InboxRetention is how long the inbox keeps a delivery: its key, against
// replays, and a dead letter's body, for a retry by an admin.
const InboxRetention = 30 * 24 * time.Hour

// PurgeInbox deletes deliveries received more than InboxRetention before
// now that are no longer waiting (processed, rejected or failed), so that
// no body with personal data outlives its use. It returns how many.
func (s *Store) PurgeInbox(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM connector_inbox
		WHERE status <> 'received' AND received_at < $1`, now.Add(-InboxRetention).UTC())
	if err != nil {
		return 0, fmt.Errorf("postgres: inbox: purge: %w", err)
	}
	return tag.RowsAffected(), nil
}
