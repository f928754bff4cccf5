package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type report struct {
	machine machineInfo
	data    dataInfo

	history, historyHeavy timings
	historyHeavyEvents    uint64
	summary30, summaryAll timings
	state                 timings
	events                []*eventsCase
	relay                 []*relayTrial

	checks []checkResult
}

type machineInfo struct {
	started                          time.Time
	cores                            int
	memory, goVersion                string
	chVersion, chMaxThreads          string
	pgVersion, pgFsync, pgSyncCommit string
	pgSharedBuffers                  string
	loadStart, loadEnd               string
}

type dataInfo struct {
	ds                    dataset
	rawRows, rawRowsAfter uint64
	tables                []tableStat
	customersWithEvents   int
	perCustomer           [4]float64 // median, p95, p99, max events per customer
	mergeWait             time.Duration
	reappended            uint64 // newest events appended again before measuring
	compacted             int    // partitions Audit.Compact merged before measuring
	compactTime           time.Duration
	compactLeft           uint64 // closed months still of more than one part
}

type tableStat struct {
	name                                              string
	parts, partitions, rows, compressed, uncompressed uint64
	closedParts, closedPartitions                     uint64 // in the months before the current one
}

type checkResult struct {
	name, detail string
	ok           bool
}

func (r *report) check(name string, ok bool, detail string) {
	r.checks = append(r.checks, checkResult{name: name, ok: ok, detail: detail})
	if !ok {
		logf("CHECK FAILED: %s: %s", name, detail)
	}
}

func (r *report) failedChecks() []checkResult {
	var out []checkResult
	for _, c := range r.checks {
		if !c.ok {
			out = append(out, c)
		}
	}
	return out
}

// targets are the three figures (the relay once per batch size).
type target struct {
	name, limit, measured string
	ok                    bool
}

func (r *report) targets() []target {
	var out []target
	if len(r.history.durs) > 0 {
		out = append(out, target{
			name:     fmt.Sprintf("History, first page of %d, %d random customers: p95", historyPage, len(r.history.durs)),
			limit:    "≤ 50 ms",
			measured: fmt.Sprintf("**%s** (p50 %s, p99 %s, max %s)", ms(r.history.pct(.95)), ms(r.history.pct(.5)), ms(r.history.pct(.99)), ms(r.history.max())),
			ok:       r.history.pct(.95) <= historyTarget,
		})
	}
	if len(r.summary30.durs) > 0 {
		out = append(out, target{
			name:     fmt.Sprintf("Summary, most recent 30 days, %d runs: max", len(r.summary30.durs)),
			limit:    "≤ 1 s",
			measured: fmt.Sprintf("**%s** (median %s)", ms(r.summary30.max()), ms(r.summary30.pct(.5))),
			ok:       r.summary30.max() <= summaryTarget,
		})
	}
	for _, t := range r.relay {
		if t.wall == 0 {
			continue
		}
		out = append(out, target{
			name:     fmt.Sprintf("Relay, outbox → ClickHouse, batch %d", t.batch),
			limit:    "≥ 20,000 events/s",
			measured: fmt.Sprintf("**%s events/s** (%s events in %.2f s)", thousands(t.rate), thousands(float64(t.events)), t.wall.Seconds()),
			ok:       t.rate >= relayTarget,
		})
	}
	return out
}

func (r *report) missed() int {
	n := 0
	for _, t := range r.targets() {
		if !t.ok {
			n++
		}
	}
	return n
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

func (r *report) markdown(b *bench) string {
	o := b.opts
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	m, d := r.machine, r.data

	p("# Consent audit log benchmark")
	p("")
	p("%s, `go run ./app/cmd/kirjuri-bench-audit --events %d --customers %d --relay-events %d` (seed %d), %s.",
		m.started.UTC().Format("2006-01-02 15:04 MST"), o.events, o.customers, o.relayEvents, o.seed,
		time.Since(m.started).Round(time.Second))
	p("")
	p("| figure | target | measured | result |")
	p("| --- | --- | --- | --- |")
	for _, t := range r.targets() {
		p("| %s | %s | %s | %s |", t.name, t.limit, t.measured, passFail(t.ok))
	}
	info := func(name, measured string) { p("| %s | information | %s | |", name, measured) }
	if len(r.historyHeavy.durs) > 0 {
		info(fmt.Sprintf("History, first page, the %d busiest customers (≥ %d events each): p50 / max", len(r.historyHeavy.durs), r.historyHeavyEvents),
			fmt.Sprintf("%s / %s", ms(r.historyHeavy.pct(.5)), ms(r.historyHeavy.max())))
	}
	if len(r.summaryAll.durs) > 0 {
		info(fmt.Sprintf("Summary, whole period (%s days), %d runs: median / max", thousands(float64(d.ds.EndSec-d.ds.StartSec)/86400), len(r.summaryAll.durs)),
			fmt.Sprintf("%s / %s", ms(r.summaryAll.pct(.5)), ms(r.summaryAll.max())))
	}
	if len(r.state.durs) > 0 {
		info(fmt.Sprintf("State at the end of the period, %d random customers: p50 / p95 / max", len(r.state.durs)),
			fmt.Sprintf("%s / %s / %s", ms(r.state.pct(.5)), ms(r.state.pct(.95)), ms(r.state.max())))
	}
	for _, c := range r.events {
		info(fmt.Sprintf("Events, page of %d, %s, %d runs: median / max", historyPage, c.name, len(c.t.durs)),
			fmt.Sprintf("%s / %s", ms(c.t.pct(.5)), ms(c.t.max())))
	}
	for _, t := range d.tables {
		info(fmt.Sprintf("Active parts of `%s` when measuring (after `Audit.Compact`)", t.name),
			fmt.Sprintf("%d: %d closed months in %d parts, the current month in %d", t.parts, t.closedPartitions, t.closedParts, t.parts-t.closedParts))
	}
	if ds := d.ds; ds.LoadSeconds > 0 {
		when := "this run"
		if ds.Reused {
			when = "when loaded, " + ds.LoadedAt.UTC().Format("2006-01-02 15:04 MST") + "; reused since"
		}
		appended := float64(ds.Events + ds.DupEvents)
		info(fmt.Sprintf("Load: %s events (+%s appended twice) through Audit.Append, batches of %s (%s)",
			thousands(float64(ds.Events)), thousands(float64(ds.DupEvents)), thousands(float64(o.loadBatch)), when),
			fmt.Sprintf("%s events/s overall, %s/s inside Append (%.0f s)", thousands(appended/ds.LoadSeconds), thousands(appended/ds.AppendSeconds), ds.LoadSeconds))
	}
	p("")
	p("Durations are measured around the real adapter call (`clickhouse.Audit` over clickhouse-go, one client, calls one after another), so they include the driver's round trip and decoding.")

	p("")
	p("## Server side (system.query_log of the same calls)")
	p("")
	p("| figure | calls | queries per call | server ms p50 / p95 / max | rows read per call | data read per call | marks per call | parts per call | peak memory |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	srv := func(name string, t timings) {
		s := t.server
		if s.calls == 0 {
			return
		}
		p("| %s | %d | %.1f | %.0f / %.0f / %.0f | %s | %s | %s | %.0f | %s |", name, s.calls, s.queriesPerCall,
			s.msP50, s.msP95, s.msMax, thousands(s.readRows), bytesIEC(uint64(s.readBytes)), thousands(s.marks), s.parts, bytesIEC(s.maxMemory))
	}
	srv("History (random customers)", r.history)
	srv("History (busiest customers)", r.historyHeavy)
	srv("Summary, 30 days", r.summary30)
	srv("Summary, whole period", r.summaryAll)
	srv("State", r.state)
	for _, c := range r.events {
		srv("Events, "+c.name, c.t)
	}

	if len(r.relay) > 0 {
		p("")
		p("## Relay (the real `clickhouse.Relay` over the real `postgres.Store` outbox)")
		p("")
		p("Each trial: %s unshipped events written to the outbox, one a row as API changes write them (then `VACUUM ANALYZE` and `CHECKPOINT`), the relay started with `RelayConfig{BatchSize: n}` (other settings default), timed until the last batch was committed. Each `Outbox.Relay` call is split at the ship callback: *claim* is `SELECT … FOR UPDATE SKIP LOCKED` and reading the rows, *append* is `Audit.Append` into ClickHouse, *mark* is `UPDATE … SET shipped_at` and `COMMIT` (fsync %s).",
			thousands(float64(o.relayEvents)), m.pgFsync)
		p("")
		p("| batch | events/s | wall | batches | claim | append (ClickHouse) | of which server-side INSERT | mark + commit | relay's own time | outbox fill | parts left in the relay's partition |")
		p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, t := range r.relay {
			if t.wall == 0 {
				continue
			}
			share := func(x time.Duration) string {
				return fmt.Sprintf("%.2f s (%.0f%%)", x.Seconds(), 100*x.Seconds()/t.wall.Seconds())
			}
			other := t.wall - t.claim - t.append - t.mark
			p("| %d | %s | %.2f s | %d | %s | %s | %s in %d INSERTs writing %s rows | %s | %s | %.2f s | %d |", t.batch, thousands(t.rate), t.wall.Seconds(), t.calls,
				share(t.claim), share(t.append), share(t.insertServer), t.inserts, thousands(float64(t.insertWritten)),
				share(t.mark), share(other), t.fill.Seconds(), t.partsAfter)
		}
	}

	r.bounds(p)

	p("")
	p("## Correctness checks")
	p("")
	for _, c := range r.checks {
		mark := "x"
		detail := ""
		if !c.ok {
			mark, detail = " ", " — FAILED: "+c.detail
		}
		p("- [%s] %s%s", mark, c.name, detail)
	}

	p("")
	p("## Data set")
	p("")
	ds := d.ds
	p("- ClickHouse database `%s`, %s distinct events of %s customers (%s have events; per customer median %.0f, p95 %.0f, p99 %.0f, max %.0f), %s → %s, growing rate (half the average at the start, 1.5× at the end), 0.2%% erasures; all consents, sources, actors, systems.",
		chDatabase, thousands(float64(ds.Events)), thousands(float64(ds.Customers)), thousands(float64(d.customersWithEvents)),
		d.perCustomer[0], d.perCustomer[1], d.perCustomer[2], d.perCustomer[3],
		time.Unix(ds.StartSec, 0).UTC().Format("2006-01-02"), time.Unix(ds.EndSec, 0).UTC().Format("2006-01-02"))
	again := ""
	if d.reappended > 0 {
		again = fmt.Sprintf("; merges had collapsed those copies since, so the newest %s events were appended again before measuring", thousands(float64(d.reappended)))
	}
	p("- Copies on purpose: the load appended %s events twice (about 1%% of the batches, as a relay retry does)%s. Rows stored when measuring started: %s (copies not merged away: %s); after: %s. The checks below show that no figure counts a copy.",
		thousands(float64(ds.DupEvents)), again, thousands(float64(d.rawRows)), thousands(float64(int64(d.rawRows)-int64(ds.Events))), thousands(float64(d.rawRowsAfter)))
	for _, t := range d.tables {
		p("- `%s`: %s rows in %d active parts over %d partitions, %s compressed (%s uncompressed).",
			t.name, thousands(float64(t.rows)), t.parts, t.partitions, bytesIEC(t.compressed), bytesIEC(t.uncompressed))
	}
	p("- Waited %s for background merges to finish before measuring.", d.mergeWait.Round(time.Second))
	p("- Then `clickhouse.Audit.Compact` (what the service's hourly housekeeping runs), as of the end of the data set (current month %s): merged %d partitions in %s; closed months still of more than one part: %d.",
		b.currentMonth().Format("2006-01"), d.compacted, d.compactTime.Round(100*time.Millisecond), d.compactLeft)

	p("")
	p("## Machine")
	p("")
	p("- %d cores, %s memory, shared with other work; load average %s at the start, %s at the end.", m.cores, m.memory, m.loadStart, m.loadEnd)
	p("- ClickHouse %s (dev server, native protocol, max_threads %s); PostgreSQL %s (dev server: fsync %s, synchronous_commit %s, shared_buffers %s); %s.",
		m.chVersion, m.chMaxThreads, m.pgVersion, m.pgFsync, m.pgSyncCommit, m.pgSharedBuffers, m.goVersion)
	return w.String()
}

func (r *report) write(path string, b *bench) error {
	md := r.markdown(b)
	fmt.Println()
	fmt.Print(md)
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	logf("report written to %s", path)
	return nil
}

// bounds states, from this run's own numbers, what each target figure is
// made of.
func (r *report) bounds(p func(string, ...any)) {
	p("")
	p("## What bounds the figures (from this run)")
	p("")
	if s := r.history.server; s.calls > 0 {
		rowsPerPart := s.readRows / max(s.parts, 1)
		perPart := s.msP50 / max(s.parts, 1)
		p("- **History** reads the granule holding the customer in every active part of `consent_events` it cannot rule out: %.0f parts per call, %s rows (%.0f per part) and %s of columns, for a page of at most %d events; the server needs %.0f ms at the median, %.2f ms per part. The parts to open are one per closed month (after `Audit.Compact`) plus the current month's, so the cost grows with the months retained, not with the customer's own events (the busiest customers, %d+ events, take %s at the median). At %.2f ms per part, 5 years (60 closed months + about 3 current parts) would take about %.0f ms at the median, 10 years about %.0f ms.",
			s.parts, thousands(s.readRows), rowsPerPart, bytesIEC(uint64(s.readBytes)), historyPage, s.msP50, perPart,
			r.historyHeavyEvents, ms(r.historyHeavy.pct(.5)), perPart, perPart*63, perPart*123)
	}
	if s := r.summary30.server; s.calls > 0 {
		nsPerRow := s.msP50 * 1e6 / max(s.readRows, 1)
		p("- **Summary** reads the window's rows of `consent_events_by_time` (%s rows, %s for 30 days) and counts distinct ids per day, source and consent: %.0f ns per row at the median, so 1 s holds about %s events in the window on this machine as loaded now.",
			thousands(s.readRows), bytesIEC(uint64(s.readBytes)), nsPerRow, thousands(1e9/max(nsPerRow, 1)))
	}
	for _, t := range r.relay {
		if t.wall == 0 || t.calls == 0 {
			continue
		}
		per := func(d time.Duration) string { return ms(d / time.Duration(t.calls)) }
		p("- **Relay, batch %d**: per batch, PostgreSQL takes %s to claim and %s to mark shipped and commit (the UPDATE writes a new row version and index entries for every event), ClickHouse %s to append (%s of it server-side); the relay works one batch at a time, so these add up.",
			t.batch, per(t.claim), per(t.mark), per(t.append), per(t.insertServer))
	}
}
