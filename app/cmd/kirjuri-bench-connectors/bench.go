package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/app/cmd/internal/benchkit"
)

type bench struct {
	opts options
	rep  *report

	quiet    *benchkit.Quiet
	benchURL string
	pool     *pgxpool.Pool
	bin      string
	svc      *service
}

func (b *bench) run(ctx context.Context) error {
	b.rep.machine = benchkit.ReadMachine()
	defer func() { b.rep.machine.LoadEnd = benchkit.LoadAverage() }()
	if err := os.MkdirAll(b.opts.dir, 0o755); err != nil {
		return err
	}
	admin, err := b.lockBench(ctx)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	benchkit.Logf("creating %s anew", benchDB)
	if b.benchURL, err = b.freshDatabase(ctx, admin); err != nil {
		return err
	}
	cfg, err := pgxpool.ParseConfig(b.benchURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	if b.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	defer b.pool.Close()
	b.rep.machine.ReadPostgres(ctx, b.pool, "fsync", "synchronous_commit", "commit_delay", "shared_buffers")
	if b.bin, err = b.buildService(ctx); err != nil {
		return err
	}

	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	runID := strconv.FormatInt(time.Now().Unix()%1_000_000, 36)

	if !b.opts.noFloor {
		if err := b.floorPhase(ctx, raw, runID); err != nil {
			return err
		}
	}
	return b.servicePhase(ctx, raw, secret, runID)
}

// floorPhase measures the bare handler (before the service starts, so it
// has the machine to itself).
func (b *bench) floorPhase(ctx context.Context, key []byte, runID string) error {
	// As many connections as the service's pool (database.maxConns 16).
	f, err := startFloor(ctx, b.benchURL, key, 16)
	if err != nil {
		return err
	}
	defer f.close()
	g := newGen(key, "floor"+runID, &b.opts)
	load := b.quiet.Wait("the floor")
	benchkit.Logf("floor: %s, %s warm-up, %s window (load average %s)", b.opts.loadName(), b.opts.warmup, b.opts.floorDuration, load)
	var w0 walStats
	res := runLoad(ctx, "floor", f.url, g, &b.opts, nil, func(start bool) {
		if start {
			w0 = readWAL(ctx, b.pool)
		}
	}, 0, b.rep.machine.Postmaster)
	res.wal = readWAL(ctx, b.pool).minus(w0)
	res.load = load
	if err := ctx.Err(); err != nil {
		return err
	}
	stored, err := f.stored(ctx)
	if err != nil {
		return err
	}
	b.rep.floor = res
	benchkit.Logf("floor: %s deliveries/s, ack p50 %s p99 %s", benchkit.Thousands(res.rate()), ms(pct(res.latencies, 50)), ms(pct(res.latencies, 99)))
	g.mu.Lock()
	b.rep.Check("floor: every acknowledged delivery stored once, replays not again", stored == int64(g.ackedMsgs) && res.errors == 0 && res.replayNot200 == 0,
		fmt.Sprintf("%d rows for %d distinct webhook-ids acknowledged; %d errors; %d replays not answered 200", stored, g.ackedMsgs, res.errors, res.replayNot200))
	g.mu.Unlock()
	return nil
}

// connectorHealth is the webstore item of GET /v1/connectors.
type connectorHealth struct {
	Name        string `json:"name"`
	Backlog     int64  `json:"backlog"`
	DeadLetters int64  `json:"deadLetters"`
}

func (s *service) health(ctx context.Context) (connectorHealth, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/v1/connectors", nil)
	req.Header.Set("Authorization", "Bearer "+s.Key)
	resp, err := s.Client.Do(req)
	if err != nil {
		return connectorHealth{}, fmt.Errorf("GET /v1/connectors: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return connectorHealth{}, fmt.Errorf("GET /v1/connectors: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var list struct {
		Items []connectorHealth `json:"items"`
	}
	if err := jsonUnmarshal(body, &list); err != nil {
		return connectorHealth{}, fmt.Errorf("GET /v1/connectors: %w", err)
	}
	for _, it := range list.Items {
		if it.Name == "webstore" {
			return it, nil
		}
	}
	return connectorHealth{}, fmt.Errorf("GET /v1/connectors does not list webstore: %s", body)
}

// servicePhase runs the load against kirjuri serve, waits for its backlog
// and counts.
func (b *bench) servicePhase(ctx context.Context, key []byte, secret, runID string) error {
	svc, err := b.startService(ctx, secret)
	if err != nil {
		return err
	}
	b.svc = svc
	defer svc.Stop()
	g := newGen(key, "svc"+runID, &b.opts)
	load := b.quiet.Wait("the service's window")
	benchkit.Logf("service (pid %d): %s, %s warm-up, %s window (load average %s)", svc.Pid(), b.opts.loadName(), b.opts.warmup, b.opts.duration, load)

	// The sample: 1 in --sample new customers, polled for from the ack
	// on, at an interval of 5 % of the time so far (at least 10 ms, at
	// most 1 s), so that the polls add little load however long the
	// backlog grows.
	var (
		sampleMu    sync.Mutex
		visible     []time.Duration
		notVisible  atomic.Int64
		polls       atomic.Int64
		inFlight    sync.WaitGroup
		pollVisible func(time.Time, string)
	)
	sampleCtx, cancelSamples := context.WithTimeout(ctx, b.opts.duration+b.opts.drainTimeout+time.Minute)
	defer cancelSamples()
	sample := func(start time.Time, extID string) {
		inFlight.Add(1)
		go pollVisible(start, extID)
	}
	pollVisible = func(start time.Time, extID string) {
		defer inFlight.Done()
		path := "/v1/customers/by-external/7/" + url.PathEscape(extID)
		for sampleCtx.Err() == nil {
			req, _ := http.NewRequestWithContext(sampleCtx, http.MethodGet, svc.Base+path, nil)
			req.Header.Set("Authorization", "Bearer "+svc.Key)
			resp, err := svc.Client.Do(req)
			polls.Add(1)
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					sampleMu.Lock()
					visible = append(visible, time.Since(start))
					sampleMu.Unlock()
					return
				}
			}
			// A tenth of the time so far (so the figure is within 10 %):
			// every poll is a request the service serves on the same
			// cores, and a backlog makes them many (a twentieth made
			// 57,000 polls, about 600 a second, in one run).
			wait := min(max(time.Since(start)/10, 10*time.Millisecond), time.Second)
			select {
			case <-sampleCtx.Done():
			case <-time.After(wait):
			}
		}
		notVisible.Add(1)
	}

	var (
		w0, w1  walStats
		hStart  connectorHealth
		hEnd    connectorHealth
		tEnd    time.Time
		errHlth error
		prog    = &progress{pool: b.pool}
	)
	defer prog.stop()
	res := runLoad(ctx, "service", svc.Base+"/v1/connectors/webstore/webhook", g, &b.opts, sample, func(start bool) {
		if start {
			w0 = readWAL(ctx, b.pool)
			hStart, errHlth = svc.health(ctx)
			prog.start(ctx)
			return
		}
		tEnd = time.Now()
		w1 = readWAL(ctx, b.pool)
		hEnd, _ = svc.health(ctx)
	}, svc.Pid(), b.rep.machine.Postmaster)
	res.wal = w1.minus(w0)
	return b.afterLoad(ctx, svc, g, res, load, hStart, hEnd, errHlth, tEnd, prog, func() ([]time.Duration, int64, int64) {
		inFlight.Wait()
		sampleMu.Lock()
		defer sampleMu.Unlock()
		return visible, notVisible.Load(), polls.Load()
	})
}

// progress samples the service's processing every second, from the
// window's start until stopped (after the backlog is empty): the
// deliveries stored so far and those not yet processed, counted in the
// bench database (one scan of the inbox a second; counting from the
// acknowledgements would miss the deliveries stored and not yet answered,
// thousands when the service falls behind).
type progress struct {
	pool *pgxpool.Pool

	mu      sync.Mutex
	samples []progressSample
	cancel  context.CancelFunc
	done    chan struct{}
}

func (p *progress) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			p.take(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (p *progress) take(ctx context.Context) {
	at := time.Now()
	var s progressSample
	if err := p.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'received') FROM connector_inbox`).
		Scan(&s.stored, &s.backlog); err != nil {
		return
	}
	s.at = at.Add(time.Since(at) / 2)
	p.mu.Lock()
	p.samples = append(p.samples, s)
	p.mu.Unlock()
}

// stop ends the sampling after one last sample and returns the samples.
func (p *progress) stop() []progressSample {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	<-p.done
	p.cancel = nil
	p.take(context.Background())
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.samples)
}
