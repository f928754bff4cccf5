package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"kirjuri/core/consent"
	"kirjuri/ports"
)

// RelayConfig tunes the relay. Zero values take the defaults.
type RelayConfig struct {
	// BatchSize is the most events shipped in one insert (default 5000).
	BatchSize int
	// Interval is how long the relay sleeps when the outbox is empty
	// (default 200ms), and the first backoff after a failure.
	Interval time.Duration
	// MaxBackoff caps the wait between attempts while shipping fails
	// (default 30s).
	MaxBackoff time.Duration
	// UnreadyAfter is how old the oldest waiting event may grow while
	// ClickHouse is unreachable before Ready reports an error. Zero (the
	// default) never fails readiness: changes go on while ClickHouse is
	// down and the events wait safely, so taking every instance out of
	// rotation would stop customer changes for nothing. The backlog and lag
	// are shown in /readyz and exported as metrics for alerting either way.
	UnreadyAfter time.Duration
	// BacklogEvery is how often the backlog metrics are refreshed from the
	// outbox (default 5s).
	BacklogEvery time.Duration
}

func (c RelayConfig) withDefaults() RelayConfig {
	if c.BatchSize <= 0 {
		c.BatchSize = 5000
	}
	if c.Interval <= 0 {
		c.Interval = 200 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.MaxBackoff < c.Interval {
		c.MaxBackoff = c.Interval
	}
	if c.BacklogEvery <= 0 {
		c.BacklogEvery = 5 * time.Second
	}
	return c
}

// attemptTimeout bounds one claim-and-ship round trip, so that a server that
// stops answering mid-insert cannot hold the relay (and the claimed rows).
const attemptTimeout = time.Minute

// RelayStatus is what the relay knows, for /readyz details.
type RelayStatus struct {
	// Backlog counts the events waiting in the outbox, as of the last
	// refresh (every BacklogEvery).
	Backlog int64
	// LagSeconds is the age of the oldest waiting event (0 when none wait).
	LagSeconds float64
	// LastError is why the last attempt failed; empty while shipping works.
	LastError string
	// LastShipped is when events were last shipped.
	LastShipped time.Time
	// FailingSince is when the current run of failures began; zero while
	// shipping works.
	FailingSince time.Time
}

// Relay ships consent events from the outbox to the audit log: in batches
// while full batches come back, every Interval when the outbox is empty,
// with exponential backoff and jitter while shipping fails. Events are
// marked shipped only after ClickHouse took them, so none is lost; one can
// be shipped twice (a retry after the mark failed), and the audit log's
// queries collapse the copies.
type Relay struct {
	outbox ports.Outbox
	audit  ports.ConsentAudit
	cfg    RelayConfig
	log    *zap.Logger

	shipped, failures prometheus.Counter
	backlog, lag      prometheus.Gauge

	// stop is closed by Stop: finish the batch in flight, then return.
	stop     chan struct{}
	done     chan struct{}
	abort    context.CancelFunc
	ctx      context.Context
	stopOnce sync.Once

	mu          sync.Mutex
	started     bool
	stopped     bool
	status      RelayStatus
	oldest      time.Time // of the waiting events; zero when none wait
	auditDown   bool      // the last attempt failed in ClickHouse
	nextBacklog time.Time
}

var _ ports.Readiness = (*Relay)(nil)

// NewRelay makes a relay; Start runs it. reg may be nil (no metrics
// registered); log may be nil.
func NewRelay(outbox ports.Outbox, audit ports.ConsentAudit, cfg RelayConfig, log *zap.Logger, reg prometheus.Registerer) *Relay {
	if log == nil {
		log = zap.NewNop()
	}
	ctx, abort := context.WithCancel(context.Background())
	r := &Relay{
		outbox: outbox,
		audit:  audit,
		cfg:    cfg.withDefaults(),
		log:    log.Named("audit-relay"),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		ctx:    ctx,
		abort:  abort,
	}
	r.shipped = register(reg, r.log, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kirjuri_audit_relay_shipped_total",
		Help: "Consent events shipped from the outbox to ClickHouse (a retried event counts again).",
	}))
	r.failures = register(reg, r.log, prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kirjuri_audit_relay_failures_total",
		Help: "Failed attempts to ship consent events (ClickHouse or the outbox).",
	}))
	r.backlog = register(reg, r.log, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kirjuri_audit_relay_backlog",
		Help: "Consent events waiting in the outbox, refreshed every few seconds.",
	}))
	r.lag = register(reg, r.log, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "kirjuri_audit_relay_lag_seconds",
		Help: "Age of the oldest consent event waiting in the outbox, refreshed every few seconds.",
	}))
	return r
}

// register registers c, or returns the collector already registered under
// its name (two relays in one process share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, log *zap.Logger, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		log.Warn("metric not registered", zap.Error(err))
	}
	return c
}

// Start runs the relay in a goroutine. It never blocks; starting twice, or
// after Stop, does nothing.
func (r *Relay) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.stopped {
		return
	}
	r.started = true
	go r.run()
}

// Stop asks the relay to finish the batch in flight and waits until it has.
// When ctx ends first, the batch in flight is abandoned (its events stay in
// the outbox and are shipped later) and ctx's error is returned.
func (r *Relay) Stop(ctx context.Context) error {
	r.mu.Lock()
	started := r.started
	r.stopped = true
	r.mu.Unlock()
	r.stopOnce.Do(func() { close(r.stop) })
	if !started {
		r.abort()
		return nil
	}
	select {
	case <-r.done:
		r.abort()
		return nil
	case <-ctx.Done():
		r.abort()
		<-r.done
		return fmt.Errorf("consent audit relay: stop: %w", ctx.Err())
	}
}

func (r *Relay) run() {
	defer close(r.done)
	failures := 0
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		r.refreshBacklogIfDue()
		n, err := r.attempt()
		if err != nil {
			failures++
			if !r.wait(r.backoff(failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			r.mu.Lock()
			since := r.status.FailingSince
			r.status.LastError, r.status.FailingSince, r.auditDown = "", time.Time{}, false
			r.mu.Unlock()
			r.log.Info("shipping consent events again",
				zap.Int("failedAttempts", failures), zap.Duration("outage", time.Since(since)))
			failures = 0
		}
		if n >= r.cfg.BatchSize {
			continue
		}
		if !r.wait(r.cfg.Interval) {
			return
		}
	}
}

// attempt claims one batch and ships it.
func (r *Relay) attempt() (int, error) {
	ctx, cancel := context.WithTimeout(r.ctx, attemptTimeout)
	defer cancel()
	var appendErr error
	n, err := r.outbox.Relay(ctx, r.cfg.BatchSize, func(ctx context.Context, events []consent.Event) error {
		appendErr = r.audit.Append(ctx, events)
		return appendErr
	})
	now := time.Now()
	if n > 0 {
		r.shipped.Add(float64(n))
		r.mu.Lock()
		r.status.LastShipped = now
		r.mu.Unlock()
	}
	if err == nil {
		return n, nil
	}
	if r.ctx.Err() != nil {
		// Stop gave up waiting: not a failure of anything.
		return n, err
	}

	r.failures.Inc()
	side := "outbox"
	if appendErr != nil {
		side = "clickhouse"
	}
	r.mu.Lock()
	first := r.status.FailingSince.IsZero()
	if first {
		r.status.FailingSince = now
	}
	r.status.LastError = err.Error()
	r.auditDown = appendErr != nil
	r.mu.Unlock()
	// Once per outage: a retry every few seconds would drown the log.
	if first {
		r.log.Warn("shipping consent events fails; they wait in the outbox, retrying with backoff",
			zap.String("failing", side), zap.Error(err))
	} else {
		r.log.Debug("shipping consent events still fails", zap.String("failing", side), zap.Error(err))
	}
	return n, err
}

// backoff is the wait after the given number of consecutive failures:
// Interval doubled each time up to MaxBackoff, of which a random half.
func (r *Relay) backoff(failures int) time.Duration {
	d := r.cfg.Interval
	for i := 1; i < failures && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, r.cfg.MaxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// wait sleeps d, refreshing the backlog when due; false when Stop was called.
func (r *Relay) wait(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		r.refreshBacklogIfDue()
		left := time.Until(deadline)
		if left <= 0 {
			return true
		}
		r.mu.Lock()
		step := min(left, max(time.Until(r.nextBacklog), time.Millisecond))
		r.mu.Unlock()
		t := time.NewTimer(step)
		select {
		case <-r.stop:
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

func (r *Relay) refreshBacklogIfDue() {
	r.mu.Lock()
	due := !time.Now().Before(r.nextBacklog)
	if due {
		r.nextBacklog = time.Now().Add(r.cfg.BacklogEvery)
	}
	r.mu.Unlock()
	if !due {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.BacklogEvery)
	defer cancel()
	count, oldest, err := r.outbox.Backlog(ctx)
	if err != nil {
		// The next attempt reports the outbox failing; keep the last values.
		r.log.Debug("reading the outbox backlog", zap.Error(err))
		return
	}
	if count == 0 {
		oldest = time.Time{}
	}
	r.mu.Lock()
	r.status.Backlog, r.oldest = count, oldest
	r.mu.Unlock()
	r.backlog.Set(float64(count))
	r.lag.Set(lagSeconds(oldest, time.Now()))
}

func lagSeconds(oldest, now time.Time) float64 {
	if oldest.IsZero() || oldest.After(now) {
		return 0
	}
	return now.Sub(oldest).Seconds()
}

// Status tells how the relay is doing.
func (r *Relay) Status() RelayStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.LagSeconds = lagSeconds(r.oldest, time.Now())
	return s
}

// Details are the relay's figures for /readyz.
func (r *Relay) Details() map[string]any {
	s := r.Status()
	d := map[string]any{
		"backlog":    s.Backlog,
		"lagSeconds": s.LagSeconds,
		"shipping":   s.FailingSince.IsZero(),
	}
	if !s.LastShipped.IsZero() {
		d["lastShipped"] = s.LastShipped.UTC()
	}
	if !s.FailingSince.IsZero() {
		d["failingSince"] = s.FailingSince.UTC()
	}
	return d
}

var _ ports.ReadinessDetails = (*Relay)(nil)

// Name is "audit-relay".
func (r *Relay) Name() string { return "audit-relay" }

// Ready fails only when ClickHouse has been unreachable (the last attempt
// failed there) and the oldest waiting event is older than UnreadyAfter.
// While ClickHouse is down, changes still succeed and their events wait
// safely in the outbox, so a short outage must not take the service out of
// rotation; Status gives the details to show either way.
func (r *Relay) Ready(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.auditDown || r.cfg.UnreadyAfter <= 0 {
		return nil
	}
	lag := time.Duration(lagSeconds(r.oldest, time.Now()) * float64(time.Second))
	if lag <= r.cfg.UnreadyAfter {
		return nil
	}
	return fmt.Errorf("consent events cannot reach ClickHouse since %s and the oldest has waited %s (limit %s): %s",
		r.status.FailingSince.UTC().Format(time.RFC3339), lag.Round(time.Second), r.cfg.UnreadyAfter, r.status.LastError)
}
