package register

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// BatchRow is one row of an import: a patch and how to find its customer.
type BatchRow struct {
	// Row is the row's number as its door shows it (the spreadsheet's row
	// number), used in messages about other rows; 0 means the row's index
	// in the batch plus one.
	Row int
	// Number, when not 0, matches the customer with that number; no such
	// customer is a row error.
	Number int64
	// Email is the row's email address. It matches the customer (ignoring
	// case) when Number is 0, and no customer with it means a new
	// customer. Two rows of a batch may not have the same email, nor the
	// same number. It is only a key: what the customer's email becomes is
	// the patch's business.
	Email string
	Patch customer.Patch
}

// BatchOptions say how a batch is run.
type BatchOptions struct {
	// ImportID names the import: consent events carry it as their import
	// id and request id.
	ImportID string
	// DryRun checks every row as for writing (the core's rules,
	// uniqueness against the store and within the batch) and writes
	// nothing.
	DryRun bool
	// Atomic writes every row or none: any rejected row rejects the batch.
	Atomic bool
	// CreateGroups creates the groups the rows add customers to that do
	// not exist yet, named after their ids (the spreadsheet's rule). Without
	// it such a row is rejected, as an API change is.
	CreateGroups bool
	// PromisedGroups are groups that an earlier batch of the same run
	// creates (PreparedBatch.CreatesGroups) and that are to exist when
	// this one commits: the caller commits the batches in order and
	// abandons the later ones when an earlier one fails. The batch counts
	// them as existing, so it neither creates them nor waits for the one
	// that does (nor shares a footprint with it for them).
	PromisedGroups []string
	// FileKeys, when set, holds the keys of the rows of the whole file the
	// batch is part of, so that the second of two rows with the same
	// number or email is rejected also when the two are in different
	// batches (excel.md: the same email or number twice in one file is a
	// row error on the second row). Within a batch the batch checks it
	// itself. The rows' Row numbers must be the file's.
	FileKeys FileKeys
}

// FileKeys remembers the keys of a file's rows across its batches
// (NumberKey, EmailKey). It is asked in the file's order, and again for a
// row whose batch is prepared again; it may be asked from several
// goroutines.
type FileKeys interface {
	// Earlier returns the number of an earlier row of the file that has
	// key, or 0 when row is the first with it (which it then remembers).
	// Asked again for the same row, it answers 0.
	Earlier(key string, row int) int
}

// NumberKey is the key FileKeys gets for a row's customer number.
func NumberKey(n int64) string { return numberPrefix + strconv.FormatInt(n, 10) }

// The prefixes of the keys FileKeys gets for a customer number and an email
// (NumberKey, EmailKey).
const (
	numberPrefix = "number:"
	emailPrefix  = "email:"
)

// EmailKey is the key FileKeys gets for a row's email, as ImportBatch
// compares them (ignoring case); false when email is not one.
func EmailKey(email string) (string, bool) {
	e, err := customer.ParseEmail(email)
	if err != nil || e == "" {
		return "", false
	}
	return emailKey(customer.UniqueEmail(e)), true
}

func emailKey(lower string) string { return emailPrefix + lower }

// Outcome is what became of a row.
type Outcome string

const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Rejected  Outcome = "rejected"
)

// RowResult is the result of one row.
type RowResult struct {
	Outcome Outcome
	// Customer is the customer after the row (as it would be, when
	// nothing was committed); nil when the row is rejected. A new
	// customer of a batch that was not committed has number 0.
	Customer *customer.Customer
	// Events are the consent events of the row (stored when the batch
	// was committed).
	Events []consent.Event
	// Err says why a rejected row was rejected: a *fault.Validation or
	// *fault.Conflict naming the field, or a *fault.Stale when its
	// customer kept changing during the import.
	Err error
}

// BatchResult is the result of ImportBatch.
type BatchResult struct {
	// Rows holds one result per row, in the order of the rows.
	Rows []RowResult
	// Committed tells whether the rows that are not rejected were written:
	// false for a dry run and for an atomic batch with a rejected row.
	Committed bool
	// touched are the keys (customerKeys) of the customers the batch
	// wrote, as they were and as they became, when Committed.
	touched Footprint
}

// maxBatchRounds bounds how often a row whose customer changed during the
// write is matched and applied again.
const maxBatchRounds = 3

// ImportBatch runs many rows through the core and writes them in whole
// batches. Each row is matched to its customer (by number, else by email,
// ignoring case), applied with customer.Apply (or made with customer.New)
// exactly as the same change through the API would be, and yields its
// consent events with source import. Rows that change nothing write
// nothing. The store then writes the batch in one transaction; what it
// rejects (a value another customer or an earlier row holds) becomes that
// row's error.
//
// Concurrency: the store writes a changed customer only while it is still
// at the version the row was applied to. A row whose customer changed
// meanwhile (another import, an API call) is matched and applied again on
// the new state, as if it had come after that change, up to maxBatchRounds
// times; so is a new customer whose email a concurrent writer took
// meanwhile, which now updates that customer. In an atomic batch nothing
// has been written then, and the whole batch runs again.
//
// The error is for the batch as a whole (the store failed, the caller is
// not valid); then nothing is known to be written.
//
// ImportBatch is PrepareBatch, then Write.
func (s *Service) ImportBatch(ctx context.Context, rows []BatchRow, opts BatchOptions, c Caller) (BatchResult, error) {
	p, err := s.PrepareBatch(ctx, rows, opts, c)
	if err != nil {
		return BatchResult{}, err
	}
	return p.Write(ctx)
}

// PreparedBatch is a batch of rows matched to their customers and run
// through the core, not written yet: PrepareBatch, then Write.
type PreparedBatch struct {
	b       *batchRun
	ch      customer.Change
	pending []int      // the rows to write
	first   *batchStep // their first round, planned and numbered
	written bool
	names   Footprint // the keys its rows name customers by (Overlaps), once asked
}

// batchStep is one round of a batch, ready for the store.
type batchStep struct {
	w     work
	batch ports.Batch
	last  bool // no round after this one
}

// PrepareBatch does ImportBatch's work up to the write: it checks the rows'
// keys, matches them to the stored customers, applies them through the
// core and, unless the batch is a dry run, takes the new customers'
// numbers (numbers not used are skipped). It writes nothing else, so it
// may run while an earlier batch is being written (on another goroutine,
// outside that batch's session): an import prepares a batch while the one
// before it is written, so that the core's work and the store's overlap.
// What it matched is as of when it ran; Write treats a customer changed
// since (by the batch before, or anyone) as ImportBatch treats a
// concurrent change: its row is matched and applied again.
func (s *Service) PrepareBatch(ctx context.Context, rows []BatchRow, opts BatchOptions, c Caller) (*PreparedBatch, error) {
	bulk, ok := s.store.(ports.BulkStore)
	if !ok {
		return nil, errors.New("register: the customer store has no bulk path (ports.BulkStore)")
	}
	if _, err := customer.ParseText(opts.ImportID, MaxEvidenceLen); err != nil {
		return nil, fault.Invalid("importId", "%s", err)
	}
	c.Origin.Source = consent.SourceImport
	if opts.ImportID != "" {
		c.Origin.ImportID, c.Origin.RequestID = opts.ImportID, opts.ImportID
	}
	if err := checkOrigin(c.Origin); err != nil {
		return nil, err
	}
	b := &batchRun{s: s, bulk: bulk, rows: rows, opts: opts, c: c,
		res: make([]RowResult, len(rows)), keys: make([]string, len(rows)), matched: map[uuid.UUID]int{},
		beforeKeys: make([][2]uint64, len(rows))}
	pending := b.checkKeys()
	groups, err := s.store.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	b.groups = map[string]bool{}
	for _, g := range groups {
		b.groups[g.ExternalID] = true
	}
	for _, g := range opts.PromisedGroups {
		if !b.groups[g] {
			b.groups[g] = true
			b.promised = append(b.promised, g)
		}
	}
	p := &PreparedBatch{b: b, ch: s.change(c), pending: pending}
	if len(pending) > 0 {
		step, err := b.prepare(ctx, pending, p.ch, 1)
		if err != nil {
			return nil, err
		}
		p.first = &step
	}
	return p, nil
}

// prepare plans round n of the rows pending and numbers its new customers.
func (b *batchRun) prepare(ctx context.Context, pending []int, ch customer.Change, n int) (batchStep, error) {
	w, err := b.plan(ctx, pending, ch)
	if err != nil {
		return batchStep{}, err
	}
	step := batchStep{w: w, last: n == maxBatchRounds,
		batch: ports.Batch{Writes: w.writes, Groups: w.newGroups, Promised: b.promised, AllOrNothing: b.opts.Atomic, DryRun: b.opts.DryRun}}
	if b.opts.Atomic && b.anyRejected() {
		// Nothing will be written: check the rest against the store
		// too, so that every row error is reported at once.
		step.batch.DryRun, step.last = true, true
	}
	if !step.batch.DryRun {
		if err := b.number(ctx, step.w); err != nil {
			return batchStep{}, err
		}
	}
	return step, nil
}

// Write writes the prepared batch (see ImportBatch) and gives each row's
// result. A prepared batch is written once.
func (p *PreparedBatch) Write(ctx context.Context) (BatchResult, error) {
	if p.written {
		return BatchResult{}, errors.New("register: a prepared batch is written once")
	}
	p.written = true
	b, pending := p.b, p.pending
	committed := !b.opts.DryRun
	for round := 1; len(pending) > 0; round++ {
		step := *p.first
		if round > 1 {
			var err error
			if step, err = b.prepare(ctx, pending, p.ch, round); err != nil {
				return BatchResult{}, err
			}
		}
		w, batch, last := step.w, step.batch, step.last
		rej, err := b.bulk.WriteBatch(ctx, batch)
		if err != nil {
			return BatchResult{}, err
		}
		var again []int
		later := map[int]error{} // why the rows of again were refused
		for _, r := range rej {
			i := w.rowOf[r.Index]
			if !last && b.retryable(i, r) {
				again = append(again, i)
				later[i] = r.Err
				continue
			}
			b.reject(i, b.rowError(r, w.rowOf))
		}
		if batch.DryRun {
			// What would have been created has no number yet.
			for k, i := range w.rowOf {
				if b.res[i].Outcome == Created {
					wr := &w.writes[k]
					wr.Customer, wr.Events = customer.Numbered(wr.Customer, wr.Events, customer.Unnumbered)
					b.res[i].Customer = wr.Customer
				}
			}
		}
		if b.opts.Atomic {
			if len(again) > 0 && !b.anyRejected() {
				pending = slices.Clone(pending) // nothing was written: run the whole batch again
				b.forget(pending)
				continue
			}
			for _, i := range again {
				b.reject(i, later[i])
			}
			committed = committed && !batch.DryRun && !b.anyRejected()
			break
		}
		b.forget(again)
		pending = again
	}
	res := BatchResult{Rows: b.res, Committed: committed}
	if committed {
		var keys []uint64
		for i, r := range b.res {
			if r.Outcome == Created || r.Outcome == Updated {
				after := customerKeys(r.Customer)
				for _, k := range [...]uint64{b.beforeKeys[i][0], b.beforeKeys[i][1], after[0], after[1]} {
					if k != 0 {
						keys = append(keys, k)
					}
				}
			}
		}
		res.touched = footprintOf(keys)
	}
	return res, nil
}

// Trimmed is the result without its rows' customers: what Overlaps needs
// of it, to keep for a while without keeping the batch.
func (r BatchResult) Trimmed() BatchResult {
	return BatchResult{Committed: r.Committed, touched: r.touched}
}

// Overlaps tells whether an earlier batch, written after this one was
// prepared, wrote a customer that a row of this batch names: its number,
// or its email as it was or became. Such a row may match another customer
// now, or apply differently (a row the core refused for a new customer may
// fit the customer the earlier batch created), so the batch is to be
// prepared again (ImportBatch) rather than written as prepared. Rows that
// changed a customer are safe either way (the store sees the change and
// the row is applied again); this is for the others.
func (p *PreparedBatch) Overlaps(earlier BatchResult) bool {
	if len(earlier.touched) == 0 {
		return false
	}
	if p.names == nil {
		p.names = footprintOf(p.b.rowNames(make([]uint64, 0, 2*len(p.b.rows))))
	}
	return p.names.Shares(earlier.touched)
}

// rowNames appends the keys the rows name customers by: their numbers and
// emails (Overlaps, Footprint).
func (b *batchRun) rowNames(keys []uint64) []uint64 {
	for i, r := range b.rows {
		if r.Number > 0 {
			keys = append(keys, numberKey(r.Number))
		}
		if b.keys[i] != "" {
			keys = append(keys, emailKeyOf(b.keys[i]))
		}
	}
	return keys
}

// Footprint is what the batch, written as prepared, names and writes: the
// keys its rows name customers by (their numbers and emails), and for each
// customer it is to write, its id, its keys as it was and is to become, and
// every unique value it is to hold (external id, Netvisor id, identity
// code, cards, links), with the groups it is to create. Two prepared
// batches whose footprints share nothing touch no row, key or value of
// each other's, so they may be written at once, each in its own
// transaction, and end as if written one after the other; otherwise the
// later one waits and is prepared again (ImportBatch) once the earlier is
// committed.
func (p *PreparedBatch) Footprint() Footprint {
	b := p.b
	keys := b.rowNames(make([]uint64, 0, 8*len(b.rows)))
	for _, before := range b.beforeKeys {
		for _, k := range before {
			if k != 0 {
				keys = append(keys, k)
			}
		}
	}
	if p.first != nil {
		for _, w := range p.first.w.writes {
			if w.Before != nil {
				keys = append(keys, idKey(w.Before.ID()))
			}
			heldKeys(w.Customer, func(_ footKind, k uint64) { keys = append(keys, k) })
		}
		for _, g := range p.first.w.newGroups {
			keys = append(keys, footKey(footGroup, g.ExternalID))
		}
	}
	return footprintOf(keys)
}

// CreatesGroups lists the ids of the groups the batch is to create, as
// prepared (BatchOptions.PromisedGroups of the batches after it).
func (p *PreparedBatch) CreatesGroups() []string {
	if p.first == nil {
		return nil
	}
	ids := make([]string, len(p.first.w.newGroups))
	for i, g := range p.first.w.newGroups {
		ids[i] = g.ExternalID
	}
	return ids
}

// batchRun is the state of one ImportBatch.
type batchRun struct {
	s    *Service
	bulk ports.BulkStore
	rows []BatchRow
	opts BatchOptions
	c    Caller
	res  []RowResult
	// keys are the rows' emails as matched (lower case), "" for none.
	keys []string
	// matched tells which row took each customer.
	matched map[uuid.UUID]int
	groups  map[string]bool
	// promised are the groups of BatchOptions.PromisedGroups that do not
	// exist yet.
	promised []string
	// beforeKeys are the keys of the stored customer each row matched
	// (customerKeys).
	beforeKeys [][2]uint64
}

// work is one round's writes.
type work struct {
	writes    []ports.BatchWrite
	rowOf     []int // the row of each write
	newGroups []customer.Group
}

func (b *batchRun) rowNumber(i int) int {
	if b.rows[i].Row != 0 {
		return b.rows[i].Row
	}
	return i + 1
}

func (b *batchRun) reject(i int, err error) {
	b.res[i] = RowResult{Outcome: Rejected, Err: err}
}

func (b *batchRun) anyRejected() bool {
	return slices.ContainsFunc(b.res, func(r RowResult) bool { return r.Outcome == Rejected })
}

// forget clears what rows to be run again took in an earlier round.
func (b *batchRun) forget(rows []int) {
	again := make(map[int]bool, len(rows))
	for _, i := range rows {
		b.res[i] = RowResult{}
		again[i] = true
	}
	for id, j := range b.matched {
		if again[j] {
			delete(b.matched, id)
		}
	}
}

// checkKeys checks every row's number and email and refuses the second of
// two rows with the same one. It returns the rows that may go on.
func (b *batchRun) checkKeys() []int {
	byNumber := map[int64]int{}
	byEmail := map[string]int{}
	var pending []int
	for i, r := range b.rows {
		v := &fault.Validation{}
		if r.Number < 0 {
			v.Add("number", "must be a positive customer number")
		} else if j, ok := byNumber[r.Number]; ok && r.Number > 0 {
			v.Add("number", "customer number %d is also in row %d", r.Number, b.rowNumber(j))
		} else if r.Number > 0 {
			byNumber[r.Number] = i
			if j := b.earlierInFile(NumberKey(r.Number), i); j > 0 {
				v.Add("number", "customer number %d is also in row %d", r.Number, j)
			}
		}
		if strings.TrimSpace(r.Email) != "" {
			e, err := customer.ParseEmail(r.Email)
			if err != nil {
				v.AddErr("email", err)
			} else if key := strings.ToLower(e); byEmail[key] != 0 {
				v.Add("email", "the same email address is also in row %d", b.rowNumber(byEmail[key]-1))
			} else {
				byEmail[key] = i + 1
				b.keys[i] = key
				if j := b.earlierInFile(emailKey(key), i); j > 0 {
					v.Add("email", "the same email address is also in row %d", j)
				}
			}
		} else if r.Number == 0 {
			v.Add("email", "is required to match a row that has no customer number")
		}
		if err := v.Err(); err != nil {
			b.reject(i, err)
			continue
		}
		pending = append(pending, i)
	}
	return pending
}

// earlierInFile is the earlier row of the file with row i's key (FileKeys),
// 0 when there is none or no FileKeys.
func (b *batchRun) earlierInFile(key string, i int) int {
	if b.opts.FileKeys == nil {
		return 0
	}
	return b.opts.FileKeys.Earlier(key, b.rowNumber(i))
}

// plan matches the rows to their customers and runs their patches through
// the core. Rows the core refuses are rejected here; rows that change
// nothing are unchanged.
func (b *batchRun) plan(ctx context.Context, rows []int, ch customer.Change) (work, error) {
	var numbers []int64
	var emails []string
	for _, i := range rows {
		if n := b.rows[i].Number; n > 0 {
			numbers = append(numbers, n)
		} else {
			emails = append(emails, b.keys[i])
		}
	}
	byNumber := map[int64]*customer.Customer{}
	byEmail := map[string]*customer.Customer{}
	if len(numbers) > 0 {
		cs, err := b.bulk.CustomersByNumber(ctx, numbers)
		if err != nil {
			return work{}, err
		}
		for _, cu := range cs {
			byNumber[cu.Number()] = cu
		}
	}
	if len(emails) > 0 {
		cs, err := b.bulk.CustomersByEmail(ctx, emails)
		if err != nil {
			return work{}, err
		}
		for _, cu := range cs {
			byEmail[strings.ToLower(cu.Data().Email)] = cu
		}
	}

	var w work
	for _, i := range rows {
		r := b.rows[i]
		var before *customer.Customer
		field := "email"
		if r.Number > 0 {
			field = "number"
			before = byNumber[r.Number]
			if before == nil || (before.Restricted() && !b.c.SeeRestricted) {
				b.reject(i, fault.Invalid("number", "no customer has the number %d", r.Number))
				continue
			}
		} else if before = byEmail[b.keys[i]]; before != nil && before.Restricted() && !b.c.SeeRestricted {
			// For this caller the customer does not exist; a new one
			// would break the email's uniqueness, as through the API.
			b.reject(i, &fault.Conflict{Field: "email", Message: "another customer already has this email address"})
			continue
		}
		if before != nil {
			if j, ok := b.matched[before.ID()]; ok {
				b.reject(i, fault.Invalid(field, "matches customer %d, which row %d also changes", before.Number(), b.rowNumber(j)))
				continue
			}
			b.matched[before.ID()] = i
			b.beforeKeys[i] = customerKeys(before)
			bd := before.Data()
			after, err := customer.FromStorage(bd)
			if err != nil {
				return work{}, err
			}
			events, err := after.Apply(r.Patch, ch)
			if err != nil {
				b.reject(i, err)
				continue
			}
			if after.Version() == before.Version() {
				b.res[i] = RowResult{Outcome: Unchanged, Customer: before}
				continue
			}
			if !b.addGroups(&w, i, before, after) {
				continue
			}
			b.res[i] = RowResult{Outcome: Updated, Customer: after, Events: events}
			w.writes = append(w.writes, ports.BatchWrite{Customer: after, Before: before, Events: events, Jobs: b.s.pushJobs(after, b.c.Origin)})
			w.rowOf = append(w.rowOf, i)
			continue
		}
		// A placeholder number, unique in the batch, until the row is
		// known to be written.
		cu, events, err := customer.New(b.s.ids.New(), -int64(i)-1, r.Patch, ch)
		if err != nil {
			b.reject(i, err)
			continue
		}
		if !b.addGroups(&w, i, nil, cu) {
			continue
		}
		b.res[i] = RowResult{Outcome: Created, Customer: cu, Events: events}
		w.writes = append(w.writes, ports.BatchWrite{Customer: cu, Events: events, Jobs: b.s.pushJobs(cu, b.c.Origin)})
		w.rowOf = append(w.rowOf, i)
	}
	return w, nil
}

// addGroups deals with the groups that after adds and that do not exist:
// they are created with the batch, or the row is rejected.
func (b *batchRun) addGroups(w *work, i int, before, after *customer.Customer) bool {
	var had []string
	if before != nil {
		had = before.Groups()
	}
	v := &fault.Validation{}
	for k, g := range after.Groups() {
		if b.groups[g] || slices.Contains(had, g) {
			continue
		}
		if !b.opts.CreateGroups {
			v.Add(fmt.Sprintf("groups[%d]", k), "group %q does not exist; create it first", g)
			continue
		}
		if !slices.ContainsFunc(w.newGroups, func(x customer.Group) bool { return x.ExternalID == g }) {
			w.newGroups = append(w.newGroups, customer.Group{ExternalID: g, Name: g})
		}
	}
	if err := v.Err(); err != nil {
		b.reject(i, err)
		return false
	}
	return true
}

// number gives the new customers of w their numbers from the store, all in
// one call.
func (b *batchRun) number(ctx context.Context, w work) error {
	var creates []int
	for k, wr := range w.writes {
		if wr.Before == nil {
			creates = append(creates, k)
		}
	}
	if len(creates) == 0 {
		return nil
	}
	nums, err := b.bulk.NextNumbers(ctx, len(creates))
	if err != nil {
		return err
	}
	if len(nums) != len(creates) {
		return fmt.Errorf("register: the store gave %d customer numbers, not %d", len(nums), len(creates))
	}
	for n, k := range creates {
		wr := &w.writes[k]
		wr.Customer, wr.Events = customer.Numbered(wr.Customer, wr.Events, nums[n])
		i := w.rowOf[k]
		b.res[i].Customer, b.res[i].Events = w.writes[k].Customer, w.writes[k].Events
	}
	return nil
}

// retryable tells a rejection that a concurrent change caused: the
// customer changed since it was read, or the email of a new customer was
// taken meanwhile (the row now matches that customer).
func (b *batchRun) retryable(i int, r ports.BatchRejection) bool {
	if fault.IsStale(r.Err) {
		return true
	}
	var c *fault.Conflict
	return b.rows[i].Number == 0 && b.res[i].Outcome == Created && r.Earlier < 0 &&
		errors.As(r.Err, &c) && c.Field == "email"
}

// rowError is the row's error for a store's rejection; a conflict with an
// earlier write of the batch names that write's row.
func (b *batchRun) rowError(r ports.BatchRejection, rowOf []int) error {
	var c *fault.Conflict
	if r.Earlier >= 0 && r.Earlier < len(rowOf) && errors.As(r.Err, &c) {
		return &fault.Conflict{Field: c.Field, Message: fmt.Sprintf("%s (row %d)", c.Message, b.rowNumber(rowOf[r.Earlier]))}
	}
	return r.Err
}
