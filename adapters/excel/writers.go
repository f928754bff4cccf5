package excel

import (
	"context"
	"errors"
	"sync"
	"time"

	"kirjuri/core/register"
	"kirjuri/ports"
)

// DefaultBatchWriters is ImportConfig.BatchWriters when 0.
const DefaultBatchWriters = 2

// earlyFlights is how many batches beyond the writers' may be in the
// store at once while the first pass still reads (writeBatches).
const earlyFlights = 4

// predecessorWait bounds how long a written batch waits, its transaction
// open, for the batch before it to end. The wait is in this process, out
// of PostgreSQL's sight: should the batch before it wait for a lock this
// one holds (footprints are meant to rule that out; a concurrent writer
// outside the import could still make it so), neither would ever end, and
// no deadlock detector would see it. After the wait this one lets go of
// its locks and runs again once the batch before it has ended.
const predecessorWait = 30 * time.Second

var (
	// errRedo makes a batch written as prepared roll back and run again
	// (ImportBatch) once the batch before it has ended.
	errRedo = errors.New("excel: the batch is run again after the one before it")
	// errAbandoned is the error of a batch whose predecessor failed: it
	// rolls back, and the import stops at the last batch committed.
	errAbandoned = errors.New("excel: a batch before this one failed")
)

// flight is a batch on its way to the store when batches are written by
// several writers at once (writeBatches).
type flight struct {
	seq  int // its place in the file, from 0
	b    *importBatch
	foot register.Footprint // b's footprint, nil when not prepared (b goes when the batch ends)
	prev *flight            // nil once read: flights do not keep each other
	// fresh: run through register.ImportBatch once prev has ended, rather
	// than written as prepared.
	fresh bool
	done  chan struct{} // closed when the batch has ended: committed or failed
	// Set before done is closed.
	p   ports.ImportProgress // the import's progress after the batch
	res register.BatchResult
	err error
}

// commitLog keeps what the recent committed batches wrote, in commit order,
// so that a batch prepared before they committed can tell whether they
// wrote customers it names (register.PreparedBatch.Overlaps).
type commitLog struct {
	mu     sync.Mutex
	n      int                    // batches committed in all
	recent []register.BatchResult // the last ones, trimmed
}

// keptCommits bounds commitLog.recent; a batch prepared more commits ago
// than that (which the pipeline's depth rules out) runs again.
const keptCommits = 32

func (c *commitLog) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *commitLog) add(res register.BatchResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.recent = append(c.recent, res.Trimmed())
	if len(c.recent) > keptCommits {
		c.recent = append(c.recent[:0:0], c.recent[len(c.recent)-keptCommits:]...)
	}
}

// overlaps tells whether a batch committed since seen batches were
// committed wrote a customer that p names; true when that is no longer
// known.
func (c *commitLog) overlaps(seen int, p *register.PreparedBatch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n-seen > len(c.recent) {
		return true
	}
	for _, res := range c.recent[len(c.recent)-(c.n-seen):] {
		if p.Overlaps(res) {
			return true
		}
	}
	return false
}

// writeBatches runs the import's batches (not atomic, not dry) through
// the register with up to writers batches in the store at once, each in
// its own session (transaction) with the progress it reaches, committed
// in the file's order: a batch written while the one before it is still
// being written waits for it before it commits, so the checkpoint (the
// last row done) stays exact for a resume. PostgreSQL does a batch's work
// on one core; two batches at once put the writes on both. With one
// writer the batches go one after the other, each prepared (looked up and
// run through the core) while the one before it is written.
//
// A batch is written beside those in flight only when its footprint
// (register.PreparedBatch.Footprint: the customers, keys and unique values
// it names and writes) shares nothing with theirs; otherwise it waits for
// them to end and runs then, as it would one after the other. A batch
// whose customers an earlier batch wrote after it was prepared (Overlaps)
// runs again after that batch, on what it wrote.
//
// check is the first pass, reading beside the writes: the first batch
// waits for it to pass before it commits (and so every batch), and its
// error (a file error) is the import's, with nothing committed.
func (r *importRun) writeBatches(ctx context.Context, opts register.BatchOptions, writers int, check *rowCheck) error {
	log := &commitLog{}
	// The groups that the batches prepared so far create: the batches
	// after them count on them (BatchOptions.PromisedGroups) instead of
	// creating them too, which would make each wait for the one before it
	// (their footprints would share the groups). A batch commits only
	// after the ones before it, and is abandoned when one of them fails;
	// one run again (fresh) plans on what they committed.
	var promised []string
	prepare := func(ctx context.Context, b *importBatch) {
		b.seen = log.count()
		if len(b.rows) > 0 {
			o := r.batchOptions(opts)
			o.PromisedGroups = promised
			b.prepared, _ = r.w.reg.PrepareBatch(ctx, b.rows, o, r.caller())
			if b.prepared != nil {
				b.foot = b.prepared.Footprint()
				promised = append(promised, b.prepared.CreatesGroups()...)
			}
		}
	}
	st, err := r.stream(ctx, prepare)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make(chan struct{}, writers)
	// While the first pass still reads, earlyFlights more batches may be
	// written beside the writers', each waiting, its transaction open, for
	// the one before it: the first pass then has one core and the writes
	// the other, instead of the writes stopping after the first few
	// batches until it ends.
	early := make(chan struct{}, earlyFlights)
	acquire := func() (chan struct{}, bool) {
		for {
			earlyCh, gate := early, check.done
			select {
			case <-check.done:
				earlyCh, gate = nil, nil
			default:
			}
			select {
			case slots <- struct{}{}:
				return slots, true
			case earlyCh <- struct{}{}:
				return early, true
			case <-gate: // the first pass ended: no more early flights
			case <-ctx.Done():
				return nil, false
			}
		}
	}
	var (
		prev   *flight
		flying []*flight // dispatched, in order; ended ones are dropped
		wg     sync.WaitGroup
		seq    int
		// The first real failure in the file's order (the batches after
		// it are abandoned because of it).
		errMu    sync.Mutex
		firstErr error
		errSeq   = -1
	)
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return errSeq >= 0
	}
dispatch:
	for b, ok := st.next(); ok; b, ok = st.next() {
		slot, ok := acquire()
		if !ok {
			break dispatch
		}
		if failed() {
			<-slot
			break
		}
		alive := flying[:0]
		for _, f := range flying {
			select {
			case <-f.done:
			default:
				alive = append(alive, f)
			}
		}
		flying = alive
		f := &flight{seq: seq, b: b, foot: b.foot, prev: prev, done: make(chan struct{}), fresh: b.prepared == nil}
		seq++
		if !f.fresh && sharesFootprint(b.foot, flying) {
			for _, g := range flying {
				<-g.done
			}
			f.fresh = true
		}
		prev, flying = f, append(flying, f)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slot }()
			r.fly(ctx, f, opts, log, check)
			if f.err != nil && !errors.Is(f.err, errAbandoned) {
				errMu.Lock()
				if errSeq < 0 || f.seq < errSeq {
					firstErr, errSeq = f.err, f.seq
				}
				errMu.Unlock()
			}
			// What the batch held goes now; its successor needs only
			// its progress and error.
			f.b, f.res, f.prev = nil, register.BatchResult{}, nil
			close(f.done)
		}()
	}
	wg.Wait()
	readErr := st.close()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if prev != nil {
		r.p = prev.p
	} else if err := check.passed(ctx, &r.p); err != nil {
		return err // no batch: the check's verdict is the import's
	}
	return readErr
}

// sharesFootprint tells whether foot shares a key with a batch in flight.
func sharesFootprint(foot register.Footprint, flying []*flight) bool {
	for _, g := range flying {
		select {
		case <-g.done:
			continue // ended meanwhile
		default:
		}
		// A batch run again after the ones before it (fresh) is judged
		// by its footprint as prepared: what it does differently comes of
		// what they committed, and the batches after it check Overlaps
		// against what it really wrote before they commit.
		if g.foot == nil || foot.Shares(g.foot) {
			return true // not prepared (it may touch anything), or shares
		}
	}
	return false
}

// fly writes one batch of writeBatches and sets its outcome.
func (r *importRun) fly(ctx context.Context, f *flight, opts register.BatchOptions, log *commitLog, check *rowCheck) {
	if !f.fresh {
		err := r.w.bulk.Session(ctx, func(ctx context.Context) error {
			res, err := f.b.prepared.Write(ctx)
			if err != nil {
				return err
			}
			base := r.p
			if f.prev == nil {
				if err := check.passed(ctx, &base); err != nil {
					return err
				}
			} else {
				t := time.NewTimer(predecessorWait)
				defer t.Stop()
				select {
				case <-f.prev.done:
				case <-t.C:
					return errRedo
				case <-ctx.Done():
					return ctx.Err()
				}
				if f.prev.err != nil {
					return errAbandoned
				}
				base = f.prev.p
			}
			if log.overlaps(f.b.seen, f.b.prepared) {
				return errRedo
			}
			return r.save(ctx, f, base, res)
		})
		if err == nil {
			log.add(f.res)
		}
		if !errors.Is(err, errRedo) {
			if err == nil {
				r.beside.Add(1)
			}
			f.err = err
			return
		}
		r.again.Add(1)
	} else {
		r.after.Add(1)
	}
	// After the batch before it, as if one after the other.
	base := r.p
	if f.prev != nil {
		select {
		case <-f.prev.done:
		case <-ctx.Done():
			f.err = ctx.Err()
			return
		}
		if f.prev.err != nil {
			f.err = errAbandoned
			return
		}
		base = f.prev.p
	}
	f.err = r.w.bulk.Session(ctx, func(ctx context.Context) error {
		if f.prev == nil {
			if err := check.passed(ctx, &base); err != nil {
				return err
			}
		}
		var res register.BatchResult
		if len(f.b.rows) > 0 {
			var err error
			if res, err = r.w.reg.ImportBatch(ctx, f.b.rows, r.batchOptions(opts), r.caller()); err != nil {
				return err
			}
		}
		return r.save(ctx, f, base, res)
	})
	if f.err == nil {
		log.add(f.res)
	}
}

// save stores the progress after f's batch in its session (ctx) and keeps
// it, with the batch's result, in f; fly records the batch in the commit
// log once the session has committed, before f ends.
func (r *importRun) save(ctx context.Context, f *flight, base ports.ImportProgress, res register.BatchResult) error {
	p := r.tally(base, f.b, res)
	if err := r.w.imports.SaveImportProgress(ctx, r.imp.ID, p, f.b.rejected); err != nil {
		return err
	}
	f.p = p
	f.res = res
	return nil
}
