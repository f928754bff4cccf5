package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The client side of the tests: requests, the API's shapes, polling, and
// the expectations events are checked against.

// response is a finished response, its body read.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// RequestID is the X-Request-Id the server answered with.
func (r *response) RequestID() string { return r.Header.Get("X-Request-Id") }

// call is one request. body is sent as JSON unless it is a string; header
// adds headers (Content-Type included).
type call struct {
	method string
	path   string
	key    string // bearer secret; "" sends none
	body   any
	header map[string]string
}

// send makes a request; it does not touch t, so goroutines may use it.
func (s *server) send(c call) (*response, error) {
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(j)
	}
	s.mu.Lock()
	base := s.base
	s.mu.Unlock()
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", c.method, c.path, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// do makes a request and fails the test when it cannot be made.
func (s *server) do(c call) *response {
	s.t.Helper()
	r, err := s.send(c)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

// expect makes a request and fails the test unless it answers status.
func (s *server) expect(status int, c call) *response {
	s.t.Helper()
	r := s.do(c)
	if r.Status != status {
		s.t.Fatalf("%s %s: %d, want %d; body: %s", c.method, c.path, r.Status, status, r.Body)
	}
	return r
}

// decode reads a JSON body into a fresh T.
func decode[T any](t testing.TB, r *response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, r.Body, err)
	}
	return v
}

// inParallel runs do(0..n-1) on workers goroutines and fails the test with
// the first errors.
func inParallel(t testing.TB, n, workers int, do func(i int) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := do(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if i == 5 {
			t.Errorf("... and %d more errors", len(errs)-5)
			break
		}
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}

// eventually polls cond every 25ms until it holds, failing the test at the
// deadline with cond's last word. Nothing here sleeps blindly: every wait
// ends as soon as the observed state is the awaited one.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, status := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, status)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// --- customers ---

// customer is the part of the wire customer these tests read.
type customer struct {
	ID             string     `json:"id"`
	Number         int64      `json:"number"`
	FirstName      string     `json:"firstName"`
	LastName       string     `json:"lastName"`
	Email          string     `json:"email"`
	SSN            string     `json:"ssn"`
	MarketingEmail bool       `json:"marketingEmail"`
	MarketingSMS   bool       `json:"marketingSms"`
	GDPRRestricted bool       `json:"gdprRestricted"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	Version        int64      `json:"version"`
	ErasedAt       *time.Time `json:"erasedAt"`
}

// change is a customer change as the API answered it.
type change struct {
	customer
	requestID string
}

// piiMarkers are the personal data of the test customers: none of it may
// appear in the audit log, and none in the server's log.
var piiMarkers = []string{"Aurora", "Kirjuritesti", "aurora.kirjuritesti", "131052-308T"}

// person is the body of a person with personal data and the given consents.
func person(i int, email, sms bool) map[string]any {
	return map[string]any{
		"firstName":      "Aurora",
		"lastName":       "Kirjuritesti" + strconv.Itoa(i),
		"marketingEmail": email,
		"marketingSms":   sms,
	}
}

// create makes a customer through the API.
func (s *server) create(body map[string]any) change {
	s.t.Helper()
	r := s.expect(http.StatusCreated, call{method: http.MethodPost, path: "/v1/customers", key: s.clerk, body: body})
	return change{customer: decode[customer](s.t, r), requestID: r.RequestID()}
}

// write makes a change that must succeed (200).
func (s *server) write(c call) change {
	s.t.Helper()
	if c.key == "" {
		c.key = s.clerk
	}
	r := s.expect(http.StatusOK, c)
	if r.RequestID() == "" {
		s.t.Fatalf("%s %s: no X-Request-Id", c.method, c.path)
	}
	return change{customer: decode[customer](s.t, r), requestID: r.RequestID()}
}

// --- the audit API ---

// event is a consent event as the audit API shows it.
type event struct {
	EventID        string    `json:"eventId"`
	OccurredAt     time.Time `json:"occurredAt"`
	CustomerID     string    `json:"customerId"`
	CustomerNumber int64     `json:"customerNumber"`
	Consent        string    `json:"consent"`
	OldValue       bool      `json:"oldValue"`
	NewValue       bool      `json:"newValue"`
	Source         string    `json:"source"`
	SourceSystemID int       `json:"sourceSystemId"`
	Actor          string    `json:"actor"`
	RequestID      string    `json:"requestId"`
	ImportID       string    `json:"importId"`
	Evidence       string    `json:"evidence"`
}

type eventPage struct {
	Items      []event `json:"items"`
	NextCursor string  `json:"nextCursor"`
}

// pages reads every page of a listing (path with its query, without limit
// and cursor) and returns the items in order and the raw bodies.
func (s *server) pages(path string, q url.Values, limit int) ([]event, [][]byte) {
	s.t.Helper()
	items, bodies, err := s.fetchPages(path, q, limit)
	if err != nil {
		s.t.Fatal(err)
	}
	return items, bodies
}

// fetchPages is pages for goroutines: it does not touch t.
func (s *server) fetchPages(path string, q url.Values, limit int) ([]event, [][]byte, error) {
	var (
		items  []event
		bodies [][]byte
		cursor string
	)
	for page := 0; ; page++ {
		if page > 10000 {
			return nil, nil, fmt.Errorf("%s: more than 10000 pages; the cursor does not advance", path)
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", strconv.Itoa(limit))
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		r, err := s.send(call{method: http.MethodGet, path: path + "?" + qq.Encode(), key: s.auditor})
		if err != nil {
			return nil, nil, err
		}
		if r.Status != http.StatusOK {
			return nil, nil, fmt.Errorf("GET %s: %s", path, r)
		}
		var p eventPage
		if err := json.Unmarshal(r.Body, &p); err != nil {
			return nil, nil, fmt.Errorf("GET %s: %w: %s", path, err, r.Body)
		}
		if len(p.Items) > limit {
			return nil, nil, fmt.Errorf("%s: page of %d items, limit %d", path, len(p.Items), limit)
		}
		items = append(items, p.Items...)
		bodies = append(bodies, r.Body)
		if p.NextCursor == "" {
			return items, bodies, nil
		}
		if len(p.Items) == 0 {
			return nil, nil, fmt.Errorf("%s: an empty page with a next cursor", path)
		}
		cursor = p.NextCursor
	}
}

// history is a customer's consent history, newest first, read in pages of
// limit.
func (s *server) history(customerID string, limit int) []event {
	s.t.Helper()
	items, _ := s.pages("/v1/customers/"+customerID+"/consent-history", nil, limit)
	return items
}

// events lists consent events of [from, to) with the filters, oldest first.
func (s *server) events(from, to time.Time, filters url.Values, limit int) []event {
	s.t.Helper()
	q := url.Values{}
	for k, v := range filters {
		q[k] = v
	}
	q.Set("from", from.UTC().Format(time.RFC3339Nano))
	q.Set("to", to.UTC().Format(time.RFC3339Nano))
	items, _ := s.pages("/v1/audit/consent-events", q, limit)
	return items
}

// waitForChange waits until the events of change c show in the answers of
// both ClickHouse tables: the customer's history (consent_events) and the
// listing of the moment (consent_events_by_time). The second is filled from
// the first by a materialized view during the same insert, but not
// atomically: for a moment an event can be in one and not yet in the other.
// The relay ships in commit order, so every change made before c shows too.
func (s *server) waitForChange(c change, what string) {
	s.t.Helper()
	has := func(events []event) bool {
		for _, e := range events {
			if e.RequestID == c.requestID && e.CustomerID == c.ID {
				return true
			}
		}
		return false
	}
	eventually(s.t, 30*time.Second, what, func() (bool, string) {
		inHistory := has(s.history(c.ID, 50))
		inListing := has(s.events(c.UpdatedAt, c.UpdatedAt.Add(time.Microsecond), nil, 50))
		return inHistory && inListing, fmt.Sprintf("in the history %v, in the listing %v", inHistory, inListing)
	})
}

// summary is the body of /v1/audit/consent-summary.
type summary struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	Rows []struct {
		Day         string `json:"day"`
		Source      string `json:"source"`
		Consent     string `json:"consent"`
		Grants      int64  `json:"grants"`
		Withdrawals int64  `json:"withdrawals"`
	} `json:"rows"`
}

// summaryOf reads the consent summary of [from, to) without failing the
// test; the body is decoded only from a 200.
func (s *server) summaryOf(from, to time.Time) (summary, *response, error) {
	q := url.Values{}
	q.Set("from", from.UTC().Format(time.RFC3339Nano))
	q.Set("to", to.UTC().Format(time.RFC3339Nano))
	r, err := s.send(call{method: http.MethodGet, path: "/v1/audit/consent-summary?" + q.Encode(), key: s.auditor})
	if err != nil {
		return summary{}, nil, err
	}
	var sum summary
	if r.Status == http.StatusOK {
		if err := json.Unmarshal(r.Body, &sum); err != nil {
			return summary{}, r, err
		}
	}
	return sum, r, nil
}

// total is grants plus withdrawals over every row.
func (s summary) total() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r.Grants + r.Withdrawals
	}
	return n
}

// waitShipped waits until the summary of [from, to) counts n changes, and
// fails if it ever counts more.
func (s *server) waitShipped(from, to time.Time, n int64, timeout time.Duration) {
	s.t.Helper()
	eventually(s.t, timeout, fmt.Sprintf("%d consent changes in the audit log", n), func() (bool, string) {
		sum, r, err := s.summaryOf(from, to)
		switch {
		case err != nil:
			return false, err.Error()
		case r.Status != http.StatusOK:
			return false, r.String()
		case sum.total() > n:
			s.t.Fatalf("the audit log counts %d consent changes, more than the %d made", sum.total(), n)
		}
		return sum.total() == n, fmt.Sprintf("%d shipped", sum.total())
	})
}

// metric reads one unlabelled sample from /metrics; ok is false when it is
// not there.
func (s *server) metric(name string) (float64, bool) {
	s.t.Helper()
	r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/metrics"})
	for _, line := range strings.Split(string(r.Body), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				s.t.Fatalf("metric %s: %q: %v", name, line, err)
			}
			return v, true
		}
	}
	return 0, false
}

// readiness is the body of /readyz.
type readiness struct {
	Status string `json:"status"`
	Checks []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"checks"`
}

// readyz reads /readyz without failing the test (goroutines use it).
func (s *server) readyz() (int, readiness, error) {
	r, err := s.send(call{method: http.MethodGet, path: "/readyz"})
	if err != nil {
		return 0, readiness{}, err
	}
	var body readiness
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return r.Status, body, fmt.Errorf("/readyz: %w: %s", err, r.Body)
	}
	return r.Status, body, nil
}

func (r readiness) check(name string) string {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.Status
		}
	}
	return "(absent)"
}

// --- expectations ---

// want is an event a change must have produced.
type want struct {
	change    change // the response of the change
	consent   string
	old, new  bool
	source    string
	actor     string
	evidence  string
	requestID string // when empty, change.requestID
}

func (w want) describe() string {
	return fmt.Sprintf("%s %v→%v of customer %d (request %s)", w.consent, w.old, w.new, w.change.Number, w.rid())
}

func (w want) rid() string {
	if w.requestID != "" {
		return w.requestID
	}
	return w.change.requestID
}

// mismatch says how an event differs from w ("" when it does not).
func (w want) mismatch(e event) string {
	var d []string
	check := func(field string, got, want any) {
		if got != want {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, got, want))
		}
	}
	check("customerId", e.CustomerID, w.change.ID)
	check("customerNumber", e.CustomerNumber, w.change.Number)
	check("consent", e.Consent, w.consent)
	check("oldValue", e.OldValue, w.old)
	check("newValue", e.NewValue, w.new)
	check("source", e.Source, w.source)
	check("sourceSystemId", e.SourceSystemID, 0)
	check("actor", e.Actor, w.actor)
	check("requestId", e.RequestID, w.rid())
	check("importId", e.ImportID, "")
	check("evidence", e.Evidence, w.evidence)
	// The event occurred when the change was committed: the moment the
	// change's response gives as the customer's updatedAt.
	if !e.OccurredAt.Equal(w.change.UpdatedAt) {
		d = append(d, fmt.Sprintf("occurredAt = %s, want %s (updatedAt of the change)",
			e.OccurredAt.Format(time.RFC3339Nano), w.change.UpdatedAt.Format(time.RFC3339Nano)))
	}
	return strings.Join(d, "; ")
}

// key pairs an event with its expectation: one change makes at most one
// event per consent of one customer.
func eventKey(customerID, requestID, consent string) string {
	return customerID + "|" + requestID + "|" + consent
}

// checkEvents fails unless got holds exactly the wanted events, each once,
// every field as wanted, with unique event ids.
func checkEvents(t testing.TB, got []event, wants []want) {
	t.Helper()
	byKey := map[string]want{}
	for _, w := range wants {
		k := eventKey(w.change.ID, w.rid(), w.consent)
		if _, dup := byKey[k]; dup {
			t.Fatalf("test bug: two expectations for %s", w.describe())
		}
		byKey[k] = w
	}
	seenIDs := map[string]bool{}
	seen := map[string]bool{}
	for _, e := range got {
		if !validUUID(e.EventID) {
			t.Errorf("event %+v: eventId %q is not a UUID", e, e.EventID)
		}
		if seenIDs[e.EventID] {
			t.Errorf("event id %s appears twice", e.EventID)
		}
		seenIDs[e.EventID] = true
		k := eventKey(e.CustomerID, e.RequestID, e.Consent)
		w, ok := byKey[k]
		switch {
		case !ok:
			t.Errorf("unexpected event: %+v", e)
		case seen[k]:
			t.Errorf("second event for %s: %+v", w.describe(), e)
		default:
			if m := w.mismatch(e); m != "" {
				t.Errorf("event for %s: %s", w.describe(), m)
			}
		}
		seen[k] = true
	}
	for k, w := range byKey {
		if !seen[k] {
			t.Errorf("missing event: %s", w.describe())
		}
	}
}

func validUUID(s string) bool {
	if len(s) != 36 || s == "00000000-0000-0000-0000-000000000000" {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// stopwatch logs how long each phase of a test took.
func stopwatch(t testing.TB) func(phase string) {
	last := time.Now()
	return func(phase string) {
		t.Helper()
		now := time.Now()
		t.Logf("%s: %s", phase, now.Sub(last).Round(time.Millisecond))
		last = now
	}
}
