package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// Targets of the issue (item 8).
const (
	lookupRate      = 8000.0
	lookupP99       = 5 * time.Millisecond
	lookupFloorFrac = 2.0 / 3
	createRate      = 1500.0
	findP95         = 50 * time.Millisecond
)

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}

// verdict says whether a result meets its target, and the target's text.
func verdict(r *result, floor *result) (target, outcome string) {
	var misses []string
	switch r.name {
	case "floor":
		return "reference", "—"
	case "by-external", "by-number":
		target = fmt.Sprintf("≥ %s/s, p99 ≤ %s, ≥ ⅔ of floor", benchkit.Thousands(lookupRate), ms(lookupP99))
		if r.rate() < lookupRate {
			misses = append(misses, "rate")
		}
		if r.pct(99, -1) > lookupP99 {
			misses = append(misses, "p99")
		}
		if floor == nil {
			misses = append(misses, "no floor measured")
		} else if r.rate() < lookupFloorFrac*floor.rate() {
			misses = append(misses, "ratio")
		}
	case "create":
		target = fmt.Sprintf("≥ %s/s", benchkit.Thousands(createRate))
		if r.rate() < createRate {
			misses = append(misses, "rate")
		}
	case "find":
		target = fmt.Sprintf("p95 ≤ %s", ms(findP95))
		if r.pct(95, -1) > findP95 {
			misses = append(misses, "p95")
		}
	}
	if r.failures > 0 {
		misses = append(misses, fmt.Sprintf("%d non-2xx", r.failures))
	}
	if len(misses) > 0 {
		return target, "**FAIL** (" + strings.Join(misses, ", ") + ")"
	}
	return target, "pass"
}

var scenarioTitles = map[string]string{
	"floor":       "floor: bare net/http + pgx, by external link",
	"by-external": "kirjuri GET /v1/customers/by-external/6/wc-{n}",
	"by-number":   "kirjuri GET /v1/customers/by-number/{n}",
	"find":        "kirjuri GET /v1/customers?q=…&limit=50",
	"create":      "kirjuri POST /v1/customers",
}

func renderReport(results []*result, mc *machineContext, o options) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	var floor *result
	for _, r := range results {
		if r.name == "floor" {
			floor = r
		}
	}
	host, _ := os.Hostname()
	w("# kirjuri API benchmark\n\n")
	w("%s on %s; %s customers in the database. Each scenario is a closed loop of workers over HTTP/1.1 keep-alive on loopback, "+
		"measured for %s after a %s warm-up; the lookups (floor, by-external, by-number) run interleaved in %d rounds of %s each, "+
		"so that other work on the machine falls on all three alike. Keys are uniformly random over the %s loaded customers. "+
		"Find searches, limit 50, mix five kinds of text equally (below). Create posts new people with a unique email and link.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, benchkit.Thousands(float64(mc.customers)), o.duration, o.warmup,
		max(1, o.rounds), o.duration/time.Duration(max(1, o.rounds)), benchkit.Thousands(float64(o.customers)))

	w("| Scenario | Workers | Requests | Req/s | p50 | p95 | p99 | Max | Non-2xx | Target | Result |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, r := range results {
		target, outcome := verdict(r, floor)
		w("| %s | %d | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n",
			scenarioTitles[r.name], r.workers, benchkit.Thousands(float64(len(r.samples))), benchkit.Thousands(r.rate()),
			ms(r.pct(50, -1)), ms(r.pct(95, -1)), ms(r.pct(99, -1)), ms(r.pct(100, -1)), r.failures, target, outcome)
	}
	if floor != nil {
		w("\nRatio to the floor (the floor answers the by-external lookup; by-number is compared with it too):\n\n")
		w("| Scenario | Req/s ÷ floor | p99 ÷ floor | Target |\n|---|--:|--:|---|\n")
		for _, r := range results {
			if r.name != "by-external" && r.name != "by-number" {
				continue
			}
			w("| %s | %.2f | %.2f | ≥ 0.67 |\n", r.name, r.rate()/floor.rate(),
				float64(r.pct(99, -1))/float64(floor.pct(99, -1)))
		}
	}

	w("\nWhere the time goes (CPU over each window; this process is the load generator and the servers together):\n\n")
	w("| Scenario | Busy before | Busy during | All CPU, µs/req | This process, µs/req | PostgreSQL, µs/req | of which softirq (loopback TCP), µs/req | Other processes, µs/req | WAL flushes/req | WAL bytes/req |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range results {
		n := float64(len(r.samples))
		c := r.cpu
		pg, rest := "n/a", "n/a"
		if c.pgKnown {
			pg = fmt.Sprintf("%.0f", 1e6*c.pg/n)
			rest = fmt.Sprintf("%.0f", 1e6*(c.busy-c.self-c.pg)/n)
		}
		w("| %s | %.0f %% | %.0f %% | %.0f | %.0f | %s | %.0f | %s | %.2f | %s |\n", r.name, 100*r.background, 100*c.busy/max(c.total, 1e-9),
			1e6*c.busy/n, 1e6*c.self/n, pg, 1e6*c.irq/n, rest, c.walSyncs/n, benchkit.Thousands(c.walBytes/n))
	}
	w("\n(Busy is the share of all cores in use; *before* is measured for 2 s just before the scenario, without its load. " +
		"Softirq time, mostly the loopback TCP stack, is charged to the processes it interrupts and so is part of their figures. " +
		"*Other processes* is CPU used by neither this process nor the bench database's PostgreSQL processes: other work on the machine, which disturbs the figures; " +
		"it is approximate to ±20 µs. With the machine busy throughout, a scenario is bound by CPU: " +
		"its rate is about the cores divided by *All CPU*.)\n")

	for _, r := range results {
		if len(r.kinds) == 0 {
			continue
		}
		w("\n%s by kind of search text:\n\n| Kind | Requests | p50 | p95 | p99 | Max |\n|---|--:|--:|--:|--:|--:|\n", r.name)
		for k, name := range r.kinds {
			w("| %s | %s | %s | %s | %s | %s |\n", name, benchkit.Thousands(float64(r.count(k))),
				ms(r.pct(50, k)), ms(r.pct(95, k)), ms(r.pct(99, k)), ms(r.pct(100, k)))
		}
	}
	for _, r := range results {
		if len(r.statuses) > 1 || r.failures > 0 {
			codes := make([]int, 0, len(r.statuses))
			for c := range r.statuses {
				codes = append(codes, c)
			}
			slices.Sort(codes)
			w("\n%s answers by status:", r.name)
			for _, c := range codes {
				w(" %d×%d", c, r.statuses[c])
			}
			w(" (0 is a transport error; first failure: %s)\n", r.firstErr)
		}
	}

	w("\nSlowest request of each scenario:\n\n")
	for _, r := range results {
		w("- %s: %s, %s into window %d of %d: `%s`\n", r.name, ms(r.pct(100, -1)), r.slowestAt.Round(time.Millisecond),
			r.slowestWindow, r.windows, r.slowest)
	}

	w("\n## Machine\n\n")
	w("- %d cores (%s), GOMAXPROCS %d; load generator, both servers and PostgreSQL share them\n", mc.cores, mc.cpuModel, mc.gomaxprocs)
	w("- %s; PostgreSQL %s, fsync %s, synchronous_commit %s, shared_buffers %s; database %s\n",
		mc.goVersion, mc.pgVersion, mc.fsync, mc.syncCommit, mc.sharedBuffers, mc.dbSize)
	w("- before each window the run checked for 2 s that other work kept the machine at most %.0f %% busy, waiting for that up to %s in all (it waited %s, checks included)\n",
		o.quietLimit, o.quietWait, mc.waited.Round(time.Second))
	w("- service: logging at info (JSON, one access-log line per request, to %s), API key authentication, Prometheus metrics; ClickHouse off; pool of %d connections (the floor has its own of the same size)\n",
		o.logFile, mc.poolSize)
	if mc.loadTook > 0 {
		when := "by this run"
		if mc.reused {
			when = "by an earlier run, reused"
		}
		w("- the %s customers were loaded with WriteBatch in batches of %s, every index in place, in %s (%s customers/s), %s\n",
			benchkit.Thousands(float64(mc.loaded)), benchkit.Thousands(float64(o.batch)), mc.loadTook.Round(time.Second),
			benchkit.Thousands(float64(mc.loaded)/mc.loadTook.Seconds()), when)
	} else {
		w("- the %s customers were loaded by an earlier run (its load time was not recorded)\n", benchkit.Thousands(float64(mc.loaded)))
	}
	w("\n## Reproduce\n\n```\ngo tool task bench -- --customers %d --duration %s --concurrency %d --find-concurrency %d\n```\n",
		o.customers, o.duration, o.concurrency, o.findWorkers)
	return b.String()
}
