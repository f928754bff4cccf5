package api

import (
	"bufio"
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(person("Avain", "Testi", nil))
	path := "/v1/customers/" + c.ID

	tests := []struct {
		name   string
		give   req
		status int
	}{
		{"no key, read", req{method: http.MethodGet, path: path}, 401},
		{"no key, find", req{method: http.MethodGet, path: "/v1/customers"}, 401},
		{"no key, write", req{method: http.MethodPost, path: "/v1/customers", body: person("A", "B", nil)}, 401},
		{"no key, write with Idempotency-Key", req{method: http.MethodPost, path: "/v1/customers", body: person("A", "B", nil), header: map[string]string{"Idempotency-Key": "k"}}, 401},
		{"unknown key", req{method: http.MethodGet, path: path, key: unknownSecret}, 401},
		{"unknown key, write with Idempotency-Key", req{method: http.MethodPatch, path: path, key: unknownSecret, body: obj{"firstName": "X"}, header: map[string]string{"Idempotency-Key": "k"}}, 401},
		{"Basic instead of Bearer", req{method: http.MethodGet, path: path, header: map[string]string{"Authorization": "Basic " + readerSecret}}, 401},
		{"read-only key, create", req{method: http.MethodPost, path: "/v1/customers", key: readerSecret, body: person("A", "B", nil)}, 403},
		{"read-only key, patch", req{method: http.MethodPatch, path: path, key: readerSecret, body: obj{"firstName": "X"}}, 403},
		{"read-only key, patch with Idempotency-Key", req{method: http.MethodPatch, path: path, key: readerSecret, body: obj{"firstName": "X"}, header: map[string]string{"Idempotency-Key": "ro-1"}}, 403},
		{"read-only key, erase", req{method: http.MethodDelete, path: path, key: readerSecret}, 403},
		{"read-only key, consents", req{method: http.MethodPut, path: path + "/consents", key: readerSecret, body: obj{"marketingSms": true}}, 403},
		{"read-only key, restriction", req{method: http.MethodPut, path: path + "/restriction", key: readerSecret}, 403},
		{"read-only key, group", req{method: http.MethodPost, path: "/v1/groups", key: readerSecret, body: obj{"externalId": "g"}}, 403},
		{"pii key cannot write", req{method: http.MethodPatch, path: path, key: piiSecret, body: obj{"firstName": "X"}}, 403},
		{"write key without audit:read", req{method: http.MethodGet, path: "/v1/audit/consent-events", key: writerSecret}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			r := e.do(tt.give)
			e.wantProblem(r, tt.status, "")
			if tt.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer (%q)", r.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Nothing of it changed anything.
	if got := e.customer(c.ID); got.Version != 1 || got.FirstName != "Avain" {
		t.Errorf("refused requests changed the customer: %+v", got)
	}
	if n := len(e.find("", bootstrapSecret).Items); n != 1 {
		t.Errorf("%d customers after refused creates, want 1", n)
	}
	// A key made after the start works at once (it was never looked up).
	const late = "kir_e2e-late-key"
	e.createKey(late, "customers:read")
	e.want(e.get(path, late), http.StatusOK)
	e.wantProblem(e.do(req{method: http.MethodPatch, path: path, key: late, body: obj{"firstName": "X"}}), http.StatusForbidden, "")
}

func TestOpenEndpointsAndRequestIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Health, readiness, the OpenAPI document and the docs need no key.
	r := e.want(e.get("/healthz", ""), http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"ok"`)) {
		t.Errorf("/healthz: %s", r.Body)
	}
	r = e.want(e.get("/readyz", ""), http.StatusOK)
	ready := decode[struct {
		Status string
		Checks []struct{ Name, Status string }
	}](t, r)
	if ready.Status != "ready" || len(ready.Checks) == 0 {
		t.Errorf("/readyz: %s", r.Body)
	}
	hasJobs := false
	for _, c := range ready.Checks {
		if c.Status != "ok" {
			t.Errorf("/readyz check %s: %s", c.Name, c.Status)
		}
		hasJobs = hasJobs || c.Name == "jobs"
	}
	if !hasJobs || !bytes.Contains(r.Body, []byte(`"backlog":0`)) {
		t.Errorf("/readyz lacks the jobs check with its backlog: %s", r.Body)
	}
	r = e.want(e.get("/openapi.json", ""), http.StatusOK)
	doc := decode[struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}](t, r)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1", doc.OpenAPI)
	}
	for _, p := range []string{"/v1/customers", "/v1/customers/{id}", "/v1/customers/by-number/{number}",
		"/v1/customers/by-external/{systemId}/{identifier}", "/v1/customers/{id}/consents", "/v1/customers/{id}/restriction",
		"/v1/customers/{id}/contacts", "/v1/customers/{id}/export", "/v1/groups"} {
		if doc.Paths[p] == nil {
			t.Errorf("openapi.json lacks %s", p)
		}
	}
	r = e.want(e.get("/openapi.yaml", ""), http.StatusOK)
	if !bytes.Contains(r.Body, []byte("openapi: 3.1")) {
		t.Errorf("/openapi.yaml does not look like the document: %.80s", r.Body)
	}
	r = e.want(e.get("/docs", ""), http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || !bytes.Contains(r.Body, []byte("openapi")) {
		t.Errorf("/docs: Content-Type %q body %.200s", ct, r.Body)
	}

	// X-Request-Id: echoed when sent, made when not, on every kind of
	// response.
	for _, rq := range []req{
		{method: http.MethodGet, path: "/healthz"},
		{method: http.MethodGet, path: "/v1/customers", key: readerSecret},
		{method: http.MethodGet, path: "/v1/customers"},                                        // 401
		{method: http.MethodGet, path: "/v1/customers/" + uuid.NewString(), key: readerSecret}, // 404
		{method: http.MethodGet, path: "/no/such/route"},                                       // unrouted
		{method: http.MethodPost, path: "/v1/customers", key: writerSecret, body: "{"},         // 400
	} {
		rq.header = map[string]string{"X-Request-Id": "e2e-req-42"}
		if got := e.do(rq).Header.Get("X-Request-Id"); got != "e2e-req-42" {
			t.Errorf("%s %s: X-Request-Id %q, want the one sent", rq.method, rq.path, got)
		}
		rq.header = nil
		r := e.do(rq)
		id := r.Header.Get("X-Request-Id")
		if id == "" || id == "e2e-req-42" {
			t.Errorf("%s %s (status %d): X-Request-Id %q, want a new one", rq.method, rq.path, r.Status, id)
		}
		if again := e.do(rq).Header.Get("X-Request-Id"); again == id {
			t.Errorf("%s %s: two requests got the same id %q", rq.method, rq.path, id)
		}
	}
	// A request id that cannot be logged safely is replaced.
	if got := e.do(req{method: http.MethodGet, path: "/healthz", header: map[string]string{"X-Request-Id": "bad id\twith spaces"}}).Header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \t") {
		t.Errorf("an insane X-Request-Id came back as %q", got)
	}

	// Unknown routes and methods are problems, not HTML.
	e.wantProblem(e.get("/v1/nothing-here", readerSecret), http.StatusNotFound, "")
	r = e.do(req{method: http.MethodPut, path: "/v1/customers", key: writerSecret, body: obj{}})
	e.wantProblem(r, http.StatusMethodNotAllowed, "")
	if !strings.Contains(r.Header.Get("Allow"), "POST") {
		t.Errorf("405 Allow = %q", r.Header.Get("Allow"))
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(person("Metri", "Mittari", obj{"externalSystems": []obj{{"systemId": 6, "identifier": "metric-secret-ident"}}}))
	e.want(e.get("/v1/customers/"+c.ID, readerSecret), http.StatusOK)
	e.want(e.get("/v1/customers/by-external/6/metric-secret-ident", readerSecret), http.StatusOK)
	e.wantProblem(e.get("/v1/customers/"+uuid.NewString(), readerSecret), http.StatusNotFound, "")
	e.wantProblem(e.get("/v1/customers/by-number/123456789", readerSecret), http.StatusNotFound, "")
	e.want(e.patch(c.ID, obj{"lastName": "Mitattu"}, nil), http.StatusOK)
	e.get("/v1/customers/"+c.ID+"/no-such-thing", readerSecret)

	r := e.want(e.get("/metrics", ""), http.StatusOK)
	series := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "kirjuri_http_requests_total{") {
			series[line[:strings.LastIndexByte(line, ' ')]] = true
		}
	}
	for _, want := range []string{
		`kirjuri_http_requests_total{method="POST",route="/v1/customers",status="201"}`,
		`kirjuri_http_requests_total{method="GET",route="/v1/customers/{id}",status="200"}`,
		`kirjuri_http_requests_total{method="GET",route="/v1/customers/{id}",status="404"}`,
		`kirjuri_http_requests_total{method="GET",route="/v1/customers/by-external/{systemId}/{identifier}",status="200"}`,
		`kirjuri_http_requests_total{method="GET",route="/v1/customers/by-number/{number}",status="404"}`,
		`kirjuri_http_requests_total{method="PATCH",route="/v1/customers/{id}",status="200"}`,
	} {
		if !series[want] {
			t.Errorf("/metrics lacks %s; have %v", want, keys(series))
		}
	}
	// No raw ids or identifiers in labels.
	raw := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-|metric-secret-ident|123456789|` + regexp.QuoteMeta(c.ID))
	for s := range series {
		if raw.MatchString(s) {
			t.Errorf("a raw id in a metric label: %s", s)
		}
	}
	if !bytes.Contains(r.Body, []byte("kirjuri_http_request_duration_seconds_bucket")) {
		t.Errorf("/metrics lacks the latency histogram")
	}
	if !bytes.Contains(r.Body, []byte("\nkirjuri_jobs_backlog 0\n")) {
		t.Errorf("/metrics lacks the jobs backlog gauge")
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
