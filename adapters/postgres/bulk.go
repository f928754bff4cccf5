package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

var _ ports.BulkStore = (*Store)(nil)

// stagingTable receives the updates of a batch by COPY. It is a temporary table dropped at
// commit, so each transaction has its own.
const stagingTable = "customers_staging"

// maxBatchAttempts bounds how often WriteBatch runs its transaction again
// when a concurrent writer wins a race the checks could not see (a unique
// value committed between the check and the write, a deadlock).
const maxBatchAttempts = 5

// NextNumbers takes n customer numbers from customer_number_seq in one
// round trip, in ascending order. Like NextNumber's, numbers not used are
// simply skipped.
func (s *Store) NextNumbers(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.db(ctx).Query(ctx, `SELECT nextval('customer_number_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: next %d customer numbers: %w", n, err)
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: next %d customer numbers: %w", n, err)
	}
	slices.Sort(nums)
	return nums, nil
}

// CustomersByNumber reads the customers with these numbers in one query;
// erased customers are left out.
func (s *Store) CustomersByNumber(ctx context.Context, numbers []int64) ([]*customer.Customer, error) {
	if len(numbers) == 0 {
		return nil, nil
	}
	cs, err := s.queryCustomers(ctx, "number = ANY($1) AND erased_at IS NULL", numbers)
	return cs, wrap("customers by number", err)
}

// CustomersByEmail reads the customers with these emails, ignoring case, in
// one query (on the unique index of lower(email)). The emails are lowered
// here: an index scan for the array as it is takes half the time of a
// join with a lowered copy of it. Stored emails are ASCII (ParseEmail), and
// lower() under their C collation lowers ASCII as strings.ToLower does.
func (s *Store) CustomersByEmail(ctx context.Context, emails []string) ([]*customer.Customer, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	lowered := make([]string, len(emails))
	for i, e := range emails {
		lowered[i] = strings.ToLower(e)
	}
	cs, err := s.queryCustomers(ctx, "lower(email) = ANY($1::text[])", lowered)
	return cs, wrap("customers by email", err)
}

func (s *Store) queryCustomers(ctx context.Context, where string, args ...any) ([]*customer.Customer, error) {
	rows, err := s.db(ctx).Query(ctx, "SELECT "+readColumns+" FROM customers WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*customer.Customer
	for rows.Next() {
		c, err := s.scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// batchWrite is one write of a batch, encoded once for every attempt.
type batchWrite struct {
	after, before customer.Data
	update        bool
	// tuple is the customer as a binary COPY tuple: into customers, or an
	// update's into the staging table (with its base version); events are
	// its events as the outbox keeps them (appendOutboxEvents), outbox
	// their count and earliest. Both point into a buffer
	// of encodeWrites.
	tuple, events []byte
	outbox        outboxRow
	// What the write claims that its stored state does not hold yet.
	newCards, goneCards []string
	newLinks, goneLinks []customer.ExternalLink
	ssnHashes           [][]byte // of a new or changed code, under every key
	newGroups           []string
	// newSearch: the search text is new or changed, so its copy must be
	// made (again) after the batch (queueSearch).
	newSearch bool
}

// errRollback ends a transaction that checked and must store nothing.
var errRollback = errors.New("roll back")

// WriteBatch stores a batch in one transaction, set-based: the customers
// to update are locked in id order and their versions compared with the
// writes'; every value that must be unique is checked against the stored
// customers (one query per kind, sent together as a pgx batch) and within
// the batch; then the updates are copied (COPY) into a temporary staging
// table and applied with one UPDATE ... FROM, the identifiers they give up
// are deleted with one statement per side table, and the new customers,
// cards, links and events are copied (COPY) straight into their tables
// (see storeBatch). A concurrent writer that commits a conflicting value
// between the checks and the write makes the transaction fail; it is then
// run again (the checks now see that value), at most maxBatchAttempts
// times, after which the batch fails with the conflict.
//
// The first attempt is optimistic: most batches break no rule, and the
// unique indexes see to every value the checks against the stored
// customers look for (emails, external and Netvisor ids, cards, links,
// numbers), so it skips those checks and writes at once; a value another
// customer holds then fails the write, and the batch runs again with the
// checks, which name the rows. After such a failure the next batches check
// first, until one finds nothing to reject (checkFirst).
func (s *Store) WriteBatch(ctx context.Context, b ports.Batch) ([]ports.BatchRejection, error) {
	if len(b.Writes) == 0 && (len(b.Groups) == 0 || b.DryRun) {
		return nil, nil
	}
	ws, release, err := s.encodeWrites(b.Writes)
	if err != nil {
		return nil, err
	}
	defer release()
	// A batch of connector drafts (Source) is always optimistic and leaves
	// checkFirst alone: it is a guess about imports, whose batches are
	// large, and a draft's conflict says nothing about the next import.
	drafts := slices.ContainsFunc(b.Writes, func(w ports.BatchWrite) bool { return w.Source != nil })
	optimistic := !b.DryRun && (drafts || !checkFirst.Load())
	for attempt := 1; ; attempt++ {
		var out []ports.BatchRejection
		err := pgx.BeginFunc(ctx, s.beginner(ctx), func(tx pgx.Tx) error {
			var err error
			out, err = s.writeBatch(ctx, tx, b, ws, optimistic)
			return err
		})
		switch {
		case err == nil || errors.Is(err, errRollback):
			if !optimistic && !drafts {
				checkFirst.Store(len(out) > 0)
			}
			return out, nil
		case optimistic && isUniqueViolation(err):
			optimistic = false
			if !drafts {
				checkFirst.Store(true)
			}
			continue
		case attempt < maxBatchAttempts && retryable(err):
			continue
		}
		return nil, wrap(fmt.Sprintf("write a batch of %d customers", len(b.Writes)), mapError(err))
	}
}

// checkFirst makes WriteBatch check before it writes, after a batch that
// broke a unique rule: one such batch is likely to be followed by others
// (a file imported again). It is one for the process: a guess about the
// work at hand, never a matter of what is stored.
var checkFirst atomic.Bool

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation
}

func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation, "40P01", "40001": // unique, deadlock, serialization
			return true
		}
	}
	return false
}

// encodeWrites encodes the writes of a batch (the COPY tuples of the
// customers and their events, the search text, the identity code's
// hashes): on every core for a large batch, since the database waits for
// them. Each part encodes into a buffer of its own; release gives the
// buffers back once the batch is written.
func (s *Store) encodeWrites(writes []ports.BatchWrite) (ws []batchWrite, release func(), err error) {
	ws = make([]batchWrite, len(writes))
	parts := max(1, min(runtime.GOMAXPROCS(0), len(writes)/encodeChunk))
	bufs := make([]*[]byte, parts)
	release = func() {
		for _, b := range bufs {
			putCopyBuf(b)
		}
	}
	errs := make([]error, parts)
	encode := func(p int) {
		lo, hi := p*len(writes)/parts, (p+1)*len(writes)/parts
		buf := getCopyBuf()
		bufs[p] = buf
		spans := make([][3]int, hi-lo)
		for i := lo; i < hi; i++ {
			if *buf, errs[p] = s.encodeWrite(&ws[i], i, writes[i], *buf, &spans[i-lo]); errs[p] != nil {
				return
			}
		}
		// The buffer has grown by now: point into where it ended up.
		for i, sp := range spans {
			ws[lo+i].tuple = (*buf)[sp[0]:sp[1]:sp[1]]
			ws[lo+i].events = (*buf)[sp[1]:sp[2]:sp[2]]
		}
	}
	if parts == 1 {
		encode(0)
	} else {
		var wg sync.WaitGroup
		for p := range parts {
			wg.Go(func() { encode(p) })
		}
		wg.Wait()
	}
	for _, err := range errs { // the first write's error, as one by one
		if err != nil {
			release()
			return nil, nil, err
		}
	}
	return ws, release, nil
}

// encodeChunk is the fewest writes worth a goroutine of encodeWrites.
const encodeChunk = 256

// encodeWrite encodes the i-th write of a batch into w, its tuples
// appended to buf; span gets where they start and end in buf (the
// customer's tuple, then its events').
func (s *Store) encodeWrite(w *batchWrite, i int, bw ports.BatchWrite, buf []byte, span *[3]int) ([]byte, error) {
	if bw.Customer == nil {
		return buf, fmt.Errorf("postgres: write batch: write %d has no customer", i)
	}
	w.after = bw.Customer.Data()
	var base int64
	if bw.Before != nil {
		w.update, w.before, base = true, bw.Before.Data(), bw.Before.Version()
		if w.before.ID != w.after.ID || w.before.Number != w.after.Number {
			return buf, fmt.Errorf("postgres: write batch: write %d changes the id or number of customer %s", i, w.before.ID)
		}
	}
	r, err := s.rowSource(&w.after)
	if err != nil {
		return buf, err
	}
	span[0] = len(buf)
	buf = appendCustomerTuple(buf, &r, w.update, base)
	span[1] = len(buf)
	buf = appendOutboxEvents(buf, bw.Events, &w.outbox)
	span[2] = len(buf)
	w.newCards, w.goneCards = newEntries(w.before.CustomerCards, w.after.CustomerCards), newEntries(w.after.CustomerCards, w.before.CustomerCards)
	w.newLinks, w.goneLinks = newEntries(w.before.ExternalSystems, w.after.ExternalSystems), newEntries(w.after.ExternalSystems, w.before.ExternalSystems)
	w.newGroups = newEntries(w.before.Groups, w.after.Groups)
	w.newSearch = !w.update || searchText(w.after) != searchText(w.before)
	if w.after.SSN != "" && w.after.SSN != w.before.SSN {
		w.ssnHashes = append([][]byte{r.ssnHash}, s.ssn.oldHashes(w.after.SSN)...)
	}
	return buf, nil
}

// writeBatch is one attempt, in tx; optimistic leaves out the checks that
// the unique indexes make anyway (see WriteBatch).
func (s *Store) writeBatch(ctx context.Context, tx pgx.Tx, b ports.Batch, ws []batchWrite, optimistic bool) ([]ports.BatchRejection, error) {
	rejected := map[int]ports.BatchRejection{}
	reject := func(i int, err error, earlier int) {
		if _, ok := rejected[i]; !ok {
			rejected[i] = ports.BatchRejection{Index: i, Err: err, Earlier: earlier}
		}
	}
	if !b.DryRun && len(b.Groups) > 0 {
		gs := slices.Clone(b.Groups)
		slices.SortFunc(gs, func(a, b customer.Group) int { return strings.Compare(a.ExternalID, b.ExternalID) })
		ids, names := make([]string, len(gs)), make([]string, len(gs))
		for i, g := range gs {
			ids[i], names[i] = g.ExternalID, g.Name
		}
		if _, err := tx.Exec(ctx, `INSERT INTO customer_groups (external_id, name)
			SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, ids, names); err != nil {
			return nil, err
		}
	}

	// Lock the customers to update, in id order, so that two batches
	// (or a batch and Update) wait for each other instead of deadlocking,
	// and compare their versions. A dry run only reads them.
	var ids []uuid.UUID
	for _, w := range ws {
		if w.update {
			ids = append(ids, w.after.ID)
		}
	}
	if len(ids) > 0 {
		lock := " FOR UPDATE"
		if b.DryRun {
			lock = ""
		}
		rows, err := tx.Query(ctx, `SELECT id, version FROM customers WHERE id = ANY($1) AND erased_at IS NULL ORDER BY id`+lock, pgUUIDs(ids))
		if err != nil {
			return nil, err
		}
		have := map[uuid.UUID]int64{}
		var (
			id uuid.UUID
			v  int64
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error { have[id] = v; return nil }); err != nil {
			return nil, err
		}
		for i, w := range ws {
			if w.update && have[w.after.ID] != w.before.Version {
				reject(i, &fault.Stale{Want: w.before.Version, Have: have[w.after.ID]}, -1)
			}
		}
		if err := checkSources(ctx, tx, b, ws, rejected, reject); err != nil {
			return nil, err
		}
	}

	// Within the batch: the first write to claim a value keeps it.
	claimedBy := make(map[customer.UniqueKey]int, 4*len(ws)) // id, number, email, external id …
	for i, w := range ws {
		if _, ok := rejected[i]; ok {
			continue
		}
		cs := customer.UniqueValues(w.after)
		for _, c := range cs {
			if j, ok := claimedBy[c.Key()]; ok {
				reject(i, &fault.Conflict{Field: c.Field, Message: "an earlier customer of the same batch has this " + c.What}, j)
				break
			}
		}
		if _, ok := rejected[i]; !ok {
			for _, c := range cs {
				claimedBy[c.Key()] = i
			}
		}
	}

	// Against the stored customers the batch does not change. Rejecting
	// an update keeps its customer's values as stored, so the check runs
	// again until no update is newly rejected.
	for {
		again, err := s.checkStored(ctx, tx, b, ws, rejected, reject, optimistic)
		if err != nil {
			return nil, err
		}
		if !again {
			break
		}
	}

	out := make([]ports.BatchRejection, 0, len(rejected))
	for i := range ws {
		if r, ok := rejected[i]; ok {
			out = append(out, r)
		}
	}
	if b.DryRun || (b.AllOrNothing && len(out) > 0) {
		return out, errRollback
	}
	if len(out) == len(ws) {
		return out, nil
	}
	return out, s.storeBatch(ctx, tx, ws, rejected, b)
}

// checkStored rejects the writes whose new values a stored customer holds,
// other than the customers the batch writes. It reports whether an update
// was rejected (so the check must run again). Optimistic, it checks only
// what no unique index sees: identity codes under earlier keys, and that
// the groups exist.
func (s *Store) checkStored(ctx context.Context, tx pgx.Tx, b ports.Batch, ws []batchWrite,
	rejected map[int]ports.BatchRejection, reject func(int, error, int), optimistic bool) (bool, error) {
	var (
		written                 []pgtype.UUID
		emailI, extI, nvI, ssnI []int32
		emails, exts, nvs       []string
		ssns                    [][]byte
		cardI, linkI, newI      []int32
		cards, linkIDs          []string
		linkSys                 []int32
		newIDs                  []pgtype.UUID
		newNums                 []int64
		groups                  []string
	)
	for i, w := range ws {
		if _, ok := rejected[i]; ok {
			continue
		}
		written = append(written, pgUUID(w.after.ID))
		i32 := int32(i)
		d := w.after
		if d.Email != "" && !strings.EqualFold(d.Email, w.before.Email) {
			emailI, emails = append(emailI, i32), append(emails, d.Email)
		}
		if d.ExternalID != "" && d.ExternalID != w.before.ExternalID {
			extI, exts = append(extI, i32), append(exts, d.ExternalID)
		}
		if d.NetvisorID != "" && d.NetvisorID != w.before.NetvisorID {
			nvI, nvs = append(nvI, i32), append(nvs, d.NetvisorID)
		}
		for _, h := range w.ssnHashes {
			ssnI, ssns = append(ssnI, i32), append(ssns, h)
		}
		for _, c := range w.newCards {
			cardI, cards = append(cardI, i32), append(cards, c)
		}
		for _, l := range w.newLinks {
			linkI, linkSys, linkIDs = append(linkI, i32), append(linkSys, int32(l.SystemID)), append(linkIDs, l.Identifier)
		}
		if !w.update {
			newI, newIDs, newNums = append(newI, i32), append(newIDs, pgUUID(d.ID)), append(newNums, d.Number)
		}
		for _, g := range w.newGroups {
			if !slices.Contains(groups, g) && !slices.Contains(b.Promised, g) {
				groups = append(groups, g)
			}
		}
	}
	if len(written) == 0 {
		return false, nil
	}
	type check struct {
		field string
		sql   string
		args  []any
	}
	checks := []check{
		{"email", `SELECT u.i FROM unnest($1::int[], $2::text[]) AS u(i, v)
			JOIN customers c ON lower(c.email) = lower(u.v) WHERE c.id <> ALL($3)`, []any{emailI, emails, written}},
		{"externalId", `SELECT u.i FROM unnest($1::int[], $2::text[]) AS u(i, v)
			JOIN customers c ON c.external_id = u.v WHERE c.id <> ALL($3)`, []any{extI, exts, written}},
		{"netvisorId", `SELECT u.i FROM unnest($1::int[], $2::text[]) AS u(i, v)
			JOIN customers c ON c.netvisor_id = u.v WHERE c.netvisor_id IS NOT NULL AND c.id <> ALL($3)`, []any{nvI, nvs, written}},
		{"ssn", `SELECT u.i FROM unnest($1::int[], $2::bytea[]) AS u(i, h)
			JOIN customers c ON c.ssn_hash = u.h WHERE c.ssn_hash IS NOT NULL AND c.id <> ALL($3)`, []any{ssnI, ssns, written}},
		{"customerCards", `SELECT u.i FROM unnest($1::int[], $2::text[]) AS u(i, v)
			JOIN customer_cards k ON k.card = u.v WHERE k.customer_id <> ALL($3)`, []any{cardI, cards, written}},
		{"externalSystems", `SELECT u.i FROM unnest($1::int[], $2::int[], $3::text[]) AS u(i, sys, v)
			JOIN customer_links l ON l.system_id = u.sys AND l.identifier = u.v WHERE l.customer_id <> ALL($4)`,
			[]any{linkI, linkSys, linkIDs, written}},
		{"number", `SELECT u.i FROM unnest($1::int[], $2::uuid[], $3::bigint[]) AS u(i, id, n)
			WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = u.id) OR EXISTS (SELECT 1 FROM customers c WHERE c.number = u.n)`,
			[]any{newI, newIDs, newNums}},
	}
	var batch pgx.Batch
	var sent []check
	for _, c := range checks {
		if optimistic && c.field != "ssn" {
			continue
		}
		if n := len(c.args[0].([]int32)); n > 0 {
			batch.Queue(c.sql, c.args...)
			sent = append(sent, c)
		}
	}
	if len(groups) > 0 {
		batch.Queue(`SELECT g FROM unnest($1::text[]) AS g
			WHERE NOT EXISTS (SELECT 1 FROM customer_groups WHERE external_id = g)`, groups)
	}
	if batch.Len() == 0 {
		return false, nil
	}
	br := tx.SendBatch(ctx, &batch)
	defer br.Close()
	again := false
	for _, c := range sent {
		rows, err := br.Query()
		if err != nil {
			return false, err
		}
		hits, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return false, err
		}
		for _, i := range hits {
			if _, ok := rejected[int(i)]; ok {
				continue
			}
			conflict := conflicts[constraintOf[c.field]]
			if c.field == "number" {
				conflict = fault.Conflict{Field: "number", Message: "another customer already has this customer number or id"}
			}
			reject(int(i), &conflict, -1)
			again = again || ws[i].update
		}
	}
	if len(groups) > 0 {
		rows, err := br.Query()
		if err != nil {
			return false, err
		}
		missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return false, err
		}
		for _, g := range missing {
			if b.DryRun && slices.ContainsFunc(b.Groups, func(x customer.Group) bool { return x.ExternalID == g }) {
				continue
			}
			for i, w := range ws {
				if _, ok := rejected[i]; !ok && slices.Contains(w.newGroups, g) {
					reject(i, fault.Invalid("groups", "group %q does not exist; create it first", g), -1)
					again = again || w.update
				}
			}
		}
	}
	return again, br.Close()
}

// constraintOf names the unique index guarding each field.
var constraintOf = map[string]string{
	"email":           "customers_email_key",
	"externalId":      "customers_external_id_key",
	"netvisorId":      "customers_netvisor_id_key",
	"ssn":             "customers_ssn_hash_key",
	"customerCards":   "customer_cards_pkey",
	"externalSystems": "customer_links_pkey",
}

// storeBatch writes the writes not rejected. The checks have run, so the
// new rows go in by COPY straight into their tables (customers, cards,
// links, the outbox), in key order; a unique value that a concurrent
// writer committed since the checks fails the COPY, and the transaction
// runs again. Updates go through a staging table (COPY, then one UPDATE
// ... FROM) before the new rows, so that values they give up are free.
// The copies of the search text are deferred (queueSearch).
func (s *Store) storeBatch(ctx context.Context, tx pgx.Tx, ws []batchWrite, rejected map[int]ports.BatchRejection, b ports.Batch) error {
	type (
		card struct {
			card  string
			owner uuid.UUID
		}
		link struct {
			customer.ExternalLink
			owner uuid.UUID
		}
	)
	var (
		creates     []*batchWrite
		updates     [][]byte
		events      []byte // the outbox row's (insertOutboxRow)
		outbox      outboxRow
		cards       []card
		links       []link
		goneCardOwn []pgtype.UUID
		goneCards   []string
		goneLinkOwn []pgtype.UUID
		goneLinks   []customer.ExternalLink
		searchNew   []int64 // the new customers' numbers
		searchStale []pgtype.UUID
	)
	size := 2 // the outbox row's brackets
	for i := range ws {
		size += len(ws[i].events) + 1
	}
	events = make([]byte, 0, size)
	for i := range ws {
		if _, ok := rejected[i]; ok {
			continue
		}
		w := &ws[i]
		if w.update {
			updates = append(updates, w.tuple)
		} else {
			creates = append(creates, w)
		}
		switch {
		case !w.newSearch:
		case w.update:
			searchStale = append(searchStale, pgUUID(w.after.ID))
		default:
			searchNew = append(searchNew, w.after.Number)
		}
		for _, c := range w.newCards {
			cards = append(cards, card{c, w.after.ID})
		}
		for _, c := range w.goneCards {
			goneCardOwn, goneCards = append(goneCardOwn, pgUUID(w.after.ID)), append(goneCards, c)
		}
		for _, l := range w.newLinks {
			links = append(links, link{l, w.after.ID})
		}
		for _, l := range w.goneLinks {
			goneLinkOwn, goneLinks = append(goneLinkOwn, pgUUID(w.after.ID)), append(goneLinks, l)
		}
		if w.outbox.count > 0 {
			sep := byte(',')
			if outbox.count == 0 {
				sep = '['
			}
			events = append(events, sep)
			events = append(events, w.events...)
			outbox.merge(w.outbox)
		}
	}
	if _, err := tx.Exec(ctx, deferSearchSQL); err != nil {
		return err
	}
	if len(updates) > 0 {
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE `+stagingTable+
			` (LIKE customers INCLUDING DEFAULTS, base_version bigint NOT NULL) ON COMMIT DROP`); err != nil {
			return err
		}
		if err := copyBinary(ctx, tx, copyStagingSQL, updates); err != nil {
			return err
		}
		// Values that move between customers of the batch (two customers
		// swapping emails) would break a unique index for a moment within
		// one UPDATE: first clear each changed unique value.
		if _, err := tx.Exec(ctx, clearMovedSQL); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, updateStagedSQL)
		if err != nil {
			return err
		}
		if int(tag.RowsAffected()) != len(updates) {
			// Cannot happen under the row locks; refuse rather than lose a write.
			return fmt.Errorf("%d of %d customers changed under their row locks", len(updates)-int(tag.RowsAffected()), len(updates))
		}
	}
	if len(goneCards) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM customer_cards k USING unnest($1::uuid[], $2::text[]) AS g(owner, card)
			WHERE k.customer_id = g.owner AND k.card = g.card`, goneCardOwn, goneCards); err != nil {
			return err
		}
	}
	if len(goneLinks) > 0 {
		sys, ids := splitLinks(goneLinks)
		if _, err := tx.Exec(ctx, `DELETE FROM customer_links l USING unnest($1::uuid[], $2::int[], $3::text[]) AS g(owner, system_id, identifier)
			WHERE l.customer_id = g.owner AND l.system_id = g.system_id AND l.identifier = g.identifier`, goneLinkOwn, sys, ids); err != nil {
			return err
		}
	}
	// In number order, as customers created one by one would be, so the
	// indexes on number and id are appended to in order. Identifiers in
	// sorted order (as in syncIdentifiers), so that two writers claiming
	// the same ones wait for each other instead of deadlocking.
	slices.SortFunc(creates, func(a, b *batchWrite) int { return cmp.Compare(a.after.Number, b.after.Number) })
	slices.SortFunc(cards, func(a, b card) int { return strings.Compare(a.card, b.card) })
	slices.SortFunc(links, func(a, b link) int {
		return cmp.Or(cmp.Compare(a.SystemID, b.SystemID), strings.Compare(a.Identifier, b.Identifier))
	})
	createTuples := make([][]byte, len(creates))
	for i, w := range creates {
		createTuples[i] = w.tuple
	}
	// The cards and links are few and small: one buffer each.
	var cardTuples, linkTuples []byte
	for _, c := range cards {
		cardTuples = appendCardTuple(cardTuples, c.card, c.owner)
	}
	for _, l := range links {
		linkTuples = appendLinkTuple(linkTuples, int32(l.SystemID), l.Identifier, l.owner)
	}
	for _, c := range []struct {
		sql    string
		tuples [][]byte
	}{
		{copyCustomersSQL, createTuples},
		{copyCardsSQL, [][]byte{cardTuples}},
		{copyLinksSQL, [][]byte{linkTuples}},
	} {
		if len(c.tuples) == 0 || len(c.tuples[0]) == 0 { // nothing to copy
			continue
		}
		if err := copyBinary(ctx, tx, c.sql, c.tuples); err != nil {
			return err
		}
	}
	if err := insertOutboxRow(ctx, tx, append(events, ']'), outbox); err != nil {
		return err
	}
	// In id order, as the other identifiers, so that two writers listing
	// the same customers wait for each other instead of deadlocking.
	slices.SortFunc(searchStale, func(a, b pgtype.UUID) int { return bytes.Compare(a.Bytes[:], b.Bytes[:]) })
	if err := queueSearch(ctx, tx, searchNew, searchStale); err != nil {
		return err
	}
	if err := recordSources(ctx, tx, b.Writes, rejected); err != nil {
		return err
	}
	// The writes' jobs (the pushes they cause), last: bulk_jobs.go.
	return insertBatchJobs(ctx, tx, b.Writes, rejected)
}

// checkSources rejects, under the row locks just taken, the updates of
// connector drafts (BatchWrite.Source) whose link on their customer now
// has a later source time than the draft's, or an echo kept: a newer
// draft or a push's echo was recorded since the draft was decided on,
// which changes no version. One query for the batch; none without
// drafts.
func checkSources(ctx context.Context, tx pgx.Tx, b ports.Batch, ws []batchWrite,
	rejected map[int]ports.BatchRejection, reject func(int, error, int)) error {
	var (
		idx   []int32
		sys   []int32
		links []string
		owner []pgtype.UUID
		at    []*time.Time
	)
	for i, w := range ws {
		st := b.Writes[i].Source
		if _, ok := rejected[i]; ok || st == nil || !w.update {
			continue
		}
		var t *time.Time
		if !st.At.IsZero() {
			u := st.At.UTC()
			t = &u
		}
		idx, sys, links = append(idx, int32(i)), append(sys, int32(st.Link.SystemID)), append(links, st.Link.Identifier)
		owner, at = append(owner, pgUUID(w.after.ID)), append(at, t)
	}
	if len(idx) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT u.i FROM unnest($1::int[], $2::int[], $3::text[], $4::uuid[], $5::timestamptz[]) AS u(i, sys, v, owner, at)
		JOIN customer_links l ON l.system_id = u.sys AND l.identifier = u.v AND l.customer_id = u.owner
		WHERE l.echo_fingerprint IS NOT NULL OR (u.at IS NOT NULL AND l.source_updated_at > u.at)`, idx, sys, links, owner, at)
	if err != nil {
		return err
	}
	hits, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return err
	}
	for _, i := range hits {
		v := ws[i].before.Version
		reject(int(i), &fault.Stale{Want: v, Have: v}, -1)
	}
	return nil
}

// recordSources records the source times of the stored writes of
// connector drafts (BatchWrite.Source), in one statement, as recordSource
// does for one: only for a link the customer holds, never moving back.
func recordSources(ctx context.Context, tx pgx.Tx, writes []ports.BatchWrite, rejected map[int]ports.BatchRejection) error {
	var (
		sys   []int32
		links []string
		owner []pgtype.UUID
		at    []time.Time
	)
	for i, w := range writes {
		if _, ok := rejected[i]; ok || w.Source == nil || w.Source.At.IsZero() {
			continue
		}
		sys, links = append(sys, int32(w.Source.Link.SystemID)), append(links, w.Source.Link.Identifier)
		owner, at = append(owner, pgUUID(w.Customer.ID())), append(at, w.Source.At.UTC())
	}
	if len(sys) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE customer_links l SET source_updated_at = u.at
		FROM unnest($1::int[], $2::text[], $3::uuid[], $4::timestamptz[]) AS u(sys, v, owner, at)
		WHERE l.system_id = u.sys AND l.identifier = u.v AND l.customer_id = u.owner
		AND (l.source_updated_at IS NULL OR l.source_updated_at < u.at)`, sys, links, owner, at)
	return err
}

var (
	// clearMovedSQL empties, on the stored rows to update, each unique
	// value that the update changes.
	clearMovedSQL = `UPDATE customers c SET
		email = CASE WHEN lower(c.email) IS DISTINCT FROM lower(s.email) THEN NULL ELSE c.email END,
		external_id = CASE WHEN c.external_id IS DISTINCT FROM s.external_id THEN NULL ELSE c.external_id END,
		netvisor_id = CASE WHEN c.netvisor_id IS DISTINCT FROM s.netvisor_id THEN NULL ELSE c.netvisor_id END,
		ssn_enc = CASE WHEN c.ssn_hash IS DISTINCT FROM s.ssn_hash THEN NULL ELSE c.ssn_enc END,
		ssn_hash = CASE WHEN c.ssn_hash IS DISTINCT FROM s.ssn_hash THEN NULL ELSE c.ssn_hash END
		FROM ` + stagingTable + ` s
		WHERE c.id = s.id AND s.base_version > 0 AND (lower(c.email) IS DISTINCT FROM lower(s.email)
			OR c.external_id IS DISTINCT FROM s.external_id OR c.netvisor_id IS DISTINCT FROM s.netvisor_id
			OR c.ssn_hash IS DISTINCT FROM s.ssn_hash)`
	updateStagedSQL = func() string {
		set := make([]string, 0, len(writeColumns)-1)
		for _, c := range writeColumns[1:] {
			set = append(set, c+" = s."+c)
		}
		return "UPDATE customers c SET " + strings.Join(set, ", ") + " FROM " + stagingTable +
			" s WHERE c.id = s.id AND s.base_version > 0 AND c.version = s.base_version"
	}()
)

// pgUUID is u as pgx encodes it directly: a uuid.UUID is a driver.Valuer,
// which pgx encodes through its text form (Value, then parsing it back),
// a sixth of the import's CPU time with every id of a batch in the COPYs
// and the check queries' arrays.
func pgUUID(u uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: u, Valid: true} }

func pgUUIDs(us []uuid.UUID) []pgtype.UUID {
	out := make([]pgtype.UUID, len(us))
	for i, u := range us {
		out[i] = pgUUID(u)
	}
	return out
}
