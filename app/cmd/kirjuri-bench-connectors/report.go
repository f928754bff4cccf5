package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// The targets.
const (
	rateTarget = 1000.0                // deliveries acknowledged per second, sustained
	p99Target  = 50 * time.Millisecond // acknowledgement
)

type report struct {
	benchkit.Findings
	machine benchkit.Machine
	floor   *loadResult
	service *loadResult
	svc     *serviceResult
}

func (r *report) targets() []benchkit.Target {
	s := r.service
	if s == nil || len(s.latencies) == 0 {
		return nil
	}
	floorRate, floorP99, rateRatio, p99Ratio := "–", "–", "–", "–"
	if f := r.floor; f != nil && len(f.latencies) > 0 {
		floorRate = benchkit.Thousands(f.rate()) + "/s"
		floorP99 = ms(pct(f.latencies, 99))
		rateRatio = fmt.Sprintf("%.2f", s.rate()/f.rate())
		p99Ratio = fmt.Sprintf("%.1f×", float64(pct(s.latencies, 99))/float64(max(pct(f.latencies, 99), 1)))
	}
	lostOK := true
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, "zero ") || strings.HasPrefix(c.Name, "no two") {
			lostOK = lostOK && c.OK
		}
	}
	out := []benchkit.Target{
		{Name: "deliveries acknowledged per second, sustained over " + secs(s.window) + offeredNote(s), Limit: "≥ 1,000/s",
			Measured: "**" + benchkit.Thousands(s.rate()) + "/s**", Floor: floorRate, Ratio: rateRatio + " of the floor", OK: s.rate() >= rateTarget && !s.behind()},
		{Name: "acknowledgement p99 (request due to 202/200)", Limit: "≤ 50 ms",
			Measured: "**" + ms(pct(s.latencies, 99)) + "**", Floor: floorP99, Ratio: p99Ratio, OK: pct(s.latencies, 99) <= p99Target},
	}
	if sr := r.svc; sr != nil {
		// Sustained means processing kept up with what was acknowledged:
		// over the window the backlog grew by less than one second of the
		// load, so that the rate could go on for as long as it is sent.
		load := max(s.offered, s.rate())
		kept := float64(s.backlogEnd-s.backlogStart) < load
		replays := float64(s.byKind[kindReplay]) / s.window.Seconds()
		out = append(out, benchkit.Target{
			Name:     "deliveries stored and visible per second, sustained over " + secs(s.window) + " (processing kept up: the backlog grew by less than 1 s of load)",
			Limit:    "≥ 1,000/s",
			Measured: fmt.Sprintf("**%s/s** processed + %s/s replays (nothing to store); backlog %d → %d", benchkit.Thousands(sr.processedRate), benchkit.Thousands(replays), s.backlogStart, s.backlogEnd),
			Floor:    "–", Ratio: "–", OK: kept && sr.processedRate+replays >= rateTarget*0.995})
	}
	if r.svc != nil && r.svc.drained {
		out = append(out, benchkit.Target{Name: "lost or doubled customers (counted at the end)", Limit: "0",
			Measured: fmt.Sprintf("**%d lost, %d doubled**", r.svc.missing, max(0, r.svc.customers+int64(r.svc.missing)-int64(r.svc.ackedCusts))),
			Floor:    "–", Ratio: "–", OK: lostOK})
	}
	return out
}

// missed counts the targets and the checks missed.
func (r *report) missed() int {
	n := benchkit.Missed(r.targets())
	for _, c := range r.Checks {
		if !c.OK {
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
	benchkit.WriteHeading(&w, "Connector benchmark (kirjuri-bench-connectors)", &m, "", b.quiet)
	p("Load: %s over keep-alive loopback HTTP; deliveries %.0f %% new customers, %.0f %% updates of earlier ones, %.0f %% replays of acknowledged webhook-ids; %s warm-up, then %s (service) and %s (floor). ClickHouse: %s.",
		o.loadName(), 100*(1-o.updates-o.replays), 100*o.updates, 100*o.replays, o.warmup, o.duration, o.floorDuration,
		map[bool]string{true: "off (consent events wait in the outbox)", false: "on"}[o.noClickHouse])
	p("")
	benchkit.WriteTargets(&w, r.targets(), "vs floor", "**miss**")

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
		p("| %s | **%s** | %s | %s | %s | %s | %d / %d / %d | %s |", name, benchkit.Thousands(l.rate()),
			ms(pct(l.latencies, 50)), ms(pct(l.latencies, 95)), ms(pct(l.latencies, 99)), ms(l.latencies[len(l.latencies)-1]),
			l.byKind[kindNew], l.byKind[kindUpdate], l.byKind[kindReplay], l.load)
	}
	p("")
	if o.rate > 0 {
		p("Open loop: each request is sent at its scheduled time whatever the answers to the earlier ones, and its latency runs from that time (a request the sender could only send late counts its lateness too).")
		p("")
		p("| sender | requests of the window | left after schedule: p50 / p99 / max | waited for a free slot | in flight at most | kept to its schedule |")
		p("| --- | --- | --- | --- | --- | --- |")
		for _, l := range []*loadResult{r.service, r.floor} {
			if l == nil || len(l.lag) == 0 {
				continue
			}
			p("| %s | %d | %s / %s / %s | %d | %d | %s |", l.name, len(l.lag), ms(pct(l.lag, 50)), ms(pct(l.lag, 99)), ms(l.lag[len(l.lag)-1]),
				l.slotWaits, l.maxInFlight, map[bool]string{true: "**no: it fell behind**", false: "yes"}[l.behind()])
		}
		p("")
	}
	p("### What bounds it: CPU and commits in the window")
	p("")
	p("CPU in cores (%d in all) and per acknowledged delivery. The load generator's figure for the floor includes the floor's handler (same process).", m.Cores)
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
			walBytes = benchkit.Thousands(l.wal.bytes / float64(l.acked))
		}
		p("| %s | %s | %s | %s | %.2f | %.2f of %.0f | %s | %s | %s |", l.name, per(c.self), svc, per(c.postgres), c.other, c.machine, c.all,
			wal(l.wal.commits), wal(l.wal.syncs), walBytes)
	}
	if sr := r.svc; sr != nil && sr.drainProcessed > 100 && sr.drainPhase > time.Second {
		c := sr.drainCPU
		per := func(cores float64) string {
			return fmt.Sprintf("%.2f (%.0f µs)", cores, cores*sr.drainPhase.Seconds()*1e6/float64(sr.drainProcessed))
		}
		p("| processing alone, after the window: %s deliveries in %s (%s/s), per processed delivery | %s | %s | %s | %.2f | %.2f of %.0f | | | |",
			benchkit.Thousands(float64(sr.drainProcessed)), secs(sr.drainPhase), benchkit.Thousands(float64(sr.drainProcessed)/sr.drainPhase.Seconds()),
			per(c.self), per(c.service), per(c.postgres), c.other, c.machine, c.all)
	}
	p("")
	p("The service's window includes the background processing of the deliveries (drains: parse, match, merge, store) on the same cores; the last row is that processing alone, once the sending has stopped. Commits and WAL are the bench database's (commits) and the whole server's (WAL).")
	p("")

	if s, sr := r.service, r.svc; s != nil && sr != nil {
		p("## Processing: request to stored and visible")
		p("")
		p("| figure | measured |")
		p("| --- | --- |")
		p("| deliveries processed per second during the window | %s/s (backlog %d at the start, %d at the end) |", benchkit.Thousands(sr.processedRate), s.backlogStart, s.backlogEnd)
		if sr.drained {
			p("| window end to every delivery processed (GET /v1/connectors: backlog 0) | %s |", secs(sr.drain))
		} else {
			p("| window end to every delivery processed | **not within %s** |", o.drainTimeout)
		}
		if line := progressLine(s, wStartOf(s, sr)); line != "" {
			p("| deliveries processed per second, second by second in the window: min / p10 / median / max | %s |", line)
		}
		if buckets := progressBuckets(s, wStartOf(s, sr), 10*time.Second); buckets != "" {
			p("| processed per second, by 10 s from the window's start (after the window: the drain) | %s |", buckets)
		}
		if len(s.visible) > 0 {
			p("| request to customer visible (GET /v1/customers/by-external/7/{id}), 1 in %d new customers of the window | p50 %s, p99 %s, max %s (%d samples, %d polls) |",
				o.sampleEvery, ms(pct(s.visible, 50)), ms(pct(s.visible, 99)), ms(s.visible[len(s.visible)-1]), len(s.visible), sr.polls)
		}
		p("")
	}

	if len(r.Checks) > 0 {
		p("## Checks")
		p("")
		p("| check | result | detail |")
		p("| --- | --- | --- |")
		for _, c := range r.Checks {
			p("| %s | %s | %s |", c.Name, passFail(c.OK), c.Detail)
		}
		p("")
	}
	if len(r.Errors) > 0 {
		p("## Problems")
		p("")
		for _, e := range r.Errors {
			p("- %s", e)
		}
		p("")
	}
	if b.svc != nil {
		p("Service log: `%s`.", b.svc.LogPath)
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

// offeredNote names the open loop's rate in a target's name.
func offeredNote(s *loadResult) string {
	if s.offered > 0 {
		return fmt.Sprintf(" (offered %s/s)", benchkit.Thousands(s.offered))
	}
	return ""
}

// wStartOf is when the window began: the first progress sample is taken
// at its start.
func wStartOf(s *loadResult, _ *serviceResult) time.Time {
	if len(s.progress) == 0 {
		return time.Time{}
	}
	return s.progress[0].at
}

// perSecond is the rate of processing between consecutive samples, for
// the samples in [from, to).
func perSecond(ps []progressSample, from, to time.Time) []float64 {
	var out []float64
	for i := 1; i < len(ps); i++ {
		if ps[i-1].at.Before(from) || !ps[i].at.Before(to) {
			continue
		}
		d := ps[i].at.Sub(ps[i-1].at).Seconds()
		if d > 0 {
			out = append(out, float64(ps[i].processed()-ps[i-1].processed())/d)
		}
	}
	return out
}

// progressLine sums up the window's per-second processing rates.
func progressLine(s *loadResult, start time.Time) string {
	rates := perSecond(s.progress, start, start.Add(s.window+500*time.Millisecond))
	if len(rates) == 0 {
		return ""
	}
	slices.Sort(rates)
	at := func(p float64) float64 { return rates[min(len(rates)-1, int(float64(len(rates))*p))] }
	return fmt.Sprintf("%s / %s / %s / %s per second (%d seconds)", benchkit.Thousands(rates[0]), benchkit.Thousands(at(0.10)), benchkit.Thousands(at(0.5)), benchkit.Thousands(rates[len(rates)-1]), len(rates))
}

// progressBuckets is the processing rate over each span of d from start,
// through the window and the drain after it.
func progressBuckets(s *loadResult, start time.Time, d time.Duration) string {
	ps := s.progress
	if len(ps) < 2 {
		return ""
	}
	var parts []string
	for from := start; from.Before(ps[len(ps)-1].at); from = from.Add(d) {
		// The samples nearest the span's ends.
		a, b := -1, -1
		for i, p := range ps {
			if a < 0 && !p.at.Before(from) {
				a = i
			}
			if p.at.Before(from.Add(d + 500*time.Millisecond)) {
				b = i
			}
		}
		if a < 0 || b <= a {
			break
		}
		rate := float64(ps[b].processed()-ps[a].processed()) / ps[b].at.Sub(ps[a].at).Seconds()
		mark := ""
		if !from.Before(start.Add(s.window)) {
			mark = " (drain)"
		}
		parts = append(parts, benchkit.Thousands(rate)+mark)
	}
	return strings.Join(parts, ", ")
}
