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

// loadResult is one closed-loop load against one endpoint.
type loadResult struct {
	name                     string
	window                   time.Duration
	acked                    int64 // 2xx in the window
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
}

func (r *loadResult) rate() float64 { return float64(r.acked) / r.window.Seconds() }

// sampler polls for a new customer until the API shows it (in a
// goroutine of its own; the call returns at once).
type sampler func(start time.Time, extID string)

// runLoad sends deliveries to url from --concurrency closed-loop workers
// for the warm-up, then the window; it measures the window only.
func runLoad(ctx context.Context, name, url string, g *gen, o *options, sample sampler, around func(start bool), servicePid, postmaster int) *loadResult {
	res := &loadResult{name: name, status: map[int]int64{}}
	res.cpu.servicePid, res.cpu.postmaster = servicePid, postmaster
	tr := &http.Transport{MaxIdleConnsPerHost: o.concurrency, MaxConnsPerHost: o.concurrency, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		mu        sync.Mutex
		wg        sync.WaitGroup
	)
	for w := range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
			var (
				lat      = make([]time.Duration, 0, 1<<14)
				byKind   [3]int64
				status   = map[int]int64{}
				errs     int64
				firstErr []string
				warm     int64
				notOK    int64
				acked    int64
			)
			for !stop.Load() && ctx.Err() == nil {
				k, n, v, m := g.pick(r)
				if k != kindReplay {
					m = message{id: fmt.Sprintf("msg_%s_%d", g.prefix, g.msgSeq.Add(1)), body: g.body(n, v)}
				}
				in := measuring.Load()
				start := time.Now()
				h := delivery.SignStandardWebhook(g.key, m.id, start, m.body)
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
					break
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
					if code != http.StatusOK {
						notOK++
					}
				}
				if !in {
					warm++
					if !ok {
						errs++
					}
					continue
				}
				status[code]++
				if !ok {
					errs++
					if len(firstErr) < 3 {
						if err != nil {
							firstErr = append(firstErr, err.Error())
						} else {
							firstErr = append(firstErr, "HTTP "+strconv.Itoa(code))
						}
					}
					continue
				}
				acked++
				byKind[k]++
				lat = append(lat, took)
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			res.acked += acked
			res.sentWarm += warm
			res.errors += errs
			res.replayNot200 += notOK
			for i := range byKind {
				res.byKind[i] += byKind[i]
			}
			for c, v := range status {
				res.status[c] += v
			}
			if len(res.firstErrors) < 3 {
				res.firstErrors = append(res.firstErrors, firstErr...)
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-time.After(o.warmup):
	}
	if around != nil {
		around(true)
	}
	res.cpu.start()
	t0 := time.Now()
	measuring.Store(true)
	window := o.duration
	if name == "floor" {
		window = o.floorDuration
	}
	select {
	case <-ctx.Done():
	case <-time.After(window):
	}
	// Requests begun in the window and ending after it are still counted
	// (closed loop: at most one per worker); the window is the time to the
	// stop signal.
	stop.Store(true)
	res.window = time.Since(t0)
	res.cpu.end(res.window)
	if around != nil {
		around(false)
	}
	wg.Wait()
	slices.Sort(res.latencies)
	return res
}

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
	t0Self, t0Svc, t0PG, t0Busy, t0Total         float64
	self, service, postgres, machine, other, all float64
}

const clkTck = 100 // USER_HZ

func (c *cpuSplit) start() {
	c.t0Self, _, _ = procTicks(os.Getpid())
	if c.servicePid > 0 {
		c.t0Svc, _, _ = procTicks(c.servicePid)
	}
	if c.postmaster > 0 {
		c.t0PG = treeTicks(c.postmaster)
	}
	c.t0Busy, c.t0Total, _ = cpuTicks()
}

func (c *cpuSplit) end(d time.Duration) {
	s := d.Seconds() * clkTck
	self, _, _ := procTicks(os.Getpid())
	c.self = (self - c.t0Self) / s
	if c.servicePid > 0 {
		svc, _, _ := procTicks(c.servicePid)
		c.service = (svc - c.t0Svc) / s
	}
	if c.postmaster > 0 {
		c.postgres = (treeTicks(c.postmaster) - c.t0PG) / s
	}
	busy, total, _ := cpuTicks()
	cores := float64(max(1, numCPU()))
	c.all = cores
	c.machine = (busy - c.t0Busy) / max(total-c.t0Total, 1) * cores
	c.other = max(0, c.machine-c.self-c.service-c.postgres)
}
