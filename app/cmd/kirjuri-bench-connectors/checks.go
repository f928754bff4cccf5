package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// serviceResult is what the service's run adds to its load.
type serviceResult struct {
	processedRate             float64       // deliveries processed per second in the window
	drain                     time.Duration // window end to backlog 0
	drained                   bool
	deadLetters               int64
	polls                     int64
	sent, ackedCusts          int
	ackedMsgs                 int
	replaysSent               int64
	links, linkedCustomers    int64
	customers, emails, unique int64
	stale, missing            int
	inbox                     map[string]int64
	consentEvents             int64
	// The drain phase: from the window's end (the sending stopped) until
	// the backlog is empty, its CPU and the deliveries processed in it.
	drainCPU       cpuSplit
	drainPhase     time.Duration
	drainProcessed int64
}

func (b *bench) afterLoad(ctx context.Context, svc *service, g *gen, res *loadResult, load string,
	hStart, hEnd connectorHealth, errHealth error, tEnd time.Time, prog *progress, samples func() ([]time.Duration, int64, int64)) error {
	res.load = load
	b.rep.service = res
	sr := &serviceResult{inbox: map[string]int64{}}
	b.rep.svc = sr
	if errHealth != nil {
		return errHealth
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	res.backlogStart, res.backlogEnd = hStart.Backlog, hEnd.Backlog
	stored := res.byKind[kindNew] + res.byKind[kindUpdate]
	sr.processedRate = float64(hStart.Backlog+stored-hEnd.Backlog) / res.window.Seconds()
	benchkit.Logf("service: %s deliveries/s acknowledged, ack p50 %s p99 %s; %s processed/s in the window; backlog %d at its end",
		benchkit.Thousands(res.rate()), ms(pct(res.latencies, 50)), ms(pct(res.latencies, 99)), benchkit.Thousands(sr.processedRate), hEnd.Backlog)
	if res.offered > 0 && len(res.lag) > 0 {
		benchkit.Logf("service: the sender left p99 %s, at worst %s after schedule; %d requests waited for a slot; %d in flight at most",
			ms(pct(res.lag, 99)), ms(res.lag[len(res.lag)-1]), res.slotWaits, res.maxInFlight)
	}

	// Drain: until GET /v1/connectors shows no backlog. The CPU of this
	// phase is processing alone (the sending has stopped): with the
	// deliveries it processed, it gives processing's cost per delivery.
	sr.drainCPU = cpuSplit{servicePid: res.cpu.servicePid, postmaster: res.cpu.postmaster}
	sr.drainCPU.start()
	drainStart := time.Now()
	var first connectorHealth
	if h, err := svc.health(ctx); err == nil {
		first = h
	}
	deadline := time.Now().Add(b.opts.drainTimeout)
	lastLog := time.Now()
	for {
		h, err := svc.health(ctx)
		if err != nil {
			return err
		}
		if h.Backlog == 0 {
			sr.drain, sr.drained, sr.deadLetters = time.Since(tEnd), true, h.DeadLetters
			sr.drainCPU.end(time.Since(drainStart))
			sr.drainPhase, sr.drainProcessed = time.Since(drainStart), first.Backlog
			break
		}
		if time.Now().After(deadline) {
			sr.drain, sr.deadLetters = time.Since(tEnd), h.DeadLetters
			b.rep.Errorf("the backlog was %d after waiting %s", h.Backlog, b.opts.drainTimeout)
			break
		}
		if time.Since(lastLog) > 5*time.Second {
			benchkit.Logf("  backlog %d, dead letters %d", h.Backlog, h.DeadLetters)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
			// Not more often: GET /v1/connectors counts the backlog
			// (tens of ms with tens of thousands waiting), and this phase
			// measures processing's own cost.
		}
	}
	benchkit.Logf("service: every delivery processed %s after the window ended", secs(sr.drain))
	res.progress = prog.stop()
	vis, notVis, polls := samples()
	slices.Sort(vis)
	res.visible, res.sampledNotVisible, sr.polls = vis, notVis, polls

	// Counting.
	g.mu.Lock()
	sr.sent, sr.ackedCusts, sr.ackedMsgs = g.next, len(g.ackedCusts), g.ackedMsgs
	ackedVer := slices.Clone(g.ackedVer)
	g.mu.Unlock()
	sr.replaysSent = g.replaysSent.Load()
	q := func(sql string, dst ...any) error { return b.pool.QueryRow(ctx, sql).Scan(dst...) }
	if err := q(`SELECT count(*), count(DISTINCT customer_id) FROM customer_links WHERE system_id = 7`, &sr.links, &sr.linkedCustomers); err != nil {
		return err
	}
	if err := q(`SELECT count(*), count(email), count(DISTINCT lower(email)) FROM customers`, &sr.customers, &sr.emails, &sr.unique); err != nil {
		return err
	}
	rows, err := b.pool.Query(ctx, `SELECT l.identifier, c.last_name FROM customer_links l JOIN customers c ON c.id = l.customer_id WHERE l.system_id = 7`)
	if err != nil {
		return err
	}
	seen := make([]bool, len(ackedVer))
	for rows.Next() {
		var id, last string
		if err := rows.Scan(&id, &last); err != nil {
			rows.Close()
			return err
		}
		n, err := strconv.Atoi(id[strings.LastIndexByte(id, '-')+1:])
		if err != nil || n >= len(ackedVer) {
			sr.stale++ // a link the benchmark did not send
			continue
		}
		seen[n] = true
		if ackedVer[n] >= 0 && last != lastName(n, ackedVer[n]) {
			sr.stale++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for n, v := range ackedVer {
		if v >= 0 && !seen[n] {
			sr.missing++
		}
	}
	st, err := b.pool.Query(ctx, `SELECT status, count(*) FROM connector_inbox WHERE connector = 'webstore' GROUP BY status`)
	if err != nil {
		return err
	}
	for st.Next() {
		var s string
		var c int64
		if err := st.Scan(&s, &c); err != nil {
			st.Close()
			return err
		}
		sr.inbox[s] = c
	}
	st.Close()
	if err := st.Err(); err != nil {
		return err
	}
	var inboxRows int64
	for _, c := range sr.inbox {
		inboxRows += c
	}
	if b.opts.noClickHouse {
		if err := q(`SELECT count(*) FROM consent_outbox`, &sr.consentEvents); err != nil {
			return err
		}
	}

	r := b.rep
	r.Check("zero lost: every customer acknowledged is in the register with link 7/*", sr.missing == 0 && sr.links == int64(sr.ackedCusts),
		fmt.Sprintf("%d links 7/* for %d distinct customers acknowledged (%d sent); %d missing", sr.links, sr.ackedCusts, sr.sent, sr.missing))
	r.Check("zero doubled: each link on its own customer, nothing else in the register", sr.linkedCustomers == sr.links && sr.customers == sr.links,
		fmt.Sprintf("%d links on %d customers; %d customers in all", sr.links, sr.linkedCustomers, sr.customers))
	r.Check("no two customers with the same email", sr.emails == sr.customers && sr.unique == sr.emails,
		fmt.Sprintf("%d customers, %d with an email, %d distinct", sr.customers, sr.emails, sr.unique))
	r.Check("every customer holds its latest update (updates out of order changed nothing)", sr.stale == 0,
		fmt.Sprintf("%d customers not at the last version acknowledged", sr.stale))
	r.Check("replays changed nothing: answered 200, no inbox row of their own", res.replayNot200 == 0 && inboxRows == int64(sr.ackedMsgs),
		fmt.Sprintf("%d replays sent, %d not answered 200; %d inbox rows for %d distinct webhook-ids acknowledged", sr.replaysSent, res.replayNot200, inboxRows, sr.ackedMsgs))
	if b.opts.noClickHouse {
		r.Check("one consent event per customer (updates and replays recorded none)", sr.consentEvents == int64(sr.ackedCusts),
			fmt.Sprintf("%d events in the outbox for %d customers", sr.consentEvents, sr.ackedCusts))
	}
	r.Check("every delivery processed, no dead letters", sr.drained && sr.deadLetters == 0 && sr.inbox["processed"] == inboxRows,
		fmt.Sprintf("inbox by status: %v; dead letters %d", sr.inbox, sr.deadLetters))
	r.Check("no request failed", res.errors == 0,
		fmt.Sprintf("%d errors (window and warm-up); first: %s", res.errors, strings.Join(res.firstErrors, "; ")))
	r.Check("every sampled customer became visible", res.sampledNotVisible == 0,
		fmt.Sprintf("%d sampled, %d never visible", len(res.visible)+int(res.sampledNotVisible), res.sampledNotVisible))
	return nil
}
