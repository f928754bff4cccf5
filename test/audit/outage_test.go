package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestClickHouseOutageLosesNothing cuts ClickHouse off (through the proxy:
// the shared server keeps running for the other packages), makes 1,000
// consent changes, and checks that every one succeeded, that kirjuri stayed
// ready, that the backlog showed them waiting, and that once ClickHouse is
// back every change is in the audit log exactly once with all its fields.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{batchSize: 200})
	const customers = 500 // × 2 changes
	start := time.Now().Add(-time.Second)
	phase := stopwatch(t)

	// Customers without consents: no events yet.
	made := make([]change, customers)
	inParallel(t, customers, 8, func(i int) error {
		r, err := s.send(call{method: http.MethodPost, path: "/v1/customers", key: s.clerk, body: person(i, false, false)})
		if err != nil {
			return err
		}
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create %d: %s", i, r)
		}
		return json.Unmarshal(r.Body, &made[i].customer)
	})

	phase("500 customers created")

	status, ready, err := s.readyz()
	if err != nil || status != http.StatusOK {
		t.Fatalf("/readyz before the outage: %d %+v %v", status, ready, err)
	}
	t.Logf("/readyz before the outage: %d %+v", status, ready)

	s.proxy.Cut()

	// The compliance API cannot answer without ClickHouse: it must say so
	// (503 with Retry-After), promptly, without the driver's error text.
	began := time.Now()
	r := s.do(call{method: http.MethodGet, path: "/v1/audit/consent-events", key: s.auditor})
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("audit query while ClickHouse is unreachable: %s, want a 503 problem with Retry-After", r)
	}
	for _, leak := range []string{"clickhouse", "EOF", "127.0.0.1", "connection"} {
		if strings.Contains(strings.ToLower(string(r.Body)), strings.ToLower(leak)) {
			t.Errorf("the problem shows internals (%q): %s", leak, r.Body)
		}
	}
	t.Logf("audit query while ClickHouse is unreachable: %d in %s: %s", r.Status, time.Since(began).Round(time.Millisecond), r.Body)

	// /readyz is watched during the whole outage.
	var (
		watchMu  sync.Mutex
		readyBad []string
		seen     = map[string]int{}
		stop     = make(chan struct{})
		watching sync.WaitGroup
	)
	watching.Add(1)
	go func() {
		defer watching.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			status, ready, err := s.readyz()
			watchMu.Lock()
			key := fmt.Sprintf("%d %s postgres=%s audit-relay=%s", status, ready.Status, ready.check("postgres"), ready.check("audit-relay"))
			seen[key]++
			if err != nil || status != http.StatusOK || ready.check("postgres") != "ok" {
				readyBad = append(readyBad, fmt.Sprintf("%s (%v)", key, err))
			}
			watchMu.Unlock()
		}
	}()

	// 1,000 changes through two doors, 8 at a time; each response's request
	// id is what its event must carry.
	var wants []want
	var wantsMu sync.Mutex
	inParallel(t, customers, 8, func(i int) error {
		id := made[i].ID
		evidence := fmt.Sprintf("outage test, customer %d, newsletter form", i)
		r1, err := s.send(call{method: http.MethodPut, path: "/v1/customers/" + id + "/consents", key: s.clerk,
			body: map[string]any{"marketingEmail": true, "evidence": evidence}})
		if err != nil {
			return err
		}
		if r1.Status != http.StatusOK {
			return fmt.Errorf("PUT consents of %d while ClickHouse is unreachable: %s", i, r1)
		}
		c1 := change{requestID: r1.RequestID()}
		if err := json.Unmarshal(r1.Body, &c1.customer); err != nil {
			return err
		}
		r2, err := s.send(call{method: http.MethodPatch, path: "/v1/customers/" + id, key: s.clerk, body: `{"marketingSms": true}`,
			header: map[string]string{"Content-Type": "application/merge-patch+json"}})
		if err != nil {
			return err
		}
		if r2.Status != http.StatusOK {
			return fmt.Errorf("PATCH of %d while ClickHouse is unreachable: %s", i, r2)
		}
		c2 := change{requestID: r2.RequestID()}
		if err := json.Unmarshal(r2.Body, &c2.customer); err != nil {
			return err
		}
		wantsMu.Lock()
		defer wantsMu.Unlock()
		wants = append(wants,
			want{change: c1, consent: "marketingEmail", old: false, new: true, source: "api", actor: clerkActor, evidence: evidence},
			want{change: c2, consent: "marketingSms", old: false, new: true, source: "api", actor: clerkActor})
		return nil
	})
	const changes = 2 * customers
	phase("1000 changes made while ClickHouse is unreachable")

	// The backlog shows every change waiting (refreshed every few seconds),
	// the relay's attempts fail, and nothing was shipped.
	eventually(t, 20*time.Second, "kirjuri_audit_relay_backlog reaches 1000", func() (bool, string) {
		v, ok := s.metric("kirjuri_audit_relay_backlog")
		return ok && v == changes, fmt.Sprintf("%v (present %v)", v, ok)
	})
	phase("the backlog metric shows them")
	if v, _ := s.metric("kirjuri_audit_relay_failures_total"); v < 1 {
		t.Errorf("kirjuri_audit_relay_failures_total = %v during the outage, want > 0 (is ClickHouse really cut off?)", v)
	}
	if v, ok := s.metric("kirjuri_audit_relay_shipped_total"); !ok || v != 0 {
		t.Errorf("kirjuri_audit_relay_shipped_total = %v (present %v) during the outage, want 0", v, ok)
	}
	if v, ok := s.metric("kirjuri_audit_relay_lag_seconds"); !ok || v <= 0 {
		t.Errorf("kirjuri_audit_relay_lag_seconds = %v (present %v) with events waiting, want > 0", v, ok)
	}

	close(stop)
	watching.Wait()
	if len(readyBad) > 0 {
		t.Errorf("/readyz was not 200 with PostgreSQL ok during the outage %d times, e.g. %s", len(readyBad), readyBad[0])
	}
	t.Logf("/readyz during the outage (answer: times): %v", seen)
	// The relay's own check tolerates a short outage (unreadyAfter, 30m by
	// default): the events are safe in the outbox.
	status, ready, err = s.readyz()
	if err != nil || status != http.StatusOK || ready.check("postgres") != "ok" || ready.check("audit-relay") != "ok" {
		t.Errorf("/readyz with 1000 events waiting for ClickHouse: %d %+v %v; want 200, postgres ok, audit-relay ok", status, ready, err)
	}

	s.proxy.Restore()
	end := time.Now().Add(time.Minute)
	s.waitShipped(start, end, changes, 60*time.Second)
	phase("ClickHouse restored, the relay caught up")
	eventually(t, 20*time.Second, "kirjuri_audit_relay_backlog back to 0", func() (bool, string) {
		v, ok := s.metric("kirjuri_audit_relay_backlog")
		return ok && v == 0, fmt.Sprintf("%v", v)
	})
	phase("the backlog metric is back to 0")

	// Every change exactly once, paged with a page size that does not
	// divide the total.
	got := s.events(start, end, nil, 97)
	if len(got) != changes {
		t.Errorf("the listing of the period has %d events, want %d", len(got), changes)
	}
	checkEvents(t, got, wants)
	phase("listing checked")

	// Each customer's history is complete.
	histories := make([][]event, customers)
	inParallel(t, customers, 8, func(i int) error {
		h, _, err := s.fetchPages("/v1/customers/"+made[i].ID+"/consent-history", nil, 50)
		histories[i] = h
		return err
	})
	byCustomer := map[string][]want{}
	for _, w := range wants {
		byCustomer[w.change.ID] = append(byCustomer[w.change.ID], w)
	}
	for i, h := range histories {
		if len(h) != 2 {
			t.Errorf("customer %d: history of %d events, want 2: %+v", made[i].Number, len(h), h)
			continue
		}
		checkEvents(t, h, byCustomer[made[i].ID])
	}
	phase("histories checked")
}
