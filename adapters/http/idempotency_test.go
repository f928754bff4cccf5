package httpapi

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap/zapcore"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

func TestCanonicalJSON(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{" {\n\t\"b\" : [ 3 , {\"y\":true, \"x\":null} ] ,\r\n \"a\":\"s p\" } ", `{"a":"s p","b":[3,{"x":null,"y":true}]}`},
		{`{"n":1.50,"m":-0e+3,"k":1E2}`, `{"k":1E2,"m":-0e+3,"n":1.50}`},
		{`{"s":"a\"}b\\","r":"\u00e4"}`, `{"r":"\u00e4","s":"a\"}b\\"}`},
		{`{"a":1,"a":2,"A":0}`, `{"A":0,"a":1,"a":2}`},
		{`[ ]`, `[]`},
		{`{ }`, `{}`},
		{` "x" `, `"x"`},
		{`[{"b":{"d":1,"c":2}},[]]`, `[{"b":{"c":2,"d":1}},[]]`},
	}
	for _, tt := range tests {
		if got := string(canonicalJSON([]byte(tt.give))); got != tt.want {
			t.Errorf("canonicalJSON(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := fingerprint("", []byte(`{"firstName":"Aino","lastName":"Virtanen","phoneNumbers":["040 1","040 2"]}`))
	tests := []struct {
		name  string
		query string
		body  string
		same  bool
	}{
		{"members reordered, whitespace", "", "{ \"phoneNumbers\" : [\"040 1\", \"040 2\"],\n \"lastName\":\"Virtanen\", \"firstName\": \"Aino\" }\n", true},
		{"list reordered", "", `{"firstName":"Aino","lastName":"Virtanen","phoneNumbers":["040 2","040 1"]}`, false},
		{"another value", "", `{"firstName":"Aina","lastName":"Virtanen","phoneNumbers":["040 1","040 2"]}`, false},
		{"a query", "x=1", `{"firstName":"Aino","lastName":"Virtanen","phoneNumbers":["040 1","040 2"]}`, false},
		{"not JSON", "", `{"firstName":"Aino","lastName":"Virtanen","phoneNumbers":["040 1","040 2"]`, false},
	}
	for _, tt := range tests {
		got := string(fingerprint(tt.query, []byte(tt.body))) == string(base)
		if got != tt.same {
			t.Errorf("%s: same fingerprint = %v, want %v", tt.name, got, tt.same)
		}
	}
	if string(fingerprint("", []byte(`{"n":1.0}`))) == string(fingerprint("", []byte(`{"n":1}`))) {
		t.Error("numbers written differently have the same fingerprint")
	}
}

// TestIdempotencyReorderedBody: the same JSON with its members in another
// order and other whitespace is the same request, replayed, not a 422.
func TestIdempotencyReorderedBody(t *testing.T) {
	h := newHarness(t)
	key := map[string]string{"Idempotency-Key": "create-reordered"}
	first := h.do(req{method: "POST", path: "/v1/customers", key: "writer", header: key,
		body: `{"firstName":"Aino","lastName":"Virtanen","email":"aino@example.fi","phoneNumbers":["040 1234567"],"marketingEmail":true}`}).want(t, http.StatusCreated)
	again := h.do(req{method: "POST", path: "/v1/customers", key: "writer", header: key,
		body: "{\n  \"marketingEmail\": true,\n  \"phoneNumbers\": [ \"040 1234567\" ],\n  \"email\": \"aino@example.fi\",\n  \"lastName\": \"Virtanen\",\n  \"firstName\": \"Aino\"\n}\n"}).want(t, http.StatusCreated)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Errorf("reordered body: replayed %q, body\n%s\nwant\n%s", again.header.Get("Idempotent-Replayed"), again.body, first.body)
	}
	page, err := h.store.Find(context.Background(), ports.CustomerQuery{})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("%d customers (%v), want 1", len(page.Items), err)
	}
	wantProblem(t, h.do(req{method: "POST", path: "/v1/customers", key: "writer", header: key,
		body: `{"firstName":"Aino","lastName":"Virtanen","email":"aino@example.fi","phoneNumbers":["040 1234567"],"marketingEmail":false}`}),
		http.StatusUnprocessableEntity, "header.Idempotency-Key")
}

// TestIdempotencyAfterErasure: nothing of an erased customer is replayed,
// by any of the writes that showed it; the erasure's own response is.
func TestIdempotencyAfterErasure(t *testing.T) {
	h := newHarness(t)
	secrets := []string{"131052-308T", "eemeli@example.fi", "Eemeli", "Poistettava", "Uusinimi", "+35840"}
	send := func(method, path, key, body string) resp {
		return h.do(req{method: method, path: path, key: "all", body: body, header: map[string]string{"Idempotency-Key": key}})
	}
	created := send("POST", "/v1/customers", "create",
		`{"firstName":"Eemeli","lastName":"Poistettava","email":"eemeli@example.fi","ssn":"131052-308T","phoneNumbers":["040 1234567"]}`).want(t, http.StatusCreated)
	if !strings.Contains(string(created.body), "131052-308T") {
		t.Fatalf("the create did not show the identity code to a pii:read key: %s", created.body)
	}
	path := "/v1/customers/" + created.customer(t).ID
	writes := []struct{ method, path, key, body string }{
		{"POST", "/v1/customers", "create", `{"firstName":"Eemeli","lastName":"Poistettava","email":"eemeli@example.fi","ssn":"131052-308T","phoneNumbers":["040 1234567"]}`},
		{"PATCH", path, "patch", `{"lastName":"Uusinimi"}`},
		{"PUT", path + "/consents", "consents", `{"marketingEmail":true}`},
		{"PUT", path + "/restriction", "restrict", `{"reason":"asked"}`},
	}
	for _, w := range writes[1:] {
		send(w.method, w.path, w.key, w.body).want(t, http.StatusOK)
	}
	// Before the erasure, each replays its first response.
	for _, w := range writes {
		if r := send(w.method, w.path, w.key, w.body); r.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.body), "Eemeli") {
			t.Errorf("%s %s before the erasure: %d replayed %q", w.method, w.path, r.code, r.header.Get("Idempotent-Replayed"))
		}
	}
	erased := send("DELETE", path, "erase", "").want(t, http.StatusOK)

	for _, w := range writes {
		r := send(w.method, w.path, w.key, w.body)
		wantProblem(t, r, http.StatusGone, "header.Idempotency-Key")
		if r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("%s %s after the erasure: not marked replayed", w.method, w.path)
		}
		for _, s := range secrets {
			if strings.Contains(string(r.body), s) || strings.Contains(r.header.Get("Location")+r.header.Get("ETag"), s) {
				t.Errorf("%s %s after the erasure replays %q:\n%s", w.method, w.path, s, r.body)
			}
		}
	}
	// The erasure itself replays: it shows nothing personal.
	r := send("DELETE", path, "erase", "").want(t, http.StatusOK)
	if r.header.Get("Idempotent-Replayed") != "true" || string(r.body) != string(erased.body) {
		t.Errorf("the erasure's replay: %q\n%s\nwant\n%s", r.header.Get("Idempotent-Replayed"), r.body, erased.body)
	}
	for _, s := range secrets {
		if strings.Contains(string(r.body), s) {
			t.Errorf("the erasure's response holds %q", s)
		}
	}
	// Nothing ran again: the customer was created once.
	page, err := h.store.Find(context.Background(), ports.CustomerQuery{IncludeRestricted: true})
	if err != nil || len(page.Items) != 0 {
		t.Errorf("%d customers listed after the erasure (%v), want 0", len(page.Items), err)
	}
}

// slowCreate holds each of the first two Creates until released.
type slowCreate struct {
	*memstore.Store
	mu      sync.Mutex
	calls   int
	entered [2]chan struct{}
	release [2]chan struct{}
}

func newSlowCreate() *slowCreate {
	s := &slowCreate{}
	for i := range s.entered {
		s.entered[i], s.release[i] = make(chan struct{}), make(chan struct{})
	}
	return s
}

func (s *slowCreate) Create(ctx context.Context, c *customer.Customer, events []consent.Event) error {
	s.mu.Lock()
	n := s.calls
	s.calls++
	s.mu.Unlock()
	if n < len(s.entered) {
		close(s.entered[n])
		<-s.release[n]
	}
	return s.Store.Create(ctx, c, events)
}

// TestIdempotencyTakeover: a slow first request whose claim was taken over
// after the lease neither stores its response over the claim of the request
// that took it over nor releases it, and this is logged without personal
// data.
func TestIdempotencyTakeover(t *testing.T) {
	slow := newSlowCreate()
	h := newHarness(t, withCustomerStore(func(st *memstore.Store) ports.CustomerStore {
		slow.Store = st
		return slow
	}))
	key := map[string]string{"Idempotency-Key": "takeover-1"}
	body := `{"firstName":"Hidas","lastName":"Pyyntö"}`
	post := func() resp {
		return h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: body, header: key})
	}
	firstDone, retryDone := make(chan resp), make(chan resp)
	go func() { firstDone <- post() }()
	<-slow.entered[0]
	wantProblem(t, post(), http.StatusConflict, "header.Idempotency-Key")

	scope := h.keyIDs["writer"].String() + " POST /v1/customers"
	if !h.store.ExpireIdempotencyClaim(scope, "takeover-1") {
		t.Fatal("no claim to expire")
	}
	// The retry takes the claim over and waits in its turn.
	go func() { retryDone <- post() }()
	<-slow.entered[1]
	// The slow first request ends now: its answer goes to its client, but
	// it is not kept, and the retry's claim holds.
	close(slow.release[0])
	first := (<-firstDone).want(t, http.StatusCreated)
	wantProblem(t, post(), http.StatusConflict, "header.Idempotency-Key")

	close(slow.release[1])
	retry := (<-retryDone).want(t, http.StatusCreated)
	if retry.header.Get("Location") == first.header.Get("Location") {
		t.Fatal("both requests answered the same customer")
	}
	again := post().want(t, http.StatusCreated)
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(retry.body) || again.header.Get("Location") != retry.header.Get("Location") {
		t.Errorf("the replay answers\n%s %s\nwant the retry's\n%s %s", again.header.Get("Location"), again.body, retry.header.Get("Location"), retry.body)
	}
	lost := h.logs.FilterMessageSnippet("taken over").All()
	if len(lost) != 1 || lost[0].Level != zapcore.WarnLevel {
		t.Fatalf("log lines about the lost claim: %v", lost)
	}
	line := lost[0].Message
	for _, f := range lost[0].Context {
		line += " " + f.Key + "=" + f.String
	}
	if !strings.Contains(line, "request_id=") {
		t.Errorf("the log line has no request id: %s", line)
	}
	for _, s := range []string{"Hidas", "takeover-1", "Pyyntö"} {
		if strings.Contains(line, s) {
			t.Errorf("the log line holds %q: %s", s, line)
		}
	}
}
