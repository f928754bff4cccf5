package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"kirjuri/connectors/reservation"
	"kirjuri/connectors/webstore"
	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

// The handler tests run the whole API (API.Handler) over the real core
// (register.Service) and the in-memory store.

// Keys of the tests, by name; the secret of a key is "kir_" + its name.
var testKeys = map[string][]access.Scope{
	"reader":  {access.CustomersRead},
	"writer":  {access.CustomersRead, access.CustomersWrite},
	"pii":     {access.CustomersRead, access.PIIRead},
	"admin":   {access.CustomersRead, access.CustomersWrite, access.Admin},
	"auditor": {access.AuditRead},
	"all":     access.Scopes,
	"imports": {access.Imports},
}

func secret(name string) string { return "kir_" + name }

// clock is a fake ports.Clock: each reading is a second after the last.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

type ids struct{}

func (ids) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

type harness struct {
	t       testing.TB
	api     *API
	store   *memstore.Store
	customs ports.CustomerStore
	audit   *fakeAudit
	logs    *observer.ObservedLogs
	metrics *prometheus.Registry
	keyIDs  map[string]uuid.UUID
}

type harnessOption func(*Deps)

func withAudit(a ports.ConsentAudit) harnessOption { return func(d *Deps) { d.Audit = a } }

func withReady(r ...ports.Readiness) harnessOption {
	return func(d *Deps) { d.Ready = r }
}

func withCustomerStore(wrap func(*memstore.Store) ports.CustomerStore) harnessOption {
	return func(d *Deps) {
		st := d.Idempotency.(*memstore.Store)
		d.Register = register.New(wrap(st), &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, ids{})
	}
}

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	st := memstore.New()
	h := &harness{t: t, store: st, keyIDs: map[string]uuid.UUID{}, metrics: prometheus.NewRegistry()}
	for name, scopes := range testKeys {
		id := uuid.Must(uuid.NewV7())
		h.keyIDs[name] = id
		k := access.Key{ID: id, Name: name, Scopes: scopes, CreatedAt: time.Now()}
		if err := st.CreateKey(context.Background(), k, access.Hash(secret(name))); err != nil {
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zapcore.InfoLevel)
	h.logs = logs
	d := Deps{
		Register:    register.New(st, &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, ids{}),
		Keys:        st,
		Idempotency: st,
		Log:         zap.New(core),
		Metrics:     h.metrics,
		Clock:       &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)},
	}
	for _, o := range opts {
		o(&d)
	}
	api, err := New(Config{Version: "test", WebhookContracts: []WebhookContract{
		// As the application gives them (app.webhookContracts): the
		// document the golden file pins is the one the binary serves.
		{Connector: webstore.Name, Schema: "WebstoreEvent", Payload: webstore.WebstoreEvent{}, Example: webstore.ExampleJSON},
		{Connector: reservation.Name, Schema: "ReservationEvent", Payload: reservation.ReservationEvent{}, Example: reservation.ExampleJSON},
	}}, d)
	if err != nil {
		t.Fatal(err)
	}
	h.api = api
	return h
}

// req is one request of a test.
type req struct {
	method string
	path   string
	key    string // name of a test key; "" sends no Authorization
	body   string
	header map[string]string
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (h *harness) do(r req) resp {
	h.t.Helper()
	var body *bytes.Reader
	if r.body != "" {
		body = bytes.NewReader([]byte(r.body))
	} else {
		body = bytes.NewReader(nil)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+secret(r.key))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.api.Handler().ServeHTTP(rec, hr)
	return resp{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

func (r resp) customer(t testing.TB) Customer {
	t.Helper()
	var c Customer
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatalf("response is not a customer: %v\n%s", err, r.body)
	}
	return c
}

// locations lists the errors[].location of a problem.
func (r resp) locations(t testing.TB) []string {
	t.Helper()
	var p struct {
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("response is not a problem: %v\n%s", err, r.body)
	}
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Location
	}
	return out
}

func (r resp) want(t testing.TB, code int) resp {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d\n%s", r.code, code, r.body)
	}
	return r
}

// create makes a customer through the API and returns it.
func (h *harness) create(body string) Customer {
	h.t.Helper()
	return h.do(req{method: "POST", path: "/v1/customers", key: "all", body: body}).want(h.t, http.StatusCreated).customer(h.t)
}

func wantProblem(t testing.TB, r resp, code int, locations ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d\n%s", r.code, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	if len(locations) == 0 {
		return
	}
	got := r.locations(t)
	for _, l := range locations {
		found := false
		for _, g := range got {
			if g == l {
				found = true
			}
		}
		if !found {
			t.Errorf("problem does not name %q; it names %q\n%s", l, got, r.body)
		}
	}
}

// fakeAudit is a ports.ConsentAudit with canned answers.
type fakeAudit struct {
	mu        sync.Mutex
	events    []consent.Event
	lastQuery ports.AuditQuery
	panics    bool
}

func (f *fakeAudit) Append(_ context.Context, events []consent.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, events...)
	return nil
}

func (f *fakeAudit) History(_ context.Context, id uuid.UUID, p ports.AuditPageRequest) (ports.AuditPage, error) {
	if f.panics {
		panic("audit exploded")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []consent.Event
	for i := len(f.events) - 1; i >= 0; i-- {
		if f.events[i].CustomerID == id {
			out = append(out, f.events[i])
		}
	}
	return ports.AuditPage{Items: out}, nil
}

func (f *fakeAudit) Events(_ context.Context, q ports.AuditQuery) (ports.AuditPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastQuery = q
	var out []consent.Event
	for _, e := range f.events {
		if q.Consent != "" && e.Consent != q.Consent {
			continue
		}
		out = append(out, e)
	}
	next := ""
	if q.Limit > 0 && len(out) > q.Limit {
		out, next = out[:q.Limit], "more"
	}
	return ports.AuditPage{Items: out, NextCursor: next}, nil
}

func (f *fakeAudit) State(_ context.Context, id uuid.UUID, at time.Time) (ports.ConsentState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := ports.ConsentState{At: at, Values: map[consent.Kind]bool{}, SetBy: map[consent.Kind]*consent.Event{}}
	for _, e := range f.events {
		if e.CustomerID == id && !e.OccurredAt.After(at) {
			st.Values[e.Consent] = e.NewValue
			st.SetBy[e.Consent] = &e
		}
	}
	return st, nil
}

func (f *fakeAudit) Summary(_ context.Context, from, to time.Time) ([]ports.SummaryRow, error) {
	return []ports.SummaryRow{{Day: from.Truncate(24 * time.Hour), Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 2, Withdrawals: 1}}, nil
}

// readiness is a fake ports.Readiness.
type readiness struct {
	name string
	err  error
	hang bool
}

func (r readiness) Name() string { return r.name }

func (r readiness) Ready(ctx context.Context) error {
	if r.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return r.err
}

// detailed is a fake ports.ReadinessDetails.
type detailed struct {
	readiness
	details map[string]any
}

func (d detailed) Details() map[string]any { return d.details }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
