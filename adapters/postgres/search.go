package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/ports"
)

// Free-text search matches copies of the customers' search text in
// customer_search, under the trigram index (migration 00011). Every write
// keeps the copy current in its own transaction (a trigger), except the
// bulk path: maintaining the trigram index was most of the cost of writing
// a customer, so WriteBatch only lists the customers whose copy it made
// stale in customer_search_pending, and a search.index job copies their
// text after the batches (IndexSearch). Find matches pending customers on
// their own search column instead (see findSQL and addSearch), so that no
// answer waits for the job: it is only slower while many are pending.

// SearchIndexArgs is the job that copies the search text of pending
// customers (SearchIndexWorker).
type SearchIndexArgs struct{}

// Kind is "search.index".
func (SearchIndexArgs) Kind() string { return "search.index" }

const (
	// deferSearchSQL turns the copy trigger off for the rest of the
	// transaction (or of the savepoint, when it rolls back).
	deferSearchSQL = `SELECT set_config('kirjuri.search_deferred', 'on', true)`
	// undeferSearchSQL turns it on again, for what else a session writes.
	undeferSearchSQL = `SELECT set_config('kirjuri.search_deferred', 'off', true)`

	// searchIndexChunk is how many pending customers one statement of
	// IndexSearch copies (a transaction of a few tens of milliseconds).
	searchIndexChunk = 2000
	// searchIndexDelay is how long after a batch its job may start: the
	// job then waits for bulk writes to pause (SearchIndexWorker).
	searchIndexDelay = time.Second
)

// searchJobWaitingSQL tells whether a search.index job is waiting to run:
// it will see what the caller's transaction commits (see
// SearchIndexWorker.Work), so another one is not needed. The states are
// River's that are neither running nor finished.
const searchJobWaitingSQL = `SELECT EXISTS (SELECT 1 FROM river_job WHERE kind = 'search.index'
	AND state IN ('available', 'pending', 'retryable', 'scheduled'))`

// queueSearch lists the customers a batch wrote whose search text must be
// copied (created: new customers, stale: updated customers whose text
// changed; each in id order) and drops the copies the updates made stale,
// turns the copy trigger on again, and makes sure that a search.index job
// runs after tx commits: a COPY of the new customers' ids, which no list
// can hold yet, and one round trip for the rest (and a third when a job
// must be stored).
func queueSearch(ctx context.Context, tx pgx.Tx, created, stale []pgtype.UUID) error {
	if len(created) == 0 && len(stale) == 0 { // nothing changed any search text
		_, err := tx.Exec(ctx, undeferSearchSQL)
		return err
	}
	if len(created) > 0 {
		tuples := make([]byte, 0, len(created)*22)
		for _, id := range created {
			tuples = appendUUIDField(appendInt16(tuples, 1), id.Bytes)
		}
		if err := copyBinary(ctx, tx, copyPendingSQL, [][]byte{tuples}); err != nil {
			return err
		}
	}
	var b pgx.Batch
	if len(stale) > 0 {
		// Listed before their copies are deleted: a job copying one of
		// these customers right now holds its pending row, so this waits
		// for the job to commit and then deletes the copy it made from
		// the old state.
		b.Queue(`INSERT INTO customer_search_pending (customer_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING`, stale)
		b.Queue(`DELETE FROM customer_search WHERE customer_id = ANY($1)`, stale)
	}
	b.Queue(undeferSearchSQL)
	b.Queue(searchJobWaitingSQL)
	br := tx.SendBatch(ctx, &b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	var waiting bool
	if err := br.QueryRow().Scan(&waiting); err != nil {
		br.Close()
		return err
	}
	if err := br.Close(); err != nil {
		return err
	}
	if waiting {
		return nil
	}
	_, err := insertJob(ctx, tx, ports.Job{Args: SearchIndexArgs{}, RunAt: time.Now().Add(searchIndexDelay)})
	return err
}

// IndexSearch copies the search text of every pending customer into
// customer_search, in transactions of searchIndexChunk customers, until
// none is left (or ctx ends), and returns how many it took from the list.
// Customers another IndexSearch is copying are left to it. A copy is
// never written over one of a later version (a change made through the
// API meanwhile, an erasure), and a customer that is gone is dropped.
//
// The job runs it; benchmarks and tests call it to wait for the copies.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := s.indexSearchChunk(ctx)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// indexSearchChunk copies the search text of up to searchIndexChunk
// pending customers and returns how many it took from the list.
func (s *Store) indexSearchChunk(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var claimed, copied int
	if err := s.pool.QueryRow(ctx, indexSearchSQL, searchIndexChunk).Scan(&claimed, &copied); err != nil {
		return 0, wrap("copy search texts", err)
	}
	return claimed, nil
}

// indexSearchSQL takes up to $1 pending customers off the list (skipping
// those another transaction holds) and copies their search text, in one
// statement: one snapshot, so a change committed meanwhile is either in
// the copy or lists its customer again (queueSearch waits for this
// statement's transaction). The list is taken in no particular order: in
// the order of an index, each statement would step again over the entries
// of every customer taken before (they stay in the index until vacuum),
// which made copying 100,000 customers five times slower.
const indexSearchSQL = `WITH claimed AS (
	DELETE FROM customer_search_pending WHERE customer_id IN (
		SELECT customer_id FROM customer_search_pending LIMIT $1 FOR UPDATE SKIP LOCKED)
	RETURNING customer_id
), copied AS (
	INSERT INTO customer_search (customer_id, customer_number, version, search)
	SELECT c.id, c.number, c.version, c.search FROM customers c JOIN claimed k ON k.customer_id = c.id ORDER BY c.id
	ON CONFLICT (customer_id) DO UPDATE SET version = EXCLUDED.version, search = EXCLUDED.search
		WHERE customer_search.version < EXCLUDED.version
	RETURNING 1
)
SELECT (SELECT count(*) FROM claimed), (SELECT count(*) FROM copied)`

// PendingSearch is how many customers wait for their search text to be
// copied.
func (s *Store) PendingSearch(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM customer_search_pending`).Scan(&n)
	return n, wrap("count pending search texts", err)
}

// SearchIndexWorker runs the search.index jobs: it copies the search text
// of the customers the bulk path wrote (IndexSearch).
//
// It lets bulk writes go first: while customers keep being listed (the
// newest less than quiet ago) it snoozes, also between its chunks, so that
// an import has both cores to itself and the copies follow right after
// it; but it never lets the oldest wait more than maxLag. A batch stores
// no job while one is waiting; so that no batch that relied on this job is
// missed, after copying it waits for the transactions that were in
// progress then (such a batch is one of them, or committed and seen) and
// copies once more.
type SearchIndexWorker struct {
	store         *Store
	quiet, maxLag time.Duration
	// settle bounds the wait for transactions in progress; then the job
	// snoozes and waits again later.
	settle time.Duration
}

var _ ports.JobWorker = (*SearchIndexWorker)(nil)

// NewSearchIndexWorker builds the worker of search.index jobs.
func NewSearchIndexWorker(s *Store) *SearchIndexWorker {
	return &SearchIndexWorker{store: s, quiet: 2 * time.Second, maxLag: time.Minute, settle: 10 * time.Second}
}

// Kind is "search.index".
func (w *SearchIndexWorker) Kind() string { return SearchIndexArgs{}.Kind() }

// Work copies what is pending (see SearchIndexWorker).
func (w *SearchIndexWorker) Work(ctx context.Context, _ ports.RunningJob) error {
	for {
		var arriving bool
		err := w.store.pool.QueryRow(ctx, `SELECT coalesce(max(queued_at) > clock_timestamp() - $1::interval
			AND min(queued_at) > clock_timestamp() - $2::interval, false) FROM customer_search_pending`, w.quiet, w.maxLag).Scan(&arriving)
		if err != nil {
			return wrap("look at pending search texts", err)
		}
		if arriving {
			return ports.SnoozeJob(w.quiet)
		}
		n, err := w.store.indexSearchChunk(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	// A transaction id of our own: every transaction that began before has
	// a smaller one (a batch has its id from its first write, before it
	// looks for a waiting job). Once the oldest transaction still running
	// is younger, they have all ended.
	var now string
	if err := w.store.pool.QueryRow(ctx, `SELECT pg_current_xact_id()::text`).Scan(&now); err != nil {
		return wrap("take a transaction id", err)
	}
	for start := time.Now(); ; {
		var ended bool
		err := w.store.pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8`, now).Scan(&ended)
		if err != nil {
			return wrap("look at transactions in progress", err)
		}
		if ended {
			break
		}
		if time.Since(start) > w.settle {
			return ports.SnoozeJob(w.quiet)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	_, err := w.store.IndexSearch(ctx)
	return err
}
