package excel

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"kirjuri/core/consent"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// ImportConfig configures the import worker.
type ImportConfig struct {
	// BatchRows is how many rows go through register.ImportBatch and into
	// one transaction at a time.
	BatchRows int
	// BatchWriters is how many batches are written at once, each in its
	// own transaction, committed in the file's order (writeBatches); 1
	// writes one after the other. Atomic imports and dry runs write one at
	// a time.
	BatchWriters int
	// Limits bound what a file may make the reader do.
	Limits Limits
	// Timeout bounds one attempt of an import job.
	Timeout time.Duration
	// TempDir holds the restored files; os.TempDir() when "".
	TempDir string
	// Uploads, when set, has the uploads of this process's HTTP
	// operation: an import whose file it kept is read from there, not
	// restored from the store.
	Uploads *KeptUploads
}

// DefaultBatchRows is ImportConfig.BatchRows when 0.
const DefaultBatchRows = 2000

// ImportWorker runs the jobs of ports.ImportJobKind: it takes the uploaded
// file (kept by this process's upload, KeptUploads, else restored from the
// store), reads it once to count the rows and find file errors
// (nothing is written when there is one: excel.md), and reads it again to
// run its rows through register.ImportBatch in batches. An import that
// writes batch by batch does both at once and commits no batch before the
// first reading has passed; a dry run and an atomic import read it first.
//
// Each batch is written in one BulkStore.Session together with the
// import's progress (the last row done, the counts, the errors) and its
// rejected rows, so that an import resumed after a crash starts after the
// last committed batch and applies no row twice. An atomic import runs
// every batch in one session: nothing is visible until it commits, and a
// crash leaves nothing (it starts again from the first row). A dry run
// writes no customer, group or number; only its progress is stored.
type ImportWorker struct {
	reg     *register.Service
	imports ports.ImportStore
	bulk    ports.BulkStore
	cfg     ImportConfig
	log     *zap.Logger
}

var _ ports.JobWorker = (*ImportWorker)(nil)

// NewImportWorker builds the worker.
func NewImportWorker(reg *register.Service, imports ports.ImportStore, bulk ports.BulkStore, cfg ImportConfig, log *zap.Logger) *ImportWorker {
	if cfg.BatchRows <= 0 {
		cfg.BatchRows = DefaultBatchRows
	}
	if cfg.BatchWriters <= 0 {
		cfg.BatchWriters = DefaultBatchWriters
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &ImportWorker{reg: reg, imports: imports, bulk: bulk, cfg: cfg, log: log}
}

// Kind is ports.ImportJobKind.
func (w *ImportWorker) Kind() string { return ports.ImportJobKind }

// Timeout is ImportConfig.Timeout (0: the runner's default).
func (w *ImportWorker) Timeout() time.Duration { return w.cfg.Timeout }

// file is the import's file: the upload kept in this process when it is
// there whole (kept), else a copy restored from the store. The caller
// removes it.
func (w *ImportWorker) file(ctx context.Context, imp ports.Import) (path string, kept bool, err error) {
	if w.cfg.Uploads != nil {
		if p, ok := w.cfg.Uploads.Take(imp.ID); ok {
			if st, err := os.Stat(p); err == nil && st.Size() == imp.FileSize {
				return p, true, nil
			}
			os.Remove(p)
		}
	}
	f, err := os.CreateTemp(w.cfg.TempDir, "kirjuri-import-*.xlsx")
	if err != nil {
		return "", false, err
	}
	path = f.Name()
	if err := w.imports.ImportFile(ctx, imp.ID, f); err != nil {
		_ = f.Close()
		return path, false, err
	}
	return path, false, f.Close()
}

// Work runs one import.
func (w *ImportWorker) Work(ctx context.Context, job ports.RunningJob) error {
	var args ports.ImportJobArgs
	if err := job.Decode(&args); err != nil {
		return ports.CancelJob(err)
	}
	imp, err := w.imports.Import(ctx, args.ImportID)
	if errors.Is(err, ports.ErrImportNotFound) {
		return ports.CancelJob(err)
	}
	if err != nil {
		return err
	}
	if imp.Status == ports.ImportSucceeded || imp.Status == ports.ImportFailed {
		return nil
	}
	path, kept, err := w.file(ctx, imp)
	if path != "" {
		defer os.Remove(path)
	}
	if err != nil {
		return err
	}
	run := &importRun{w: w, imp: imp, path: path, kept: kept, start: time.Now()}
	err = run.run(ctx)
	var fe *ports.ImportFileError
	if errors.As(err, &fe) {
		p := imp.Progress
		p.Errors = p.Errors[:0]
		for _, pr := range fe.Problems {
			pr.Row = 0
			p.Errors = append(p.Errors, pr)
		}
		w.log.Info("import failed: file error", zap.String("import", imp.ID.String()), zap.Int("problems", len(fe.Problems)))
		return w.imports.SetImportStatus(ctx, imp.ID, ports.ImportFailed, nil, &p)
	}
	return err
}

// importRun is one attempt at an import.
type importRun struct {
	w      *ImportWorker
	imp    ports.Import
	path   string
	kept   bool // path is the upload this process kept (KeptUploads), not restored
	start  time.Time
	mapper *Mapper
	reason int // the position of a reason column, -1 when none
	// beside, after and again count the batches writeBatches wrote
	// beside others, after the ones in flight (a shared footprint, or not
	// prepared), and again after the one before (Overlaps, or the wait
	// ran out).
	beside, after, again atomic.Int64
	// keys are the file's row keys, for the register to find the second
	// of two rows with the same number or email across batches.
	keys *fileKeys
	// spool holds the rows the first pass read, for the second.
	spool *rowSpool
	p     ports.ImportProgress
}

func (r *importRun) run(ctx context.Context) error {
	imp := r.imp
	r.keys = newFileKeys()
	rd, header, err := r.openHeader()
	if err != nil {
		return err
	}
	texts := headerTexts(header) // the row's cells are reused by Next
	// The first pass: every row checked for what makes the file wrong,
	// counted, and kept in the spool, which the second pass reads. An
	// import that writes batch by batch reads and writes its rows
	// meanwhile and commits none before the check has passed
	// (writeBatches); the others check first.
	sp, err := newRowSpool(r.w.cfg.TempDir)
	if err != nil {
		rd.Close()
		return err
	}
	defer sp.close() // last: after both passes have stopped reading
	r.spool = sp
	writes := !imp.Options.DryRun && !imp.Options.Atomic
	var check *rowCheck
	var total int64
	if writes {
		checkCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		check = r.checkBehind(checkCtx, rd)
		defer func() { cancel(); <-check.done }()
	} else {
		total, err = r.checkRows(ctx, rd)
		rd.Close()
		if err != nil {
			return err
		}
	}
	r.p = imp.Progress
	if imp.Options.Atomic && !imp.Options.DryRun && r.p.LastRow > 0 {
		// An atomic import that was cut off wrote nothing: start again.
		if err := r.w.imports.ResetImport(ctx, imp.ID); err != nil {
			return err
		}
		r.p = ports.ImportProgress{}
	}
	if !writes {
		r.p.RowsTotal = total
	}
	if r.p.Errors == nil {
		r.p.Errors = []ports.ImportProblem{}
	}
	if err := r.w.imports.SetImportStatus(ctx, imp.ID, ports.ImportRunning, texts, &r.p); err != nil {
		return err
	}
	if imp.Options.Atomic && !imp.Options.DryRun {
		return r.atomic(ctx)
	}
	opts := register.BatchOptions{DryRun: imp.Options.DryRun}
	if writes {
		// Written batch by batch, BatchWriters at once (1: one after the
		// other), each committed with its progress.
		if err := r.writeBatches(ctx, opts, r.w.cfg.BatchWriters, check); err != nil {
			return err
		}
		return r.finish(ctx, ports.ImportSucceeded)
	}
	// A dry run writes nothing: each batch is prepared ahead and checked
	// (what a batch before it would have written is not there to see).
	prepare := func(ctx context.Context, b *importBatch) {
		if len(b.rows) > 0 {
			b.prepared, _ = r.w.reg.PrepareBatch(ctx, b.rows, r.batchOptions(opts), r.caller())
		}
	}
	if err := r.rows(ctx, prepare, func(ctx context.Context, b *importBatch) error {
		return r.apply(ctx, b, opts)
	}); err != nil {
		return err
	}
	return r.finish(ctx, ports.ImportSucceeded)
}

// atomic runs every batch in one session. A batch with a rejected row
// makes the rest run dry (to report every error) and the session roll
// back at the end. Progress is stored outside the session (so that it
// shows while the import runs); a resumed atomic import starts again.
func (r *importRun) atomic(ctx context.Context) error {
	errRejected := errors.New("rows were rejected")
	outer := ctx
	err := r.w.bulk.Session(ctx, func(ctx context.Context) error {
		// No batch is prepared ahead: each must see what the ones before
		// it wrote in the session.
		err := r.rows(ctx, nil, func(ctx context.Context, b *importBatch) error {
			dry := r.p.Rejected > 0
			if err := r.apply(ctx, b, register.BatchOptions{Atomic: true, DryRun: dry}); err != nil {
				return err
			}
			return r.w.imports.SaveImportProgress(outer, r.imp.ID, r.p, b.rejected)
		})
		if err != nil {
			return err
		}
		if r.p.Rejected > 0 {
			return errRejected
		}
		return nil
	})
	if errors.Is(err, errRejected) {
		r.p.Created, r.p.Updated, r.p.Unchanged = 0, 0, 0
		r.p.Errors = append([]ports.ImportProblem{{Message: fmt.Sprintf(
			"atomic import: %d rows were rejected, so no row was written; fix them and import the file again", r.p.Rejected)}}, r.p.Errors...)
		return r.finish(outer, ports.ImportFailed)
	}
	if err != nil {
		return err
	}
	return r.finish(outer, ports.ImportSucceeded)
}

func (r *importRun) finish(ctx context.Context, status string) error {
	if err := r.w.imports.SetImportStatus(ctx, r.imp.ID, status, nil, &r.p); err != nil {
		return err
	}
	r.w.log.Info("import finished", zap.String("import", r.imp.ID.String()), zap.String("status", status),
		zap.Int64("rows", r.p.RowsDone), zap.Int64("created", r.p.Created), zap.Int64("updated", r.p.Updated),
		zap.Int64("unchanged", r.p.Unchanged), zap.Int64("rejected", r.p.Rejected), zap.Duration("took", time.Since(r.start)),
		zap.Bool("upload_kept", r.kept),
		zap.Int64("batches_beside", r.beside.Load()), zap.Int64("batches_after", r.after.Load()), zap.Int64("batches_again", r.again.Load()))
	return nil
}

// rowCheck is the first pass run beside the writes (checkBehind): done
// is closed when it has read the whole file (total rows) or found what
// makes the file wrong (err).
type rowCheck struct {
	done  chan struct{}
	total int64
	err   error
}

// checkBehind runs checkRows on rd on a goroutine of its own and closes
// rd at its end.
func (r *importRun) checkBehind(ctx context.Context, rd *Reader) *rowCheck {
	c := &rowCheck{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer rd.Close()
		c.total, c.err = r.checkRows(ctx, rd)
	}()
	return c
}

// passed waits for the check and sets the rows' total in p; its error is
// the file's (nothing may be committed then).
func (c *rowCheck) passed(ctx context.Context, p *ports.ImportProgress) error {
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.err != nil {
		return c.err
	}
	p.RowsTotal = c.total
	return nil
}

// openHeader opens the file and reads and maps its header row (setting
// the mapper both passes use).
func (r *importRun) openHeader() (*Reader, Row, error) {
	rd, err := Open(r.path, r.w.cfg.Limits)
	if err != nil {
		return nil, Row{}, FileProblem(err)
	}
	header, err := r.header(rd)
	if err != nil {
		rd.Close()
		return nil, Row{}, err
	}
	return rd, header, nil
}

// checkRows reads the rows after the header, checks each for what makes
// the file wrong, counts them and keeps them in the spool, which it ends
// (with its error, if any).
func (r *importRun) checkRows(ctx context.Context, rd *Reader) (n int64, err error) {
	defer func() { r.spool.end(err) }()
	for rd.Next() {
		orig := rd.Row()
		if he := r.mapper.CheckRow(r.strip(orig)); he != nil {
			return 0, FileProblem(he)
		}
		if err := r.spool.add(orig); err != nil {
			return 0, err
		}
		if n++; n%4096 == 0 && ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
	if err := rd.Err(); err != nil {
		return 0, FileProblem(err)
	}
	if n == 0 {
		return 0, &ports.ImportFileError{Problems: []ports.ImportProblem{{Message: "the file has a header row but no customer rows under it"}}}
	}
	return n, r.spool.flush()
}

// header reads and maps the header row; a column named reason (of a
// rejected rows file) is left out.
func (r *importRun) header(rd *Reader) (Row, error) {
	if !rd.Next() {
		if err := rd.Err(); err != nil {
			return Row{}, FileProblem(err)
		}
		return Row{}, &ports.ImportFileError{Problems: []ports.ImportProblem{{Message: "the first sheet is empty: row 1 must name the columns"}}}
	}
	header := rd.Row()
	r.reason = reasonColumn(header)
	m, err := NewMapper(r.strip(header))
	if err != nil {
		return Row{}, FileProblem(err)
	}
	r.mapper = m
	return header, nil
}

// strip empties the reason column's cell, which the import ignores.
func (r *importRun) strip(row Row) Row { return stripCell(row, r.reason) }

// importBatch is the rows of one batch.
type importBatch struct {
	rows     []register.BatchRow
	sheet    []Row // the sheet's row of each of rows
	refused  []Row // rows the mapper refused
	errs     []*RowError
	lastRow  int
	rejected []ports.RejectedRow
	// prepared is rows run through the core ahead of the write
	// (register.PrepareBatch); nil when the batch is not prepared ahead or
	// its preparation failed.
	prepared *register.PreparedBatch
	// seen is how many batches were committed when its preparation began,
	// and foot its footprint (writeBatches).
	seen int
	foot register.Footprint
}

// rows reads the rows again (from the spool) and hands each batch of rows after the last
// row done to fn, in the file's order, on the caller's goroutine (see
// stream).
func (r *importRun) rows(ctx context.Context, prepare func(context.Context, *importBatch), fn func(context.Context, *importBatch) error) error {
	st, err := r.stream(ctx, prepare)
	if err != nil {
		return err
	}
	for b, ok := st.next(); ok; b, ok = st.next() {
		if err := ctx.Err(); err != nil {
			st.close()
			return err
		}
		if err := fn(ctx, b); err != nil {
			st.close()
			return err
		}
	}
	return st.close()
}

// batchStream hands out the batches of the second pass (stream).
type batchStream struct {
	batches <-chan *importBatch
	cancel  context.CancelFunc
	readErr *error // the reader's, set before batches is closed
}

// stream reads the rows again (from the spool) and hands out each batch of rows after the
// last row done, in the file's order.
//
// Reading and mapping run on a goroutine of their own, one batch ahead:
// while the caller runs a batch through the register and the store
// (mostly waiting for PostgreSQL), the next batch is read from the file
// and mapped, on the other core. With prepare (not nil), a second
// goroutine between them runs it on each batch first
// (register.PrepareBatch: the lookups and the core's work on every row),
// so that this too overlaps the write of the batch before. The hand-overs
// are unbuffered, so at most three batches are in memory (the caller's,
// the one being prepared, the one being read); the caller takes them one
// at a time on its own goroutine, so its session's transaction and the
// checkpoint (the progress saved with each batch) are as without the
// goroutines.
func (r *importRun) stream(ctx context.Context, prepare func(context.Context, *importBatch)) (*batchStream, error) {
	rd := r.spool.rows() // the rows after the header, as the first pass read them
	after := r.p.LastRow // the caller changes r.p: read it once, here
	ctx, cancel := context.WithCancel(ctx)
	read := make(chan *importBatch)
	st := &batchStream{batches: read, readErr: new(error)}
	// Stopping the stream also wakes the reader if it waits for the first
	// pass (which goes on alone: its verdict may still be wanted).
	st.cancel = func() { cancel(); r.spool.abandonReaders() }
	go func() {
		defer close(read)
		*st.readErr = r.readBatches(ctx, rd, after, read)
	}()
	if prepare != nil {
		prepared := make(chan *importBatch)
		go func() {
			defer close(prepared)
			for b := range read {
				if ctx.Err() == nil {
					prepare(ctx, b)
				}
				select {
				case prepared <- b:
				case <-ctx.Done():
					// Drain, so that the reader ends and closes read.
					for range read {
					}
					return
				}
			}
		}()
		st.batches = prepared
	}
	return st, nil
}

// next is the next batch; false at the end.
func (s *batchStream) next() (*importBatch, bool) {
	b, ok := <-s.batches
	return b, ok
}

// close stops the reading, waits for its goroutines to end and returns
// the reader's error: nil when every batch was taken and the file read
// cleanly. It may be called again.
func (s *batchStream) close() error {
	s.cancel()
	for range s.batches {
	}
	return *s.readErr
}

// readBatches reads the rows after the row numbered after from rd, maps
// them and sends them to out in batches of ImportConfig.BatchRows.
func (r *importRun) readBatches(ctx context.Context, rd *spoolRows, after int, out chan<- *importBatch) error {
	size := r.w.cfg.BatchRows
	newBatch := func() *importBatch {
		return &importBatch{rows: make([]register.BatchRow, 0, size), sheet: make([]Row, 0, size)}
	}
	b := newBatch()
	// The cells of a batch's rows, copied into slabs: one allocation for
	// many rows instead of one per row.
	var slab []Cell
	send := func() error {
		if b.lastRow == 0 {
			return nil
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b, slab = newBatch(), nil
		return nil
	}
	for rd.Next() {
		orig := rd.Row()
		if orig.Number <= after {
			r.rememberKeys(orig)
			continue
		}
		// Row keeps references into the reader's buffers only until the
		// next row: keep a copy (strip copies again only when the file
		// has a reason column).
		if cap(slab)-len(slab) < len(orig.Cells) {
			slab = make([]Cell, 0, max(len(orig.Cells)*64, 1024))
		}
		n := len(slab)
		slab = append(slab, orig.Cells...)
		orig.Cells = slab[n:len(slab):len(slab)]
		row := r.strip(orig)
		br, rerr := r.mapper.Row(row)
		if rerr != nil {
			b.refused = append(b.refused, orig)
			b.errs = append(b.errs, rerr)
		} else {
			b.rows = append(b.rows, br)
			b.sheet = append(b.sheet, orig)
		}
		b.lastRow = orig.Number
		if len(b.rows)+len(b.refused) >= r.w.cfg.BatchRows {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if err := rd.Err(); err != nil {
		return err
	}
	return send()
}

// rememberKeys tells the file's keys about a row done before the import
// was resumed, so that a later row with its number or email is still the
// second (for a row the mapper refused, the register never saw it: as
// without the resume, it has no keys).
func (r *importRun) rememberKeys(orig Row) {
	row := r.strip(orig)
	if _, rerr := r.mapper.Row(row); rerr != nil {
		return
	}
	r.mapper.rowKeys(row, func(k string) { r.keys.Earlier(k, orig.Number) })
}

// apply runs a batch of a dry run or of an atomic import's session
// through the register and counts its outcomes; the progress of a dry run
// is stored at once (an atomic import stores its own).
func (r *importRun) apply(ctx context.Context, b *importBatch, opts register.BatchOptions) error {
	opts = r.batchOptions(opts)
	p, err := r.step(ctx, b, opts)
	if err != nil {
		return err
	}
	r.p = p
	if !opts.Atomic {
		return r.w.imports.SaveImportProgress(ctx, r.imp.ID, r.p, b.rejected)
	}
	return nil
}

// step runs a batch through the register and counts its outcomes into
// the progress it returns.
func (r *importRun) step(ctx context.Context, b *importBatch, opts register.BatchOptions) (ports.ImportProgress, error) {
	var res register.BatchResult
	var err error
	switch {
	case b.prepared != nil:
		res, err = b.prepared.Write(ctx)
	case len(b.rows) > 0:
		// Not prepared ahead (an atomic import's batches see the ones
		// before them in the session), or the preparation failed (it
		// fails here again if it must).
		res, err = r.w.reg.ImportBatch(ctx, b.rows, opts, r.caller())
	}
	if err != nil {
		return r.p, err
	}
	return r.tally(r.p, b, res), nil
}

// tally is the progress base with batch b's results counted in (and its
// rejected rows in b.rejected).
func (r *importRun) tally(base ports.ImportProgress, b *importBatch, res register.BatchResult) ports.ImportProgress {
	p := base
	p.Errors = append([]ports.ImportProblem(nil), base.Errors...)
	b.rejected = b.rejected[:0]
	// Rows in sheet order: the mapper's refusals and the register's
	// results interleave.
	i, j := 0, 0
	for i < len(b.refused) || j < len(res.Rows) {
		if j >= len(res.Rows) || (i < len(b.refused) && b.refused[i].Number < b.sheet[j].Number) {
			addRejected(&p, b, b.refused[i], b.errs[i])
			p.RowsDone++
			i++
			continue
		}
		switch rr := res.Rows[j]; rr.Outcome {
		case register.Created:
			p.Created++
		case register.Updated:
			p.Updated++
		case register.Unchanged:
			p.Unchanged++
		default:
			addRejected(&p, b, b.sheet[j], r.mapper.Explain(r.strip(b.sheet[j]), rr.Err))
		}
		p.RowsDone++
		j++
	}
	p.LastRow = b.lastRow
	return p
}

// batchOptions are opts with what every batch of the import has: its id
// and the creation of missing groups.
func (r *importRun) batchOptions(opts register.BatchOptions) register.BatchOptions {
	opts.ImportID, opts.CreateGroups = r.imp.ID.String(), true
	if r.keys != nil {
		opts.FileKeys = r.keys
	}
	return opts
}

// caller is who the import's rows come from.
func (r *importRun) caller() register.Caller {
	return register.Caller{
		Origin:        consent.Origin{Actor: r.imp.Actor, Evidence: "spreadsheet import " + r.imp.ID.String()},
		SeeRestricted: r.imp.SeeRestricted,
	}
}

func addRejected(p *ports.ImportProgress, b *importBatch, row Row, re *RowError) {
	p.Rejected++
	var reason []string
	for _, pr := range re.Problems {
		reason = append(reason, pr.String())
		if len(p.Errors) < ports.MaxImportErrors {
			p.Errors = append(p.Errors, ports.ImportProblem{Row: row.Number, Column: pr.Column, Message: pr.Message})
		} else {
			p.ErrorsTruncated = true
		}
	}
	b.rejected = append(b.rejected, ports.RejectedRow{Row: row.Number, Cells: EncodeCells(row), Reason: strings.Join(reason, "; ")})
}
