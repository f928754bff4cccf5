package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/adapters/system"
	"kirjuri/app"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// The sync worker is tested against a system played by an httptest server
// that serves its customers in pages (GET /customers?cursor=…), through a
// test-only connector that pulls them the way a real one does (429 with
// Retry-After, 401 permanent, 5xx retried), over the real register and
// PostgreSQL.

// systemCustomer is a customer as the played system sends it.
type systemCustomer struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	MarketingEmail *bool  `json:"marketingEmail,omitempty"`
}

// systemPage is one page as the played system sends it.
type systemPage struct {
	Customers []systemCustomer `json:"customers"`
	Next      string           `json:"next"`
	Done      bool             `json:"done"`
	Total     int              `json:"total"`
}

// pageSystem plays the other system. pages are its pages by cursor;
// script holds one-off answers per cursor, used in order before the page
// itself is served; seen lists the cursors asked for.
type pageSystem struct {
	srv *httptest.Server

	mu     sync.Mutex
	pages  map[string]systemPage
	script map[string][]http.HandlerFunc
	seen   []string
}

func newPageSystem(t *testing.T, pages map[string]systemPage) *pageSystem {
	t.Helper()
	s := &pageSystem{pages: pages, script: map[string][]http.HandlerFunc{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *pageSystem) serve(w http.ResponseWriter, r *http.Request) {
	cursor := r.URL.Query().Get("cursor")
	s.mu.Lock()
	s.seen = append(s.seen, cursor)
	var once http.HandlerFunc
	if q := s.script[cursor]; len(q) > 0 {
		once, s.script[cursor] = q[0], q[1:]
	}
	page, ok := s.pages[cursor]
	s.mu.Unlock()
	if once != nil {
		once(w, r)
		return
	}
	if !ok {
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}

// then queues one-off answers for a cursor.
func (s *pageSystem) then(cursor string, answers ...http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script[cursor] = append(s.script[cursor], answers...)
}

func (s *pageSystem) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

func status(code int, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		http.Error(w, http.StatusText(code), code)
	}
}

// pagesConnector is a test-only connector that pulls from a pageSystem.
type pagesConnector struct {
	name, base string
}

func (c pagesConnector) Name() string              { return c.name }
func (pagesConnector) SystemID() customer.SystemID { return customer.WooCommerce }

func (c pagesConnector) Pull(ctx context.Context, cursor string) (inbound.Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/customers?cursor="+url.QueryEscape(cursor), nil)
	if err != nil {
		return inbound.Page{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return inbound.Page{}, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return inbound.Page{}, &inbound.RateLimited{RetryAfter: time.Duration(secs) * time.Second}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound:
		return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("the system answered %d: check the API key", resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return inbound.Page{}, fmt.Errorf("the system answered %d", resp.StatusCode)
	}
	var p systemPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("the page does not parse: %w", err)}
	}
	out := inbound.Page{Next: p.Next, Done: p.Done, Total: p.Total}
	for _, sc := range p.Customers {
		d := intake.Draft{
			Link:  customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: sc.ID},
			Trust: intake.Authoritative,
		}
		d.Patch.FirstName, d.Patch.LastName, d.Patch.Email = customer.Set(sc.FirstName), customer.Set(sc.LastName), customer.Set(sc.Email)
		if sc.MarketingEmail != nil {
			d.MarketingEmail = &intake.ConsentClaim{Value: *sc.MarketingEmail, Evidence: "newsletter box at sign-up"}
		}
		out.Drafts = append(out.Drafts, d)
	}
	return out, nil
}

// person is customer i of the played system.
func person(i int) systemCustomer {
	return systemCustomer{ID: strconv.Itoa(i), Email: fmt.Sprintf("asiakas%d@example.fi", i), FirstName: "Asiakas", LastName: fmt.Sprintf("Numero%d", i)}
}

// syncRig is the worker over a fresh database and a played system.
type syncRig struct {
	t      *testing.T
	store  *postgres.Store
	pool   *pgxpool.Pool
	worker *app.SyncWorker
	system *pageSystem
}

func newSyncRig(t *testing.T, pages map[string]systemPage) *syncRig {
	t.Helper()
	store, pool := pgtest.NewStoreAndPool(t)
	sys := newPageSystem(t, pages)
	set, err := inbound.NewSet([]inbound.Connector{pagesConnector{name: "pages", base: sys.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	w := &app.SyncWorker{
		Syncs: store, Ingest: register.New(store, system.Clock{}, system.IDs{}), Connectors: set,
		Clock: system.Clock{}, Log: zap.NewNop(),
	}
	return &syncRig{t: t, store: store, pool: pool, worker: w, system: sys}
}

func (r *syncRig) create(connector string, mode ports.SyncMode) ports.Sync {
	r.t.Helper()
	id := uuid.Must(uuid.NewV7())
	s, err := r.store.CreateSync(r.t.Context(), ports.Sync{ID: id, Connector: connector, Mode: mode, Actor: "apikey:admin", Created: time.Now()},
		ports.Job{Args: inbound.SyncArgs{Connector: connector, Sync: id.String()}, MaxAttempts: ports.SyncAttempts})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// work runs the sync's job once, as attempt attempt of ports.SyncAttempts.
func (r *syncRig) work(ctx context.Context, s ports.Sync, attempt int) error {
	args, _ := json.Marshal(inbound.SyncArgs{Connector: s.Connector, Sync: s.ID.String()})
	return r.worker.Work(ctx, ports.RunningJob{ID: 1, Kind: "connector.sync", Args: args, Attempt: attempt, MaxAttempts: ports.SyncAttempts})
}

func (r *syncRig) read(s ports.Sync) ports.Sync {
	r.t.Helper()
	got, err := r.store.Sync(r.t.Context(), s.Connector, s.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

func (r *syncRig) customers() int {
	r.t.Helper()
	var n int
	if err := r.pool.QueryRow(r.t.Context(), `SELECT count(*) FROM customers`).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// counts are a progress's counts, for comparing.
type counts struct{ pages, created, updated, unchanged, stale, rejected int64 }

func countsOf(p ports.SyncProgress) counts {
	return counts{p.Pages, p.Created, p.Updated, p.Unchanged, p.Stale, p.Rejected}
}

func TestSyncResumesAfterARestart(t *testing.T) {
	yes := true
	c1 := person(1)
	c1.MarketingEmail = &yes
	bad := person(5)
	bad.Email = "not-an-email"
	rig := newSyncRig(t, map[string]systemPage{
		"":   {Customers: []systemCustomer{c1, person(2), person(3)}, Next: "p2", Total: 10},
		"p2": {Customers: []systemCustomer{person(4), bad, person(6)}, Next: "p3", Total: 10},
		"p3": {Customers: []systemCustomer{person(7), person(8), person(9)}, Next: "p4", Total: 10},
		"p4": {Customers: []systemCustomer{person(10)}, Next: "since:10", Done: true, Total: 10},
	})
	// The first run fails at page 3 (the system is down for a moment).
	rig.system.then("p3", status(http.StatusServiceUnavailable))
	// The second is stopped (a shutdown) while page 4 is being fetched.
	arrived := make(chan struct{})
	rig.system.then("p4", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	s := rig.create("pages", ports.SyncCatchUp)

	// Pages were finished before the error: the run waits for the page
	// again without using an attempt.
	err := rig.work(t.Context(), s, 1)
	var snoozed *ports.JobSnoozed
	if !errors.As(err, &snoozed) || snoozed.After != app.SyncRetryWait {
		t.Fatalf("first run: %v, want a wait of %s for a retry", err, app.SyncRetryWait)
	}
	got := rig.read(s)
	if got.Status != ports.SyncRunning || got.Progress.Cursor != "p3" || got.Progress.Total != 10 ||
		countsOf(got.Progress) != (counts{pages: 2, created: 5, rejected: 1}) || !strings.Contains(got.Progress.LastError, "503") {
		t.Fatalf("after the first run: %+v", got)
	}
	if len(got.Progress.Rejections) != 1 || got.Progress.Rejections[0].Link != "5" || !strings.Contains(got.Progress.Rejections[0].Reason, "email") ||
		strings.Contains(got.Progress.Rejections[0].Reason, "not-an-email") {
		t.Errorf("rejections %+v: want link 5, naming the field and not its value", got.Progress.Rejections)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	err = rig.work(ctx, s, 2)
	if !errors.As(err, &snoozed) || snoozed.After != 0 {
		t.Fatalf("a run stopped by a shutdown: %v, want snoozed for no time (no attempt used)", err)
	}
	got = rig.read(s)
	if got.Progress.Cursor != "p4" || countsOf(got.Progress) != (counts{pages: 3, created: 8, rejected: 1}) || got.Progress.LastError != "" {
		t.Fatalf("after the second run: %+v", got.Progress)
	}

	if err := rig.work(t.Context(), s, 2); err != nil {
		t.Fatalf("third run: %v", err)
	}
	got = rig.read(s)
	if got.Status != ports.SyncSucceeded || got.Finished.IsZero() || got.Progress.Cursor != "since:10" ||
		countsOf(got.Progress) != (counts{pages: 4, created: 9, rejected: 1}) || got.Progress.Customers() != 10 {
		t.Fatalf("succeeded: %+v", got)
	}
	// Each page was fetched again only when its first fetch had not
	// finished: no page whose cursor was stored was fetched twice.
	if want := []string{"", "p2", "p3", "p3", "p4", "p4"}; !slices.Equal(rig.system.requests(), want) {
		t.Errorf("the system saw %q, want %q", rig.system.requests(), want)
	}
	if n := rig.customers(); n != 9 {
		t.Errorf("%d customers, want 9", n)
	}
	pull, err := rig.store.ConnectorPull(t.Context(), "pages")
	if err != nil || pull.Cursor != "since:10" || pull.Sync != s.ID || !pull.LastPull.Equal(got.Finished) {
		t.Errorf("connector pull %+v %v", pull, err)
	}
	// The consent came in through the connector door, named by the sync.
	var source, actor, requestID string
	var systemID int
	if err := rig.pool.QueryRow(t.Context(), `SELECT source, source_system_id, actor, request_id FROM consent_outbox`).
		Scan(&source, &systemID, &actor, &requestID); err != nil {
		t.Fatal(err)
	}
	if source != "connector" || systemID != 6 || actor != "connector:pages" || requestID != s.ID.String() {
		t.Errorf("consent event from %s %d %s %s", source, systemID, actor, requestID)
	}

	// The job run again after the end changes nothing and asks for nothing.
	if err := rig.work(t.Context(), s, 3); err != nil {
		t.Errorf("a run after the end: %v", err)
	}
	if n := len(rig.system.requests()); n != 6 {
		t.Errorf("a run after the end fetched pages: %d requests", n)
	}
}

func TestSyncWaitsForTheRateLimit(t *testing.T) {
	rig := newSyncRig(t, map[string]systemPage{
		"":   {Customers: []systemCustomer{person(1)}, Next: "p2", Total: -1},
		"p2": {Customers: []systemCustomer{person(2)}, Next: "since:2", Done: true, Total: -1},
	})
	rig.system.then("p2",
		status(http.StatusTooManyRequests, "Retry-After", "7"),
		status(http.StatusTooManyRequests),                         // no Retry-After: a minute
		status(http.StatusTooManyRequests, "Retry-After", "86400"), // a day: an hour at most
	)
	s := rig.create("pages", ports.SyncFull)
	for i, want := range []time.Duration{7 * time.Second, time.Minute, time.Hour} {
		err := rig.work(t.Context(), s, 1)
		var snoozed *ports.JobSnoozed
		if !errors.As(err, &snoozed) || snoozed.After != want {
			t.Fatalf("429 number %d: %v, want a snooze of %s", i+1, err, want)
		}
		got := rig.read(s)
		if got.Status != ports.SyncRunning || got.Progress.Cursor != "p2" || got.Progress.Pages != 1 ||
			!strings.Contains(got.Progress.LastError, "rate limited") || !strings.Contains(got.Progress.LastError, "waiting "+want.String()) {
			t.Fatalf("while waiting: %+v", got.Progress)
		}
	}
	if err := rig.work(t.Context(), s, 1); err != nil {
		t.Fatal(err)
	}
	got := rig.read(s)
	if got.Status != ports.SyncSucceeded || countsOf(got.Progress) != (counts{pages: 2, created: 2}) || got.Progress.Total != -1 || got.Progress.LastError != "" {
		t.Errorf("after the wait: %+v", got)
	}
	if want := []string{"", "p2", "p2", "p2", "p2"}; !slices.Equal(rig.system.requests(), want) {
		t.Errorf("the system saw %q, want %q", rig.system.requests(), want)
	}
}

func TestSyncFails(t *testing.T) {
	rig := newSyncRig(t, map[string]systemPage{
		"":     {Customers: []systemCustomer{person(1)}, Next: "p2", Total: 2},
		"loop": {Customers: []systemCustomer{person(3)}, Next: "loop", Total: 2},
	})

	// A permanent error: failed with the reason, at once, the cursor kept.
	rig.system.then("p2", status(http.StatusUnauthorized))
	s := rig.create("pages", ports.SyncCatchUp)
	if err := rig.work(t.Context(), s, 1); err != nil {
		t.Fatalf("permanent error: %v, want the job done", err)
	}
	got := rig.read(s)
	if got.Status != ports.SyncFailed || got.Error != "the system answered 401: check the API key" || got.Finished.IsZero() ||
		countsOf(got.Progress) != (counts{pages: 1, created: 1}) {
		t.Errorf("after a 401: %+v", got)
	}
	if pull, _ := rig.store.ConnectorPull(t.Context(), "pages"); pull != (ports.ConnectorPull{}) {
		t.Errorf("a failed sync moved the connector's cursor: %+v", pull)
	}

	// The last attempt of errors worth retrying fails the sync.
	s = rig.create("pages", ports.SyncFull)
	rig.system.then("", status(http.StatusInternalServerError))
	if err := rig.work(t.Context(), s, ports.SyncAttempts); err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("last attempt: %v", err)
	}
	if got := rig.read(s); got.Status != ports.SyncFailed || got.Error != "attempt 10 of 10 failed: the system answered 500" {
		t.Errorf("after the last attempt: %+v", got)
	}

	// A connector whose cursor does not move would pull for ever: the
	// page that repeats its cursor is not applied.
	rig.system.mu.Lock()
	rig.system.pages["p2"] = systemPage{Customers: []systemCustomer{person(2)}, Next: "loop", Total: 2}
	rig.system.mu.Unlock()
	s = rig.create("pages", ports.SyncFull)
	if err := rig.work(t.Context(), s, 1); err != nil {
		t.Fatal(err)
	}
	if got := rig.read(s); got.Status != ports.SyncFailed || !strings.Contains(got.Error, "does not advance") || got.Progress.Pages != 2 {
		t.Errorf("a cursor that does not move: %+v", got)
	}

	// A run that outlasts its timeout is an attempt that failed; on the
	// last attempt the sync fails, though the run's context has ended.
	rig.system.then("", func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	s = rig.create("pages", ports.SyncFull)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := rig.work(ctx, s, ports.SyncAttempts)
	var snoozed *ports.JobSnoozed
	if err == nil || errors.As(err, &snoozed) {
		t.Fatalf("a run past its timeout: %v, want an error", err)
	}
	if got := rig.read(s); got.Status != ports.SyncFailed || !strings.Contains(got.Error, "the run took longer than its timeout") {
		t.Errorf("a run past its timeout on the last attempt: %+v", got)
	}

	// A sync of a connector that is no longer enabled fails at once.
	s = rig.create("gone", ports.SyncCatchUp)
	if err := rig.work(t.Context(), s, 1); err != nil {
		t.Fatal(err)
	}
	if got := rig.read(s); got.Status != ports.SyncFailed || got.Error != "connector gone is not enabled, or cannot pull" {
		t.Errorf("a connector not enabled: %+v", got)
	}
}

func TestSyncCatchUpAndFull(t *testing.T) {
	changed := person(2)
	changed.LastName = "Uusinimi"
	rig := newSyncRig(t, map[string]systemPage{
		"":        {Customers: []systemCustomer{person(1), person(2)}, Next: "p2", Total: 3},
		"p2":      {Customers: []systemCustomer{person(3)}, Next: "since:3", Done: true, Total: 3},
		"since:3": {Customers: []systemCustomer{changed, person(4)}, Next: "since:4", Done: true, Total: 4},
	})
	run := func(mode ports.SyncMode) ports.Sync {
		t.Helper()
		s := rig.create("pages", mode)
		if err := rig.work(t.Context(), s, 1); err != nil {
			t.Fatal(err)
		}
		got := rig.read(s)
		if got.Status != ports.SyncSucceeded {
			t.Fatalf("%s sync: %+v", mode, got)
		}
		return got
	}

	first := run(ports.SyncCatchUp) // nothing pulled before: from the start
	if first.From != "" || countsOf(first.Progress) != (counts{pages: 2, created: 3}) {
		t.Errorf("first sync %+v", first)
	}
	catchUp := run(ports.SyncCatchUp)
	if catchUp.From != "since:3" || catchUp.Progress.Cursor != "since:4" || countsOf(catchUp.Progress) != (counts{pages: 1, created: 1, updated: 1}) {
		t.Errorf("catch-up %+v", catchUp)
	}
	full := run(ports.SyncFull)
	if full.From != "" || countsOf(full.Progress) != (counts{pages: 2, updated: 1, unchanged: 2}) {
		t.Errorf("full %+v", full)
	}
	if want := []string{"", "p2", "since:3", "", "p2"}; !slices.Equal(rig.system.requests(), want) {
		t.Errorf("the system saw %q, want %q", rig.system.requests(), want)
	}
	if pull, _ := rig.store.ConnectorPull(t.Context(), "pages"); pull.Cursor != "since:3" || pull.Sync != full.ID {
		t.Errorf("after the full sync the connector's cursor is %+v", pull)
	}
}

// A run yields after RunFor (at the end of a page) so that no run of a
// long backfill outlasts the job timeout; the queue runs it again at once.
func TestSyncYieldsAfterItsRunTime(t *testing.T) {
	rig := newSyncRig(t, map[string]systemPage{
		"":   {Customers: []systemCustomer{person(1)}, Next: "p2", Total: 3},
		"p2": {Customers: []systemCustomer{person(2)}, Next: "p3", Total: 3},
		"p3": {Customers: []systemCustomer{person(3)}, Next: "since:3", Done: true, Total: 3},
	})
	rig.worker.RunFor = time.Nanosecond
	s := rig.create("pages", ports.SyncFull)
	for pages := int64(1); pages <= 2; pages++ {
		err := rig.work(t.Context(), s, 1)
		var snoozed *ports.JobSnoozed
		if !errors.As(err, &snoozed) || snoozed.After != 0 {
			t.Fatalf("run %d: %v, want a yield (snoozed for no time)", pages, err)
		}
		if got := rig.read(s); got.Status != ports.SyncRunning || got.Progress.Pages != pages {
			t.Fatalf("run %d: %+v", pages, got.Progress)
		}
	}
	if err := rig.work(t.Context(), s, 1); err != nil {
		t.Fatal(err)
	}
	if got := rig.read(s); got.Status != ports.SyncSucceeded || countsOf(got.Progress) != (counts{pages: 3, created: 3}) {
		t.Errorf("after three runs: %+v", got)
	}
	if want := []string{"", "p2", "p3"}; !slices.Equal(rig.system.requests(), want) {
		t.Errorf("the system saw %q, want %q", rig.system.requests(), want)
	}
}

// The whole path: the application graph as `kirjuri serve` builds it, with
// a connector that pulls, the real job queue and the HTTP API. A sync is
// started, refused a second time while it runs, waits out a 429 and ends
// with its customers in the register.
func TestSyncEndToEnd(t *testing.T) {
	sys := newPageSystem(t, map[string]systemPage{
		"":   {Customers: []systemCustomer{person(1), person(2)}, Next: "p2", Total: 3},
		"p2": {Customers: []systemCustomer{person(3)}, Next: "since:3", Done: true, Total: 3},
	})
	arrived, release := make(chan struct{}), make(chan struct{})
	sys.then("", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		status(http.StatusServiceUnavailable)(w, r)
	})
	sys.then("p2", status(http.StatusTooManyRequests, "Retry-After", "1"))

	const key = "kir_e2e-sync-admin-key"
	cfg, err := app.LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Mode = "production"
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Database.URL = pgtest.NewDatabase(t)
	cfg.Database.MaxConns = 8
	cfg.ClickHouse.URL = ""
	cfg.BootstrapAPIKey = key
	cfg.EncryptionKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	cfg.Connectors = map[string]map[string]any{
		"webstore": {"enabled": true, "signingSecret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
	}
	opts, err := app.Options(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	var srv *httpapi.Server
	fxApp := fx.New(opts, fx.NopLogger, fx.Populate(&srv), fx.Provide(fx.Annotate(
		func() inbound.Connector { return pagesConnector{name: "pages", base: sys.srv.URL} },
		fx.ResultTags(`group:"`+app.ConnectorGroup+`"`),
	)))
	if err := fxApp.Err(); err != nil {
		t.Fatal(err)
	}
	startCtx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := fxApp.Start(startCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := fxApp.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	base := "http://" + srv.Addr()
	call := func(method, path, body string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Header, b
	}
	type syncView struct {
		ID, Status, LastError             string
		PagesDone, CustomersDone, Created int64
		CustomersTotal                    *int64
	}

	code, header, body := call(http.MethodPost, "/v1/connectors/pages/sync", `{"mode":"full"}`)
	var started syncView
	if code != http.StatusAccepted || json.Unmarshal(body, &started) != nil || started.Status != "queued" {
		t.Fatalf("POST sync: %d %s", code, body)
	}
	loc := header.Get("Location")
	<-arrived // the job is fetching the first page
	code, _, body = call(http.MethodGet, loc, "")
	var now syncView
	if code != http.StatusOK || json.Unmarshal(body, &now) != nil || now.Status != "running" {
		t.Errorf("GET while running: %d %s", code, body)
	}
	code, header, body = call(http.MethodPost, "/v1/connectors/pages/sync", "")
	if code != http.StatusConflict || !strings.Contains(string(body), started.ID) || header.Get("Location") != loc {
		t.Errorf("a second sync while one runs: %d %s", code, body)
	}
	close(release) // the first page fails once (503), then the queue retries it

	deadline := time.Now().Add(60 * time.Second)
	for now.Status != "succeeded" && now.Status != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("the sync did not finish: %+v", now)
		}
		time.Sleep(100 * time.Millisecond)
		if code, _, body = call(http.MethodGet, loc, ""); code != http.StatusOK || json.Unmarshal(body, &now) != nil {
			t.Fatalf("GET: %d %s", code, body)
		}
	}
	if now.Status != "succeeded" || now.PagesDone != 2 || now.Created != 3 || now.CustomersDone != 3 || now.CustomersTotal == nil || *now.CustomersTotal != 3 {
		t.Errorf("finished: %s", body)
	}
	if want := []string{"", "", "p2", "p2"}; !slices.Equal(sys.requests(), want) {
		t.Errorf("the system saw %q, want %q", sys.requests(), want)
	}
	if code, _, body = call(http.MethodGet, "/v1/customers/by-external/6/3", ""); code != http.StatusOK || !strings.Contains(string(body), "asiakas3@example.fi") {
		t.Errorf("the pulled customer: %d %s", code, body)
	}
	var list struct {
		Items []struct {
			Name         string
			Capabilities []string
			LastPull     *time.Time
		}
	}
	if code, _, body = call(http.MethodGet, "/v1/connectors", ""); code != http.StatusOK || json.Unmarshal(body, &list) != nil {
		t.Fatalf("GET /v1/connectors: %d %s", code, body)
	}
	for _, c := range list.Items {
		if c.Name == "pages" && (!slices.Contains(c.Capabilities, "pull") || c.LastPull == nil) {
			t.Errorf("the connector's health: %+v", c)
		}
	}
}
