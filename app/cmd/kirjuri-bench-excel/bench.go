package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/app/cmd/internal/benchkit"
)

type bench struct {
	opts options
	rep  *report

	pool     *pgxpool.Pool // the bench database
	benchURL string
	bin      string // the built kirjuri
	quiet    *benchkit.Quiet
	// noImport is set once POST /v1/imports answered 404: the later sizes
	// do not try again.
	noImport error
	// postmaster is the pid of the bench database's PostgreSQL server, once
	// known (postgresCPU).
	postmaster int
}

func (b *bench) run(ctx context.Context) error {
	b.rep.machine = benchkit.ReadMachine()
	if out, err := exec.Command("soffice", "--version").Output(); err == nil {
		b.rep.soffice = strings.TrimSpace(string(out))
	}
	if err := os.MkdirAll(b.opts.dir, 0o755); err != nil {
		return err
	}
	needDB := b.opts.scenarios["import"] || b.opts.scenarios["export"]
	if needDB {
		url, err := b.database().Ensure(ctx, b.opts.reload)
		if err != nil {
			return err
		}
		b.benchURL = url
		pool, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: url, MaxConns: 4})
		if err != nil {
			return err
		}
		defer pool.Close()
		b.pool = pool
		unlock, err := b.database().LockPool(ctx, pool)
		if err != nil {
			return err
		}
		defer unlock()
		b.rep.machine.ReadPostgres(ctx, pool, "fsync", "synchronous_commit", "shared_buffers")
	}
	defer func() { b.rep.machine.LoadEnd = benchkit.LoadAverage() }()

	files := map[int]benchFile{}
	for _, n := range b.opts.rows {
		f, err := b.codeFile(n)
		if err != nil {
			return fmt.Errorf("generate %d rows: %w", n, err)
		}
		files[n] = f
		b.rep.files = append(b.rep.files, f)
	}

	if b.opts.scenarios["read"] {
		var toRead []benchFile
		for _, n := range b.opts.rows {
			toRead = append(toRead, files[n])
		}
		if b.opts.libreoffice {
			// LibreOffice takes minutes past 100,000 rows: the 100,000-row
			// file when it is asked for, else the smallest.
			src := files[b.opts.rows[0]]
			if f, ok := files[100_000]; ok {
				src = f
			}
			lo, ok, err := b.libreOfficeFile(ctx, src)
			switch {
			case err != nil:
				b.rep.Errorf("LibreOffice's file: %v", err)
			case !ok:
				b.rep.Notef("soffice is not installed: no file saved by LibreOffice was read (apt-get install libreoffice-calc-nogui)")
			default:
				b.rep.files = append(b.rep.files, lo)
				toRead = append(toRead, lo)
			}
		}
		for _, f := range toRead {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := b.measureRead(f)
			if err != nil {
				return err
			}
			b.rep.reads = append(b.rep.reads, res)
		}
	}

	if !needDB {
		return nil
	}
	if b.opts.scenarios["import"] && b.opts.phones > 0 {
		res, err := b.measurePhones()
		if err != nil {
			return err
		}
		b.rep.phones = res
	}
	bin, err := b.buildService(ctx)
	if err != nil {
		return err
	}
	b.bin = bin
	for _, n := range b.opts.rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.opts.scenarios["import"] {
			if err := b.importScenario(ctx, files[n]); err != nil {
				return err
			}
		}
		if b.opts.scenarios["export"] {
			if err := b.exportScenario(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// importScenario: COPY floor, then the import of f into an empty register
// through a freshly started service (so its peak resident memory is this
// import's).
func (b *bench) importScenario(ctx context.Context, f benchFile) error {
	n := f.rows
	floor, err := b.measureCopyFloor(ctx, n)
	if err != nil {
		return err
	}
	b.rep.copyFloors = append(b.rep.copyFloors, floor)
	if b.noImport != nil {
		return nil
	}
	if err := b.emptyRegister(ctx); err != nil {
		return err
	}
	load := b.quiet.Wait(fmt.Sprintf("import of %s rows", benchkit.Thousands(float64(n))))
	svc, err := b.startService(ctx, fmt.Sprintf("import-%d", n))
	if err != nil {
		return err
	}
	defer svc.Stop()
	benchkit.Logf("import of %s (%.1f MB) through kirjuri serve (pid %d, %.0f MB resident when idle)",
		f.label(), float64(f.bytes)/1e6, svc.Pid(), mb(svc.idleRSS))
	svcCPU, pgCPU := processCPU(svc.Pid()), b.postgresCPU(ctx)
	res, err := svc.importFile(ctx, f.path, n, b.opts.pollEvery, b.opts.jobTimeout)
	if res != nil {
		res.svcCPU = processCPU(svc.Pid()) - svcCPU
		res.pgCPU = b.postgresCPU(ctx) - pgCPU
	}
	var missing errNoEndpoint
	if errors.As(err, &missing) {
		b.noImport = err
		b.rep.Errorf("import not measured: %v", err)
		benchkit.Logf("import not measured: %v", err)
		return nil
	}
	if err != nil {
		b.rep.Errorf("import of %s rows: %v (service log: %s)", benchkit.Thousands(float64(n)), err, svc.LogPath)
		benchkit.Logf("import of %d rows failed: %v", n, err)
		return nil
	}
	res.load = load
	b.rep.imports = append(b.rep.imports, res)
	b.followSearch(ctx, svc, res, n)
	benchkit.Logf("import of %s rows: %s (upload %s), %s rows/s, peak RSS %.0f MB (idle %.0f MB, Go heap in use at most %.0f MB); CPU: service %s, PostgreSQL %s; %s: %d created, %d updated, %d unchanged, %d rejected",
		benchkit.Thousands(float64(n)), secs(res.total), secs(res.upload), benchkit.Thousands(float64(n)/res.total.Seconds()),
		mb(res.peakRSS), mb(res.idleRSS), res.maxHeap/1e6, secs(res.svcCPU), secs(res.pgCPU),
		res.status, res.created, res.updated, res.unchanged, res.rejected)
	ok := strings.EqualFold(res.status, "succeeded") && res.created == int64(n) && res.rejected == 0
	b.rep.Check(fmt.Sprintf("the import of %s rows succeeds and creates every customer", benchkit.Thousands(float64(n))), ok,
		fmt.Sprintf("status %q, %d created, %d updated, %d unchanged, %d rejected; first errors: %s",
			res.status, res.created, res.updated, res.unchanged, res.rejected, strings.Join(res.firstErrors, "; ")))
	var count int64
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM customers`).Scan(&count); err != nil {
		return err
	}
	b.rep.Check(fmt.Sprintf("after the import of %s rows the register holds as many customers", benchkit.Thousands(float64(n))),
		count == int64(n), fmt.Sprintf("%d customers", count))
	return nil
}

// followSearch looks at free-text search right after the import: a find
// with q (the last row's email, whose customer's search text cannot be
// copied yet) must find that customer at once; then it waits for the
// service's search.index job to copy every imported customer's search
// text (the bulk path defers it), and reports how long after the import
// that took, so that the next figure is not measured beside the copying.
func (b *bench) followSearch(ctx context.Context, svc *service, res *importResult, n int) {
	// The store's count: customers listed one by one and those in the
	// ranges of numbers the import's batches listed. No SSN key is needed.
	pending, _ := postgres.New(b.pool, nil).PendingSearch(ctx)
	res.searchPending = pending
	email := gen(n - 1).email
	var page struct {
		Items []struct {
			Email string `json:"email"`
		} `json:"items"`
	}
	err := svc.getJSON(ctx, "/v1/customers?q="+url.QueryEscape(email), &page)
	found := err == nil && len(page.Items) == 1 && strings.EqualFold(page.Items[0].Email, email)
	b.rep.Check(fmt.Sprintf("right after the import of %s rows, q finds its last customer (%s customers' search text not copied yet)",
		benchkit.Thousands(float64(n)), benchkit.Thousands(float64(pending))), found, fmt.Sprintf("error %v, %d found", err, len(page.Items)))
	start := time.Now()
	for left := pending > 0; left && time.Since(start) < b.opts.jobTimeout && ctx.Err() == nil; {
		time.Sleep(250 * time.Millisecond)
		if err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM customer_search_pending)
			OR EXISTS (SELECT 1 FROM customer_search_pending_ranges)`).Scan(&left); err != nil {
			b.rep.Errorf("look at the pending search texts: %v", err)
			return
		}
		if !left {
			pending = 0
		}
	}
	res.searchCopied = time.Since(start)
	b.rep.Check(fmt.Sprintf("the service copies the search text of the %s imported customers", benchkit.Thousands(float64(n))),
		pending == 0, fmt.Sprintf("%d still pending after %s", pending, secs(res.searchCopied)))
	benchkit.Logf("search text of %s customers copied %s after the import was done", benchkit.Thousands(float64(res.searchPending)), secs(res.searchCopied))
}

// exportScenario: the write floor, then the export of the n customers in
// the register (those the import just made; loaded by COPY when the import
// did not run or did not make them all) through a freshly started service.
func (b *bench) exportScenario(ctx context.Context, n int) error {
	var count int64
	if err := b.pool.QueryRow(ctx, `SELECT count(*) FROM customers`).Scan(&count); err != nil {
		return err
	}
	seeded := false
	if count != int64(n) {
		benchkit.Logf("the register holds %d customers, not %d: loading the %d generated customers by COPY for the export", count, n, n)
		if err := b.seedCustomers(ctx, n); err != nil {
			return fmt.Errorf("load %d customers for the export: %w", n, err)
		}
		seeded = true
	}
	wf, err := b.measureWriteFloor(n)
	if err != nil {
		return err
	}
	b.rep.writeFloors = append(b.rep.writeFloors, wf)
	load := b.quiet.Wait(fmt.Sprintf("export of %s rows", benchkit.Thousands(float64(n))))
	svc, err := b.startService(ctx, fmt.Sprintf("export-%d", n))
	if err != nil {
		return err
	}
	defer svc.Stop()
	dst := filepath.Join(b.opts.dir, fmt.Sprintf("export-%d.xlsx", n))
	res, err := svc.exportAll(ctx, dst, n)
	if !b.opts.keepExported {
		defer os.Remove(dst)
	}
	if err != nil {
		b.rep.Errorf("export of %s rows: %v (service log: %s)", benchkit.Thousands(float64(n)), err, svc.LogPath)
		benchkit.Logf("export of %d rows failed: %v", n, err)
		return nil
	}
	res.load, res.seeded = load, seeded
	b.rep.exports = append(b.rep.exports, res)
	benchkit.Logf("export of %s rows: %s (first byte %s), %.1f MB, peak RSS %.0f MB (idle %.0f MB, Go heap in use at most %.0f MB)",
		benchkit.Thousands(float64(n)), secs(res.total), secs(res.firstByte), float64(res.bytes)/1e6, mb(res.peakRSS), mb(res.idleRSS), res.maxHeap/1e6)
	b.rep.Check(fmt.Sprintf("the export of %s customers holds %s rows", benchkit.Thousands(float64(n)), benchkit.Thousands(float64(n))),
		res.rowsInFile == n, fmt.Sprintf("%d rows", res.rowsInFile))
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func secs(d time.Duration) string {
	switch s := d.Seconds(); {
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	default:
		return fmt.Sprintf("%.0f ms", s*1000)
	}
}
