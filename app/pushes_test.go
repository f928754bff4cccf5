package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// pushTestName is a connector that exists only in these tests: it pushes
// customers to a fake system (an httptest server) and receives that
// system's webhooks, in the fake's own JSON.
const pushTestName = "pushtest"

type pushTestConfig struct {
	URL string `koanf:"url"`
}

// fakeRecord is a customer as the fake system keeps and sends it.
type fakeRecord struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (r fakeRecord) draft() intake.Draft {
	return intake.Draft{
		Link:            customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: r.ID},
		Trust:           intake.Authoritative,
		SourceUpdatedAt: r.UpdatedAt,
		Patch:           customer.Patch{FirstName: customer.Set(r.FirstName), LastName: customer.Set(r.LastName), Email: customer.Set(r.Email)},
	}
}

type pushTestConnector struct {
	url    string
	client *http.Client
}

var (
	_ inbound.Pusher   = (*pushTestConnector)(nil)
	_ inbound.Receiver = (*pushTestConnector)(nil)
	_ inbound.Verifier = (*pushTestConnector)(nil)
)

func (*pushTestConnector) Name() string                { return pushTestName }
func (*pushTestConnector) SystemID() customer.SystemID { return customer.MyCashFlow }
func (*pushTestConnector) Verify(h http.Header, _ []byte, _ time.Time) error {
	if h.Get("X-Test-Secret") != "s3cret" {
		return delivery.Unauthentic("missing or wrong X-Test-Secret")
	}
	return nil
}
func (*pushTestConnector) DeliveryKey(h http.Header, _ []byte) string { return h.Get("X-Delivery") }
func (*pushTestConnector) KeptHeaders() []string                      { return nil }
func (*pushTestConnector) Parse(_ http.Header, body []byte) ([]intake.Draft, error) {
	var r fakeRecord
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("pushtest: body: %w", err)
	}
	return []intake.Draft{r.draft()}, nil
}

// Push sends the customer with a PUT, as a real connector would, and
// classifies the answer as inbound.Pusher says.
func (p *pushTestConnector) Push(ctx context.Context, c *customer.Customer, link customer.ExternalLink) (inbound.PushResult, error) {
	d := c.Data()
	body, _ := json.Marshal(fakeRecord{ID: link.Identifier, FirstName: d.FirstName, LastName: d.LastName, Email: d.Email})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.url+"/customers/"+link.Identifier, bytes.NewReader(body))
	if err != nil {
		return inbound.PushResult{}, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return inbound.PushResult{}, fmt.Errorf("pushtest: %w", err)
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return inbound.PushResult{}, &inbound.RateLimited{RetryAfter: time.Duration(secs) * time.Second}
	case code >= 400 && code < 500 && code != 408 && code != 409:
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("pushtest: %s", resp.Status)}
	case code >= 300:
		return inbound.PushResult{}, fmt.Errorf("pushtest: %s", resp.Status)
	}
	var r fakeRecord
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return inbound.PushResult{}, fmt.Errorf("pushtest: answer: %w", err)
	}
	echo := r.draft()
	return inbound.PushResult{Echo: &echo}, nil
}

// fakeSystem plays the other system. How it answers a record depends on
// the record's id: "down-…" 503 while down, "limit-…" 429 (Retry-After: 1)
// the first time, "bad-…" 400; any other 200 with the record as stored.
// A held id's requests wait until it is released.
type fakeSystem struct {
	mu       sync.Mutex
	srv      *httptest.Server
	down     map[string]bool
	limited  map[string]bool
	held     map[string]chan struct{}
	started  chan string
	requests map[string][]fakeRecord // every PUT, by id
	answered map[string][]int        // its statuses
	at       map[string][]time.Time  // when
	stored   map[string]fakeRecord
	clock    time.Time
}

func newFakeSystem(t *testing.T) *fakeSystem {
	f := &fakeSystem{down: map[string]bool{}, limited: map[string]bool{}, held: map[string]chan struct{}{},
		started: make(chan string, 16), requests: map[string][]fakeRecord{}, answered: map[string][]int{},
		at: map[string][]time.Time{}, stored: map[string]fakeRecord{}, clock: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSystem) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/customers/")
	var rec fakeRecord
	if !ok || r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&rec) != nil || rec.ID != id {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	hold := f.held[id]
	f.mu.Unlock()
	if hold != nil {
		f.started <- id
		<-hold
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[id] = append(f.requests[id], rec)
	f.at[id] = append(f.at[id], time.Now())
	status := http.StatusOK
	switch {
	case strings.HasPrefix(id, "down-") && f.down[id]:
		status = http.StatusServiceUnavailable
	case strings.HasPrefix(id, "limit-") && !f.limited[id]:
		f.limited[id] = true
		w.Header().Set("Retry-After", "1")
		status = http.StatusTooManyRequests
	case strings.HasPrefix(id, "bad-"):
		status = http.StatusBadRequest
	}
	f.answered[id] = append(f.answered[id], status)
	if status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	f.clock = f.clock.Add(time.Minute)
	rec.UpdatedAt = f.clock
	f.stored[id] = rec
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rec)
}

func (f *fakeSystem) hold(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held[id] = make(chan struct{})
}

func (f *fakeSystem) release(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.held[id])
	delete(f.held, id)
}

func (f *fakeSystem) setDown(id string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[id] = down
}

func (f *fakeSystem) got(id string) ([]fakeRecord, []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests[id]), slices.Clone(f.answered[id])
}

// pushEnv is the whole application with the test connector enabled,
// pushing to a fake system, on a fresh database.
type pushEnv struct {
	t    *testing.T
	base string
	pool *pgxpool.Pool
	sys  *fakeSystem
}

const pushTestKey = "kir_push-test-bootstrap-0001"

func newPushEnv(t *testing.T) *pushEnv {
	t.Helper()
	unsetEnv(t)
	connectorRegistry[pushTestName] = connectorEntry(nil, func(c *pushTestConfig) (fx.Option, error) {
		return provideConnector(&pushTestConnector{url: c.URL, client: &http.Client{Timeout: 10 * time.Second}}), nil
	})
	t.Cleanup(func() { delete(connectorRegistry, pushTestName) })
	sys := newFakeSystem(t)
	// Retries in moments, by configuration: a backoff of milliseconds,
	// three attempts, one push at a time (so that a held push keeps the
	// next one waiting).
	cfg, err := LoadConfig(writeConfig(t, `
mode: production
encryptionKey: "`+testKeyB64(7)+`"
http: {addr: "127.0.0.1:0"}
clickhouse: {url: ""}
pushes: {workers: 1, maxAttempts: 3, backoffBase: 10ms, backoffCap: 50ms, timeout: 30s}
connectors:
  pushtest: {enabled: true, url: "`+sys.srv.URL+`"}
`))
	if err != nil {
		t.Fatal(err)
	}
	db := pgtest.NewDatabase(t)
	cfg.Database.URL = db
	cfg.BootstrapAPIKey = pushTestKey
	opts, err := Options(cfg, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err != nil {
		t.Fatal(err)
	}
	var srv *httpapi.Server
	// River polls for jobs that became due (a retry) once a second; the
	// test polls faster.
	app := fx.New(opts, fx.NopLogger, fx.Populate(&srv),
		fx.Decorate(func(c jobs.Config) jobs.Config { c.PollInterval = 50 * time.Millisecond; return c }))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return &pushEnv{t: t, base: "http://" + srv.Addr(), pool: pgtest.NewPool(t, db), sys: sys}
}

func (e *pushEnv) do(method, path string, body any, header ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+pushTestKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (e *pushEnv) create(first, email, link string) uuid.UUID {
	e.t.Helper()
	status, body := e.do(http.MethodPost, "/v1/customers", map[string]any{
		"firstName": first, "lastName": "Virtanen", "email": email,
		"externalSystems": []map[string]any{{"systemId": int(customer.MyCashFlow), "identifier": link}},
	})
	if status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", status, body)
	}
	var c struct{ ID uuid.UUID }
	_ = json.Unmarshal(body, &c)
	return c.ID
}

func (e *pushEnv) rename(id uuid.UUID, first string) {
	e.t.Helper()
	status, body := e.do(http.MethodPatch, "/v1/customers/"+id.String(), map[string]any{"firstName": first},
		"Content-Type", "application/merge-patch+json")
	if status != http.StatusOK {
		e.t.Fatalf("rename: %d %s", status, body)
	}
}

func (e *pushEnv) customer(id uuid.UUID) (first string, version int64) {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/v1/customers/"+id.String(), nil)
	if status != http.StatusOK {
		e.t.Fatalf("get: %d %s", status, body)
	}
	var c struct {
		FirstName string `json:"firstName"`
		Version   int64  `json:"version"`
	}
	_ = json.Unmarshal(body, &c)
	return c.FirstName, c.Version
}

// pushJobs lists the states of the customer's push jobs, by job id.
func (e *pushEnv) pushJobs(id uuid.UUID) []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.t.Context(), `SELECT state::text FROM river_job WHERE kind = $1 AND args->>'customer' = $2 ORDER BY id`,
		ports.PushJobKind, id.String())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

// settled waits until none of the customer's push jobs waits or runs.
func (e *pushEnv) settled(id uuid.UUID) []string {
	e.t.Helper()
	var states []string
	eventually(e.t, "the customer's pushes to finish", func() bool {
		states = e.pushJobs(id)
		return !slices.ContainsFunc(states, func(s string) bool {
			return s != "completed" && s != "discarded" && s != "cancelled"
		})
	})
	return states
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type deadLetterView struct {
	ID, Kind, Customer, Status, Reason string
	Attempts                           int
}

func (e *pushEnv) deadLetters() []deadLetterView {
	e.t.Helper()
	status, body := e.do(http.MethodGet, "/v1/connectors/"+pushTestName+"/dead-letters", nil)
	if status != http.StatusOK {
		e.t.Fatalf("dead letters: %d %s", status, body)
	}
	var out struct{ Items []deadLetterView }
	_ = json.Unmarshal(body, &out)
	return out.Items
}

func (e *pushEnv) deadLetterOf(id uuid.UUID) (deadLetterView, bool) {
	for _, d := range e.deadLetters() {
		if d.Customer == id.String() {
			return d, true
		}
	}
	return deadLetterView{}, false
}

func TestPushes(t *testing.T) {
	e := newPushEnv(t)

	t.Run("a change is pushed with its body", func(t *testing.T) {
		e.t = t
		id := e.create("Aino", "aino@example.fi", "M-1")
		e.settled(id)
		e.rename(id, "Aili")
		e.settled(id)
		reqs, codes := e.sys.got("M-1")
		if len(reqs) != 2 || reqs[0].FirstName != "Aino" || reqs[1].FirstName != "Aili" || reqs[1].Email != "aino@example.fi" ||
			!slices.Equal(codes, []int{200, 200}) {
			t.Fatalf("the system got %+v (%v), want the created customer and then the renamed one", reqs, codes)
		}
		status, body := e.do(http.MethodGet, "/v1/connectors", nil)
		var list struct {
			Items []struct {
				Name         string
				Capabilities []string
				LastPush     *time.Time
				PushBacklog  int64
			}
		}
		_ = json.Unmarshal(body, &list)
		if status != http.StatusOK || len(list.Items) != 1 || !slices.Contains(list.Items[0].Capabilities, "push") ||
			list.Items[0].LastPush == nil || list.Items[0].PushBacklog != 0 {
			t.Errorf("GET /v1/connectors: %d %s", status, body)
		}
	})

	t.Run("the other system down: retries, a dead letter, retried by an admin", func(t *testing.T) {
		e.t = t
		e.sys.setDown("down-1", true)
		id := e.create("Eero", "eero@example.fi", "down-1")
		if states := e.settled(id); !slices.Equal(states, []string{"discarded"}) {
			t.Fatalf("push jobs %v, want one discarded", states)
		}
		if _, codes := e.sys.got("down-1"); !slices.Equal(codes, []int{503, 503, 503}) {
			t.Fatalf("the system answered %v, want three attempts, all 503", codes)
		}
		d, ok := e.deadLetterOf(id)
		if !ok || d.Kind != "push" || d.Status != "failed" || d.Attempts != 3 || !strings.Contains(d.Reason, "503") {
			t.Fatalf("dead letter %+v (%v), want a failed push after 3 attempts with its 503", d, ok)
		}
		if strings.Contains(d.Reason, "eero") || strings.Contains(d.Reason, "Eero") {
			t.Errorf("the reason shows personal data: %q", d.Reason)
		}
		status, body := e.do(http.MethodGet, "/v1/connectors", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"deadLetters":1`) {
			t.Errorf("GET /v1/connectors counts no push dead letter: %s", body)
		}

		e.sys.setDown("down-1", false)
		status, body = e.do(http.MethodPost, "/v1/connectors/"+pushTestName+"/dead-letters/"+d.ID+"/retry", nil)
		if status != http.StatusAccepted || !strings.Contains(string(body), `"status":"queued"`) {
			t.Fatalf("retry: %d %s", status, body)
		}
		e.settled(id)
		reqs, codes := e.sys.got("down-1")
		if !slices.Equal(codes, []int{503, 503, 503, 200}) || reqs[3].FirstName != "Eero" {
			t.Fatalf("after the retry the system answered %v, want a fourth attempt, 200", codes)
		}
		if _, still := e.deadLetterOf(id); still {
			t.Error("the retried push is still a dead letter")
		}
		// Retrying it again: it is no dead letter now. Wrong ids.
		for _, tc := range []struct {
			id   string
			want int
		}{
			{d.ID, http.StatusConflict},
			{"987654321", http.StatusNotFound},
			{uuid.NewString(), http.StatusNotFound},
			{"not-an-id", http.StatusUnprocessableEntity},
			{"-4", http.StatusUnprocessableEntity},
			{"99999999999999999999", http.StatusUnprocessableEntity},
		} {
			if status, body := e.do(http.MethodPost, "/v1/connectors/"+pushTestName+"/dead-letters/"+tc.id+"/retry", nil); status != tc.want {
				t.Errorf("retry %s: %d %s, want %d", tc.id, status, body, tc.want)
			}
		}
	})

	t.Run("429 with Retry-After: the push waits, using no attempt", func(t *testing.T) {
		e.t = t
		id := e.create("Liisa", "liisa@example.fi", "limit-1")
		if states := e.settled(id); !slices.Equal(states, []string{"completed"}) {
			t.Fatalf("push jobs %v", states)
		}
		_, codes := e.sys.got("limit-1")
		e.sys.mu.Lock()
		at := slices.Clone(e.sys.at["limit-1"])
		e.sys.mu.Unlock()
		if !slices.Equal(codes, []int{429, 200}) || at[1].Sub(at[0]) < 900*time.Millisecond {
			t.Fatalf("the system answered %v at %v; want 429, then 200 after the second it asked for", codes, at)
		}
		var attempt int
		if err := e.pool.QueryRow(t.Context(), `SELECT attempt FROM river_job WHERE kind = $1 AND args->>'customer' = $2`,
			ports.PushJobKind, id.String()).Scan(&attempt); err != nil || attempt != 1 {
			t.Errorf("the push completed at attempt %d (%v), want 1: the wait used no attempt", attempt, err)
		}
	})

	t.Run("400: a dead letter at once", func(t *testing.T) {
		e.t = t
		id := e.create("Ville", "ville@example.fi", "bad-1")
		if states := e.settled(id); !slices.Equal(states, []string{"cancelled"}) {
			t.Fatalf("push jobs %v, want one cancelled", states)
		}
		if _, codes := e.sys.got("bad-1"); !slices.Equal(codes, []int{400}) {
			t.Errorf("the system answered %v, want one 400", codes)
		}
		d, ok := e.deadLetterOf(id)
		if !ok || d.Status != "rejected" || d.Attempts != 1 || !strings.Contains(d.Reason, "400") || strings.Contains(d.Reason, "JobCancelError") {
			t.Errorf("dead letter %+v (%v), want a rejected push after one attempt", d, ok)
		}
	})

	t.Run("restricted and erased customers are never pushed", func(t *testing.T) {
		e.t = t
		id := e.create("Rauha", "rauha@example.fi", "private-1")
		e.settled(id)
		if status, body := e.do(http.MethodPut, "/v1/customers/"+id.String()+"/restriction", map[string]any{"reason": "asked by the customer"}); status != http.StatusOK {
			t.Fatalf("restrict: %d %s", status, body)
		}
		e.rename(id, "Rajoitettu")
		// A push queued before the restriction, run after it, sends nothing.
		if _, err := postgres.New(e.pool, nil).Enqueue(t.Context(), ports.PushJob(pushTestName, id, 3)); err != nil {
			t.Fatal(err)
		}
		e.settled(id)
		if status, body := e.do(http.MethodDelete, "/v1/customers/"+id.String(), nil); status != http.StatusOK && status != http.StatusNoContent {
			t.Fatalf("erase: %d %s", status, body)
		}
		if states := e.settled(id); !slices.Equal(states, []string{"completed", "completed"}) {
			t.Errorf("push jobs %v, want the creation's and the one queued by hand", states)
		}
		if reqs, _ := e.sys.got("private-1"); len(reqs) != 1 || reqs[0].FirstName != "Rauha" {
			t.Errorf("the system got %+v, want only the push before the restriction", reqs)
		}
	})

	t.Run("the echo of a push changes nothing after a newer change here", func(t *testing.T) {
		e.t = t
		id := e.create("Kaisa", "kaisa@example.fi", "echo-1")
		e.settled(id)
		e.sys.mu.Lock()
		v1 := e.sys.stored["echo-1"]
		e.sys.mu.Unlock()
		// v2 here; its push waits behind another customer's, held (one
		// push at a time), so the system still has v1.
		e.sys.hold("blocker-1")
		blocker := e.create("Kalle", "kalle@example.fi", "blocker-1")
		<-e.sys.started
		e.rename(id, "Kaija")
		_, version := e.customer(id)
		// The system's webhook about v1, later than anything the register
		// took from it.
		v1.UpdatedAt = v1.UpdatedAt.Add(30 * time.Second)
		body, _ := json.Marshal(v1)
		status, resp := e.do(http.MethodPost, "/v1/connectors/"+pushTestName+"/webhook", json.RawMessage(body),
			"X-Test-Secret", "s3cret", "X-Delivery", "echo-of-v1")
		if status != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", status, resp)
		}
		var outcome string
		eventually(t, "the echo to be processed", func() bool {
			err := e.pool.QueryRow(t.Context(), `SELECT outcome FROM connector_inbox WHERE delivery_key = 'echo-of-v1' AND status = 'processed'`).Scan(&outcome)
			return err == nil
		})
		if first, v := e.customer(id); outcome != "unchanged "+id.String() || first != "Kaija" || v != version {
			t.Errorf("after the echo: outcome %q, first name %q, version %d; want unchanged, Kaija, %d", outcome, first, v, version)
		}
		e.sys.release("blocker-1")
		e.settled(blocker)
		e.settled(id)
		if reqs, _ := e.sys.got("echo-1"); len(reqs) != 2 || reqs[1].FirstName != "Kaija" {
			t.Errorf("the system got %+v, want v1 and then v2", reqs)
		}
	})

	t.Run("the webhook of a push sent before the push's answer waits for its echo", func(t *testing.T) {
		e.t = t
		id := e.create("Saara", "saara@example.fi", "early-1")
		e.settled(id)
		e.sys.hold("early-1")
		e.rename(id, "Sanna") // v2: its push runs, and is held
		<-e.sys.started
		e.rename(id, "Selma") // v3 here: its push waits for the worker
		// The system sends its webhook of v2 before it answers the push.
		v2 := fakeRecord{ID: "early-1", FirstName: "Sanna", LastName: "Virtanen", Email: "saara@example.fi",
			UpdatedAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
		body, _ := json.Marshal(v2)
		if status, resp := e.do(http.MethodPost, "/v1/connectors/"+pushTestName+"/webhook", json.RawMessage(body),
			"X-Test-Secret", "s3cret", "X-Delivery", "early-echo"); status != http.StatusAccepted {
			t.Fatalf("webhook: %d %s", status, resp)
		}
		time.Sleep(500 * time.Millisecond)
		var status, outcome string
		if err := e.pool.QueryRow(t.Context(), `SELECT status, outcome FROM connector_inbox WHERE delivery_key = 'early-echo'`).Scan(&status, &outcome); err != nil || status != "received" {
			t.Errorf("while the push runs the webhook is %s (%q, %v), want it waiting", status, outcome, err)
		}
		e.sys.release("early-1")
		eventually(t, "the webhook to be processed", func() bool {
			return e.pool.QueryRow(t.Context(), `SELECT outcome FROM connector_inbox WHERE delivery_key = 'early-echo' AND status = 'processed'`).Scan(&outcome) == nil
		})
		e.settled(id)
		if first, _ := e.customer(id); outcome != "unchanged "+id.String() || first != "Selma" {
			t.Errorf("after the early webhook: outcome %q, first name %q; want unchanged, Selma", outcome, first)
		}
		if reqs, _ := e.sys.got("early-1"); len(reqs) != 3 || reqs[2].FirstName != "Selma" {
			t.Errorf("the system got %+v, want v1, v2 and v3", reqs)
		}
	})

	t.Run("a change while a push runs queues another; changes while it waits coalesce", func(t *testing.T) {
		e.t = t
		e.sys.hold("slow-1")
		id := e.create("Outi", "outi@example.fi", "slow-1")
		<-e.sys.started // the creation's push runs, with Outi
		e.rename(id, "Oona")
		e.rename(id, "Olga")
		e.rename(id, "Onerva")
		if states := e.pushJobs(id); !slices.Equal(states, []string{"running", "available"}) {
			t.Errorf("push jobs while the first runs: %v, want it and one waiting for the three changes", states)
		}
		e.sys.release("slow-1")
		e.settled(id)
		reqs, _ := e.sys.got("slow-1")
		if len(reqs) != 2 || reqs[0].FirstName != "Outi" || reqs[1].FirstName != "Onerva" {
			t.Errorf("the system got %+v, want the first state and then the last", reqs)
		}
	})
}

// NextRetry waits a random time up to min(cap, base·2^attempt): the
// bounds, and the randomness used whole.
func TestPushBackoffHasFullJitter(t *testing.T) {
	w := &PushWorker{BackoffBase: 2 * time.Second, BackoffCap: time.Hour}
	top := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{
		{1, 4 * time.Second}, {2, 8 * time.Second}, {10, 2048 * time.Second}, {11, time.Hour}, {40, time.Hour}, {100, time.Hour},
	} {
		w.Rand = top
		if got := w.NextRetry(tc.attempt); got != tc.want {
			t.Errorf("NextRetry(%d) at the top = %s, want %s", tc.attempt, got, tc.want)
		}
		w.Rand = func(int64) int64 { return 0 }
		if got := w.NextRetry(tc.attempt); got != 0 {
			t.Errorf("NextRetry(%d) at the bottom = %s, want 0", tc.attempt, got)
		}
	}
	w.Rand = nil
	seen := map[time.Duration]bool{}
	for range 50 {
		d := w.NextRetry(3)
		if d < 0 || d > 16*time.Second {
			t.Fatalf("NextRetry(3) = %s, out of [0, 16s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 40 {
		t.Errorf("50 waits took only %d values: not random", len(seen))
	}
}

func TestPushConfig(t *testing.T) {
	unsetEnv(t)
	c, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := PushConfig{Workers: 2, MaxAttempts: 12, BackoffBase: 2 * time.Second, BackoffCap: time.Hour, Timeout: time.Minute}
	if c.Pushes != want {
		t.Errorf("defaults %+v, want %+v", c.Pushes, want)
	}
	for _, tc := range []struct{ give, want string }{
		{"pushes:\n  maxAttempts: 0", "pushes.maxAttempts: must be 1 to 100, not 0"},
		{"pushes:\n  backoffBase: 0s", "pushes.backoffBase"},
		{"pushes:\n  backoffBase: 10s\n  backoffCap: 1s", "pushes.backoffCap: must be at least pushes.backoffBase (10s)"},
		{"pushes:\n  workers: -1", "pushes.workers"},
		{"pushes:\n  timeout: 10ms", "pushes.timeout"},
		{"pushes:\n  retries: 3", "retries"},
	} {
		if _, err := LoadConfig(writeConfig(t, tc.give+"\n")); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %q", tc.give, err, tc.want)
		}
	}
}

// A rate-limited push waits without using an attempt, until its job is
// older than MaxRateLimitedFor: then it is a dead letter (cancelled), so
// that a system answering 429 forever does not hold it forever.
func TestPushRateLimitedGivesUpAfterADay(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	w := &PushWorker{Clock: clockAt(now)}
	limited := &inbound.RateLimited{RetryAfter: time.Minute}
	var snoozed *ports.JobSnoozed
	if err := w.failed(zap.NewNop(), limited, now.Add(-time.Hour)); !errors.As(err, &snoozed) || snoozed.After != time.Minute {
		t.Errorf("an hour-old push: %v, want a snooze of a minute", err)
	}
	if err := w.failed(zap.NewNop(), limited, time.Time{}); !errors.As(err, &snoozed) {
		t.Errorf("a push of unknown age: %v, want a snooze", err)
	}
	var cancelled *ports.JobCancelled
	err := w.failed(zap.NewNop(), limited, now.Add(-MaxRateLimitedFor+30*time.Second))
	if !errors.As(err, &cancelled) || !strings.Contains(err.Error(), "429") {
		t.Errorf("a push whose wait would pass %s: %v, want it cancelled naming the 429s", MaxRateLimitedFor, err)
	}
}

// clockAt is a ports.Clock stopped at t.
type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }
