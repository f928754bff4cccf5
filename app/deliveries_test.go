package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/adapters/system"
	"kirjuri/app"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// recordingIngest stands for the register: it records each draft's link
// and origin and answers by the link's identifier: "invalid…" is refused,
// "down…" fails as a store that is down, "panic…" panics; any other is
// created. It is safe for a drain's parallel calls.
type recordingIngest struct {
	mu      sync.Mutex
	calls   map[string]int
	origins []consent.Origin
	delay   time.Duration
	// running and most count the calls at once.
	running, most int
	// batches are the sizes of the IngestMany calls.
	batches []int
}

var errDown = errors.New("postgres: connection refused")

func (r *recordingIngest) Ingest(ctx context.Context, d intake.Draft, o consent.Origin) (intake.Result, error) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[d.Link.Identifier]++
	r.origins = append(r.origins, o)
	r.running++
	r.most = max(r.most, r.running)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.running--
		r.mu.Unlock()
	}()
	if r.delay > 0 {
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
			return intake.Result{}, ctx.Err()
		}
	}
	switch id := d.Link.Identifier; {
	case strings.HasPrefix(id, "invalid"):
		return intake.Result{}, fault.Invalid("email", "not an email address")
	case strings.HasPrefix(id, "down"):
		return intake.Result{}, errDown
	case strings.HasPrefix(id, "panic"):
		panic("the register broke on " + id)
	}
	return intake.Result{Outcome: intake.Created}, nil
}

// IngestMany is Ingest for each item in turn, as the register's contract
// says; a panic of one goes up, as it would from the register.
func (r *recordingIngest) IngestMany(ctx context.Context, items []ports.IngestItem) []ports.IngestOutcome {
	r.mu.Lock()
	r.batches = append(r.batches, len(items))
	r.mu.Unlock()
	out := make([]ports.IngestOutcome, len(items))
	for i, it := range items {
		res, err := r.Ingest(ctx, it.Draft, it.Origin)
		out[i] = ports.IngestOutcome{Result: res, Err: err}
	}
	return out
}

func (r *recordingIngest) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

// stubConnector parses a body of comma-separated ids into one draft each;
// a body starting with "!" does not parse.
type stubConnector struct{}

func (stubConnector) Name() string                                { return "stub" }
func (stubConnector) SystemID() customer.SystemID                 { return customer.Webstore }
func (stubConnector) Verify(http.Header, []byte, time.Time) error { return nil }
func (stubConnector) DeliveryKey(http.Header, []byte) string      { return "" }
func (stubConnector) KeptHeaders() []string                       { return nil }
func (stubConnector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	if strings.HasPrefix(string(body), "!") {
		return nil, errors.New("invalid JSON at byte 3")
	}
	var out []intake.Draft
	for _, id := range strings.Split(string(body), ",") {
		out = append(out, intake.Draft{Link: customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}})
	}
	return out, nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// drainEnv is a processor on a PostgreSQL inbox of its own.
type drainEnv struct {
	t     *testing.T
	store *postgres.Store
	pool  *pgxpool.Pool
	ing   *recordingIngest
	p     *app.DeliveryProcessor
	now   time.Time
	seq   int
}

func newDrainEnv(t *testing.T) *drainEnv {
	store, pool := pgtest.NewStoreAndPool(t)
	set, err := inbound.NewSet([]inbound.Connector{stubConnector{}})
	if err != nil {
		t.Fatal(err)
	}
	e := &drainEnv{t: t, store: store, pool: pool, ing: &recordingIngest{}, now: time.Now().UTC().Truncate(time.Microsecond)}
	e.p = &app.DeliveryProcessor{Inbox: store, Ingest: e.ing, Connectors: set, Clock: fixedClock{e.now}, Log: zap.NewNop()}
	return e
}

// receive stores a delivery of body as the webhook route does.
func (e *drainEnv) receive(body string) ports.Delivery {
	e.t.Helper()
	e.seq++
	d := ports.Delivery{ID: uuid.Must(uuid.NewV7()), Connector: "stub", Key: fmt.Sprintf("msg_%d", e.seq),
		ReceivedAt: e.now.Add(-time.Second + time.Duration(e.seq)*time.Microsecond), Body: []byte(body)}
	if _, _, err := e.store.Receive(e.t.Context(), d, inbound.DrainJob("stub")); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// work runs one drain job of the stub connector at the processor's clock.
func (e *drainEnv) work(ctx context.Context) error {
	args, _ := json.Marshal(inbound.DrainArgs{Connector: "stub"})
	return e.p.Work(ctx, ports.RunningJob{ID: 1, Kind: "connector.drain", Args: args, Attempt: 1, MaxAttempts: 25})
}

// at moves the processor's clock.
func (e *drainEnv) at(t time.Time) { e.p.Clock = fixedClock{t} }

func (e *drainEnv) delivery(id uuid.UUID) ports.Delivery {
	e.t.Helper()
	d, err := e.store.Delivery(e.t.Context(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *drainEnv) jobs(where string) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.t.Context(), `SELECT count(*) FROM river_job WHERE kind = 'connector.drain' `+where).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestDrainProcessesABatch(t *testing.T) {
	e := newDrainEnv(t)
	ok := e.receive("C-1")
	two := e.receive("C-2,C-3")
	broken := e.receive("!{")
	refused := e.receive("C-4,invalid-5,C-6,invalid-7")
	if n := e.jobs(""); n != 1 {
		t.Fatalf("%d drain jobs for four deliveries, want 1", n)
	}
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(ok.ID); d.Status != ports.DeliveryProcessed || d.Outcome != "created" || d.Attempts != 1 || len(d.Body) != 0 || !d.ProcessedAt.Equal(e.now) {
		t.Errorf("processed: %+v", d)
	}
	if d := e.delivery(two.ID); d.Status != ports.DeliveryProcessed || d.Outcome != "created; created" {
		t.Errorf("two drafts: %+v", d)
	}
	// Does not parse: rejected, the register never sees it.
	if d := e.delivery(broken.ID); d.Status != ports.DeliveryRejected || d.LastError != "invalid JSON at byte 3" || d.Attempts != 1 {
		t.Errorf("unparsable: %+v", d)
	}
	// The register refuses the second and fourth drafts: the others are
	// applied all the same, and the delivery is rejected naming each
	// refused one.
	if d := e.delivery(refused.ID); d.Status != ports.DeliveryRejected || !strings.HasPrefix(d.Outcome, "created") ||
		strings.Count(d.Outcome, "created") != 2 || strings.Count(d.Outcome, "refused") != 2 ||
		d.LastError != "customer 2 (7/invalid-5): invalid input: email: not an email address; customer 4 (7/invalid-7): invalid input: email: not an email address" {
		t.Errorf("refused: %+v", d)
	}
	e.ing.mu.Lock()
	origins := e.ing.origins
	e.ing.mu.Unlock()
	if len(origins) != 7 {
		t.Fatalf("%d drafts reached the register, want 7", len(origins))
	}
	for _, o := range origins {
		if o.Source != consent.SourceConnector || o.SourceSystemID != 7 || o.Actor != "connector:stub" || o.RequestID == "" {
			t.Errorf("origin %+v", o)
		}
	}
	// The drain ended its request: the next delivery stores a job again,
	// and a replay of a processed one is still answered without one.
	if h, _ := e.store.InboxHealth(t.Context(), "stub"); h.Backlog != 0 || h.DeadLetters != 2 {
		t.Errorf("health %+v", h)
	}
	if _, dup, err := e.store.Receive(t.Context(), ports.Delivery{ID: uuid.Must(uuid.NewV7()), Connector: "stub", Key: "msg_1",
		ReceivedAt: e.now, Body: []byte("C-1")}, inbound.DrainJob("stub")); err != nil || !dup {
		t.Errorf("replay of a processed delivery: dup %v, %v", dup, err)
	}
	if n := e.jobs(""); n != 1 {
		t.Errorf("%d drain jobs after a replay, want 1", n)
	}
	e.receive("C-6")
	if n := e.jobs(""); n != 2 {
		t.Errorf("%d drain jobs after a delivery to an ended drain, want 2", n)
	}
}

// TestDrainRetries: a delivery whose register call fails is tried again
// after attempt⁴ seconds (±10 %), without holding up the rest of its batch,
// a drain job waits for its time, and the last attempt makes it a dead
// letter; an admin's retry gives it its attempts afresh.
func TestDrainRetries(t *testing.T) {
	e := newDrainEnv(t)
	before := e.receive("C-1")
	down := e.receive("down-2")
	after := e.receive("C-3")
	crash := e.receive("panic-4")
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, d := range []ports.Delivery{before, after} {
		if got := e.delivery(d.ID); got.Status != ports.DeliveryProcessed {
			t.Errorf("a delivery beside a failing one: %+v", got)
		}
	}
	d := e.delivery(down.ID)
	if d.Status != ports.DeliveryReceived || d.Attempts != 1 || d.LastError != errDown.Error() {
		t.Fatalf("after a failed attempt: %+v", d)
	}
	if wait := d.NextAttempt.Sub(e.now); wait < 900*time.Millisecond || wait > 1100*time.Millisecond {
		t.Errorf("first retry after %s, want 1 s ± 10 %%", wait)
	}
	if p := e.delivery(crash.ID); p.Status != ports.DeliveryReceived || p.Attempts != 1 || !strings.Contains(p.LastError, "panicked") || strings.Contains(p.LastError, "panic-4") {
		t.Errorf("a panic: %+v", p)
	}
	// The drain ended and left a job for when the first retry is due.
	var runAt time.Time
	if err := e.pool.QueryRow(t.Context(), `SELECT scheduled_at FROM river_job WHERE kind = 'connector.drain' AND args ? 'due'
		ORDER BY scheduled_at LIMIT 1`).Scan(&runAt); err != nil {
		t.Fatalf("no drain job for the retry: %v", err)
	}
	first := d.NextAttempt
	if c := e.delivery(crash.ID).NextAttempt; c.Before(first) {
		first = c
	}
	if runAt.Before(first) || runAt.Sub(first) >= time.Millisecond {
		t.Errorf("the retry's drain runs at %s, want %s (to the millisecond, not before)", runAt, first)
	}
	// Before it is due, a drain leaves it alone.
	calls := e.ing.count("down-2")
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.ing.count("down-2") != calls {
		t.Error("a delivery was tried again before its time")
	}
	// Each attempt waits longer; the last one fails it.
	for attempt := 2; attempt <= inbound.DeliveryAttempts; attempt++ {
		e.at(e.delivery(down.ID).NextAttempt)
		if err := e.work(t.Context()); err != nil {
			t.Fatal(err)
		}
		d = e.delivery(down.ID)
		if d.Attempts != attempt {
			t.Fatalf("attempt %d: %+v", attempt, d)
		}
		if attempt < inbound.DeliveryAttempts {
			base := time.Duration(attempt*attempt*attempt*attempt) * time.Second
			if wait := d.NextAttempt.Sub(e.p.Clock.Now()); d.Status != ports.DeliveryReceived || wait < base*9/10 || wait > base*11/10 {
				t.Errorf("after attempt %d: %s, next in %s, want %s ± 10 %%", attempt, d.Status, wait, base)
			}
		}
	}
	if d.Status != ports.DeliveryFailed || d.LastError != errDown.Error() {
		t.Fatalf("after the last attempt: %+v", d)
	}
	// An admin retries it: its attempts count afresh, so one more failure
	// leaves it waiting, not failed.
	if _, err := e.store.RetryDelivery(t.Context(), "stub", down.ID, inbound.DrainJob("stub")); err != nil {
		t.Fatal(err)
	}
	e.at(time.Now().UTC().Add(time.Second))
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(down.ID); d.Status != ports.DeliveryReceived || d.Attempts != inbound.DeliveryAttempts+1 || d.RetryBase != inbound.DeliveryAttempts {
		t.Errorf("a failure after an admin's retry: %+v", d)
	}
}

func TestRetryWait(t *testing.T) {
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 16 * time.Second, 9: 6561 * time.Second} {
		for range 50 {
			if got := app.RetryWait(attempt); got < want*9/10 || got > want*11/10 {
				t.Errorf("RetryWait(%d) = %s, want %s ± 10 %%", attempt, got, want)
			}
		}
	}
}

// TestDrainsAtOnce: two drain jobs of a connector at once (two instances)
// share its deliveries, none twice.
func TestDrainsAtOnce(t *testing.T) {
	e := newDrainEnv(t)
	e.p.BatchSize, e.p.Parallel = 10, 2
	e.ing.delay = time.Millisecond
	const total = 200
	for i := range total {
		e.receive(fmt.Sprintf("C-%d", i))
	}
	// The second instance's processor, on the same inbox.
	other := &app.DeliveryProcessor{Inbox: e.store, Ingest: e.ing, Connectors: e.p.Connectors, Clock: e.p.Clock, Log: e.p.Log,
		BatchSize: e.p.BatchSize, Parallel: e.p.Parallel}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, p := range []*app.DeliveryProcessor{e.p, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args, _ := json.Marshal(inbound.DrainArgs{Connector: "stub"})
			errs <- p.Work(t.Context(), ports.RunningJob{Args: args, Attempt: 1, MaxAttempts: 25})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range total {
		if n := e.ing.count(fmt.Sprintf("C-%d", i)); n != 1 {
			t.Errorf("C-%d went through the register %d times", i, n)
		}
	}
	if h, _ := e.store.InboxHealth(t.Context(), "stub"); h.Backlog != 0 {
		t.Errorf("backlog %d", h.Backlog)
	}
}

// namedStub is stubConnector under another name.
type namedStub struct {
	stubConnector
	name string
}

func (n namedStub) Name() string { return n.name }

// TestDrainsShareTheRegister: the drains of several connectors in one
// instance make at most Parallel register calls at once between them, so
// that they leave the connection pool to the acknowledgements.
func TestDrainsShareTheRegister(t *testing.T) {
	e := newDrainEnv(t)
	set, err := inbound.NewSet([]inbound.Connector{stubConnector{}, namedStub{name: "stub2"}, namedStub{name: "stub3"}})
	if err != nil {
		t.Fatal(err)
	}
	e.p.Connectors, e.p.Parallel, e.p.BatchSize = set, 3, 10
	e.ing.delay = 2 * time.Millisecond
	for _, name := range []string{"stub", "stub2", "stub3"} {
		for i := range 30 {
			d := ports.Delivery{ID: uuid.Must(uuid.NewV7()), Connector: name, Key: fmt.Sprintf("msg_%d", i),
				ReceivedAt: e.now.Add(-time.Second), Body: []byte(fmt.Sprintf("%s-%d", name, i))}
			if _, _, err := e.store.Receive(t.Context(), d, inbound.DrainJob(name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var wg sync.WaitGroup
	for _, name := range []string{"stub", "stub2", "stub3"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args, _ := json.Marshal(inbound.DrainArgs{Connector: name})
			if err := e.p.Work(t.Context(), ports.RunningJob{Args: args, Attempt: 1, MaxAttempts: 25}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if e.ing.most > 3 || e.ing.most < 2 {
		t.Errorf("%d register calls at once, want at most 3 (and more than one)", e.ing.most)
	}
	for _, name := range []string{"stub", "stub2", "stub3"} {
		if h, _ := e.store.InboxHealth(t.Context(), name); h.Backlog != 0 {
			t.Errorf("%s: backlog %d", name, h.Backlog)
		}
	}
}

// TestDrainStops: a drain stopped mid-batch (a shutdown) records what it
// did, and the deliveries it had not begun, or was cut short in, stay as
// they were, with no attempt counted; the job's error has it run again.
func TestDrainStops(t *testing.T) {
	e := newDrainEnv(t)
	e.p.BatchSize, e.p.Parallel = 50, 1
	e.ing.delay = 20 * time.Millisecond
	for i := range 20 {
		e.receive(fmt.Sprintf("C-%d", i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 70*time.Millisecond)
	defer cancel()
	if err := e.work(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stopped drain returned %v", err)
	}
	var processed, waiting, attempted int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE status = 'processed'),
		count(*) FILTER (WHERE status = 'received'), count(*) FILTER (WHERE status = 'received' AND attempts > 0) FROM connector_inbox`).
		Scan(&processed, &waiting, &attempted); err != nil {
		t.Fatal(err)
	}
	if processed < 1 || processed > 4 || waiting != 20-processed || attempted != 0 {
		t.Errorf("after the stop: %d processed, %d waiting (%d attempted)", processed, waiting, attempted)
	}
	// The next drain takes the rest.
	e.ing.delay = 0
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.store.InboxHealth(t.Context(), "stub"); h.Backlog != 0 {
		t.Errorf("backlog %d after the next drain", h.Backlog)
	}
}

// TestDrainHandsOver: a drain whose time is up stops after its batch and
// leaves the rest to the next drain job. One loop, so that one batch is
// taken (each of Parallel loops stops after the batch it holds).
func TestDrainHandsOver(t *testing.T) {
	e := newDrainEnv(t)
	e.p.BatchSize, e.p.Budget, e.p.Parallel = 5, time.Nanosecond, 1
	for i := range 12 {
		e.receive(fmt.Sprintf("C-%d", i))
	}
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	if h, _ := e.store.InboxHealth(t.Context(), "stub"); h.Backlog != 7 {
		t.Errorf("backlog %d after one batch, want 7", h.Backlog)
	}
	if n := e.jobs(""); n != 2 {
		t.Errorf("%d drain jobs, want the first and the next", n)
	}
}

// TestDrainLingers: a drain that has caught up keeps looking for a while,
// so that a delivery stored meanwhile is processed by it, with no drain
// job of its own to wait for.
func TestDrainLingers(t *testing.T) {
	e := newDrainEnv(t)
	e.p.Linger = time.Second
	e.receive("C-1")
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- e.work(t.Context()) }()
	time.Sleep(200 * time.Millisecond)
	late := e.receive("C-2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(late.ID); d.Status != ports.DeliveryProcessed {
		t.Errorf("a delivery stored while the drain lingered: %+v", d)
	}
	if n := e.jobs(""); n != 1 {
		t.Errorf("%d drain jobs, want the first only", n)
	}
	if took := time.Since(start); took < 1200*time.Millisecond {
		t.Errorf("the drain ended %s after it began, before lingering a second after the last delivery", took)
	}
}

// TestDrainKick: the start requests a drain of a connector with deliveries
// waiting (left by a stopped instance), and of no other.
func TestDrainKick(t *testing.T) {
	e := newDrainEnv(t)
	if err := e.p.Kick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.jobs(""); n != 0 {
		t.Errorf("%d drain jobs with nothing waiting", n)
	}
	e.receive("C-1")
	if err := e.p.Kick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.jobs(""); n != 2 {
		t.Errorf("%d drain jobs with a delivery waiting, want the delivery's and the start's", n)
	}
}

// TestDrainOfADisabledConnector: its deliveries wait; the job gives up.
func TestDrainOfADisabledConnector(t *testing.T) {
	e := newDrainEnv(t)
	args, _ := json.Marshal(inbound.DrainArgs{Connector: "gone"})
	err := e.p.Work(t.Context(), ports.RunningJob{Args: args, Attempt: 1, MaxAttempts: 25})
	var c *ports.JobCancelled
	if !errors.As(err, &c) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("drain of a disabled connector: %v", err)
	}
}

func TestReceiverWithoutVerifier(t *testing.T) {
	if _, err := inbound.NewSet([]inbound.Connector{unverified{}}); err == nil {
		t.Error("a receiver without a verifier was accepted")
	}
}

type unverified struct{}

func (unverified) Name() string                                      { return "u" }
func (unverified) SystemID() customer.SystemID                       { return customer.Webstore }
func (unverified) DeliveryKey(http.Header, []byte) string            { return "" }
func (unverified) KeptHeaders() []string                             { return nil }
func (unverified) Parse(http.Header, []byte) ([]intake.Draft, error) { return nil, nil }

// registerStub is stubConnector whose drafts the register takes: an
// Authoritative person per id, named by it; an id starting with "refused"
// is a customer the register takes and the database refuses (a trigger
// refuseInDatabase installs), so that the store fails its write; one
// starting with "bad" has an email the register refuses; a body starting
// with "!" does not parse.
type registerStub struct{ stubConnector }

func (registerStub) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	if strings.HasPrefix(string(body), "!") {
		return nil, errors.New("invalid JSON at byte 3")
	}
	var out []intake.Draft
	for _, id := range strings.Split(string(body), ",") {
		d := intake.Draft{Link: customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}, Trust: intake.Authoritative,
			Patch: customer.Patch{FirstName: customer.Set("Toimitus"), LastName: customer.Set(id)}}
		if strings.HasPrefix(id, "bad") {
			d.Patch.Email = customer.Set("not-an-email") // the register refuses it
		}
		out = append(out, d)
	}
	return out, nil
}

// refuseInDatabase makes the test database refuse to store a customer
// whose last name starts with "refused" (registerStub's): a real failure
// of PostgreSQL on a draft the register takes.
func refuseInDatabase(t *testing.T, e *drainEnv) {
	t.Helper()
	if _, err := e.pool.Exec(t.Context(), `
		CREATE FUNCTION test_refuse_customer() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			RAISE EXCEPTION 'the database refuses customer %', NEW.last_name;
		END $$;
		CREATE TRIGGER test_refuse_customer BEFORE INSERT ON customers FOR EACH ROW
			WHEN (NEW.last_name LIKE 'refused%') EXECUTE FUNCTION test_refuse_customer();`); err != nil {
		t.Fatal(err)
	}
}

// TestDrainRollsBackAFailedDelivery: with the real register, a delivery
// whose processing the store fails (a value PostgreSQL refuses, after a
// draft of it was stored) is rolled back alone: what it wrote is gone and
// it waits for its next attempt, while the others of its batch are
// processed and their customers committed with their results.
func TestDrainRollsBackAFailedDelivery(t *testing.T) {
	e := newDrainEnv(t)
	set, err := inbound.NewSet([]inbound.Connector{registerStub{}})
	if err != nil {
		t.Fatal(err)
	}
	e.p.Connectors, e.p.Ingest = set, register.New(e.store, system.Clock{}, system.IDs{})
	refuseInDatabase(t, e)
	before := e.receive("R-1")
	failing := e.receive("R-2,refused-3")
	after := e.receive("R-4")
	if err := e.work(t.Context()); err != nil {
		t.Fatal(err)
	}
	link := func(id string) customer.ExternalLink {
		return customer.ExternalLink{SystemID: customer.Webstore, Identifier: id}
	}
	for _, x := range []struct {
		d  ports.Delivery
		id string
	}{{before, "R-1"}, {after, "R-4"}} {
		d := e.delivery(x.d.ID)
		c, err := e.store.GetByExternal(t.Context(), link(x.id))
		if d.Status != ports.DeliveryProcessed || err != nil || d.Outcome != "created "+c.ID().String() {
			t.Errorf("a delivery beside a failing one: %+v; its customer %v", d, err)
		}
	}
	d := e.delivery(failing.ID)
	if d.Status != ports.DeliveryReceived || d.Attempts != 1 || !strings.Contains(d.LastError, "the database refuses customer") || !d.NextAttempt.After(e.now) {
		t.Errorf("the failing delivery: %+v", d)
	}
	// Its first draft was stored before the second failed: rolled back
	// with it, so that the next attempt starts afresh.
	for _, id := range []string{"R-2", "refused-3"} {
		if _, err := e.store.GetByExternal(t.Context(), link(id)); !fault.IsNotFound(err) {
			t.Errorf("customer %s of the failed delivery: %v, want none", id, err)
		}
	}
	var customers int
	if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM customers`).Scan(&customers); err != nil {
		t.Fatal(err)
	}
	if customers != 2 {
		t.Errorf("%d customers stored, want the two of the processed deliveries", customers)
	}
}

// countingIngest is the register, counting how the processor calls it;
// oneByOne makes IngestMany panic, so that the processor takes its old
// path, one delivery after the other.
type countingIngest struct {
	reg          ports.Ingest
	mu           sync.Mutex
	many, single int
	oneByOne     bool
}

func (c *countingIngest) Ingest(ctx context.Context, d intake.Draft, o consent.Origin) (intake.Result, error) {
	c.mu.Lock()
	c.single++
	c.mu.Unlock()
	return c.reg.Ingest(ctx, d, o)
}

func (c *countingIngest) IngestMany(ctx context.Context, items []ports.IngestItem) []ports.IngestOutcome {
	c.mu.Lock()
	c.many++
	c.mu.Unlock()
	if c.oneByOne {
		panic("one by one")
	}
	return c.reg.IngestMany(ctx, items)
}

// TestDrainTakesABatchTogether: with the real register, a batch's drafts
// go to the register in one call, and every delivery gets the result it
// gets when the deliveries are processed one by one (the old path, taken
// here by an IngestMany that panics): processed, rejected naming the
// refused draft with the others applied, failed with nothing stored for
// a lone draft the store cannot write.
func TestDrainTakesABatchTogether(t *testing.T) {
	type seen struct {
		status  ports.DeliveryStatus
		outcome string // customer ids replaced by "id"
		reason  string
	}
	run := func(oneByOne bool) ([]seen, *countingIngest, int) {
		e := newDrainEnv(t)
		set, err := inbound.NewSet([]inbound.Connector{registerStub{}})
		if err != nil {
			t.Fatal(err)
		}
		ing := &countingIngest{reg: register.New(e.store, system.Clock{}, system.IDs{}), oneByOne: oneByOne}
		e.p.Connectors, e.p.Ingest = set, ing
		refuseInDatabase(t, e)
		var ds []ports.Delivery
		for _, body := range []string{"R-1", "R-2,R-3", "R-4,bad-5,R-6", "refused-7", "!{", "R-1"} {
			ds = append(ds, e.receive(body))
		}
		if err := e.work(t.Context()); err != nil {
			t.Fatal(err)
		}
		var out []seen
		for _, d := range ds {
			got := e.delivery(d.ID)
			outcome := got.Outcome
			for _, f := range strings.Fields(outcome) {
				if _, err := uuid.Parse(strings.TrimSuffix(f, ";")); err == nil {
					outcome = strings.Replace(outcome, strings.TrimSuffix(f, ";"), "id", 1)
				}
			}
			out = append(out, seen{got.Status, outcome, got.LastError})
		}
		var customers int
		if err := e.pool.QueryRow(t.Context(), `SELECT count(*) FROM customers`).Scan(&customers); err != nil {
			t.Fatal(err)
		}
		return out, ing, customers
	}
	together, ing, customers := run(false)
	if ing.many != 1 || ing.single != 0 {
		t.Errorf("the register was called %d times with many drafts and %d with one, want once with all of them", ing.many, ing.single)
	}
	alone, old, oldCustomers := run(true)
	if old.single == 0 {
		t.Fatal("the old path was not taken")
	}
	if !slices.Equal(together, alone) || customers != oldCustomers {
		t.Errorf("together: %+v (%d customers)\none by one: %+v (%d customers)", together, customers, alone, oldCustomers)
	}
	want := []seen{
		{ports.DeliveryProcessed, "created id", ""},
		{ports.DeliveryProcessed, "created id; created id", ""},
		{ports.DeliveryRejected, "created id; refused; created id", "customer 2 (7/bad-5): invalid input: email: "},
	}
	for i, w := range want {
		if !strings.HasPrefix(together[i].reason, w.reason) || together[i].status != w.status || together[i].outcome != w.outcome {
			t.Errorf("delivery %d: %+v, want %+v", i, together[i], w)
		}
	}
	if d := together[3]; d.status != ports.DeliveryReceived || !strings.Contains(d.reason, "the database refuses customer") {
		t.Errorf("the delivery the store cannot write: %+v", d)
	}
	if d := together[4]; d.status != ports.DeliveryRejected {
		t.Errorf("the delivery that does not parse: %+v", d)
	}
	if d := together[5]; d.status != ports.DeliveryProcessed || d.outcome != "unchanged id" {
		t.Errorf("the same draft again in the batch: %+v", d)
	}
	if customers != 5 {
		t.Errorf("%d customers stored, want 5 (R-1 to R-6 but the refused one)", customers)
	}
}
