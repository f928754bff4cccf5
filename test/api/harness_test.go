package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/app"
	"kirjuri/core/access"
	"kirjuri/ports"
)

// Why the fx graph in-process rather than the binary as a subprocess: it is
// the same graph `kirjuri serve` runs (app.Options), over real HTTP and the
// real PostgreSQL, but the race detector then watches the server side too
// (the concurrency test needs that), a failing test shows the server's log,
// fx.Populate hands us the key store to make keys of any scope, and starting
// one graph per test on its own database costs milliseconds, so every test
// gets a clean register. binary_test.go builds the real binary once and
// drives `migrate`, `apikey create` and `serve` as a subprocess, so the
// command line is covered too.

// Secrets of the keys every environment has. The bootstrap key has every
// scope (api.md: KIRJURI_BOOTSTRAP_API_KEY).
const (
	bootstrapSecret = "kir_e2e-bootstrap-key-with-every-scope"
	writerSecret    = "kir_e2e-writer" // customers:read, customers:write
	readerSecret    = "kir_e2e-reader" // customers:read
	piiSecret       = "kir_e2e-pii"    // customers:read, pii:read
	unknownSecret   = "kir_e2e-nobody-has-this-key"
)

var keyScopes = map[string][]access.Scope{
	writerSecret: {access.CustomersRead, access.CustomersWrite},
	readerSecret: {access.CustomersRead},
	piiSecret:    {access.CustomersRead, access.PIIRead},
}

// env is one running kirjuri: the real fx graph on a fresh database.
type env struct {
	t      *testing.T
	dbURL  string
	base   string // http://127.0.0.1:port
	client *http.Client
	keys   ports.KeyStore
	// errs holds the error-level log lines of the server: an error logged
	// by the API is a 500 or a panic, and no test expects one.
	errs *observer.ObservedLogs
}

// newEnv starts kirjuri for one test. It skips when PostgreSQL is not
// configured and fails under CI=true (pgtest).
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith is newEnv with the configuration changed by tweak (when not
// nil) before the graph is built.
func newEnvWith(t *testing.T, tweak func(*app.Config)) *env {
	t.Helper()
	dbURL := pgtest.NewDatabase(t)

	cfg, err := app.LoadConfig("")
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	cfg.Mode = "production" // so nothing falls back to a generated key
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Database.URL = dbURL
	cfg.Database.MaxConns = 8
	cfg.ClickHouse.URL = "" // the audit part is off in these tests
	cfg.BootstrapAPIKey = bootstrapSecret
	cfg.EncryptionKey = randomKey()
	cfg.Connectors = nil
	if tweak != nil {
		tweak(&cfg)
	}

	core, errs := observer.New(zapcore.ErrorLevel)
	log := zap.New(zapcore.NewTee(
		zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core(),
		core,
	))
	opts, err := app.Options(cfg, log)
	if err != nil {
		t.Fatalf("app.Options: %v", err)
	}
	var (
		srv  *httpapi.Server
		keys ports.KeyStore
	)
	fxApp := fx.New(opts, fx.Populate(&srv, &keys))
	if err := fxApp.Err(); err != nil {
		t.Fatalf("fx.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := fxApp.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := fxApp.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	e := &env{
		t:      t,
		dbURL:  dbURL,
		base:   "http://" + srv.Addr(),
		client: &http.Client{Timeout: 30 * time.Second},
		keys:   keys,
		errs:   errs,
	}
	for secret, scopes := range keyScopes {
		e.createKey(secret, scopes...)
	}
	t.Cleanup(e.checkNoServerErrors)
	return e
}

func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// createKey stores an API key through the key store, as `kirjuri apikey
// create` does.
func (e *env) createKey(secret string, scopes ...access.Scope) {
	e.t.Helper()
	k := access.Key{ID: uuid.Must(uuid.NewV7()), Name: strings.TrimPrefix(secret, "kir_"), Scopes: scopes, CreatedAt: time.Now()}
	if err := e.keys.CreateKey(context.Background(), k, access.Hash(secret)); err != nil {
		e.t.Fatalf("create key: %v", err)
	}
}

func (e *env) checkNoServerErrors() {
	for _, l := range e.errs.All() {
		e.t.Errorf("the server logged an error: %s %v", l.Message, l.ContextMap())
	}
}

// outboxEvent is a consent event as the store wrote it to the outbox, in
// the same transaction as the change.
type outboxEvent struct {
	Consent   string
	Old, New  bool
	Source    string
	Actor     string
	RequestID string
	Evidence  string
}

// outbox reads the consent events of a customer, oldest first, straight
// from PostgreSQL (the audit relay is off in these tests).
func (e *env) outbox(customerID string) []outboxEvent {
	e.t.Helper()
	pool := pgtest.NewPool(e.t, e.dbURL)
	defer pool.Close()
	rows, err := pool.Query(context.Background(), `SELECT consent, old_value, new_value, source, actor, request_id, evidence
		FROM consent_outbox WHERE customer_id = $1 ORDER BY seq`, uuid.MustParse(customerID))
	if err != nil {
		e.t.Fatalf("read the outbox: %v", err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var ev outboxEvent
		if err := rows.Scan(&ev.Consent, &ev.Old, &ev.New, &ev.Source, &ev.Actor, &ev.RequestID, &ev.Evidence); err != nil {
			e.t.Fatalf("read the outbox: %v", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read the outbox: %v", err)
	}
	return out
}

// --- requests ---

// response is a finished response, its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%d %s", r.Status, r.Body)
}

// req describes one request.
type req struct {
	method string
	path   string
	key    string // the bearer secret; "" sends no Authorization
	body   any    // nil, []byte or string sent as is, anything else as JSON
	header map[string]string
}

func (e *env) do(r req) *response {
	e.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	case chunked:
		// An io.Reader of unknown length: sent with chunked encoding.
		body = io.MultiReader(strings.NewReader(string(b)))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequest(r.method, e.base+r.path, body)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.client.Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", r.method, r.path, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func (e *env) get(path, key string) *response {
	e.t.Helper()
	return e.do(req{method: http.MethodGet, path: path, key: key})
}

// want fails the test unless the response has the status.
func (e *env) want(r *response, status int) *response {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// --- customers ---

// Customer is the wire form of a customer (api.md, domain.md), decoded
// independently of the server's own types.
type Customer struct {
	ID              string         `json:"id"`
	Number          int64          `json:"number"`
	Type            string         `json:"type"`
	FirstName       string         `json:"firstName"`
	LastName        string         `json:"lastName"`
	CompanyName     string         `json:"companyName"`
	BusinessID      string         `json:"businessId"`
	VATNumber       string         `json:"vatNumber"`
	VATStatus       int            `json:"vatStatus"`
	Email           string         `json:"email"`
	Language        string         `json:"language"`
	SSN             string         `json:"ssn"`
	MarketingEmail  bool           `json:"marketingEmail"`
	MarketingSMS    bool           `json:"marketingSms"`
	GDPRRestricted  bool           `json:"gdprRestricted"`
	CreditAllowed   bool           `json:"creditAllowed"`
	ExternalID      string         `json:"externalId"`
	NetvisorID      string         `json:"netvisorId"`
	ExternalSystems []ExternalLink `json:"externalSystems"`
	CustomerCards   []string       `json:"customerCards"`
	Groups          []string       `json:"groups"`
	Addresses       []Address      `json:"addresses"`
	PhoneNumbers    []string       `json:"phoneNumbers"`
	EInvoice        EInvoice       `json:"eInvoice"`
	Contacts        []Contact      `json:"contacts"`
	CreatedAt       time.Time      `json:"createdAt"`
	UpdatedAt       time.Time      `json:"updatedAt"`
	Version         int64          `json:"version"`
	ErasedAt        *time.Time     `json:"erasedAt"`
}

type ExternalLink struct {
	SystemID   int    `json:"systemId"`
	Identifier string `json:"identifier"`
}

type Address struct {
	Type           string `json:"type"`
	StreetAddress1 string `json:"streetAddress1"`
	StreetAddress2 string `json:"streetAddress2"`
	PostalCode     string `json:"postalCode"`
	City           string `json:"city"`
	Country        string `json:"country"`
}

type EInvoice struct {
	Mode    string `json:"mode"`
	Broker  string `json:"broker"`
	Address string `json:"address"`
	Email   string `json:"email"`
}

type Contact struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Role  string `json:"role"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

type page struct {
	Items      []Customer `json:"items"`
	NextCursor string     `json:"nextCursor"`
}

// obj is a JSON object body.
type obj = map[string]any

func decode[T any](t *testing.T, r *response) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, r.Body, err)
	}
	return v
}

// person is a minimal valid person body with the given extra members.
func person(first, last string, extra obj) obj {
	b := obj{"type": "person", "firstName": first, "lastName": last}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// company is a minimal valid company body with the given extra members.
func company(name, businessID string, extra obj) obj {
	b := obj{"type": "company", "companyName": name, "businessId": businessID}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// create posts a customer with the bootstrap key and wants 201.
func (e *env) create(body any) Customer {
	e.t.Helper()
	r := e.want(e.do(req{method: http.MethodPost, path: "/v1/customers", key: bootstrapSecret, body: body}), http.StatusCreated)
	return decode[Customer](e.t, r)
}

func (e *env) patch(id string, body any, header map[string]string) *response {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/merge-patch+json"}
	for k, v := range header {
		h[k] = v
	}
	return e.do(req{method: http.MethodPatch, path: "/v1/customers/" + id, key: bootstrapSecret, body: body, header: h})
}

func (e *env) customer(id string) Customer {
	e.t.Helper()
	return decode[Customer](e.t, e.want(e.get("/v1/customers/"+id, bootstrapSecret), http.StatusOK))
}

func (e *env) find(query, key string) page {
	e.t.Helper()
	return decode[page](e.t, e.want(e.get("/v1/customers?"+query, key), http.StatusOK))
}

func numbers(p page) []int64 {
	out := make([]int64, len(p.Items))
	for i, c := range p.Items {
		out[i] = c.Number
	}
	return out
}

// --- problems ---

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// wantProblem checks that r is an RFC 9457 problem with the status and,
// when location is not "", an errors[] entry at that location.
func (e *env) wantProblem(r *response, status int, location string) problem {
	e.t.Helper()
	if r.Status != status {
		e.t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		e.t.Fatalf("Content-Type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	p := decode[problem](e.t, r)
	if p.Status != status {
		e.t.Errorf("problem status %d, want %d", p.Status, status)
	}
	if location == "" {
		return p
	}
	var locs []string
	for _, d := range p.Errors {
		if d.Location == location {
			return p
		}
		locs = append(locs, d.Location)
	}
	e.t.Fatalf("no errors[] entry at %q (have %q); body: %s", location, locs, r.Body)
	return p
}
