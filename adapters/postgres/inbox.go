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

const inboxColumns = `id, connector, delivery_key, received_at, headers, body, status, attempts, last_error, processed_at, outcome,
	next_attempt_at, retry_base`

// The inbox is the queue of its deliveries. A drain of a connector claims
// received deliveries with FOR UPDATE SKIP LOCKED in a transaction that
// holds them while they are processed, then records their results in one
// UPDATE and commits: no write per delivery to claim it, and a drain whose
// instance dies lets its deliveries go with its connection. The processing
// runs in the same transaction (the context fn gets carries it, as a
// Session's fn's does): what the register writes for a delivery commits
// together with the delivery's status, in one commit per batch, or not at
// all.
//
// Whether a drain is requested is kept in connector_drains. Receive reads
// it under a shared advisory lock of the connector, held to its commit,
// and stores the drain job only when none is requested; EndDrain takes the
// lock exclusively, so that it waits for every Receive in flight, and
// ends the request only when, those committed, nothing is due. So a
// delivery stored while a drain is requested is seen by that drain's
// EndDrain, or by a drain after it. River's own unique jobs do not serve
// here: a unique insert that finds its job waiting updates the job's row
// (ON CONFLICT DO UPDATE) and holds that lock to its commit, which would
// queue every acknowledgement behind the one before and keep the job from
// being fetched (SKIP LOCKED) while deliveries keep coming; and River
// counts a running job as unique too, so a delivery stored after a
// running drain's last look would wait for the next delivery.

// dueAt2 is the condition of a received delivery due at $2: not attempted
// since it arrived or an admin retried it, or its next attempt's time has
// come.
const dueAt2 = `(attempts = retry_base OR next_attempt_at <= $2)`

// drainLockClass is the first key of the connector's advisory lock
// (pg_advisory_xact_lock(drainLockClass, hashtext(connector))): "kiri".
const drainLockClass int32 = 0x6b697269

const (
	// staleDrainRequest is how old a drain request may be before it is
	// taken for lost and made again.
	staleDrainRequest = 5 * time.Minute
	// renewDrainRequest is how often a drain at work renews its request,
	// so that it is not taken for lost.
	renewDrainRequest = time.Minute
	// drainWriteTimeout bounds the recording of a batch's results, which
	// goes on when the drain's context ends (at a shutdown), so that work
	// done is not done again.
	drainWriteTimeout = 10 * time.Second
)

// Receive stores a delivery, and its connector's drain job when no drain
// is requested, in one transaction, or finds the delivery the connector
// already has with the same key.
func (s *Store) Receive(ctx context.Context, d ports.Delivery, drain ports.Job) (ports.Delivery, bool, error) {
	if len(d.Body) > ports.MaxDeliveryBody {
		return ports.Delivery{}, false, fmt.Errorf("postgres: inbox: a body of %d bytes is larger than %d", len(d.Body), ports.MaxDeliveryBody)
	}
	headers := d.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	at := d.ReceivedAt.UTC()
	var (
		out ports.Delivery
		dup bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One round trip: the lock, then the row and whether a drain is
		// requested. The request is read after the lock is held, by a
		// statement of its own: a statement sees what was committed when
		// it began, and one begun before the lock was granted might see a
		// request that the drain it waited for had just ended.
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock_shared($1, hashtext($2))`, drainLockClass, d.Connector)
		b.Queue(`WITH stored AS (
				INSERT INTO connector_inbox (id, connector, delivery_key, received_at, headers, body, status, next_attempt_at)
				VALUES ($1, $2, $3, $4, $5, $6, 'received', $4) ON CONFLICT (connector, delivery_key) DO NOTHING
				RETURNING 1)
			SELECT EXISTS (SELECT FROM stored),
				coalesce((SELECT requested_at > now() - $7::interval FROM connector_drains WHERE connector = $2), false)`,
			d.ID, d.Connector, d.Key, at, headers, d.Body, staleDrainRequest)
		br := tx.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			return fmt.Errorf("postgres: inbox: lock the drain: %w", err)
		}
		var inserted, requested bool
		if err := br.QueryRow().Scan(&inserted, &requested); err != nil {
			br.Close()
			return fmt.Errorf("postgres: inbox: store a delivery: %w", err)
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("postgres: inbox: store a delivery: %w", err)
		}
		if !inserted {
			dup = true
			var err error
			out, err = scanDelivery(tx.QueryRow(ctx, `SELECT `+inboxColumns+` FROM connector_inbox
				WHERE connector = $1 AND delivery_key = $2`, d.Connector, d.Key))
			return err
		}
		if !requested {
			if err := requestDrain(ctx, tx, d.Connector, drain, false); err != nil {
				return err
			}
		}
		out = d
		out.Headers, out.Status, out.ReceivedAt, out.NextAttempt = headers, ports.DeliveryReceived, at, at
		out.Attempts, out.RetryBase, out.LastError, out.ProcessedAt, out.Outcome = 0, 0, "", time.Time{}, ""
		return nil
	})
	if err != nil {
		return ports.Delivery{}, false, err
	}
	return out, dup, nil
}

// requestDrain marks a drain of connector requested and stores its job,
// unless one is requested already and the request is not stale (always
// when force). Two at once: the second waits for the first's row lock and
// then finds the request made.
func requestDrain(ctx context.Context, tx pgx.Tx, connector string, drain ports.Job, force bool) error {
	var made bool
	err := tx.QueryRow(ctx, `INSERT INTO connector_drains (connector, requested_at) VALUES ($1, now())
		ON CONFLICT (connector) DO UPDATE SET requested_at = now()
		WHERE $2 OR connector_drains.requested_at IS NULL OR connector_drains.requested_at <= now() - $3::interval
		RETURNING true`, connector, force, staleDrainRequest).Scan(&made)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: inbox: request a drain: %w", err)
	}
	if _, err := insertJob(ctx, tx, drain); err != nil {
		return err
	}
	return nil
}

// RequestDrain requests a drain and stores its job, whether one is
// requested or not.
func (s *Store) RequestDrain(ctx context.Context, connector string, drain ports.Job) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return requestDrain(ctx, tx, connector, drain, true)
	})
}

// Delivery returns one delivery.
func (s *Store) Delivery(ctx context.Context, id uuid.UUID) (ports.Delivery, error) {
	return scanDelivery(s.pool.QueryRow(ctx, `SELECT `+inboxColumns+` FROM connector_inbox WHERE id = $1`, id))
}

// Drain claims due deliveries, hands them to fn while holding them, and
// records fn's results, in one transaction that fn's context carries
// (ports.Inbox.Drain): the store's calls made with it take part, and a
// Session within fn is a savepoint of it.
func (s *Store) Drain(ctx context.Context, connector string, limit int, now time.Time, fn func(context.Context, []ports.Delivery) []ports.DeliveryResult) (int, error) {
	if limit <= 0 {
		return 0, errors.New("postgres: inbox: drain: limit must be positive")
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: inbox: drain: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	// Oldest first by the index (connector, status, received_at). A
	// delivery not attempted since it arrived (or since an admin's retry)
	// is due whatever the clocks say (it may have been stamped by another
	// instance's clock, or after the caller read its own); one whose
	// attempt failed waits for its next attempt. The drain's request is
	// renewed on the way, now and then (it is read without a lock, so the
	// renewal holds up nobody).
	// The renewal skips a request another drain is renewing: that drain
	// holds its row to the end of its batch.
	// The claim is planned to read connector_inbox_due in order and stop:
	// with statistics that lag behind a queue's churn PostgreSQL chose a
	// bitmap scan of every received delivery and a sort (22-32 ms a claim
	// under the connector benchmark, against 1-4 ms in order), so the
	// other plans are off for this statement alone.
	var bitmap, seq string
	if err := tx.QueryRow(ctx, `SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan'),
		set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)`).Scan(&bitmap, &seq, nil, nil); err != nil {
		return 0, fmt.Errorf("postgres: inbox: claim deliveries: %w", err)
	}
	rows, err := tx.Query(ctx, `WITH renew AS (
			UPDATE connector_drains SET requested_at = now()
			WHERE connector = (SELECT connector FROM connector_drains
				WHERE connector = $1 AND requested_at IS NOT NULL AND requested_at < now() - $4::interval
				FOR UPDATE SKIP LOCKED))
		SELECT `+inboxColumns+` FROM connector_inbox
		WHERE connector = $1 AND status = 'received' AND `+dueAt2+`
		ORDER BY received_at, id LIMIT $3 FOR UPDATE SKIP LOCKED`, connector, now.UTC(), limit, renewDrainRequest)
	if err != nil {
		return 0, fmt.Errorf("postgres: inbox: claim deliveries: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ports.Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return 0, fmt.Errorf("postgres: inbox: claim deliveries: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('enable_bitmapscan', $1, true), set_config('enable_seqscan', $2, true)`, bitmap, seq); err != nil {
		return 0, fmt.Errorf("postgres: inbox: claim deliveries: %w", err)
	}
	if len(ds) == 0 {
		return 0, tx.Commit(ctx)
	}
	// fn runs in the drain's transaction: what it writes through the
	// store with this context commits with the results below, or is
	// rolled back with them.
	results := fn(context.WithValue(ctx, sessionKey{}, tx), ds)
	// What was done is recorded even when ctx ended meanwhile (a
	// shutdown): the register's writes for it are in this transaction.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainWriteTimeout)
	defer cancel()
	if err := recordResults(wctx, tx, ds, results); err != nil {
		return 0, err
	}
	if err := tx.Commit(wctx); err != nil {
		return 0, fmt.Errorf("postgres: inbox: record the results of a drain: %w", err)
	}
	return len(ds), nil
}

// recordResults writes the results of claimed deliveries in one UPDATE.
func recordResults(ctx context.Context, tx pgx.Tx, claimed []ports.Delivery, results []ports.DeliveryResult) error {
	held := make(map[uuid.UUID]bool, len(claimed))
	for _, d := range claimed {
		held[d.ID] = true
	}
	n := len(results)
	var (
		ids             = make([]uuid.UUID, 0, n)
		statuses        = make([]string, 0, n)
		outcomes, errs  = make([]string, 0, n), make([]string, 0, n)
		ends, nextTimes = make([]time.Time, 0, n), make([]time.Time, 0, n)
		seen            = make(map[uuid.UUID]bool, n)
	)
	for _, r := range results {
		switch {
		case !held[r.ID]:
			return fmt.Errorf("postgres: inbox: a result for delivery %s, which the drain does not hold", r.ID)
		case seen[r.ID]:
			return fmt.Errorf("postgres: inbox: two results for delivery %s", r.ID)
		case r.Status == ports.DeliveryReceived && r.NextAttempt.IsZero():
			return fmt.Errorf("postgres: inbox: delivery %s: a result received needs the next attempt's time", r.ID)
		case r.Status != ports.DeliveryReceived && r.Status != ports.DeliveryProcessed && !r.Status.DeadLetter():
			return fmt.Errorf("postgres: inbox: delivery %s: unknown status %q", r.ID, r.Status)
		}
		seen[r.ID] = true
		ids, statuses = append(ids, r.ID), append(statuses, string(r.Status))
		outcomes, errs = append(outcomes, r.Outcome), append(errs, r.Reason)
		ends, nextTimes = append(ends, r.At.UTC()), append(nextTimes, r.NextAttempt.UTC())
	}
	if len(ids) == 0 {
		return nil
	}
	// A processed delivery's data now live in the customer, where an
	// erasure reaches them: its body and headers are dropped, and only the
	// key (for replays) and the outcome stay. Dead letters keep theirs for
	// a retry until PurgeInbox.
	_, err := tx.Exec(ctx, `UPDATE connector_inbox AS i SET
			status = f.status, attempts = i.attempts + 1, last_error = f.reason,
			outcome = CASE WHEN f.status = 'received' THEN i.outcome ELSE f.outcome END,
			processed_at = CASE WHEN f.status = 'received' THEN NULL ELSE f.ended END,
			next_attempt_at = CASE WHEN f.status = 'received' THEN f.next ELSE i.next_attempt_at END,
			body = CASE WHEN f.status = 'processed' THEN ''::bytea ELSE i.body END,
			headers = CASE WHEN f.status = 'processed' THEN '{}'::jsonb ELSE i.headers END
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[])
			AS f(id, status, outcome, reason, ended, next)
		WHERE i.id = f.id AND i.status = 'received'`, ids, statuses, outcomes, errs, ends, nextTimes)
	if err != nil {
		return fmt.Errorf("postgres: inbox: record the results of a drain: %w", err)
	}
	return nil
}

// EndDrain ends the connector's drain request unless a delivery is due.
func (s *Store) EndDrain(ctx context.Context, connector string, now time.Time, retry func(at time.Time) ports.Job) (bool, error) {
	var ended bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Every Receive in flight holds the lock shared: this waits for
		// them to commit, and keeps new ones waiting until the end.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, drainLockClass, connector); err != nil {
			return fmt.Errorf("postgres: inbox: lock the drain: %w", err)
		}
		var id uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM connector_inbox
			WHERE connector = $1 AND status = 'received' AND `+dueAt2+`
			ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`, connector, now.UTC()).Scan(&id)
		switch {
		case err == nil:
			return nil // one is due: the drain goes on
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("postgres: inbox: end a drain: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE connector_drains SET requested_at = NULL WHERE connector = $1`, connector); err != nil {
			return fmt.Errorf("postgres: inbox: end a drain: %w", err)
		}
		ended = true
		var next *time.Time
		if err := tx.QueryRow(ctx, `SELECT min(next_attempt_at) FROM connector_inbox
			WHERE connector = $1 AND status = 'received' AND NOT `+dueAt2, connector, now.UTC()).Scan(&next); err != nil {
			return fmt.Errorf("postgres: inbox: end a drain: %w", err)
		}
		if next != nil && retry != nil {
			if _, err := insertJob(ctx, tx, retry(next.UTC())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return ended, nil
}

// DeadLetters lists rejected and failed deliveries, newest first.
func (s *Store) DeadLetters(ctx context.Context, connector string, limit int) ([]ports.Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT id, connector, delivery_key, received_at, '{}'::jsonb, ''::bytea, status,
			attempts, last_error, processed_at, outcome, next_attempt_at, retry_base
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

// RetryDelivery puts a dead letter back, due now with its attempts counted
// afresh, and requests a drain.
func (s *Store) RetryDelivery(ctx context.Context, connector string, id uuid.UUID, drain ports.Job) (ports.Delivery, error) {
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
		var next time.Time
		if err := tx.QueryRow(ctx, `UPDATE connector_inbox SET status = 'received', processed_at = NULL, outcome = '',
				next_attempt_at = now(), retry_base = attempts
			WHERE id = $1 RETURNING next_attempt_at`, id).Scan(&next); err != nil {
			return fmt.Errorf("postgres: inbox: retry: %w", err)
		}
		// A drain is requested whether one is or not: it is one job, and
		// an admin's retry is rare.
		if err := requestDrain(ctx, tx, connector, drain, true); err != nil {
			return err
		}
		d.Status, d.ProcessedAt, d.Outcome, d.NextAttempt, d.RetryBase = ports.DeliveryReceived, time.Time{}, "", next.UTC(), d.Attempts
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
	// The last delivery is the latest of each status's last (the statuses
	// of connector_inbox_status_check; one probe of
	// the status index each): max(received_at) of the connector alone
	// read every entry of its deliveries (16 ms at 64,000).
	err := s.db(ctx).QueryRow(ctx, `SELECT
			(SELECT max(last) FROM unnest(ARRAY['received', 'processed', 'rejected', 'failed']) AS st(status),
				LATERAL (SELECT max(received_at) AS last FROM connector_inbox i
					WHERE i.connector = $1 AND i.status = st.status) l),
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
		&d.Attempts, &d.LastError, &processed, &d.Outcome, &d.NextAttempt, &d.RetryBase)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Delivery{}, &fault.NotFound{What: "delivery"}
	}
	if err != nil {
		return ports.Delivery{}, fmt.Errorf("postgres: inbox: read a delivery: %w", err)
	}
	d.Status = ports.DeliveryStatus(status)
	d.ReceivedAt, d.NextAttempt = d.ReceivedAt.UTC(), d.NextAttempt.UTC()
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
