package jobs_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports"
)

type greetArgs struct {
	Name  string `json:"name"`
	Times int    `json:"times"`
}

func (greetArgs) Kind() string { return "test.greet" }

type failArgs struct {
	Reason string `json:"reason"`
}

func (failArgs) Kind() string { return "test.fail" }

type waitArgs struct{}

func (waitArgs) Kind() string { return "test.wait" }

// world is a migrated database, a store that enqueues and its URL.
type world struct {
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
}

func newWorld(t *testing.T) world {
	t.Helper()
	url := pgtest.NewDatabase(t)
	pool := pgtest.NewPool(t, url)
	key := make([]byte, postgres.SSNKeySize)
	_, _ = rand.Read(key)
	cipher, err := postgres.NewSSNCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return world{url: url, pool: pool, store: postgres.New(pool, cipher)}
}

var testConfig = jobs.Config{
	Queues:       map[string]int{jobs.DefaultQueue: 2},
	StopTimeout:  200 * time.Millisecond,
	JobTimeout:   time.Minute,
	PollInterval: 100 * time.Millisecond,
}

// start builds and starts a runner, stopped when the test ends.
func start(t *testing.T, pool *pgxpool.Pool, workers ...ports.JobWorker) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(pool, testConfig, workers, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return r
}

type jobRow struct {
	State     string
	Attempt   int
	Errors    int
	LastError string
}

func row(t *testing.T, pool *pgxpool.Pool, id int64) jobRow {
	t.Helper()
	var r jobRow
	err := pool.QueryRow(context.Background(), `SELECT state::text, attempt, coalesce(array_length(errors, 1), 0),
		coalesce(errors[array_length(errors, 1)]->>'error', '') FROM river_job WHERE id = $1`, id).
		Scan(&r.State, &r.Attempt, &r.Errors, &r.LastError)
	if err != nil {
		t.Fatalf("job %d: %v", id, err)
	}
	return r
}

// waitFor polls the job until its state is want.
func waitFor(t *testing.T, pool *pgxpool.Pool, id int64, want string) jobRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := row(t, pool, id)
		if r.State == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %+v, still not %s", id, r, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEnqueuedJobRunsWithItsArgs(t *testing.T) {
	w := newWorld(t)
	got := make(chan greetArgs, 1)
	start(t, w.pool, ports.WorkerFunc(func(_ context.Context, job ports.RunningJob, args greetArgs) error {
		if job.Kind != "test.greet" || job.Attempt != 1 || time.Since(job.CreatedAt) > time.Minute || time.Since(job.CreatedAt) < 0 {
			return fmt.Errorf("job %+v", job)
		}
		got <- args
		return nil
	}))
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: greetArgs{Name: "Matti", Times: 3}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case args := <-got:
		if args != (greetArgs{Name: "Matti", Times: 3}) {
			t.Errorf("the worker saw %+v", args)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run")
	}
	waitFor(t, w.pool, e.ID, "completed")
}

func TestFailingJobIsRetriedThenDiscardedWithItsErrors(t *testing.T) {
	w := newWorld(t)
	var runs atomic.Int32
	start(t, w.pool, ports.WorkerFunc(func(_ context.Context, job ports.RunningJob, args failArgs) error {
		runs.Add(1)
		return fmt.Errorf("attempt %d: %s", job.Attempt, args.Reason)
	}))
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: failArgs{Reason: "the other system answered 503"}, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	// River's first retry waits 1 s (attempt⁴ seconds, with jitter).
	r := waitFor(t, w.pool, e.ID, "discarded")
	if r.Attempt != 2 || r.Errors != 2 || runs.Load() != 2 {
		t.Errorf("discarded after %d attempts with %d errors (%d runs), want 2, 2, 2", r.Attempt, r.Errors, runs.Load())
	}
	if r.LastError != "attempt 2: the other system answered 503" {
		t.Errorf("the last error recorded is %q", r.LastError)
	}
}

func TestCancelledJobIsNotRetried(t *testing.T) {
	w := newWorld(t)
	var runs atomic.Int32
	start(t, w.pool, ports.WorkerFunc(func(context.Context, ports.RunningJob, failArgs) error {
		runs.Add(1)
		return ports.CancelJob(errors.New("row 3: not a spreadsheet"))
	}))
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: failArgs{}, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, w.pool, e.ID, "cancelled")
	if runs.Load() != 1 || r.Errors != 1 || r.LastError != "JobCancelError: row 3: not a spreadsheet" {
		t.Errorf("cancelled job: %d runs, %+v", runs.Load(), r)
	}
}

func TestJobRunningAtStopRunsAgainAfterARestart(t *testing.T) {
	w := newWorld(t)
	started := make(chan struct{}, 1)
	blocking := ports.WorkerFunc(func(ctx context.Context, _ ports.RunningJob, _ waitArgs) error {
		started <- struct{}{}
		<-ctx.Done() // runs until the stop cancels it
		return ctx.Err()
	})
	first, err := jobs.New(w.pool, testConfig, []ports.JobWorker{blocking}, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: waitArgs{}, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not start")
	}
	stopCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	began := time.Now()
	if err := first.Stop(stopCtx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < testConfig.StopTimeout {
		t.Errorf("Stop took %s: the running job did not get its %s", took, testConfig.StopTimeout)
	}
	// Cancelled by the stop, it waits to run again without having used
	// its one attempt.
	if r := row(t, w.pool, e.ID); r.State != "available" || r.Attempt != 0 {
		t.Fatalf("after the stop the job is %+v, want available with no attempt used", r)
	}

	// A new process: a new pool and runner on the same database.
	ran := make(chan ports.RunningJob, 1)
	start(t, pgtest.NewPool(t, w.url), ports.WorkerFunc(func(_ context.Context, job ports.RunningJob, _ waitArgs) error {
		ran <- job
		return nil
	}))
	select {
	case job := <-ran:
		if job.ID != e.ID || job.Attempt != 1 {
			t.Errorf("after the restart the worker got %+v, want job %d at attempt 1", job, e.ID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run after the restart")
	}
	waitFor(t, w.pool, e.ID, "completed")
}

func TestBacklogGaugeAndReadiness(t *testing.T) {
	w := newWorld(t)
	// No worker: this runner works nothing, so the jobs stay waiting.
	r, err := jobs.New(w.pool, testConfig, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := w.store.Enqueue(t.Context(), ports.Job{Args: greetArgs{Times: i}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.store.Enqueue(t.Context(), ports.Job{Args: greetArgs{}, RunAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "kirjuri_jobs_backlog" {
		t.Fatalf("gathered %v, %v; want kirjuri_jobs_backlog", mfs, err)
	}
	if v := mfs[0].GetMetric()[0].GetGauge().GetValue(); v != 3 {
		t.Errorf("kirjuri_jobs_backlog = %v, want 3 (the scheduled one is not due)", v)
	}
	if err := r.Ready(t.Context()); err != nil {
		t.Errorf("Ready: %v", err)
	}
	if d := r.Details(); d["backlog"] != int64(3) {
		t.Errorf("Details = %v, want backlog 3", d)
	}
	w.pool.Close()
	if err := r.Ready(t.Context()); err != nil {
		t.Errorf("Ready with the database gone: %v; the backlog never fails readiness", err)
	}
}

func TestNewRefusesAKindTwice(t *testing.T) {
	w := newWorld(t)
	a := ports.WorkerFunc(func(context.Context, ports.RunningJob, greetArgs) error { return nil })
	if _, err := jobs.New(w.pool, testConfig, []ports.JobWorker{a, a}, nil); err == nil {
		t.Error("New accepted two workers of one kind")
	}
}

// An instance that works no queue (jobs.workers 0, no jobs.queues: one that
// serves only the API) starts and stops with workers registered, and runs
// none of the jobs: they wait for an instance that works their queue.
func TestInstanceWithoutQueuesRunsNoJobs(t *testing.T) {
	w := newWorld(t)
	ran := make(chan struct{}, 1)
	worker := ports.WorkerFunc(func(context.Context, ports.RunningJob, greetArgs) error {
		ran <- struct{}{}
		return nil
	})
	cfg := testConfig
	cfg.Queues = nil
	r, err := jobs.New(w.pool, cfg, []ports.JobWorker{worker}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("a runner without queues: %v", err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: greetArgs{Name: "Liisa"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Error("an instance that works no queue ran a job")
	case <-time.After(time.Second):
	}
	if err := r.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := row(t, w.pool, e.ID); got.State != "available" {
		t.Errorf("job state %q, want available", got.State)
	}
	// An instance that works the queue then runs it.
	start(t, w.pool, worker)
	select {
	case <-ran:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not run on an instance that works its queue")
	}
}
