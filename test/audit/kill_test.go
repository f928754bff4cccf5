package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/postgres/pgtest"
)

// TestKillDuringRelayLosesAndDuplicatesNothing builds a backlog of 3,000
// events while ClickHouse is cut off, lets the relay ship it in batches of
// 50, and SIGKILLs kirjuri at the worst moment of a batch: ClickHouse has
// stored it, PostgreSQL has not yet marked it shipped. A restarted kirjuri
// ships that batch again (delivery is at least once), and every query must
// still answer with every event exactly once.
//
// The moment is found with the proxy: it holds back ClickHouse's answers
// (Freeze), so the relay waits inside a batch; the test then compares what
// ClickHouse holds with what PostgreSQL marked shipped, and kills only when
// ClickHouse is ahead. Otherwise it lets the relay go on a little and tries
// again.
func TestKillDuringRelayLosesAndDuplicatesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{batchSize: 50, unreadyAfter: time.Second})
	const (
		customers = 750 // each: created with both consents, then both withdrawn
		total     = 4 * customers
	)
	start := time.Now().Add(-time.Second)
	phase := stopwatch(t)
	ctx := context.Background()
	// Named, so that its sessions can be told from kirjuri's.
	pool := pgtest.NewPool(t, withParam(t, s.dbURL, "application_name", "audit-e2e"))
	ch, err := clickhouse.Open(ctx, s.chURL) // directly, not through the proxy
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Close() })
	// Copies of an event collapse when ClickHouse merges parts, whenever it
	// likes. Merges are stopped on this test's own tables, so the copies the
	// kill makes stay, and the answers below must collapse them themselves.
	for _, table := range []string{"consent_events", "consent_events_by_time"} {
		if err := ch.Exec(ctx, "SYSTEM STOP MERGES "+table); err != nil {
			t.Fatalf("stop merges of %s: %v", table, err)
		}
	}

	s.proxy.Cut()
	made := make([]change, customers)
	inParallel(t, customers, 8, func(i int) error {
		r, err := s.send(call{method: http.MethodPost, path: "/v1/customers", key: s.clerk, body: person(i, true, true)})
		if err != nil {
			return err
		}
		if r.Status != http.StatusCreated {
			return fmt.Errorf("create %d: %s", i, r)
		}
		var created customer
		if err := json.Unmarshal(r.Body, &created); err != nil {
			return err
		}
		r, err = s.send(call{method: http.MethodPut, path: "/v1/customers/" + created.ID + "/consents", key: s.clerk,
			body: map[string]any{"marketingEmail": false, "marketingSms": false, "evidence": "unsubscribed"}})
		if err != nil {
			return err
		}
		if r.Status != http.StatusOK {
			return fmt.Errorf("withdraw %d: %s", i, r)
		}
		made[i].requestID = r.RequestID()
		return json.Unmarshal(r.Body, &made[i].customer)
	})
	phase(fmt.Sprintf("%d changes made while ClickHouse is unreachable", total))
	eventually(t, 20*time.Second, "the backlog metric shows every change", func() (bool, string) {
		v, _ := s.metric("kirjuri_audit_relay_backlog")
		return v == total, fmt.Sprintf("%v", v)
	})
	// With unreadyAfter 1s, an outage that old takes the instance out of
	// rotation, through the relay's check alone.
	eventually(t, 10*time.Second, "/readyz reports the relay failing", func() (bool, string) {
		status, ready, err := s.readyz()
		if err != nil {
			return false, err.Error()
		}
		if ready.check("postgres") != "ok" {
			t.Fatalf("/readyz: PostgreSQL %q during a ClickHouse outage", ready.check("postgres"))
		}
		return status == http.StatusServiceUnavailable && ready.check("audit-relay") == "failed", fmt.Sprintf("%d %+v", status, ready)
	})
	phase("backlog and readiness show the outage")

	s.proxy.Restore()
	// Relaying is under way once the compliance API counts some but not
	// all changes.
	eventually(t, 20*time.Second, "the relay starts shipping", func() (bool, string) {
		sum, r, err := s.summaryOf(start, time.Now().Add(time.Minute))
		if err != nil || r.Status != http.StatusOK {
			return false, fmt.Sprint(r, err)
		}
		if sum.total() == total {
			t.Fatalf("the relay shipped all %d events before the test could interrupt it", total)
		}
		return sum.total() > 0, fmt.Sprintf("%d shipped", sum.total())
	})
	phase("relaying under way")

	counts := func() (shipped, stored int64) {
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM consent_outbox WHERE shipped_at IS NOT NULL`).Scan(&shipped); err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := ch.QueryRow(ctx, `SELECT uniqExact(event_id) FROM consent_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return shipped, int64(n)
	}
	// catch freezes the proxy at random moments until the relay waits for
	// ClickHouse to confirm a batch that ClickHouse has already stored.
	catch := func() (tries int) {
		for deadline := time.Now().Add(30 * time.Second); ; {
			tries++
			s.proxy.Freeze()
			// The relay stops at its next wait for ClickHouse; the counts
			// stand still once it does.
			var shipped, stored int64
			eventually(t, 5*time.Second, "the relay waits for ClickHouse", func() (bool, string) {
				a1, b1 := counts()
				time.Sleep(30 * time.Millisecond)
				shipped, stored = counts()
				return a1 == shipped && b1 == stored, fmt.Sprintf("shipped %d→%d, stored %d→%d", a1, shipped, b1, stored)
			})
			if stored > shipped {
				return tries
			}
			if shipped == total || time.Now().After(deadline) {
				s.proxy.Thaw()
				t.Fatalf("after %d tries, never caught ClickHouse ahead of the outbox (shipped %d of %d)", tries, shipped, total)
			}
			s.proxy.Thaw()
			// Let the relay go on for a random part of a batch.
			time.Sleep(time.Duration(rand.IntN(15)) * time.Millisecond)
		}
	}
	// gone waits until PostgreSQL has ended the killed process's sessions,
	// so that nothing it sent can still commit.
	gone := func() {
		eventually(t, 10*time.Second, "PostgreSQL ends the killed process's sessions", func() (bool, string) {
			var n int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND application_name <> 'audit-e2e'`).Scan(&n)
			if err != nil {
				return false, err.Error()
			}
			return n == 0, fmt.Sprintf("%d sessions", n)
		})
	}

	var shippedAtKill, storedAtKill int64
	for attempt := 1; ; attempt++ {
		tries := catch()
		s.kill()
		s.proxy.Thaw()
		gone()
		shippedAtKill, storedAtKill = counts()
		phase(fmt.Sprintf("killed with %d events in ClickHouse, %d marked shipped (attempt %d, try %d)", storedAtKill, shippedAtKill, attempt, tries))
		if storedAtKill > shippedAtKill {
			break
		}
		// The relay's mark reached PostgreSQL just before the kill.
		if attempt == 3 {
			t.Fatalf("in %d attempts the kill never left a batch in ClickHouse unmarked in the outbox", attempt)
		}
		s.serve()
	}

	// The killed batch was rolled back in PostgreSQL: it waits again.
	var waiting int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM consent_outbox WHERE shipped_at IS NULL`).Scan(&waiting); err != nil {
		t.Fatal(err)
	}
	if waiting != total-shippedAtKill {
		t.Fatalf("after the kill %d events wait in the outbox, want %d", waiting, total-shippedAtKill)
	}
	// The events ClickHouse has but the outbox does not count as shipped:
	// they will be stored twice.
	twice := map[string]bool{}
	rows, err := ch.Query(ctx, `SELECT DISTINCT toString(event_id) FROM consent_events`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		twice[id] = true
	}
	rows.Close()
	pgRows, err := pool.Query(ctx, `SELECT event_id::text FROM consent_outbox WHERE shipped_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for pgRows.Next() {
		var id string
		if err := pgRows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		delete(twice, id)
	}
	pgRows.Close()
	if int64(len(twice)) != storedAtKill-shippedAtKill {
		t.Fatalf("%d events in ClickHouse are not marked shipped, want %d", len(twice), storedAtKill-shippedAtKill)
	}

	// Rows in ClickHouse (merges are stopped, so every copy stays a row).
	rowsAtKill := map[string]uint64{}
	for _, table := range []string{"consent_events", "consent_events_by_time"} {
		var n uint64
		if err := ch.QueryRow(ctx, `SELECT count() FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		rowsAtKill[table] = n
	}

	s.serve() // the same databases
	phase("restarted")
	end := time.Now().Add(time.Minute)
	// Caught up when the outbox holds nothing unshipped (read directly:
	// polling the compliance API would compete with the relay for
	// ClickHouse, which reads every unmerged part of these tables).
	eventually(t, 60*time.Second, "the restarted relay empties the outbox", func() (bool, string) {
		var n int64
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM consent_outbox WHERE shipped_at IS NULL`).Scan(&n); err != nil {
			return false, err.Error()
		}
		return n == 0, fmt.Sprintf("%d waiting", n)
	})
	s.waitShipped(start, end, total, 10*time.Second)
	phase("restarted relay caught up")

	// The new process shipped everything the outbox still held, the events
	// ClickHouse already had among them.
	if v, _ := s.metric("kirjuri_audit_relay_shipped_total"); int64(v) != total-shippedAtKill {
		t.Errorf("the restarted relay shipped %v events, want %d (all not marked shipped, %d of them already in ClickHouse)",
			v, total-shippedAtKill, len(twice))
	}
	for _, table := range []string{"consent_events", "consent_events_by_time"} {
		var copies, distinct uint64
		if err := ch.QueryRow(ctx, `SELECT count(), uniqExact(event_id) FROM `+table).Scan(&copies, &distinct); err != nil {
			t.Fatal(err)
		}
		// The restarted relay stored each waiting event once more, the ones
		// ClickHouse had already among them.
		want := rowsAtKill[table] + uint64(total-shippedAtKill)
		if distinct != total || copies != want || copies <= total {
			t.Errorf("%s holds %d rows of %d events, want %d rows (some events twice) of %d",
				table, copies, distinct, want, total)
		}
	}
	status, ready, err := s.readyz()
	if err != nil || status != http.StatusOK || ready.check("audit-relay") != "ok" {
		t.Errorf("/readyz after catching up: %d %+v %v, want 200 with audit-relay ok", status, ready, err)
	}

	// Exactly once, in every answer.
	events := s.events(start, end, nil, 500)
	if len(events) != total {
		t.Errorf("the listing has %d events, want %d", len(events), total)
	}
	ids := map[string]int{}
	perCustomer := map[string]int{}
	for _, e := range events {
		ids[e.EventID]++
		perCustomer[e.CustomerID]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("event %s is listed %d times", id, n)
		}
	}
	if len(ids) != total {
		t.Errorf("the listing has %d distinct events, want %d", len(ids), total)
	}
	for _, c := range made {
		if perCustomer[c.ID] != 4 {
			t.Errorf("customer %d has %d events in the listing, want 4", c.Number, perCustomer[c.ID])
		}
	}
	sum, r, err := s.summaryOf(start, end)
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("summary: %v %v", r, err)
	}
	var grants, withdrawals int64
	for _, row := range sum.Rows {
		if row.Source != "api" {
			t.Errorf("summary row from source %q: %+v", row.Source, row)
		}
		grants += row.Grants
		withdrawals += row.Withdrawals
	}
	if grants != total/2 || withdrawals != total/2 {
		t.Errorf("summary: %d grants and %d withdrawals, want %d of each", grants, withdrawals, total/2)
	}

	// The customers whose events were stored twice: their history and
	// state, which read the other table, show each event once.
	var doubled []change
	twiceCustomers := map[string]bool{}
	for _, e := range events {
		if twice[e.EventID] {
			twiceCustomers[e.CustomerID] = true
		}
	}
	for _, c := range made {
		if twiceCustomers[c.ID] {
			doubled = append(doubled, c)
		}
	}
	if len(doubled) == 0 {
		t.Fatalf("none of the %d events stored twice is in the listing", len(twice))
	}
	for _, c := range doubled {
		h := s.history(c.ID, 2)
		seen := map[string]bool{}
		for _, e := range h {
			if seen[e.EventID] {
				t.Errorf("customer %d: event %s twice in its history", c.Number, e.EventID)
			}
			seen[e.EventID] = true
		}
		if len(h) != 4 {
			t.Errorf("customer %d: %d events in its history, want 4", c.Number, len(h))
		}
		r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-state?customerId=" + c.ID, key: s.auditor})
		st := decode[consentState](t, r)
		for _, v := range st.Consents {
			if v.Value {
				t.Errorf("customer %d: %s is true now, after its withdrawal", c.Number, v.Consent)
			}
			withdrawn := v.Consent == "marketingEmail" || v.Consent == "marketingSms"
			if withdrawn && (v.SetBy == nil || v.SetBy.RequestID != c.requestID || v.SetBy.Evidence != "unsubscribed") {
				t.Errorf("customer %d: %s set by %+v, want the withdrawal of request %s", c.Number, v.Consent, v.SetBy, c.requestID)
			}
		}
	}
	phase(fmt.Sprintf("answers checked (%d customers with events stored twice)", len(doubled)))
}

// withParam adds a query parameter to a URL.
func withParam(t testing.TB, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("not a URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
