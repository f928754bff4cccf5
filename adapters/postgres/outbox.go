package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/consent"
)

// DefaultRelayBatch is the batch size Relay uses when asked for none.
const DefaultRelayBatch = 1000

const outboxColumns = `event_id, occurred_at, customer_id, customer_number, consent, old_value,
	new_value, source, source_system_id, actor, request_id, import_id, evidence`

// insertEvents writes consent events to the outbox in one statement.
func insertEvents(ctx context.Context, q querier, events []consent.Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	var (
		ids       = make([]uuid.UUID, n)
		at        = make([]time.Time, n)
		customers = make([]uuid.UUID, n)
		numbers   = make([]int64, n)
		kinds     = make([]string, n)
		olds      = make([]bool, n)
		news      = make([]bool, n)
		sources   = make([]string, n)
		systems   = make([]int32, n)
		actors    = make([]string, n)
		requests  = make([]string, n)
		imports   = make([]string, n)
		evidence  = make([]string, n)
	)
	for i, e := range events {
		ids[i], at[i], customers[i], numbers[i] = e.ID, e.OccurredAt.UTC(), e.CustomerID, e.CustomerNumber
		kinds[i], olds[i], news[i], sources[i] = string(e.Consent), e.OldValue, e.NewValue, string(e.Source)
		systems[i], actors[i], requests[i], imports[i], evidence[i] = int32(e.SourceSystemID), e.Actor, e.RequestID, e.ImportID, e.Evidence
	}
	_, err := q.Exec(ctx, `INSERT INTO consent_outbox (`+outboxColumns+`)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::bigint[], $5::text[],
			$6::boolean[], $7::boolean[], $8::text[], $9::integer[], $10::text[], $11::text[],
			$12::text[], $13::text[])`,
		ids, at, customers, numbers, kinds, olds, news, sources, systems, actors, requests, imports, evidence)
	return mapError(err)
}

// Relay claims up to max unshipped events, oldest first, skipping events
// another relay holds, and hands them to ship. When ship succeeds they are
// marked shipped in the same transaction; when it fails the transaction is
// rolled back, the events stay unshipped and ship's error is returned.
func (s *Store) Relay(ctx context.Context, max int, ship func(ctx context.Context, events []consent.Event) error) (int, error) {
	if max <= 0 {
		max = DefaultRelayBatch
	}
	var shipped int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT seq, `+outboxColumns+` FROM consent_outbox
			WHERE shipped_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`, max)
		if err != nil {
			return fmt.Errorf("postgres: relay: claim events: %w", err)
		}
		seqs := make([]int64, 0, max)
		events := make([]consent.Event, 0, max)
		for rows.Next() {
			var (
				seq            int64
				e              consent.Event
				kind, source   string
				sourceSystemID int32
			)
			if err := rows.Scan(&seq, &e.ID, &e.OccurredAt, &e.CustomerID, &e.CustomerNumber, &kind,
				&e.OldValue, &e.NewValue, &source, &sourceSystemID, &e.Actor, &e.RequestID,
				&e.ImportID, &e.Evidence); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: relay: read events: %w", err)
			}
			e.OccurredAt = e.OccurredAt.UTC()
			e.Consent, e.Source, e.SourceSystemID = consent.Kind(kind), consent.Source(source), int(sourceSystemID)
			seqs = append(seqs, seq)
			events = append(events, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: relay: read events: %w", err)
		}
		if len(events) == 0 {
			return nil
		}
		if err := ship(ctx, events); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE consent_outbox SET shipped_at = now() WHERE seq = ANY($1)`, seqs); err != nil {
			return fmt.Errorf("postgres: relay: mark %d events shipped: %w", len(seqs), err)
		}
		shipped = len(events)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return shipped, nil
}

// Backlog counts unshipped events and tells when the oldest of them
// occurred (zero time when none wait).
func (s *Store) Backlog(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(occurred_at) FROM consent_outbox WHERE shipped_at IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("postgres: outbox backlog: %w", err)
	}
	if oldest == nil {
		return n, time.Time{}, nil
	}
	return n, oldest.UTC(), nil
}

// purgeBatch bounds the rows one purge statement deletes, so that a large
// purge does not hold one long transaction.
const purgeBatch = 10000

// PurgeShipped deletes events shipped more than olderThan ago and returns
// how many it deleted. The audit log keeps them; the outbox need not.
func (s *Store) PurgeShipped(ctx context.Context, olderThan time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM consent_outbox WHERE seq IN (
			SELECT seq FROM consent_outbox
			WHERE shipped_at < now() - make_interval(secs => $1)
			ORDER BY seq LIMIT $2)`, olderThan.Seconds(), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("postgres: purge shipped events: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}
