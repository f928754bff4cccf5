package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/core/consent"
)

// DefaultRelayBatch is the batch size Relay uses when asked for none.
const DefaultRelayBatch = 1000

// The outbox (migration 00019) keeps the consent events of a change (one
// customer's, or a whole batch's) as one row of consent_outbox_batches: a
// JSON array of outboxEvent objects in the order they were made.

// outboxEvent is an event as the outbox keeps it; the keys are the columns
// of the view consent_outbox.
type outboxEvent struct {
	EventID        uuid.UUID `json:"event_id"`
	OccurredAt     time.Time `json:"occurred_at"`
	CustomerID     uuid.UUID `json:"customer_id"`
	CustomerNumber int64     `json:"customer_number"`
	Consent        string    `json:"consent"`
	OldValue       bool      `json:"old_value"`
	NewValue       bool      `json:"new_value"`
	Source         string    `json:"source"`
	SourceSystemID int       `json:"source_system_id"`
	Actor          string    `json:"actor"`
	RequestID      string    `json:"request_id"`
	ImportID       string    `json:"import_id"`
	Evidence       string    `json:"evidence"`
}

// appendOutboxEvent appends e as the JSON object outboxEvent decodes, by
// hand: a batch of an import has thousands.
func appendOutboxEvent(b []byte, e consent.Event) []byte {
	b = append(b, `{"event_id":"`...)
	b = appendUUIDText(b, e.ID)
	b = append(b, `","occurred_at":"`...)
	b = e.OccurredAt.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","customer_id":"`...)
	b = appendUUIDText(b, e.CustomerID)
	b = append(b, `","customer_number":`...)
	b = strconv.AppendInt(b, e.CustomerNumber, 10)
	b = append(b, `,"consent":`...)
	b = appendJSONString(b, string(e.Consent))
	b = append(b, `,"old_value":`...)
	b = strconv.AppendBool(b, e.OldValue)
	b = append(b, `,"new_value":`...)
	b = strconv.AppendBool(b, e.NewValue)
	b = append(b, `,"source":`...)
	b = appendJSONString(b, string(e.Source))
	b = append(b, `,"source_system_id":`...)
	b = strconv.AppendInt(b, int64(e.SourceSystemID), 10)
	b = appendJSONMember(b, "actor", e.Actor)
	b = appendJSONMember(b, "request_id", e.RequestID)
	b = appendJSONMember(b, "import_id", e.ImportID)
	b = appendJSONMember(b, "evidence", e.Evidence)
	return append(b, '}')
}

// outboxRow is what a row of consent_outbox_batches holds about its
// events besides them: how many, and the earliest occurrence.
type outboxRow struct {
	count  int
	oldest time.Time
}

// add counts e into the row.
func (r *outboxRow) add(e consent.Event) { r.merge(outboxRow{count: 1, oldest: e.OccurredAt}) }

// merge counts the events of o into the row.
func (r *outboxRow) merge(o outboxRow) {
	if o.count == 0 {
		return
	}
	if r.count == 0 || o.oldest.Before(r.oldest) {
		r.oldest = o.oldest
	}
	r.count += o.count
}

// insertOutboxRow writes a row of events: the JSON array of their objects
// (appendOutboxEvent).
func insertOutboxRow(ctx context.Context, q querier, events []byte, row outboxRow) error {
	if row.count == 0 {
		return nil
	}
	_, err := q.Exec(ctx, insertOutboxSQL, events, row.count, row.oldest.UTC())
	return mapError(err)
}

const insertOutboxSQL = `INSERT INTO consent_outbox_batches (events, count, oldest) VALUES ($1, $2, $3)`

// appendOutboxEvents appends the objects of events (appendOutboxEvent),
// separated by commas, and counts them into row.
func appendOutboxEvents(b []byte, events []consent.Event, row *outboxRow) []byte {
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendOutboxEvent(b, e)
		row.add(e)
	}
	return b
}

// outboxRowOf encodes events as a row of the outbox.
func outboxRowOf(events []consent.Event) ([]byte, outboxRow) {
	var row outboxRow
	body := appendOutboxEvents([]byte{'['}, events, &row)
	return append(body, ']'), row
}

// insertEvents writes consent events to the outbox as one row.
func insertEvents(ctx context.Context, q querier, events []consent.Event) error {
	body, row := outboxRowOf(events)
	return insertOutboxRow(ctx, q, body, row)
}

// claimedRow is a row of the outbox a relay holds, and what it ships of it.
type claimedRow struct {
	seq            int64
	shipped, count int
	take           int // events shipped now, after the shipped ones
	rest           time.Time
}

// Relay claims up to max unshipped events, oldest first, skipping the rows
// another relay holds, and hands them to ship. When ship succeeds they are
// marked shipped in the same transaction; when it fails the transaction is
// rolled back, the events stay unshipped and ship's error is returned. A
// row's events go in their order, over several calls when they are more
// than max.
func (s *Store) Relay(ctx context.Context, max int, ship func(ctx context.Context, events []consent.Event) error) (int, error) {
	if max <= 0 {
		max = DefaultRelayBatch
	}
	var shipped int
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		claimed, err := claimOutbox(ctx, tx, max)
		if err != nil || len(claimed) == 0 {
			return err
		}
		seqs := make([]int64, len(claimed))
		for i, c := range claimed {
			seqs[i] = c.seq
		}
		rows, err := tx.Query(ctx, `SELECT events FROM consent_outbox_batches WHERE seq = ANY($1) ORDER BY seq`, seqs)
		if err != nil {
			return fmt.Errorf("postgres: relay: read events: %w", err)
		}
		bodies, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return fmt.Errorf("postgres: relay: read events: %w", err)
		}
		if len(bodies) != len(claimed) {
			return fmt.Errorf("postgres: relay: read %d rows of events, claimed %d", len(bodies), len(claimed))
		}
		events := make([]consent.Event, 0, max)
		for i := range claimed {
			c := &claimed[i]
			var all []outboxEvent
			if err := json.Unmarshal(bodies[i], &all); err != nil {
				return fmt.Errorf("postgres: relay: outbox row %d: %w", c.seq, err)
			}
			if len(all) != c.count {
				return fmt.Errorf("postgres: relay: outbox row %d holds %d events, says %d", c.seq, len(all), c.count)
			}
			for _, e := range all[c.shipped : c.shipped+c.take] {
				events = append(events, consent.Event{ID: e.EventID, OccurredAt: e.OccurredAt.UTC(), CustomerID: e.CustomerID,
					CustomerNumber: e.CustomerNumber, Consent: consent.Kind(e.Consent), OldValue: e.OldValue,
					NewValue: e.NewValue, Source: consent.Source(e.Source), SourceSystemID: e.SourceSystemID,
					Actor: e.Actor, RequestID: e.RequestID, ImportID: e.ImportID, Evidence: e.Evidence})
			}
			c.rest = time.Time{}
			for k, e := range all[c.shipped+c.take:] {
				if k == 0 || e.OccurredAt.Before(c.rest) {
					c.rest = e.OccurredAt
				}
			}
		}
		if err := ship(ctx, events); err != nil {
			return err
		}
		upto := make([]int32, len(claimed))
		rest := make([]*time.Time, len(claimed))
		for i, c := range claimed {
			upto[i] = int32(c.shipped + c.take)
			if !c.rest.IsZero() {
				rest[i] = &claimed[i].rest
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE consent_outbox_batches b SET shipped = u.upto, oldest = coalesce(u.rest, b.oldest), shipped_at = now()
			FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS u(seq, upto, rest) WHERE b.seq = u.seq`, seqs, upto, rest); err != nil {
			return fmt.Errorf("postgres: relay: mark %d events shipped: %w", len(events), err)
		}
		shipped = len(events)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return shipped, nil
}

// claimOutbox locks the oldest unshipped rows no other relay holds, until
// they hold most events, and says what of each to ship. It locks a few rows
// first, then as many more as their sizes suggest: a row of an import
// holds thousands of events, a row of an API change one or two. Rows
// locked beyond those are let go with the transaction.
func claimOutbox(ctx context.Context, tx pgx.Tx, most int) ([]claimedRow, error) {
	var (
		out        []claimedRow
		after      int64
		need       = most
		seen, rows int // events and rows seen so far
		limit      = min(8, most)
	)
	for need > 0 {
		rs, err := tx.Query(ctx, `SELECT seq, shipped, count FROM consent_outbox_batches
			WHERE shipped < count AND seq > $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`, after, limit)
		if err != nil {
			return nil, fmt.Errorf("postgres: relay: claim events: %w", err)
		}
		var got []claimedRow
		var c claimedRow
		if _, err := pgx.ForEachRow(rs, []any{&c.seq, &c.shipped, &c.count}, func() error {
			got = append(got, c)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("postgres: relay: claim events: %w", err)
		}
		for _, c := range got {
			if need == 0 {
				break
			}
			c.take = min(c.count-c.shipped, need)
			need -= c.take
			seen, rows = seen+c.count-c.shipped, rows+1
			after = c.seq
			out = append(out, c)
		}
		if len(got) < limit {
			break // nothing more waits that another relay does not hold
		}
		// As many rows as the ones seen suggest, and one more.
		limit = min(need*rows/max(seen, 1)+1, most)
	}
	return out, nil
}

// Backlog counts unshipped events and tells when the oldest of them
// occurred (zero time when none wait).
func (s *Store) Backlog(ctx context.Context) (int64, time.Time, error) {
	var (
		n      int64
		oldest *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(count - shipped), 0), min(oldest) FROM consent_outbox_batches WHERE shipped < count`).Scan(&n, &oldest)
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
const purgeBatch = 1000

// PurgeShipped deletes events shipped more than olderThan ago (the rows
// whose every event was) and returns how many it deleted. The audit log
// keeps them; the outbox need not.
func (s *Store) PurgeShipped(ctx context.Context, olderThan time.Duration) (int64, error) {
	var total int64
	for {
		var rows, events int64
		err := s.pool.QueryRow(ctx, `WITH gone AS (DELETE FROM consent_outbox_batches WHERE seq IN (
				SELECT seq FROM consent_outbox_batches
				WHERE shipped = count AND shipped_at < now() - make_interval(secs => $1)
				ORDER BY seq LIMIT $2) RETURNING count)
			SELECT count(*), coalesce(sum(count), 0) FROM gone`, olderThan.Seconds(), purgeBatch).Scan(&rows, &events)
		if err != nil {
			return total, fmt.Errorf("postgres: purge shipped events: %w", err)
		}
		total += events
		if rows < purgeBatch {
			return total, nil
		}
	}
}

// SeedOutbox writes events to the outbox as they are, perRow events a row
// (the last row the rest), in one transaction, for benchmarks and tests
// that need a backlog without the changes that make one.
func SeedOutbox(ctx context.Context, pool *pgxpool.Pool, events []consent.Event, perRow int) error {
	perRow = max(perRow, 1)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		for lo := 0; lo < len(events); lo += perRow {
			body, row := outboxRowOf(events[lo:min(lo+perRow, len(events))])
			b.Queue(insertOutboxSQL, body, row.count, row.oldest.UTC())
			if b.Len() == 1000 || lo+perRow >= len(events) {
				if err := tx.SendBatch(ctx, &b).Close(); err != nil {
					return err
				}
				b = pgx.Batch{}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: seed the outbox: %w", err)
	}
	return nil
}
