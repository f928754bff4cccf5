package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/connectors/webstore"
	"kirjuri/ports/delivery"
)

// kind is what a delivery is.
type kind int

const (
	kindNew    kind = iota // a customer not sent before
	kindUpdate             // an earlier customer, new webhook-id, newer updated_at
	kindReplay             // an acknowledged webhook-id sent again (a sender's retry)
)

// message is one acknowledged delivery, kept for replays.
type message struct {
	id   string
	body []byte
}

// gen makes the deliveries of one load (the service's or the floor's) and
// remembers what was acknowledged, for the checks.
type gen struct {
	key    []byte
	prefix string // "svc" or "floor" and the run's id: external ids and emails are the run's own
	base   time.Time
	opts   *options

	mu          sync.Mutex
	next        int       // customers made so far (ids 0..next-1)
	versions    []int     // per customer: the highest version issued
	ackedVer    []int     // per customer: the highest version acknowledged; -1 none
	ackedCusts  []int     // customers whose first delivery was acknowledged
	ring        []message // the last acknowledged deliveries, for replays
	ringNext    int
	msgSeq      atomic.Int64
	replaysSent atomic.Int64
	ackedMsgs   int // new and update deliveries acknowledged (distinct webhook-ids)
}

const ringSize = 4096

func newGen(key []byte, prefix string, o *options) *gen {
	return &gen{key: key, prefix: prefix, base: time.Now().UTC().Truncate(time.Second), opts: o}
}

func (g *gen) extID(n int) string { return fmt.Sprintf("%s-%d", g.prefix, n) }

// lastName carries the version, so that the checks see which update won.
func lastName(n, v int) string { return fmt.Sprintf("Bench%d v%d", n, v) }

// pick chooses the next delivery: its kind, customer and version, or the
// message to replay.
func (g *gen) pick(r *rand.Rand) (k kind, n, v int, replay message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	x := r.Float64()
	switch {
	case x < g.opts.replays && len(g.ring) > 0:
		return kindReplay, 0, 0, g.ring[r.IntN(len(g.ring))]
	case x < g.opts.replays+g.opts.updates && len(g.ackedCusts) > 0:
		n = g.ackedCusts[r.IntN(len(g.ackedCusts))]
		g.versions[n]++
		return kindUpdate, n, g.versions[n], message{}
	}
	n = g.next
	g.next++
	g.versions = append(g.versions, 0)
	g.ackedVer = append(g.ackedVer, -1)
	return kindNew, n, 0, message{}
}

func (g *gen) acked(k kind, n, v int, m message) {
	if k == kindReplay {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ackedMsgs++
	if k == kindNew {
		g.ackedCusts = append(g.ackedCusts, n)
	}
	g.ackedVer[n] = max(g.ackedVer[n], v)
	if len(g.ring) < ringSize {
		g.ring = append(g.ring, m)
	} else {
		g.ring[g.ringNext] = m
		g.ringNext = (g.ringNext + 1) % ringSize
	}
}

// body is the customer.upserted event of customer n at version v: about
// 900 bytes, shaped like the contract's example (one address, one phone,
// the email consent granted).
func (g *gen) body(n, v int) []byte {
	str := func(s string) *string { return &s }
	updated := g.base.Add(time.Duration(v) * time.Millisecond)
	captured := g.base.Add(-time.Hour)
	ev := webstore.WebstoreEvent{
		Spec:       webstore.Spec,
		EventID:    fmt.Sprintf("evt_%s_%d_%d", g.prefix, n, v),
		EventType:  webstore.CustomerUpserted,
		OccurredAt: updated,
		Source:     &webstore.WebstoreSource{System: "kirjuri-bench-connectors", Instance: "bench"},
		Customer: &webstore.WebstoreCustomer{
			ExternalID: g.extID(n),
			UpdatedAt:  &updated,
			Type:       str("person"),
			FirstName:  str("Maija"),
			LastName:   str(lastName(n, v)),
			Email:      str(fmt.Sprintf("%s.%d@bench.example", g.prefix, n)),
			Phone:      str(fmt.Sprintf("+35840%07d", n%10_000_000)),
			Language:   str("fi"),
			Addresses: []webstore.WebstoreAddress{{
				Type: "billing", Line1: fmt.Sprintf("Esimerkkikatu %d A %d", n%200+1, v+1),
				PostalCode: "00100", City: "Helsinki", Country: str("FI"),
			}},
			Consents: []webstore.WebstoreConsent{{
				Channel: "email", Purpose: "marketing", Status: "granted",
				CapturedAt: &captured, Method: "checkout_checkbox", TextVersion: "2024-01",
			}},
		},
	}
	b, err := json.Marshal(&ev)
	if err != nil {
		panic(err)
	}
	return b
}

// loadResult is one load (open or closed loop) against one endpoint.
type loadResult struct {
	name   string
	window time.Duration
	// offered is the open loop's rate (deliveries/s); 0 for a closed loop.
	offered                  float64
	acked                    int64 // 2xx of the requests begun (scheduled) in the window
	sentWarm                 int64 // requests in the warm-up
	latencies                []time.Duration
	byKind                   [3]int64 // in the window
	status                   map[int]int64
	errors                   int64 // transport errors and non-2xx
	firstErrors              []string
	replayNot200             int64
	cpu                      cpuSplit
	wal                      walStats
	load                     string
	backlogStart, backlogEnd int64
	visible                  []time.Duration // request to visible, sampled
	sampledNotVisible        int64

	// The open loop's own schedule: how late each request of the window
	// left against its scheduled time (sorted), how many had to wait for
	// a free slot (--max-in-flight busy), and the most in flight at once.
	lag         []time.Duration
	slotWaits   int64
	maxInFlight int64
	// progress is the service's processing, sampled every second from the
	// window's start until the backlog is empty.
	progress []progressSample
}

func (r *loadResult) rate() float64 { return float64(r.acked) / r.window.Seconds() }

// behind tells whether the open loop's sender fell behind its schedule, so
// that the rate offered was not the rate configured: a request of the window
// left more than 10 ms late at p99 or 100 ms at worst, or waited for a slot.
func (r *loadResult) behind() bool {
	if r.offered == 0 || len(r.lag) == 0 {
		return false
	}
	return pct(r.lag, 99) > 10*time.Millisecond || r.lag[len(r.lag)-1] > 100*time.Millisecond || r.slotWaits > 0
}

// sampler polls for a new customer until the API shows it (in a
// goroutine of its own; the call returns at once).
type sampler func(start time.Time, extID string)

// recorder collects the outcomes of a load's requests.
type recorder struct {
	mu  sync.Mutex
	res *loadResult
}

// send makes, signs and sends the next delivery, as if it was meant to leave
// at start (the open loop's schedule; now for a closed loop), and records
// it when in (begun within the window). The latency runs from start to the
// response read, so that a request held back by a slow service counts
// from when it was due (no coordinated omission).
func (rc *recorder) send(ctx context.Context, client *http.Client, url string, g *gen, o *options, r *rand.Rand, start time.Time, in bool, sample sampler) {
	k, n, v, m := g.pick(r)
	if k != kindReplay {
		m = message{id: fmt.Sprintf("msg_%s_%d", g.prefix, g.msgSeq.Add(1)), body: g.body(n, v)}
	}
	h := delivery.SignStandardWebhook(g.key, m.id, time.Now(), m.body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(m.body))
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	var code int
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
	}
	took := time.Since(start)
	if ctx.Err() != nil {
		return
	}
	ok := err == nil && code/100 == 2
	if ok {
		g.acked(k, n, v, m)
		if k == kindNew && n%o.sampleEvery == 0 && sample != nil && in {
			sample(start, g.extID(n))
		}
	}
	if k == kindReplay {
		g.replaysSent.Add(1)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	res := rc.res
	if k == kindReplay && code != http.StatusOK {
		res.replayNot200++
	}
	if !ok {
		res.errors++
	}
	if !in {
		res.sentWarm++
		return
	}
	res.status[code]++
	if !ok {
		if len(res.firstErrors) < 3 {
			if err != nil {
				res.firstErrors = append(res.firstErrors, err.Error())
			} else {
				res.firstErrors = append(res.firstErrors, "HTTP "+strconv.Itoa(code))
			}
		}
		return
	}
	res.acked++
	res.byKind[k]++
	res.latencies = append(res.latencies, took)
}

// runLoad sends deliveries to url for the warm-up, then the window, and
// measures the window only: at --rate per second on a fixed schedule (the
// open loop), or from --concurrency closed-loop workers when --rate is 0.
// around is called at the window's start (true) and end (false).
func runLoad(ctx context.Context, name, url string, g *gen, o *options, sample sampler, around func(start bool), servicePid, postmaster int) *loadResult {
	res := &loadResult{name: name, status: map[int]int64{}, offered: o.rate}
	res.cpu.servicePid, res.cpu.postmaster = servicePid, postmaster
	conns := o.concurrency
	if o.rate > 0 {
		conns = o.maxInFlight
	}
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	rc := &recorder{res: res}
	window := o.duration
	if name == "floor" {
		window = o.floorDuration
	}
	// The window's bounds, set by the control below; requests begun (or
	// scheduled) between them are measured.
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	t0 := time.Now()
	wStart := t0.Add(o.warmup)
	wEnd := wStart.Add(window)
	if o.rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			openLoop(ctx, rc, client, url, g, o, t0, wStart, wEnd, sample)
		}()
	} else {
		for w := range o.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
				for !stop.Load() && ctx.Err() == nil {
					rc.send(ctx, client, url, g, o, r, time.Now(), measuring.Load(), sample)
				}
			}()
		}
	}
	sleepUntil(ctx, wStart)
	if around != nil {
		around(true)
	}
	res.cpu.start()
	measuring.Store(true)
	sleepUntil(ctx, wEnd)
	// Closed loop: requests begun in the window and ending after it are
	// still counted (at most one per worker). Open loop: every request
	// scheduled in the window is counted, whenever it ends.
	stop.Store(true)
	res.window = window
	if o.rate == 0 {
		res.window = time.Since(wStart)
	}
	res.cpu.end(time.Since(wStart))
	if around != nil {
		around(false)
	}
	wg.Wait()
	slices.Sort(res.latencies)
	slices.Sort(res.lag)
	return res
}

// openLoop sends one delivery every 1/--rate seconds from t0 until wEnd,
// each in a goroutine of its own, so that a slow answer never delays the
// next request (at most --max-in-flight at once). It records how late each
// request of the window left against its schedule, and returns when every
// request has been answered.
func openLoop(ctx context.Context, rc *recorder, client *http.Client, url string, g *gen, o *options, t0, wStart, wEnd time.Time, sample sampler) {
	slots := make(chan struct{}, o.maxInFlight)
	seed := uint64(time.Now().UnixNano())
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
		lag      = make([]time.Duration, 0, int(o.rate*o.duration.Seconds())+16)
		waits    int64
		most     int64
	)
	defer func() {
		wg.Wait()
		rc.mu.Lock()
		rc.res.lag, rc.res.slotWaits, rc.res.maxInFlight = lag, waits, most
		rc.mu.Unlock()
	}()
	for i := int64(0); ctx.Err() == nil; i++ {
		due := t0.Add(time.Duration(float64(i) * float64(time.Second) / o.rate))
		if !due.Before(wEnd) {
			return
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		in := !due.Before(wStart)
		select {
		case slots <- struct{}{}:
		default:
			if in {
				waits++
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		if in {
			lag = append(lag, time.Since(due))
		}
		if n := inFlight.Add(1); n > most {
			most = n
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { inFlight.Add(-1); <-slots }()
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			rc.send(ctx, client, url, g, o, r, due, in, sample)
		}()
	}
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// progressSample is the service's processing at one moment: deliveries
// stored and not yet processed (received); processed = stored − backlog.
type progressSample struct {
	at              time.Time
	stored, backlog int64
}

func (p progressSample) processed() int64 { return p.stored - p.backlog }

// pct is the p-th percentile of sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// cpuSplit is where the CPU went in a window, in cores (1.0 = one core
// busy the whole window).
type cpuSplit struct {
	servicePid, postmaster                       int
	t0Self, t0Svc, t0PG                          time.Duration
	t0Busy, t0Total                              float64
	self, service, postgres, machine, other, all float64
}

func (c *cpuSplit) start() {
	_, c.t0Self, _, _ = benchkit.ProcCPU(os.Getpid())
	if c.servicePid > 0 {
		_, c.t0Svc, _, _ = benchkit.ProcCPU(c.servicePid)
	}
	if c.postmaster > 0 {
		c.t0PG = benchkit.TreeCPU(c.postmaster)
	}
	c.t0Busy, c.t0Total, _ = benchkit.MachineTicks()
}

func (c *cpuSplit) end(d time.Duration) {
	cores := func(used time.Duration) float64 { return used.Seconds() / d.Seconds() }
	_, self, _, _ := benchkit.ProcCPU(os.Getpid())
	c.self = cores(self - c.t0Self)
	if c.servicePid > 0 {
		_, svc, _, _ := benchkit.ProcCPU(c.servicePid)
		c.service = cores(svc - c.t0Svc)
	}
	if c.postmaster > 0 {
		c.postgres = cores(benchkit.TreeCPU(c.postmaster) - c.t0PG)
	}
	busy, total, _ := benchkit.MachineTicks()
	all := float64(max(1, numCPU()))
	c.all = all
	c.machine = (busy - c.t0Busy) / max(total-c.t0Total, 1) * all
	c.other = max(0, c.machine-c.self-c.service-c.postgres)
}
