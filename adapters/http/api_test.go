package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/core/customer"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

func TestAuthentication(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	id := "/v1/customers/" + c.ID

	tests := []struct {
		name string
		give req
		want int
	}{
		{"no key", req{method: "GET", path: id}, 401},
		{"unknown key", req{method: "GET", path: id, header: map[string]string{"Authorization": "Bearer kir_nobody"}}, 401},
		{"not a bearer", req{method: "GET", path: id, header: map[string]string{"Authorization": "Basic a2lyOng="}}, 401},
		{"empty bearer", req{method: "GET", path: id, header: map[string]string{"Authorization": "Bearer "}}, 401},
		{"read with customers:read", req{method: "GET", path: id, key: "reader"}, 200},
		{"lower-case scheme", req{method: "GET", path: id, header: map[string]string{"Authorization": "bearer " + secret("reader")}}, 200},
		{"read without customers:read", req{method: "GET", path: id, key: "auditor"}, 403},
		{"write without customers:write", req{method: "PATCH", path: id, key: "reader", body: `{}`}, 403},
		{"write with customers:write", req{method: "PATCH", path: id, key: "writer", body: `{}`}, 200},
		{"list without scope", req{method: "GET", path: "/v1/customers", key: "imports"}, 403},
		{"includeRestricted without admin", req{method: "GET", path: "/v1/customers?includeRestricted=true", key: "writer"}, 403},
		{"includeRestricted with admin", req{method: "GET", path: "/v1/customers?includeRestricted=true", key: "admin"}, 200},
		{"audit without audit:read", req{method: "GET", path: "/v1/audit/consent-events", key: "admin"}, 403},
		{"groups write without customers:write", req{method: "POST", path: "/v1/groups", key: "reader", body: `{"externalId": "g"}`}, 403},
		{"healthz needs no key", req{method: "GET", path: "/healthz"}, 200},
		{"readyz needs no key", req{method: "GET", path: "/readyz"}, 200},
		{"metrics need no key", req{method: "GET", path: "/metrics"}, 200},
		{"openapi.json needs no key", req{method: "GET", path: "/openapi.json"}, 200},
		{"openapi.yaml needs no key", req{method: "GET", path: "/openapi.yaml"}, 200},
		{"docs need no key", req{method: "GET", path: "/docs"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.give)
			if r.code != tt.want {
				t.Fatalf("status %d, want %d\n%s", r.code, tt.want, r.body)
			}
			if tt.want == 401 {
				wantProblem(t, r, 401)
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate %q", got)
				}
			}
			if tt.want == 403 {
				wantProblem(t, r, 403)
			}
		})
	}
}

// countingKeys counts the key lookups that reach the store.
type countingKeys struct {
	ports.KeyStore
	mu sync.Mutex
	n  int
}

func (c *countingKeys) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.KeyStore.KeyByHash(ctx, hash)
}

func TestKeyCache(t *testing.T) {
	st := memstore.New()
	k := access.Key{Name: "r", Scopes: []access.Scope{access.CustomersRead}}
	if err := st.CreateKey(context.Background(), k, access.Hash("kir_r")); err != nil {
		t.Fatal(err)
	}
	keys := &countingKeys{KeyStore: st}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newKeyCache(keys, func() time.Time { return now })
	ctx := context.Background()

	tests := []struct {
		name       string
		secret     string
		advance    time.Duration
		wantFound  bool
		wantLookup int
	}{
		{"first lookup reaches the store", "kir_r", 0, true, 1},
		{"second is cached", "kir_r", time.Second, true, 1},
		{"still cached before the TTL", "kir_r", keyCacheTTL - 2*time.Second, true, 1},
		{"looked up again after the TTL", "kir_r", 2 * time.Second, true, 2},
		{"unknown key", "kir_x", 0, false, 3},
		{"unknown key is remembered briefly", "kir_x", time.Second, false, 3},
		{"and asked again later", "kir_x", keyCacheNegativeTTL, false, 4},
	}
	for _, tt := range tests {
		now = now.Add(tt.advance)
		_, found, err := c.lookup(ctx, tt.secret)
		if err != nil || found != tt.wantFound || keys.n != tt.wantLookup {
			t.Errorf("%s: found %v, err %v, lookups %d; want found %v, lookups %d", tt.name, found, err, keys.n, tt.wantFound, tt.wantLookup)
		}
	}

	for i := range keyCacheSize * 2 {
		_, _, _ = c.lookup(ctx, fmt.Sprintf("kir_%d", i))
	}
	if n := len(c.entries); n > keyCacheSize {
		t.Errorf("cache holds %d entries, limit %d", n, keyCacheSize)
	}
}

func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	key := map[string]string{"Idempotency-Key": "create-aino-1"}
	post := func(body string, hdr map[string]string) resp {
		return h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: body, header: hdr})
	}

	first := post(person, key).want(t, http.StatusCreated)
	again := post(person, key).want(t, http.StatusCreated)
	if again.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed: first %q, again %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	if string(again.body) != string(first.body) {
		t.Errorf("replayed body differs:\n%s\n%s", first.body, again.body)
	}
	for _, hdr := range []string{"Location", "ETag", "Content-Type"} {
		if again.header.Get(hdr) != first.header.Get(hdr) || first.header.Get(hdr) == "" {
			t.Errorf("%s: first %q, replay %q", hdr, first.header.Get(hdr), again.header.Get(hdr))
		}
	}
	if again.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Error("a replay carries the request id of the first request")
	}
	page, err := h.store.Find(context.Background(), ports.CustomerQuery{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("%d customers after a replay (%v), want 1", len(page.Items), err)
	}

	// Same key, another body.
	wantProblem(t, post(`{"firstName": "Eero", "lastName": "Mäki"}`, key), http.StatusUnprocessableEntity, "header.Idempotency-Key")
	// Same key, another client: a request of its own.
	h.do(req{method: "POST", path: "/v1/customers", key: "all", body: `{"firstName": "A", "lastName": "B"}`, header: key}).want(t, http.StatusCreated)
	// A 4xx is stored too.
	bad := map[string]string{"Idempotency-Key": "bad-1"}
	wantProblem(t, post(`{"firstName": 5}`, bad), 422)
	if r := post(`{"firstName": 5}`, bad); r.code != 422 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("4xx not replayed: %d %v", r.code, r.header)
	}
	// The first request still runs.
	scope := h.keyIDs["writer"].String() + " POST /v1/customers"
	if _, _, err := h.store.Begin(context.Background(), scope, "running-1", fingerprint("", []byte(person))); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, post(person, map[string]string{"Idempotency-Key": "running-1"}), http.StatusConflict, "header.Idempotency-Key")
	// A malformed key.
	wantProblem(t, post(person, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}), http.StatusBadRequest, "header.Idempotency-Key")
	// Without a known API key the request fails authentication as usual.
	r := h.do(req{method: "POST", path: "/v1/customers", body: person, header: key})
	wantProblem(t, r, http.StatusUnauthorized)

	// PATCH replays too, and does not apply twice.
	c := first.customer(t)
	pk := map[string]string{"Idempotency-Key": "patch-1", "If-Match": `"1"`}
	h.do(req{method: "PATCH", path: "/v1/customers/" + c.ID, key: "writer", body: `{"lastName": "X"}`, header: pk}).want(t, 200)
	r = h.do(req{method: "PATCH", path: "/v1/customers/" + c.ID, key: "writer", body: `{"lastName": "X"}`, header: pk}).want(t, 200)
	if r.header.Get("Idempotent-Replayed") != "true" || r.customer(t).Version != 2 {
		t.Errorf("PATCH replay: %v version %d", r.header, r.customer(t).Version)
	}
}

// failingStore fails NextNumber while fail is set.
type failingStore struct {
	*memstore.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) NextNumber(ctx context.Context) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return 0, errors.New("connection reset by peer")
	}
	return f.Store.NextNumber(ctx)
}

func TestIdempotencyServerErrorReleasesKey(t *testing.T) {
	var fs *failingStore
	h := newHarness(t, withCustomerStore(func(st *memstore.Store) ports.CustomerStore {
		fs = &failingStore{Store: st, fail: true}
		return fs
	}))
	key := map[string]string{"Idempotency-Key": "retry-me"}
	r := h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: person, header: key})
	wantProblem(t, r, http.StatusInternalServerError)
	if strings.Contains(string(r.body), "connection reset") {
		t.Errorf("500 shows the error text: %s", r.body)
	}
	// Logged once, without the body.
	if n := h.logs.FilterMessage("request failed").Len(); n != 1 {
		t.Errorf("%d error log lines, want 1", n)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	r = h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: person, header: key}).want(t, http.StatusCreated)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Error("a 500 was replayed")
	}
}

func TestRequestID(t *testing.T) {
	h := newHarness(t)
	tests := []struct {
		name   string
		give   string
		echoed bool
	}{
		{"sane id is echoed", "req-2025.01:abc/def", true},
		{"uuid is echoed", "0190a0b0-0000-7000-8000-000000000000", true},
		{"none: a new one", "", false},
		{"too long: a new one", strings.Repeat("a", 129), false},
		{"spaces: a new one", "a b", false},
		{"control characters: a new one", "a\x01b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.give != "" {
				hdr["X-Request-Id"] = tt.give
			}
			for _, path := range []string{"/healthz", "/v1/customers", "/nowhere"} {
				got := h.do(req{method: "GET", path: path, header: hdr}).header.Get("X-Request-Id")
				switch {
				case got == "":
					t.Errorf("%s: no X-Request-Id", path)
				case tt.echoed && got != tt.give:
					t.Errorf("%s: X-Request-Id %q, want %q", path, got, tt.give)
				case !tt.echoed && got == tt.give:
					t.Errorf("%s: insane X-Request-Id %q echoed", path, got)
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	h := newHarness(t)
	big := `{"firstName": "` + strings.Repeat("a", DefaultMaxBodyBytes) + `", "lastName": "B"}`
	tests := []struct {
		name string
		give req
	}{
		{"create", req{method: "POST", path: "/v1/customers", body: big}},
		{"create with an idempotency key", req{method: "POST", path: "/v1/customers", body: big, header: map[string]string{"Idempotency-Key": "big"}}},
		{"consents", req{method: "PUT", path: "/v1/customers/0190a0b0-0000-7000-8000-000000000000/consents", body: `{"evidence": "` + strings.Repeat("a", DefaultMaxBodyBytes) + `"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.key = "writer"
			wantProblem(t, h.do(tt.give), http.StatusRequestEntityTooLarge)
		})
	}
	// Just under the limit is not refused for its size.
	name := strings.Repeat("a", DefaultMaxBodyBytes-100)
	r := h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: `{"firstName": "` + name + `"}`})
	wantProblem(t, r, http.StatusUnprocessableEntity, "body.firstName")
}

func TestRouting(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"type": "company", "companyName": "Oy Ab", "businessId": "0737546-2"}`)
	tests := []struct {
		name string
		give req
		want int
	}{
		{"literal wins over a wildcard", req{method: "GET", path: "/v1/customers/by-number/10000"}, 200},
		{"wildcard where the literal has no route", req{method: "GET", path: "/v1/customers/" + c.ID + "/contacts"}, 200},
		{"literal segment, bad number", req{method: "GET", path: "/v1/customers/by-number/contacts"}, 422},
		{"encoded slash stays in its segment", req{method: "GET", path: "/v1/customers/by-external/6/a%2Fb"}, 404},
		{"HEAD answers like GET", req{method: "HEAD", path: "/healthz"}, 200},
		{"empty segment", req{method: "GET", path: "/v1/customers//contacts"}, 404},
		{"trailing slash", req{method: "GET", path: "/v1/customers/"}, 404},
		{"unknown method", req{method: "BREW", path: "/v1/customers"}, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.key = "all"
			if r := h.do(tt.give); r.code != tt.want {
				t.Fatalf("status %d, want %d\n%s", r.code, tt.want, r.body)
			}
		})
	}
	r := h.do(req{method: "DELETE", path: "/v1/groups", key: "all"})
	wantProblem(t, r, http.StatusMethodNotAllowed)
	if got := r.header.Get("Allow"); got != "GET, HEAD, POST" {
		t.Errorf("Allow %q", got)
	}
}

func TestPanicIsA500(t *testing.T) {
	h := newHarness(t, withAudit(&fakeAudit{panics: true}))
	r := h.do(req{method: "GET", path: "/v1/customers/0190a0b0-0000-7000-8000-000000000000/consent-history", key: "auditor"})
	wantProblem(t, r, http.StatusInternalServerError)
	if strings.Contains(string(r.body), "exploded") {
		t.Errorf("panic value shown: %s", r.body)
	}
	logged := h.logs.FilterMessage("handler panicked").All()
	if len(logged) != 1 {
		t.Fatalf("%d panic log lines, want 1", len(logged))
	}
	for _, f := range logged[0].Context {
		if f.Key == "panic" {
			t.Errorf("panic value logged: %v", f.String)
		}
	}
	// The server goes on.
	h.do(req{method: "GET", path: "/healthz"}).want(t, 200)
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name     string
		give     []ports.Readiness
		wantCode int
		wantBody string
	}{
		{"none", nil, 200, `"status":"ready"`},
		{"all ready", []ports.Readiness{readiness{name: "postgres"}}, 200, `{"name":"postgres","status":"ok"}`},
		{"one failing", []ports.Readiness{readiness{name: "postgres"}, readiness{name: "clickhouse", err: errors.New("dial tcp: refused")}}, 503, `{"name":"clickhouse","status":"failed"}`},
		{"one hanging", []ports.Readiness{readiness{name: "slow", hang: true}}, 503, `{"name":"slow","status":"timeout"}`},
		{"details shown", []ports.Readiness{detailed{readiness{name: "audit-relay"}, map[string]any{"backlog": 42}}}, 200, `{"name":"audit-relay","status":"ok","details":{"backlog":42}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withReady(tt.give...))
			r := h.do(req{method: "GET", path: "/readyz"})
			if r.code != tt.wantCode || !strings.Contains(string(r.body), tt.wantBody) {
				t.Errorf("status %d, body %s; want %d with %s", r.code, r.body, tt.wantCode, tt.wantBody)
			}
			if strings.Contains(string(r.body), "refused") {
				t.Errorf("error text shown without a key: %s", r.body)
			}
		})
	}
}

func TestMetricsAndAccessLog(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "Aino", "lastName": "Virtanen", "email": "secret.person@example.fi"}`)
	h.do(req{method: "GET", path: "/v1/customers/" + c.ID, key: "reader"}).want(t, 200)
	h.do(req{method: "GET", path: "/v1/customers?email=secret.person@example.fi", key: "reader", header: map[string]string{"X-Request-Id": "req-42"}}).want(t, 200)
	h.do(req{method: "GET", path: "/no/such/" + c.ID})

	var m dto.Metric
	if err := h.api.metrics.requests.WithLabelValues("GET", "/v1/customers/{id}", "200").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("requests{GET /v1/customers/{id} 200} = %v, want 1", got)
	}
	r := h.do(req{method: "GET", path: "/metrics"}).want(t, 200)
	body := string(r.body)
	for _, want := range []string{
		`kirjuri_http_requests_total{method="POST",route="/v1/customers",status="201"} 1`,
		`kirjuri_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`kirjuri_http_request_duration_seconds_bucket{method="GET",route="/v1/customers/{id}"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, c.ID) {
		t.Error("metrics hold a raw path")
	}

	lines := h.logs.FilterMessage("http request").All()
	if len(lines) < 4 {
		t.Fatalf("%d access-log lines, want one per request", len(lines))
	}
	var found bool
	for _, l := range lines {
		m := l.ContextMap()
		for _, v := range m {
			if s := fmt.Sprint(v); strings.Contains(s, "secret.person") || strings.Contains(s, c.ID) {
				t.Errorf("access log holds personal data or a raw path: %v", m)
			}
		}
		if m["request_id"] == "req-42" {
			found = true
			if m["method"] != "GET" || m["route"] != "/v1/customers" || m["status"] != int64(200) || m["key"] != "reader" {
				t.Errorf("access-log line %v", m)
			}
			if _, ok := m["duration"]; !ok {
				t.Error("no duration")
			}
		}
	}
	if !found {
		t.Error("no access-log line for req-42")
	}
}

func TestServer(t *testing.T) {
	h := newHarness(t)
	s := NewServer(Config{Addr: "127.0.0.1:0"}, h.api, zap.NewNop())
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("X-Request-Id") == "" {
		t.Errorf("GET /healthz: %d %v", res.StatusCode, res.Header)
	}

	// A busy address fails the start at once.
	other := NewServer(Config{Addr: s.Addr()}, h.api, zap.NewNop())
	if err := other.Start(context.Background()); err == nil {
		t.Error("second server started on a busy address")
		_ = other.Stop(context.Background())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		t.Error("server still answers after Stop")
	}
}

func TestNewNeedsItsDeps(t *testing.T) {
	st := memstore.New()
	tests := []struct {
		name string
		give Deps
	}{
		{"no register", Deps{Keys: st, Idempotency: st}},
		{"no keys", Deps{Register: newHarness(t).api.reg, Idempotency: st}},
		{"no idempotency", Deps{Register: newHarness(t).api.reg, Keys: st}},
	}
	for _, tt := range tests {
		if _, err := New(Config{}, tt.give); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

func TestCustomerViewCoversData(t *testing.T) {
	// Every field of customer.Data has its place in the API's Customer.
	if got, want := len(fieldsOf[Customer]()), len(fieldsOf[customer.Data]()); got != want {
		t.Errorf("Customer has %d fields, customer.Data %d", got, want)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	h := newHarness(t)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: person,
				header: map[string]string{"Idempotency-Key": "race-1"}}).code
		})
	}
	wg.Wait()
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d, want 201 or 409", c)
		}
	}
	page, err := h.store.Find(context.Background(), ports.CustomerQuery{})
	if err != nil || len(page.Items) != 1 || created == 0 {
		t.Errorf("%d customers (%v), %d answers 201; want exactly one customer", len(page.Items), err, created)
	}
}

type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) {
	return 0, errors.New("unexpected EOF in chunked encoding")
}

func TestUnreadableBodyIsA400(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	tests := []struct {
		name   string
		method string
		path   string
		header map[string]string
	}{
		{"raw body", "POST", "/v1/customers", nil},
		{"typed body", "PUT", "/v1/customers/" + c.ID + "/consents", nil},
		{"with an idempotency key", "POST", "/v1/customers", map[string]string{"Idempotency-Key": "broken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, brokenBody{})
			r.Header.Set("Authorization", "Bearer "+secret("all"))
			r.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.api.ServeHTTP(rec, r)
			if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "chunked") {
				t.Errorf("status %d, body %s; want a 400 without the error text", rec.Code, rec.Body)
			}
		})
	}
}
