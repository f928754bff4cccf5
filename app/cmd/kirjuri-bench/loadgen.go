package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"
)

// request makes one request of a scenario; kind labels it for the
// per-kind breakdown (0 when the scenario has one kind).
type request func(ctx context.Context, rng *rand.Rand) (req *http.Request, kind int)

type scenario struct {
	name    string
	kinds   []string // labels of the kinds; nil for one kind
	workers int
	want    int  // the status every answer must have
	lookup  bool // compared with the floor, and run interleaved with it
	next    request
}

type sample struct {
	lat  time.Duration
	kind uint8
}

type result struct {
	scenario
	window   time.Duration
	samples  []sample // sorted by latency
	statuses map[int]int
	failures int // non-2xx answers and transport errors
	firstErr string
	cpu      cpuUse
	// background is how busy the machine was just before, without the
	// bench's load (other processes).
	background float64
	// slowest is the slowest request: its target and when it started,
	// from the start of its window.
	slowest       string
	slowestAt     time.Duration
	slowestWindow int // which of the scenario's windows (rounds), from 1
	windows       int
}

func (r *result) rate() float64 { return float64(len(r.samples)) / r.window.Seconds() }

// pct is the p-th percentile (0 < p <= 100) of the samples of one kind, or
// of all when kind < 0: the smallest latency that p % of requests did not
// exceed.
func (r *result) pct(p float64, kind int) time.Duration {
	var lats []time.Duration
	for _, s := range r.samples {
		if kind < 0 || int(s.kind) == kind {
			lats = append(lats, s.lat)
		}
	}
	if len(lats) == 0 {
		return 0
	}
	i := int(float64(len(lats))*p/100+0.999999) - 1
	return lats[max(0, min(i, len(lats)-1))]
}

func (r *result) count(kind int) int {
	if kind < 0 {
		return len(r.samples)
	}
	n := 0
	for _, s := range r.samples {
		if int(s.kind) == kind {
			n++
		}
	}
	return n
}

// newClient is a keep-alive client with a connection for every worker.
func newClient(workers int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        workers * 2,
			MaxIdleConnsPerHost: workers * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// run drives a scenario as a closed loop: workers each send a request,
// wait for the whole answer and send the next. Requests started during the
// warm-up are not counted; those started in the measuring window are, each
// with its latency. profile, when not "", gets a CPU profile of the window.
func run(ctx context.Context, client *http.Client, sc scenario, warmup, window time.Duration, cpu *cpuMeter, profile string) (*result, error) {
	start := time.Now()
	t0, t1 := start.Add(warmup), start.Add(warmup+window)

	type workerOut struct {
		samples  []sample
		statuses map[int]int
		failures int
		firstErr string
		max      time.Duration
		maxReq   string
		maxAt    time.Duration
	}
	outs := make([]workerOut, sc.workers)
	var wg sync.WaitGroup
	for w := range sc.workers {
		out := &outs[w]
		out.statuses = map[int]int{}
		out.samples = make([]sample, 0, 1<<16)
		rng := rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))
		wg.Go(func() {
			for ctx.Err() == nil {
				req, kind := sc.next(ctx, rng)
				s := time.Now()
				if !s.Before(t1) {
					return
				}
				resp, err := client.Do(req)
				status := 0
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				lat := time.Since(s)
				if s.Before(t0) {
					continue
				}
				out.samples = append(out.samples, sample{lat: lat, kind: uint8(kind)})
				if lat > out.max {
					out.max, out.maxReq, out.maxAt = lat, req.Method+" "+req.URL.RequestURI(), s.Sub(t0)
				}
				out.statuses[status]++
				if err != nil || status != sc.want {
					out.failures++
					if out.firstErr == "" {
						if err != nil {
							out.firstErr = err.Error()
						} else {
							out.firstErr = fmt.Sprintf("%s %s: %d", req.Method, req.URL.Path, status)
						}
					}
				}
			}
		})
	}

	// Measure CPU (and profile) over the window only.
	var (
		use     cpuUse
		profErr error
	)
	meterDone := make(chan struct{})
	go func() {
		defer close(meterDone)
		if !sleepUntil(ctx, t0) {
			return
		}
		before := cpu.read()
		var f *os.File
		if profile != "" {
			if f, profErr = os.Create(profile); profErr == nil {
				profErr = pprof.StartCPUProfile(f)
			}
		}
		sleepUntil(ctx, t1)
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		use = cpu.read().since(before)
	}()
	wg.Wait()
	<-meterDone
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if profErr != nil {
		return nil, fmt.Errorf("cpu profile: %w", profErr)
	}

	res := &result{scenario: sc, window: window, statuses: map[int]int{}, cpu: use, windows: 1, slowestWindow: 1}
	var slowest time.Duration
	for _, o := range outs {
		if o.max > slowest {
			slowest, res.slowest, res.slowestAt = o.max, o.maxReq, o.maxAt
		}
		res.samples = append(res.samples, o.samples...)
		for s, n := range o.statuses {
			res.statuses[s] += n
		}
		res.failures += o.failures
		if res.firstErr == "" {
			res.firstErr = o.firstErr
		}
	}
	res.sort()
	if len(res.samples) == 0 {
		return nil, errors.New("no request finished in the window")
	}
	return res, nil
}

func (r *result) sort() {
	slices.SortFunc(r.samples, func(a, b sample) int { return cmp.Compare(a.lat, b.lat) })
}

// merge adds the samples, answers and CPU use of another window of the
// same scenario.
func (r *result) merge(o *result) {
	r.windows++
	if o.pct(100, -1) > r.pct(100, -1) {
		r.slowest, r.slowestAt, r.slowestWindow = o.slowest, o.slowestAt, r.windows
	}
	r.window += o.window
	r.samples = append(r.samples, o.samples...)
	r.sort()
	for s, n := range o.statuses {
		r.statuses[s] += n
	}
	r.failures += o.failures
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
	c := &r.cpu
	c.self += o.cpu.self
	c.pg += o.cpu.pg
	c.busy += o.cpu.busy
	c.total += o.cpu.total
	c.irq += o.cpu.irq
	c.pgKnown = c.pgKnown && o.cpu.pgKnown
	c.wall += o.cpu.wall
	c.selfInvoluntary += o.cpu.selfInvoluntary
	c.walSyncs += o.cpu.walSyncs
	c.walBytes += o.cpu.walBytes
	r.background = max(r.background, o.background)
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
