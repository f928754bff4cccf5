package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The targets.
const (
	rateTarget = 1000.0                // deliveries acknowledged per second, sustained
	p99Target  = 50 * time.Millisecond // acknowledgement
)

type report struct {
	machine machine
	floor   *loadResult
	service *loadResult
	svc     *serviceResult
	waited  time.Duration

	checks []checkResult
	errors []string
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

func (r *report) errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

type target struct {
	name, limit, measured, floor, ratio string
	ok                                  bool
}

func (r *report) targets() []target {
	s := r.service
	if s == nil || len(s.latencies) == 0 {
		return nil
	}
	floorRate, floorP99, rateRatio, p99Ratio := "–", "–", "–", "–"
	if f := r.floor; f != nil && len(f.latencies) > 0 {
		floorRate = thousands(f.rate()) + "/s"
		floorP99 = ms(pct(f.latencies, 99))
		rateRatio = fmt.Sprintf("%.2f", s.rate()/f.rate())
		p99Ratio = fmt.Sprintf("%.1f×", float64(pct(s.latencies, 99))/float64(max(pct(f.latencies, 99), 1)))
	}
	lostOK := true
	for _, c := range r.checks {
		if strings.HasPrefix(c.name, "zero ") || strings.HasPrefix(c.name, "no two") {
			lostOK = lostOK && c.ok
		}
	}
	out := []target{
		{"deliveries acknowledged per second, sustained over " + secs(s.window), "≥ 1,000/s", "**" + thousands(s.rate()) + "/s**", floorRate, rateRatio + " of the floor", s.rate() >= rateTarget},
		{"acknowledgement p99 (request to 202/200)", "≤ 50 ms", "**" + ms(pct(s.latencies, 99)) + "**", floorP99, p99Ratio, pct(s.latencies, 99) <= p99Target},
	}
	if r.svc != nil && r.svc.drained {
		out = append(out, target{"lost or doubled customers (counted at the end)", "0", fmt.Sprintf("**%d lost, %d doubled**", r.svc.missing, max(0, r.svc.customers+int64(r.svc.missing)-int64(r.svc.ackedCusts))), "–", "–", lostOK})
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
	for _, c := range r.checks {
		if !c.ok {
			n++
		}
	}
	return n
}

func (r *report) write(path string, b *bench) error {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	m := r.machine
	o := b.opts
	p("# Connector benchmark (kirjuri-bench-connectors)")
	p("")
	p("%s; `%s`.", m.started.Format("2006-01-02 15:04 MST"), strings.Join(os.Args, " "))
	p("")
	p("Machine: %s, %d cores (GOMAXPROCS %d), %s memory; %s. PostgreSQL %s (fsync %s, synchronous_commit %s, commit_delay %s, shared_buffers %s).",
		orUnknown(m.cpuModel), m.cores, m.gomaxprocs, orUnknown(m.memory), m.goVersion,
		orUnknown(m.pgVersion), orUnknown(m.fsync), orUnknown(m.syncCommit), orUnknown(m.commitDelay), orUnknown(m.sharedBuffers))
	p("Load average (1, 5, 15 min): %s at the start, %s at the end; waited %s in all for a quieter machine (--quiet %.0f %%, --quiet-wait %s).",
		m.loadStart, orUnknown(m.loadEnd), r.waited.Round(time.Second), 100*o.quietLimit, o.quietWait)
	p("Load: %d closed-loop workers over keep-alive loopback HTTP; deliveries %.0f %% new customers, %.0f %% updates of earlier ones, %.0f %% replays of acknowledged webhook-ids; %s warm-up, then %s (service) and %s (floor). ClickHouse: %s.",
		o.concurrency, 100*(1-o.updates-o.replays), 100*o.updates, 100*o.replays, o.warmup, o.duration, o.floorDuration,
		map[bool]string{true: "off (consent events wait in the outbox)", false: "on"}[o.noClickHouse])
	p("")

	p("## Targets")
	p("")
	if ts := r.targets(); len(ts) > 0 {
		p("| figure | target | measured | floor | vs floor | |")
		p("| --- | --- | --- | --- | --- | --- |")
		for _, t := range ts {
			p("| %s | %s | %s | %s | %s | %s |", t.name, t.limit, t.measured, t.floor, t.ratio, passFail(t.ok))
		}
	} else {
		p("No target was measured in this run.")
	}
	p("")

	p("## Acknowledgement")
	p("")
	p("| | deliveries/s | p50 | p95 | p99 | max | new / update / replay | load average before |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, l := range []*loadResult{r.service, r.floor} {
		if l == nil || len(l.latencies) == 0 {
			continue
		}
		name := "`kirjuri serve`, POST /v1/connectors/webstore/webhook"
		if l.name == "floor" {
			name = "floor: bare net/http, verify + INSERT … ON CONFLICT DO NOTHING"
		}
		p("| %s | **%s** | %s | %s | %s | %s | %d / %d / %d | %s |", name, thousands(l.rate()),
			ms(pct(l.latencies, 50)), ms(pct(l.latencies, 95)), ms(pct(l.latencies, 99)), ms(l.latencies[len(l.latencies)-1]),
			l.byKind[kindNew], l.byKind[kindUpdate], l.byKind[kindReplay], l.load)
	}
	p("")
	p("### What bounds it: CPU and commits in the window")
	p("")
	p("CPU in cores (%d in all) and per acknowledged delivery. The load generator's figure for the floor includes the floor's handler (same process).", m.cores)
	p("")
	p("| | load generator | service | PostgreSQL | other work | machine busy | commits / delivery | WAL fsyncs / delivery | WAL bytes / delivery |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, l := range []*loadResult{r.service, r.floor} {
		if l == nil || l.acked == 0 {
			continue
		}
		per := func(cores float64) string {
			return fmt.Sprintf("%.2f (%.0f µs)", cores, cores*l.window.Seconds()*1e6/float64(l.acked))
		}
		c := l.cpu
		svc := "–"
		if l.name != "floor" {
			svc = per(c.service)
		}
		wal := func(v float64) string {
			if !l.wal.ok {
				return "?"
			}
			return fmt.Sprintf("%.2f", v/float64(l.acked))
		}
		walBytes := "?"
		if l.wal.ok {
			walBytes = thousands(l.wal.bytes / float64(l.acked))
		}
		p("| %s | %s | %s | %s | %.2f | %.2f of %.0f | %s | %s | %s |", l.name, per(c.self), svc, per(c.postgres), c.other, c.machine, c.all,
			wal(l.wal.commits), wal(l.wal.syncs), walBytes)
	}
	p("")
	p("The service's window includes the background processing of the deliveries (jobs: parse, match, merge, store) on the same cores; commits and WAL are the bench database's (commits) and the whole server's (WAL).")
	p("")

	if s, sr := r.service, r.svc; s != nil && sr != nil {
		p("## Processing: request to stored and visible")
		p("")
		p("| figure | measured |")
		p("| --- | --- |")
		p("| deliveries processed per second during the window | %s/s (backlog %d at the start, %d at the end) |", thousands(sr.processedRate), s.backlogStart, s.backlogEnd)
		if sr.drained {
			p("| window end to every delivery processed (GET /v1/connectors: backlog 0) | %s |", secs(sr.drain))
		} else {
			p("| window end to every delivery processed | **not within %s** |", o.drainTimeout)
		}
		if len(s.visible) > 0 {
			p("| request to customer visible (GET /v1/customers/by-external/7/{id}), 1 in %d new customers of the window | p50 %s, p99 %s, max %s (%d samples, %d polls) |",
				o.sampleEvery, ms(pct(s.visible, 50)), ms(pct(s.visible, 99)), ms(s.visible[len(s.visible)-1]), len(s.visible), sr.polls)
		}
		p("")
	}

	if len(r.checks) > 0 {
		p("## Checks")
		p("")
		p("| check | result | detail |")
		p("| --- | --- | --- |")
		for _, c := range r.checks {
			p("| %s | %s | %s |", c.name, passFail(c.ok), c.detail)
		}
		p("")
	}
	if len(r.errors) > 0 {
		p("## Problems")
		p("")
		for _, e := range r.errors {
			p("- %s", e)
		}
		p("")
	}
	if b.svc != nil {
		p("Service log: `%s`.", b.svc.logPath)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(w.String()), 0o644)
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "**miss**"
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 100*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}

func secs(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func thousands(f float64) string {
	s := strconv.FormatFloat(f, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
