package clickhouse_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/core/consent"
	"kirjuri/ports"
)

// fakeOutbox is an in-memory ports.Outbox that fails on purpose: before
// shipping (as if PostgreSQL hiccuped) on the calls in failBefore, and after
// a successful ship (the mark is lost, so the batch is shipped again) on the
// calls in failAfter.
type fakeOutbox struct {
	mu         sync.Mutex
	pending    []consent.Event // unshipped, oldest first
	claimed    map[uuid.UUID]bool
	calls      int
	failBefore map[int]bool
	failAfter  map[int]bool
}

var _ ports.Outbox = (*fakeOutbox)(nil)

func newFakeOutbox(events []consent.Event) *fakeOutbox {
	pending := slices.Clone(events)
	slices.SortStableFunc(pending, func(a, b consent.Event) int { return a.OccurredAt.Compare(b.OccurredAt) })
	return &fakeOutbox{pending: pending, claimed: map[uuid.UUID]bool{}, failBefore: map[int]bool{}, failAfter: map[int]bool{}}
}

func (o *fakeOutbox) Relay(ctx context.Context, max int, ship func(context.Context, []consent.Event) error) (int, error) {
	o.mu.Lock()
	o.calls++
	call := o.calls
	if o.failBefore[call] {
		o.mu.Unlock()
		return 0, errors.New("outbox: connection reset (on purpose)")
	}
	var batch []consent.Event
	for _, e := range o.pending {
		if len(batch) == max {
			break
		}
		if !o.claimed[e.ID] {
			o.claimed[e.ID] = true
			batch = append(batch, e)
		}
	}
	o.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}

	err := ship(ctx, batch)

	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range batch {
		delete(o.claimed, e.ID)
	}
	if err != nil {
		return 0, err
	}
	if o.failAfter[call] {
		return 0, errors.New("outbox: commit after shipping failed (on purpose)")
	}
	shipped := map[uuid.UUID]bool{}
	for _, e := range batch {
		shipped[e.ID] = true
	}
	o.pending = slices.DeleteFunc(o.pending, func(e consent.Event) bool { return shipped[e.ID] })
	return len(batch), nil
}

func (o *fakeOutbox) Backlog(context.Context) (int64, time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.pending) == 0 {
		return 0, time.Time{}, nil
	}
	return int64(len(o.pending)), o.pending[0].OccurredAt, nil
}

func (o *fakeOutbox) waiting() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// metric reads a counter or gauge from reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if c := m.GetCounter(); c != nil {
			return c.GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func manyEvents(n int, base time.Time) []consent.Event {
	customers := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	out := make([]consent.Event, n)
	for i := range out {
		at := base.Add(time.Duration(i) * 37 * time.Second).Add(time.Duration(i) * time.Nanosecond)
		out[i] = ev(customers[i%3], at, consent.Kinds[i%3], i%2 == 0, consent.Sources[i%4])
	}
	return out
}

// checkEachOnce asserts that every query answers each of want exactly once.
func checkEachOnce(t *testing.T, a *clickhouse.Audit, want []consent.Event) {
	t.Helper()
	sorted := slices.Clone(want)
	slices.SortFunc(sorted, func(x, y consent.Event) int { return x.OccurredAt.Compare(y.OccurredAt) })
	got := allEvents(t, a, ports.AuditQuery{AuditPageRequest: ports.AuditPageRequest{Limit: 500}})
	if !slices.Equal(ids(got), ids(sorted)) {
		t.Errorf("listing has %d events, want %d, each once in time order", len(got), len(sorted))
	}
	rows, err := a.Summary(context.Background(), sorted[0].OccurredAt, sorted[len(sorted)-1].OccurredAt.Add(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	var counted int64
	for _, r := range rows {
		counted += r.Grants + r.Withdrawals
	}
	if counted != int64(len(want)) {
		t.Errorf("summary counts %d changes, want %d", counted, len(want))
	}
	byCustomer := map[uuid.UUID]int{}
	for _, e := range want {
		byCustomer[e.CustomerID]++
	}
	for c, n := range byCustomer {
		if h := allHistory(t, a, c, 500); len(h) != n {
			t.Errorf("history of %s has %d events, want %d", c, len(h), n)
		}
	}
}

func TestRelayShipsEverythingOnce(t *testing.T) {
	t.Parallel()
	a, conn := openAudit(t)
	events := manyEvents(2345, time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC))
	outbox := newFakeOutbox(events)
	outbox.failBefore[2] = true
	outbox.failAfter[3] = true // the third batch goes twice
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	r := clickhouse.NewRelay(outbox, a, clickhouse.RelayConfig{
		BatchSize: 500, Interval: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, BacklogEvery: 10 * time.Millisecond,
	}, zap.New(core), reg)
	defer func() {
		if t.Failed() {
			for _, e := range logs.All() {
				t.Logf("relay log: %s %s %v", e.Level, e.Message, e.ContextMap())
			}
		}
	}()

	r.Start()
	eventually(t, "the outbox is empty", func() bool { return outbox.waiting() == 0 })
	eventually(t, "the backlog gauge shows it", func() bool { return metric(t, reg, "kirjuri_audit_relay_backlog") == 0 })
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Every failed attempt is logged once, with its error: the two on
	// purpose, and any the shared ClickHouse gave on its own (a run of the
	// whole suite once counted a third failure); those are counted too.
	var onPurpose, other int
	for _, e := range logs.FilterMessageSnippet("shipping consent events").All() {
		err, ok := e.ContextMap()["error"].(string)
		switch {
		case !ok:
		case strings.Contains(err, "(on purpose)"):
			onPurpose++
		default:
			other++
			t.Logf("a failure not on purpose: %s", err)
		}
	}
	if onPurpose != 2 {
		t.Errorf("%d failures on purpose logged, want 2", onPurpose)
	}
	if got := metric(t, reg, "kirjuri_audit_relay_failures_total"); got != float64(2+other) {
		t.Errorf("failures_total = %v, want %d (2 on purpose, %d not)", got, 2+other, other)
	}
	// One batch twice; a failure not on purpose may have stored its batch
	// before failing, and that batch went again.
	if got, want := rawCount(t, conn, "consent_events"), uint64(len(events)+500); got < want || got > want+uint64(500*other) {
		t.Errorf("consent_events holds %d rows, want %d (one batch twice)", got, want)
	}
	checkEachOnce(t, a, events)
	if got := metric(t, reg, "kirjuri_audit_relay_shipped_total"); got != float64(len(events)) {
		t.Errorf("shipped_total = %v, want %d (the batch whose mark failed was not counted)", got, len(events))
	}
	if got := metric(t, reg, "kirjuri_audit_relay_lag_seconds"); got != 0 {
		t.Errorf("lag_seconds = %v, want 0", got)
	}
	s := r.Status()
	if s.LastError != "" || !s.FailingSince.IsZero() || s.LastShipped.IsZero() || s.Backlog != 0 || s.LagSeconds != 0 {
		t.Errorf("status %+v", s)
	}
}

// proxy forwards TCP connections to a server and can be cut off and brought
// back on the same address: a ClickHouse that goes away and comes back.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	p.up()
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[s] = true, true
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func TestRelayWaitsForClickHouse(t *testing.T) {
	t.Parallel()
	dbURL := chtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a := clickhouse.New(conn)

	events := manyEvents(1200, time.Now().Add(-2*time.Hour).UTC())
	p.down()
	if err := a.Append(ctx, events[:1]); err == nil {
		t.Fatal("Append succeeded with ClickHouse unreachable")
	}
	if err := clickhouse.NewReadiness(conn).Ready(ctx); err == nil {
		t.Error("ClickHouse readiness is fine with ClickHouse unreachable")
	}

	outbox := newFakeOutbox(events)
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	r := clickhouse.NewRelay(outbox, a, clickhouse.RelayConfig{
		BatchSize: 500, Interval: 5 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		BacklogEvery: 5 * time.Millisecond, UnreadyAfter: 3 * time.Hour,
	}, zap.New(core), reg)
	r.Start()
	defer r.Stop(context.Background())

	eventually(t, "the relay has failed a few times", func() bool { return metric(t, reg, "kirjuri_audit_relay_failures_total") >= 6 })
	eventually(t, "the backlog is known", func() bool { return r.Status().Backlog == int64(len(events)) })
	if n := outbox.waiting(); n != len(events) {
		t.Errorf("%d events wait in the outbox, want all %d", n, len(events))
	}
	s := r.Status()
	if s.LastError == "" || s.FailingSince.IsZero() || s.LagSeconds < 7000 {
		t.Errorf("status during the outage: %+v", s)
	}
	if got := metric(t, reg, "kirjuri_audit_relay_lag_seconds"); got < 7000 {
		t.Errorf("lag_seconds = %v, want about 7200", got)
	}
	// Two hours of backlog within a three-hour limit: still ready; over a
	// shorter one: not.
	if err := r.Ready(ctx); err != nil {
		t.Errorf("ready during a short outage: %v", err)
	}
	strict := clickhouse.NewRelay(outbox, a, clickhouse.RelayConfig{UnreadyAfter: time.Minute, BacklogEvery: time.Millisecond, MaxBackoff: time.Hour}, nil, nil)
	strict.Start()
	eventually(t, "the strict relay fails", func() bool { return strict.Status().LastError != "" && strict.Status().Backlog > 0 })
	if err := strict.Ready(ctx); err == nil {
		t.Error("ready with ClickHouse unreachable and the backlog older than the limit")
	} else {
		t.Logf("not ready: %v", err)
	}
	if err := strict.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if warned := logs.FilterLevelExact(zapcore.WarnLevel).Len(); warned != 1 {
		t.Errorf("%d warnings for one outage, want 1", warned)
	}

	p.up()
	eventually(t, "the outbox is empty", func() bool { return outbox.waiting() == 0 })
	eventually(t, "the relay has recovered", func() bool { return r.Status().LastError == "" })
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	checkEachOnce(t, a, events)
	if n := logs.FilterMessageSnippet("again").FilterLevelExact(zapcore.InfoLevel).Len(); n != 1 {
		t.Errorf("%d recovery messages, want 1", n)
	}
	if warned := logs.FilterLevelExact(zapcore.WarnLevel).Len(); warned != 1 {
		t.Errorf("%d warnings for one outage, want 1", warned)
	}
	if err := r.Ready(ctx); err != nil {
		t.Errorf("not ready after recovery: %v", err)
	}
}

func TestAuditAtAClosedPort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx := context.Background()

	if _, err := clickhouse.Open(ctx, "clickhouse://"+addr+"/kirjuri"); err == nil {
		t.Error("Open succeeded at a closed port")
	}
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	a := clickhouse.New(conn)
	e := ev(uuid.Must(uuid.NewV7()), time.Now(), consent.MarketingEmail, true, consent.SourceAPI)
	if err := a.Append(ctx, []consent.Event{e}); err == nil {
		t.Error("Append succeeded")
	}
	if _, err := a.History(ctx, e.CustomerID, ports.AuditPageRequest{}); err == nil {
		t.Error("History succeeded")
	}
	if err := clickhouse.NewReadiness(conn).Ready(ctx); err == nil {
		t.Error("Ready succeeded")
	}

	outbox := newFakeOutbox([]consent.Event{e})
	reg := prometheus.NewRegistry()
	r := clickhouse.NewRelay(outbox, a, clickhouse.RelayConfig{Interval: time.Millisecond, MaxBackoff: 10 * time.Millisecond}, nil, reg)
	r.Start()
	eventually(t, "the relay has retried", func() bool { return metric(t, reg, "kirjuri_audit_relay_failures_total") >= 3 })
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if outbox.waiting() != 1 {
		t.Error("the event left the outbox")
	}
}

// blockingAudit holds Append until released; only Append is used.
type blockingAudit struct {
	ports.ConsentAudit
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingAudit) Append(ctx context.Context, _ []consent.Event) error {
	b.once.Do(func() { close(b.entered) })
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestRelayStopFinishesTheBatchInFlight(t *testing.T) {
	t.Parallel()
	events := manyEvents(30, time.Now().Add(-time.Minute))
	outbox := newFakeOutbox(events)
	audit := &blockingAudit{entered: make(chan struct{}), release: make(chan struct{})}
	r := clickhouse.NewRelay(outbox, audit, clickhouse.RelayConfig{BatchSize: 10}, nil, nil)

	start := time.Now()
	r.Start()
	r.Start()
	if time.Since(start) > 100*time.Millisecond {
		t.Error("Start blocks")
	}
	<-audit.entered

	stopped := make(chan error, 1)
	go func() { stopped <- r.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) before the batch in flight finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(audit.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if n := outbox.waiting(); n != 20 {
		t.Errorf("%d events wait, want 20: the batch in flight is shipped, nothing after Stop", n)
	}
	if err := r.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestRelayStopGivesUpWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	outbox := newFakeOutbox(manyEvents(5, time.Now()))
	audit := &blockingAudit{entered: make(chan struct{}), release: make(chan struct{})}
	r := clickhouse.NewRelay(outbox, audit, clickhouse.RelayConfig{}, nil, nil)
	r.Start()
	<-audit.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop = %v, want the deadline", err)
	}
	if outbox.waiting() != 5 {
		t.Error("an abandoned batch left the outbox")
	}
}

func TestRelayStopBeforeStart(t *testing.T) {
	t.Parallel()
	r := clickhouse.NewRelay(newFakeOutbox(nil), &blockingAudit{}, clickhouse.RelayConfig{}, nil, nil)
	if err := r.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Start() // does nothing after Stop
	if err := r.Ready(context.Background()); err != nil {
		t.Error(err)
	}
	if r.Name() != "audit-relay" {
		t.Error(r.Name())
	}
}
