package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/ports"
)

// Free-text search matches copies of the customers' search text in
// customer_search, under the trigram index (migration 00011). Every write
// keeps the copy current in its own transaction (a trigger), except the
// bulk path: maintaining the trigram index was most of the cost of writing
// a customer, so WriteBatch only lists the customers whose copy it made
// stale in customer_search_pending, and the numbers of the customers it
// created as ranges in customer_search_pending_ranges (migration 00016),
// and a search.index job copies their text after the batches
// (IndexSearch). Find matches pending customers on their own search
// column instead (see findSQL and addSearch), so that no answer waits for
// the job: it is only slower while many are pending.

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

	// searchIndexChunk is how many pending customers one transaction of
	// IndexSearch copies (a few tens of milliseconds), from each list,
	// and how many numbers a pending range spans at most.
	searchIndexChunk = 2000
	// searchRangeGap is the widest gap between two numbers of a batch's
	// new customers that one pending range spans: the numbers a batch
	// takes together are consecutive unless another writer took some
	// meanwhile (the sequence serves concurrent callers in turn), and a
	// range then holds a few customers of others; past this gap a new
	// range begins, so that a range never holds many.
	searchRangeGap = 64
	// searchRangesClaimed is how many pending ranges IndexSearch locks at
	// once, of which it takes those that fit in searchIndexChunk numbers
	// (small batches list small ranges).
	searchRangesClaimed = 256
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

// pendingSpans is the pending ranges of customer numbers for a FROM list,
// as alias(span): int8range values, those that overlap or touch merged, so
// that a reader meets no customer twice (the ranges of batches written at
// the same time overlap). They are few: a reader starts from them and
// reads the customers in each through the number index, with the
// condition number >= lower(span) AND number < upper(span) (spanHolds).
func pendingSpans(alias string) string {
	return `unnest((SELECT range_agg(int8range(lo, hi, '[]')) FROM customer_search_pending_ranges)) AS ` + alias + `(span)`
}

// spanHolds is the condition that the customer number col is in the span
// of pendingSpans(alias).
func spanHolds(col, alias string) string {
	return col + " >= lower(" + alias + ".span) AND " + col + " < upper(" + alias + ".span)"
}

// pendingCustomers is a query of the columns cols of the customers in the
// pending ranges that meet cond (a condition on the table customers), as
// rc.*. It starts from the ranges and reads each one's customers through
// the number index, in a LATERAL subquery that PostgreSQL may not merge
// into the join (OFFSET 0): merged, it judged one walk of every customer
// cheaper, not knowing how few customers the ranges hold (it reckons 100
// ranges of 0.5 % of the table each).
func pendingCustomers(cols, cond string) string {
	return "SELECT rc.* FROM " + pendingSpans("r") + " CROSS JOIN LATERAL (SELECT " + cols +
		" FROM customers WHERE " + spanHolds("customers.number", "r") + " AND " + cond + " OFFSET 0) rc"
}

// queueSearch lists the customers a batch wrote whose search text must be
// copied (created: the numbers of new customers, in any order; stale: the
// ids of updated customers whose text changed, in id order) and drops the
// copies the updates made stale, turns the copy trigger on again, and
// makes sure that a search.index job runs after tx commits: one round
// trip (and a second when a job must be stored).
//
// The new customers are listed as ranges of their numbers
// (customer_search_pending_ranges, migration 00016): one row for a batch
// whose numbers are consecutive, which they are but for the numbers other
// writers took meanwhile. A range then also holds those writers'
// customers: that is harmless, since a pending customer is matched on its
// own search column, right for any customer, and its copy made again
// changes nothing (a copy never replaces one of a later version).
func queueSearch(ctx context.Context, tx pgx.Tx, created []int64, stale []pgtype.UUID) error {
	if len(created) == 0 && len(stale) == 0 { // nothing changed any search text
		_, err := tx.Exec(ctx, undeferSearchSQL)
		return err
	}
	var b pgx.Batch
	if len(created) > 0 {
		slices.Sort(created)
		lo, hi := pendingRanges(created)
		b.Queue(`INSERT INTO customer_search_pending_ranges (lo, hi) SELECT * FROM unnest($1::bigint[], $2::bigint[])`, lo, hi)
	}
	if len(stale) > 0 {
		// Listed, and the pending ranges that hold them locked, before
		// their copies are deleted: a job copying one of these customers
		// right now holds its pending row or range, so this waits for the
		// job to commit and then deletes the copy it made from the old
		// state; and a job that comes later skips what this holds until
		// it commits, then copies the new state (see indexSearchChunk). A
		// pending row already there is locked too (DO UPDATE), for the
		// same reason.
		b.Queue(`INSERT INTO customer_search_pending (customer_id) SELECT unnest($1::uuid[])
			ON CONFLICT (customer_id) DO UPDATE SET queued_at = EXCLUDED.queued_at`, stale)
		b.Queue(`SELECT 1 FROM customer_search_pending_ranges r JOIN customers c ON c.number BETWEEN r.lo AND r.hi
			WHERE c.id = ANY($1) FOR SHARE OF r`, stale)
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

// pendingRanges cuts ascending customer numbers into ranges (first and
// last number of each) where they leave a gap wider than searchRangeGap,
// and so that none spans more than searchIndexChunk numbers.
func pendingRanges(numbers []int64) (lo, hi []int64) {
	for _, n := range numbers {
		if k := len(lo) - 1; k >= 0 && n-hi[k] <= searchRangeGap && n-lo[k] < searchIndexChunk {
			hi[k] = n
			continue
		}
		lo, hi = append(lo, n), append(hi, n)
	}
	return lo, hi
}

// IndexSearch copies the search text of every pending customer into
// customer_search, in transactions of up to searchIndexChunk customers of
// each list, until none is left (or ctx ends), and returns how many it
// took from the lists. Customers another IndexSearch is copying are left
// to it. A copy is never written over one of a later version (a change
// made through the API meanwhile, an erasure), and a customer that is gone
// is dropped.
//
// The job runs it; benchmarks and tests call it to wait for the copies.
func (s *Store) IndexSearch(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.indexSearchChunk(ctx)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// indexSearchChunk copies the search text of up to searchIndexChunk
// listed customers and of the customers in pending ranges of up to about
// as many numbers, in one transaction, and returns how many customers it
// took from the lists (ids of customers that are gone included) and
// whether it took anything from them.
//
// It takes them off the lists first, then copies them in a statement of
// its own, whose snapshot is taken after: a batch that changed one of them
// and committed meanwhile is in the copy; one that has not committed yet
// waits for this transaction when it lists its customers (queueSearch),
// then deletes the copy made from the old state.
func (s *Store) indexSearchChunk(ctx context.Context) (taken int, more bool, err error) {
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var b pgx.Batch
		b.Queue(claimPendingSQL, searchIndexChunk)
		b.Queue(claimRangesSQL, searchIndexChunk, searchRangesClaimed)
		br := tx.SendBatch(ctx, &b)
		ids, lo, hi, err := claimSearch(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil || len(ids) == 0 && len(lo) == 0 {
			return err
		}
		more = true
		// The copy waits for a customer's copy that a batch holds (it
		// deleted the copy, stale). That batch, in an atomic import's
		// long transaction, may next wait for a range this transaction
		// took: the job gives way (errSearchBusy) before PostgreSQL would
		// find the deadlock and perhaps end the import instead.
		if _, err := tx.Exec(ctx, searchCopyLockTimeoutSQL); err != nil {
			return err
		}
		var listed, found int
		if err := tx.QueryRow(ctx, copySearchSQL, ids, lo, hi).Scan(&listed, &found); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == lockNotAvailable {
				return errSearchBusy
			}
			return err
		}
		// Gone customers' ids count as taken, customers in both the
		// list and a range once.
		taken = len(ids) + found - listed
		return nil
	})
	if errors.Is(err, errSearchBusy) {
		return 0, false, err
	}
	if err != nil {
		return 0, false, wrap("copy search texts", err)
	}
	return taken, more, nil
}

// searchCopyLockTimeoutSQL bounds the copy's wait for a row lock to less
// than PostgreSQL's deadlock_timeout (1 s by default), so that the job,
// not a batch, gives way when the two wait for each other.
const searchCopyLockTimeoutSQL = `SET LOCAL lock_timeout = '500ms'`

// lockNotAvailable is the SQLSTATE of a lock_timeout.
const lockNotAvailable = "55P03"

// errSearchBusy is indexSearchChunk's when a batch held a copy longer than
// the copy would wait (searchCopyLockTimeoutSQL): nothing was taken off
// the lists; the job tries again later.
var errSearchBusy = errors.New("postgres: search copies held by a write in progress; try again later")

// claimSearch reads the answers of claimPendingSQL and claimRangesSQL.
func claimSearch(br pgx.BatchResults) (ids []pgtype.UUID, lo, hi []int64, err error) {
	rows, err := br.Query()
	if err != nil {
		return nil, nil, nil, err
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[pgtype.UUID]); err != nil {
		return nil, nil, nil, err
	}
	if rows, err = br.Query(); err != nil {
		return nil, nil, nil, err
	}
	var l, h int64
	_, err = pgx.ForEachRow(rows, []any{&l, &h}, func() error {
		lo, hi = append(lo, l), append(hi, h)
		return nil
	})
	return ids, lo, hi, err
}

// claimPendingSQL takes up to $1 listed customers off the list, skipping
// those another transaction holds, and returns their ids. The list is
// taken in no particular order: in the order of an index, each statement
// would step again over the entries of every customer taken before (they
// stay in the index until vacuum), which made copying 100,000 customers
// five times slower.
const claimPendingSQL = `DELETE FROM customer_search_pending WHERE customer_id IN (
	SELECT customer_id FROM customer_search_pending LIMIT $1 FOR UPDATE SKIP LOCKED)
	RETURNING customer_id`

// claimRangesSQL takes pending ranges off their list: of up to $2 that no
// other transaction holds, those whose numbers before them sum to less
// than $1 (at least one, then; a range spans at most searchIndexChunk
// numbers), and returns them.
const claimRangesSQL = `DELETE FROM customer_search_pending_ranges WHERE id IN (
	SELECT id FROM (
		SELECT id, sum(hi - lo + 1) OVER (ORDER BY id) - (hi - lo + 1) AS before
		FROM (SELECT id, lo, hi FROM customer_search_pending_ranges LIMIT $2 FOR UPDATE SKIP LOCKED) l) w
	WHERE before < $1)
	RETURNING lo, hi`

// copySearchSQL copies the search text of the customers with the ids $1
// and of those whose numbers are in the ranges from $2 to $3, and returns
// how many of the first there are, and of both together: UNION lists a
// customer in two of them (ranges overlap when batches ran at the same
// time) once, as ON CONFLICT DO UPDATE requires. Each range is read
// through the number index (OFFSET 0: see pendingCustomers).
const copySearchSQL = `WITH listed AS (
	SELECT id, number, version, search FROM customers WHERE id = ANY($1)
), found AS (
	SELECT id, number, version, search FROM listed
	UNION
	SELECT c.* FROM unnest($2::bigint[], $3::bigint[]) AS r(lo, hi) CROSS JOIN LATERAL (
		SELECT id, number, version, search FROM customers WHERE number BETWEEN r.lo AND r.hi OFFSET 0) c
), copied AS (
	INSERT INTO customer_search (customer_id, customer_number, version, search)
	SELECT id, number, version, search FROM found ORDER BY id
	ON CONFLICT (customer_id) DO UPDATE SET version = EXCLUDED.version, search = EXCLUDED.search
		WHERE customer_search.version < EXCLUDED.version
	RETURNING 1
)
SELECT (SELECT count(*) FROM listed), (SELECT count(*) FROM found)`

// PendingSearch is how many customers wait for their search text to be
// copied: those listed and those in the pending ranges, each once.
func (s *Store) PendingSearch(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT customer_id FROM customer_search_pending
		UNION
		`+pendingCustomers("id", "true")+`) p`).Scan(&n)
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

// searchArrivingSQL tells whether bulk writes are still arriving: the
// newest entry of either list less than $1 ago, and the oldest less than
// $2 ago (greatest and least skip an empty list's null).
const searchArrivingSQL = `SELECT coalesce(greatest(p.newest, r.newest) > clock_timestamp() - $1::interval
		AND least(p.oldest, r.oldest) > clock_timestamp() - $2::interval, false)
	FROM (SELECT max(queued_at) AS newest, min(queued_at) AS oldest FROM customer_search_pending) p,
		(SELECT max(queued_at) AS newest, min(queued_at) AS oldest FROM customer_search_pending_ranges) r`

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
		err := w.store.pool.QueryRow(ctx, searchArrivingSQL, w.quiet, w.maxLag).Scan(&arriving)
		if err != nil {
			return wrap("look at pending search texts", err)
		}
		if arriving {
			return ports.SnoozeJob(w.quiet)
		}
		_, more, err := w.store.indexSearchChunk(ctx)
		if errors.Is(err, errSearchBusy) {
			return ports.SnoozeJob(w.quiet)
		}
		if err != nil {
			return err
		}
		if !more {
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
