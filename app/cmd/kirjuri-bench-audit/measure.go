package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"

	"kirjuri/ports"
)

const (
	historyTarget = 50 * time.Millisecond
	summaryTarget = time.Second
	relayTarget   = 20_000.0 // events/s
	historyPage   = 50
)

// timings is one measured figure: the client-side duration of every call
// (the real adapter method, driver round trips included) and what the
// server's query log says about the same calls.
type timings struct {
	durs   []time.Duration
	server serverStats
}

func (t *timings) sorted() []time.Duration {
	s := slices.Clone(t.durs)
	slices.Sort(s)
	return s
}

// pct is the nearest-rank percentile p (0–1) of t's durations.
func (t *timings) pct(p float64) time.Duration {
	s := t.sorted()
	if len(s) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (t *timings) max() time.Duration { return t.pct(1) }

// serverStats sums system.query_log over a figure's calls (a call may run
// several queries: Events does).
type serverStats struct {
	calls               int
	queriesPerCall      float64
	msP50, msP95, msMax float64 // server-side duration of a call
	readRows, readBytes float64 // mean per call
	marks, parts        float64 // mean per call (SelectedMarks, SelectedParts)
	maxMemory           uint64
}

// qctx tags a call's queries with a quota key naming the figure and the
// call, and turns the query log on for them, so serverStats can find them.
// (Not a query id: a call may run several queries, and the next may start
// on another pooled connection before the server has let go of the last.)
func (b *bench) qctx(ctx context.Context, figure string, i int) context.Context {
	return ch.Context(ctx,
		ch.WithQuotaKey(fmt.Sprintf("kbench-%s-%s-%05d", b.runID, figure, i)),
		ch.WithSettings(ch.Settings{"log_queries": 1}))
}

func (b *bench) serverStats(ctx context.Context, figure string) (serverStats, error) {
	var s serverStats
	if err := b.ch.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		return s, err
	}
	rows, err := b.ch.Query(ctx, `SELECT count(), sum(query_duration_ms), sum(read_rows), sum(read_bytes), max(memory_usage),
			sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SelectedMarks')]),
			sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SelectedParts')])
		FROM system.query_log
		WHERE type = 2 AND event_date >= yesterday() AND quota_key LIKE ?
		GROUP BY quota_key`, fmt.Sprintf("kbench-%s-%s-%%", b.runID, figure))
	if err != nil {
		return s, err
	}
	defer rows.Close()
	var ms []float64
	var queries float64
	for rows.Next() {
		var (
			n                              uint64
			dur, rr, rb, mem, marks, parts uint64
		)
		if err := rows.Scan(&n, &dur, &rr, &rb, &mem, &marks, &parts); err != nil {
			return s, err
		}
		s.calls++
		queries += float64(n)
		ms = append(ms, float64(dur))
		s.readRows += float64(rr)
		s.readBytes += float64(rb)
		s.marks += float64(marks)
		s.parts += float64(parts)
		s.maxMemory = max(s.maxMemory, mem)
	}
	if err := rows.Err(); err != nil {
		return s, err
	}
	if s.calls == 0 {
		return s, nil
	}
	c := float64(s.calls)
	s.queriesPerCall = queries / c
	s.readRows /= c
	s.readBytes /= c
	s.marks /= c
	s.parts /= c
	slices.Sort(ms)
	s.msP50, s.msP95, s.msMax = quantile(ms, 0.5), quantile(ms, 0.95), ms[len(ms)-1]
	return s, nil
}

// quantile is the nearest-rank quantile of sorted values.
func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ---------------------------------------------------------------- history

func (b *bench) measureHistory(ctx context.Context) error {
	if len(b.customers) == 0 {
		return fmt.Errorf("no customers with events")
	}
	r := rand.New(rand.NewPCG(b.opts.seed, 0x415))
	n := min(b.opts.historySamples, len(b.customers))
	perm := r.Perm(len(b.customers))
	sample := make([]customerCount, n)
	for i := range sample {
		sample[i] = b.customers[perm[i]]
	}
	// Warm-up: other customers, not measured (a running service is warm).
	for i := range min(20, len(perm)-n) {
		if _, err := b.audit.History(ctx, b.customers[perm[n+i]].id, ports.AuditPageRequest{Limit: historyPage}); err != nil {
			return err
		}
	}

	logf("History: first page (limit %d) of %d random customers", historyPage, n)
	t, bad, err := b.histories(ctx, "history", sample)
	if err != nil {
		return err
	}
	b.rep.history = t
	b.rep.check("History pages hold each event once, newest first, min(50, events of the customer) items", bad == "", bad)
	logf("History: p50 %s, p95 %s, p99 %s, max %s (server p95 %.0f ms, %.0f rows and %.1f MiB read per call)",
		ms(t.pct(.5)), ms(t.pct(.95)), ms(t.pct(.99)), ms(t.max()), t.server.msP95, t.server.readRows, t.server.readBytes/(1<<20))

	// The busiest customers, for information.
	heavy := slices.Clone(b.customers)
	slices.SortFunc(heavy, func(a, b customerCount) int { return int(int64(b.n) - int64(a.n)) })
	heavy = heavy[:min(20, len(heavy))]
	th, bad, err := b.histories(ctx, "historyheavy", heavy)
	if err != nil {
		return err
	}
	b.rep.historyHeavy = th
	b.rep.historyHeavyEvents = heavy[len(heavy)-1].n
	b.rep.check("History pages of the busiest customers are correct too", bad == "", bad)
	logf("History of the %d busiest customers (%d+ events each): p50 %s, max %s", len(heavy), heavy[len(heavy)-1].n, ms(th.pct(.5)), ms(th.max()))
	return nil
}

// histories reads the first page of each customer's history and checks it.
func (b *bench) histories(ctx context.Context, figure string, sample []customerCount) (timings, string, error) {
	var t timings
	var bad string
	for i, c := range sample {
		qc := b.qctx(ctx, figure, i)
		t0 := time.Now()
		page, err := b.audit.History(qc, c.id, ports.AuditPageRequest{Limit: historyPage})
		t.durs = append(t.durs, time.Since(t0))
		if err != nil {
			return t, "", err
		}
		if bad == "" {
			bad = checkHistory(page, c)
		}
	}
	var err error
	t.server, err = b.serverStats(ctx, figure)
	return t, bad, err
}

func checkHistory(page ports.AuditPage, c customerCount) string {
	want := min(uint64(historyPage), c.n)
	if uint64(len(page.Items)) != want {
		return fmt.Sprintf("customer %s: %d items, want %d", c.id, len(page.Items), want)
	}
	if (c.n > historyPage) != (page.NextCursor != "") {
		return fmt.Sprintf("customer %s (%d events): next cursor %q", c.id, c.n, page.NextCursor)
	}
	seen := map[uuid.UUID]bool{}
	for i, e := range page.Items {
		if seen[e.ID] {
			return fmt.Sprintf("customer %s: event %s twice", c.id, e.ID)
		}
		seen[e.ID] = true
		if e.CustomerID != c.id {
			return fmt.Sprintf("customer %s: event %s of customer %s", c.id, e.ID, e.CustomerID)
		}
		if i > 0 && e.OccurredAt.After(page.Items[i-1].OccurredAt) {
			return fmt.Sprintf("customer %s: not newest first at item %d", c.id, i)
		}
	}
	return ""
}

// ---------------------------------------------------------------- summary

func (b *bench) measureSummary(ctx context.Context) error {
	end := time.Unix(b.ds.EndSec, 0).UTC()
	from := end.Add(-summaryWindow)
	logf("Summary: [%s, %s), %d runs", from.Format(time.RFC3339), end.Format(time.RFC3339), b.opts.summaryRuns)
	t, bad, err := b.summaries(ctx, "summary30", from, end, b.opts.summaryRuns, b.ds.Changes30d)
	if err != nil {
		return err
	}
	b.rep.summary30 = t
	b.rep.check(fmt.Sprintf("30-day Summary counts each of the %d consent changes once", b.ds.Changes30d), bad == "", bad)
	logf("Summary 30 days: median %s, max %s (server median %.0f ms, %.0f rows, %.1f MiB read)",
		ms(t.pct(.5)), ms(t.max()), t.server.msP50, t.server.readRows, t.server.readBytes/(1<<20))

	start := time.Unix(b.ds.StartSec, 0).UTC()
	runs := min(3, b.opts.summaryRuns)
	t, bad, err = b.summaries(ctx, "summaryall", start, end, runs, b.ds.ChangesTotal)
	if err != nil {
		return err
	}
	b.rep.summaryAll = t
	b.rep.check(fmt.Sprintf("whole-period Summary counts each of the %d consent changes once", b.ds.ChangesTotal), bad == "", bad)
	logf("Summary whole period: median %s, max %s (server median %.0f ms, %.0f rows, %.1f MiB read)",
		ms(t.pct(.5)), ms(t.max()), t.server.msP50, t.server.readRows, t.server.readBytes/(1<<20))
	return nil
}

func (b *bench) summaries(ctx context.Context, figure string, from, to time.Time, runs int, want uint64) (timings, string, error) {
	var t timings
	var bad string
	for i := range runs {
		qc := b.qctx(ctx, figure, i)
		t0 := time.Now()
		rows, err := b.audit.Summary(qc, from, to)
		t.durs = append(t.durs, time.Since(t0))
		if err != nil {
			return t, "", err
		}
		var got int64
		for _, r := range rows {
			got += r.Grants + r.Withdrawals
		}
		if uint64(got) != want && bad == "" {
			bad = fmt.Sprintf("run %d: %d grants and withdrawals, want %d", i, got, want)
		}
	}
	var err error
	t.server, err = b.serverStats(ctx, figure)
	return t, bad, err
}

// ---------------------------------------------------------------- state

func (b *bench) measureState(ctx context.Context) error {
	r := rand.New(rand.NewPCG(b.opts.seed, 0x57a7e))
	n := min(200, len(b.customers))
	at := time.Unix(b.ds.EndSec, 0).UTC()
	logf("State: %d random customers at the end of the period", n)
	var t timings
	for i := range n {
		c := b.customers[r.IntN(len(b.customers))]
		qc := b.qctx(ctx, "state", i)
		t0 := time.Now()
		if _, err := b.audit.State(qc, c.id, at); err != nil {
			return err
		}
		t.durs = append(t.durs, time.Since(t0))
	}
	var err error
	t.server, err = b.serverStats(ctx, "state")
	b.rep.state = t
	logf("State: p50 %s, p95 %s, max %s", ms(t.pct(.5)), ms(t.pct(.95)), ms(t.max()))
	return err
}

// ---------------------------------------------------------------- events

// eventsCase is one listing query of the Events figures.
type eventsCase struct {
	name, figure string
	q            ports.AuditQuery
	t            timings
}

func (b *bench) measureEvents(ctx context.Context) error {
	end := time.Unix(b.ds.EndSec, 0).UTC()
	cases := []*eventsCase{
		{name: "no filter (from the first event)", figure: "eventsall"},
		{name: "no filter, from = 30 days before the end", figure: "eventsrecent", q: ports.AuditQuery{From: end.Add(-summaryWindow)}},
		{name: "actor = apikey:webshop (22% of events)", figure: "eventswebshop", q: ports.AuditQuery{Actor: "apikey:webshop"}},
		{name: "actor = apikey:support-desk (0.1% of events)", figure: "eventsrare", q: ports.AuditQuery{Actor: "apikey:support-desk"}},
	}
	const runs = 10
	for _, c := range cases {
		c.q.Limit = historyPage
		var bad string
		for i := range runs {
			qc := b.qctx(ctx, c.figure, i)
			t0 := time.Now()
			page, err := b.audit.Events(qc, c.q)
			c.t.durs = append(c.t.durs, time.Since(t0))
			if err != nil {
				return err
			}
			if bad == "" {
				bad = checkEvents(page, c.q)
			}
		}
		var err error
		if c.t.server, err = b.serverStats(ctx, c.figure); err != nil {
			return err
		}
		b.rep.check("Events page, "+c.name+": 50 distinct matching events, oldest first", bad == "", bad)
		logf("Events, %s: median %s, max %s (server: %.1f queries, %.0f rows read per call)",
			c.name, ms(c.t.pct(.5)), ms(c.t.max()), c.t.server.queriesPerCall, c.t.server.readRows)
		b.rep.events = append(b.rep.events, c)
	}
	return nil
}

func checkEvents(page ports.AuditPage, q ports.AuditQuery) string {
	if len(page.Items) != historyPage || page.NextCursor == "" {
		return fmt.Sprintf("%d items (cursor %q), want a full page of %d", len(page.Items), page.NextCursor, historyPage)
	}
	seen := map[uuid.UUID]bool{}
	for i, e := range page.Items {
		if seen[e.ID] {
			return fmt.Sprintf("event %s twice", e.ID)
		}
		seen[e.ID] = true
		if q.Actor != "" && e.Actor != q.Actor {
			return fmt.Sprintf("event %s of actor %q", e.ID, e.Actor)
		}
		if !q.From.IsZero() && e.OccurredAt.Before(q.From) {
			return fmt.Sprintf("event %s before from", e.ID)
		}
		if i > 0 && e.OccurredAt.Before(page.Items[i-1].OccurredAt) {
			return fmt.Sprintf("not oldest first at item %d", i)
		}
	}
	return ""
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.2f ms", f)
}
