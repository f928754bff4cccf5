package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/excel"
	"kirjuri/app/cmd/internal/benchkit"
)

// benchKey encrypts the identity codes of the bench database only (the
// generated customers have none).
var benchKey = []byte("kirjuri-bench-excel identity key")

// benchLock is the PostgreSQL advisory lock a run holds on its database,
// so that two runs (which would truncate and import under each other, and
// share the machine) take turns.
const benchLock = 0x6b6972_78_6c7378 // "kir" "x" "lsx"

// database is the bench database and its run lock.
func (b *bench) database() benchkit.Database {
	return benchkit.Database{ServerURL: b.opts.databaseURL, Name: benchDB, Command: "kirjuri-bench-excel",
		LockKey: benchLock, Logf: benchkit.Logf}
}

// emptyRegister removes every customer, group, outbox row, job and import
// of the bench database, so that each import starts from the same empty
// register.
func (b *bench) emptyRegister(ctx context.Context) error {
	tables := []string{"customers", "customer_search", "customer_search_pending", "customer_search_pending_ranges", "customer_links", "customer_cards", "customer_groups", "consent_outbox_batches"}
	rows, err := b.pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = 'public'
		AND (tablename LIKE 'import%' OR tablename IN ('river_job'))`)
	if err != nil {
		return err
	}
	more, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	tables = append(tables, more...)
	for i, t := range tables {
		tables[i] = pgx.Identifier{t}.Sanitize()
	}
	if _, err := b.pool.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" CASCADE"); err != nil {
		return fmt.Errorf("empty the bench register: %w", err)
	}
	_, err = b.pool.Exec(ctx, "VACUUM ANALYZE customers")
	return err
}

// buildService builds bin/kirjuri as `go build` does for a release, into
// the bench folder; with --cpu-profile, the same service that also writes
// a CPU profile.
func (b *bench) buildService(ctx context.Context) (string, error) {
	bin, pkg := filepath.Join(b.opts.dir, "kirjuri"), benchkit.ServicePackage
	if b.opts.cpuProfile {
		bin, pkg = filepath.Join(b.opts.dir, "kirjuri-profiled"), benchkit.ProfiledPackage
	}
	return bin, benchkit.Build(ctx, bin, pkg)
}

// service is one `kirjuri serve` subprocess.
type service struct {
	*benchkit.Service
	idleRSS int64 // bytes, once ready
}

// startService runs `kirjuri serve` on the bench database with ClickHouse
// off (the consent events wait in the outbox), logging to a file, waits
// until it answers /readyz and reads its idle resident memory.
func (b *bench) startService(ctx context.Context, name string) (*service, error) {
	var env []string
	if b.opts.cpuProfile {
		env = append(env, "KIRJURI_BENCH_CPU_PROFILE="+filepath.Join(b.opts.dir, "cpu-"+name+".pprof"),
			"KIRJURI_BENCH_TRACE="+filepath.Join(b.opts.dir, "trace-"+name+".out"))
	}
	// The service runs in its own folder, so that a kirjuri.yaml of the
	// working tree does not apply; the bench's own, with --batch-rows,
	// does.
	conf := filepath.Join(b.opts.dir, "kirjuri.yaml")
	if b.opts.batchRows > 0 {
		if err := os.WriteFile(conf, fmt.Appendf(nil, "imports:\n  batchRows: %d\n", b.opts.batchRows), 0o644); err != nil {
			return nil, err
		}
	} else if err := os.Remove(conf); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s, err := benchkit.StartService(ctx, benchkit.ServiceConfig{
		Bin:           b.bin,
		Dir:           b.opts.dir,
		LogPath:       filepath.Join(b.opts.dir, "kirjuri-"+name+".log"),
		DatabaseURL:   b.benchURL,
		EncryptionKey: benchKey,
		Env:           append(env, b.opts.serviceEnv...),
		Client:        &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}},
	})
	if err != nil {
		return nil, err
	}
	svc := &service{Service: s}
	svc.idleRSS, _ = svc.memory("VmRSS")
	return svc, nil
}

// memory reads a field of /proc/<pid>/status in bytes: VmHWM is the peak
// resident set since the process started, VmRSS the current one.
func (s *service) memory(field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, s.Pid())
}

// heapSampler polls the service's /metrics for the Go heap in use while an
// operation runs, to tell the heap from the rest of the resident memory.
type heapSampler struct {
	once    sync.Once
	stop    chan struct{}
	done    chan struct{}
	maxHeap float64 // go_memstats_heap_inuse_bytes
	maxSys  float64 // go_memstats_sys_bytes
}

func (s *service) sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			h.read(s)
			select {
			case <-h.stop:
				h.read(s)
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) read(s *service) {
	resp, err := s.Client.Get(s.Base + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range []struct {
			name string
			dst  *float64
		}{{"go_memstats_heap_inuse_bytes ", &h.maxHeap}, {"go_memstats_sys_bytes ", &h.maxSys}} {
			if v, ok := strings.CutPrefix(line, m.name); ok {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f > *m.dst {
					*m.dst = f
				}
			}
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
}

// finish stops the sampling (once; later calls do nothing).
func (h *heapSampler) finish() {
	h.once.Do(func() {
		close(h.stop)
		<-h.done
	})
}

// ---------------------------------------------------------------- import

// importResult is one import through the service.
type importResult struct {
	rows                                  int
	upload, firstProgress, total          time.Duration
	status                                string
	rowsTotal, rowsDone                   int64
	created, updated, unchanged, rejected int64
	firstErrors                           []string
	peakRSS, idleRSS                      int64
	maxHeap, maxSys                       float64
	polls                                 int
	load                                  string // load average before
	// CPU time used during the import (upload to done) by the service and
	// by the whole PostgreSQL server.
	svcCPU, pgCPU time.Duration
	// searchPending customers' search text was still to be copied when the
	// import was done; the service copied it searchCopied later.
	searchPending int64
	searchCopied  time.Duration
}

// importJob is what GET /v1/imports/{id} answers (and POST, 202).
type importJob struct {
	ID        string            `json:"id"`
	Status    string            `json:"status"`
	RowsTotal int64             `json:"rowsTotal"`
	RowsDone  int64             `json:"rowsDone"`
	Created   int64             `json:"created"`
	Updated   int64             `json:"updated"`
	Unchanged int64             `json:"unchanged"`
	Rejected  int64             `json:"rejected"`
	Errors    []json.RawMessage `json:"errors"`
}

// errNoEndpoint says that the service in this build lacks an endpoint.
type errNoEndpoint struct{ what string }

func (e errNoEndpoint) Error() string {
	return e.what + " is not in this build of kirjuri yet (404): the scenario is in place and measures once it exists"
}

// importFile uploads path with POST /v1/imports (multipart, field file,
// streamed from the file) and polls the job until it is done.
func (s *service) importFile(ctx context.Context, path string, rows int, poll, timeout time.Duration) (*importResult, error) {
	res := &importResult{rows: rows, idleRSS: s.idleRSS}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			part, err := mw.CreateFormFile("file", filepath.Base(path))
			if err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(part, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+"/v1/imports", pr)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	heap := s.sampleHeap(250 * time.Millisecond)
	defer heap.finish()
	start := time.Now()
	resp, err := s.Client.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return nil, fmt.Errorf("POST /v1/imports: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	pr.Close()
	res.upload = time.Since(start)
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed:
		return nil, errNoEndpoint{"POST /v1/imports"}
	case resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("POST /v1/imports: %s: %s", resp.Status, clip(body))
	}
	var job importJob
	if err := json.Unmarshal(body, &job); err != nil || job.ID == "" {
		if loc := resp.Header.Get("Location"); loc != "" {
			job.ID = loc[strings.LastIndexByte(loc, '/')+1:]
		} else {
			return nil, fmt.Errorf("POST /v1/imports: %s without an id: %s", resp.Status, clip(body))
		}
	}
	deadline := start.Add(timeout)
	lastLog := time.Now()
	for !terminal(job.Status) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("import %s: not done after %s (status %q, %d of %d rows)", job.ID, timeout, job.Status, job.RowsDone, job.RowsTotal)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
		if err := s.getJSON(ctx, "/v1/imports/"+url.PathEscape(job.ID), &job); err != nil {
			return nil, err
		}
		res.polls++
		if res.firstProgress == 0 && job.RowsDone > 0 {
			res.firstProgress = time.Since(start)
		}
		if time.Since(lastLog) > 5*time.Second {
			benchkit.Logf("  import %s: %s, %d of %d rows", job.ID, job.Status, job.RowsDone, job.RowsTotal)
			lastLog = time.Now()
		}
	}
	res.total = time.Since(start)
	heap.finish()
	res.maxHeap, res.maxSys = heap.maxHeap, heap.maxSys
	res.peakRSS, _ = s.memory("VmHWM")
	res.status, res.rowsTotal, res.rowsDone = job.Status, job.RowsTotal, job.RowsDone
	res.created, res.updated, res.unchanged, res.rejected = job.Created, job.Updated, job.Unchanged, job.Rejected
	for i, e := range job.Errors {
		if i == 3 {
			break
		}
		res.firstErrors = append(res.firstErrors, string(e))
	}
	return res, nil
}

func terminal(status string) bool {
	switch strings.ToLower(status) {
	case "succeeded", "failed", "cancelled", "canceled", "discarded":
		return true
	}
	return false
}

func (s *service) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(path, "/v1/imports/") && !strings.Contains(string(body), "import") {
		return errNoEndpoint{"GET /v1/imports/{id}"}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, clip(body))
	}
	return json.Unmarshal(body, v)
}

func clip(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// ---------------------------------------------------------------- export

// exportResult is one export through the service.
type exportResult struct {
	rows             int
	firstByte, total time.Duration
	bytes            int64
	rowsInFile       int
	peakRSS, idleRSS int64
	maxHeap, maxSys  float64
	totalCountHeader string
	load             string // load average before
	seeded           bool   // the customers were loaded by COPY, not imported
}

// exportAll downloads GET /v1/exports/customers.xlsx into a file, then
// counts its rows with the reader (not timed).
func (s *service) exportAll(ctx context.Context, dst string, rows int) (*exportResult, error) {
	res := &exportResult{rows: rows, idleRSS: s.idleRSS}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/v1/exports/customers.xlsx", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Key)
	out, err := os.Create(dst)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	heap := s.sampleHeap(250 * time.Millisecond)
	start := time.Now()
	resp, err := s.Client.Do(req)
	if err != nil {
		heap.finish()
		return nil, fmt.Errorf("GET /v1/exports/customers.xlsx: %w", err)
	}
	defer resp.Body.Close()
	res.firstByte = time.Since(start)
	if resp.StatusCode != http.StatusOK {
		heap.finish()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode == http.StatusNotFound {
			return nil, errNoEndpoint{"GET /v1/exports/customers.xlsx"}
		}
		return nil, fmt.Errorf("GET /v1/exports/customers.xlsx: %s: %s", resp.Status, clip(body))
	}
	res.totalCountHeader = resp.Header.Get("X-Total-Count")
	bw := bufio.NewWriterSize(out, 1<<20)
	n, err := io.Copy(bw, resp.Body)
	res.total = time.Since(start)
	heap.finish()
	if err != nil {
		return nil, fmt.Errorf("GET /v1/exports/customers.xlsx: after %d bytes: %w", n, err)
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	res.bytes = n
	res.maxHeap, res.maxSys = heap.maxHeap, heap.maxSys
	res.peakRSS, _ = s.memory("VmHWM")
	r, err := excel.Open(dst, excel.Limits{})
	if err != nil {
		return nil, fmt.Errorf("the exported file does not open: %w", err)
	}
	defer r.Close()
	for r.Next() {
		res.rowsInFile++
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("the exported file does not read: %w", err)
	}
	res.rowsInFile-- // the header
	return res, nil
}
