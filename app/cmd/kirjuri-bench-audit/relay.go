package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/ports"
)

// relayTrial is one run of the real relay over the outbox.
type relayTrial struct {
	batch, events int
	fill          time.Duration // writing the outbox, for information
	wall          time.Duration // relay start → last batch committed
	rate          float64       // events / wall

	// Sums over the relay's Outbox.Relay calls, split by the ship callback:
	// claim (SELECT … FOR UPDATE SKIP LOCKED and reading the rows), append
	// (Audit.Append into ClickHouse), mark (UPDATE shipped_at and COMMIT).
	calls               int
	claim, append, mark time.Duration

	// The relay's INSERTs as the server logged them (system.query_log).
	inserts       uint64
	insertServer  time.Duration
	insertWritten uint64

	backlogAfter int64
	partsAfter   uint64 // active parts of consent_events in the relay's partition afterwards
	stored       uint64 // rows stored in consent_events (copies included)
	distinct     uint64 // distinct ids among them
	byTime       uint64 // distinct ids in consent_events_by_time
}

func (b *bench) measureRelay(ctx context.Context) error {
	if b.opts.relayEvents == 0 {
		return nil
	}
	// The relay's audit log is the real Audit on a connection of its own
	// whose queries the server logs, named so that they can be told apart.
	u, err := url.Parse(b.opts.chURL)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("log_queries", "1")
	q.Set("client_info_product", relayClient+"/1")
	u.RawQuery = q.Encode()
	conn, err := clickhouse.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer conn.Close()
	audit := clickhouse.New(conn)
	for _, size := range b.opts.relayBatches {
		t, err := b.relayTrial(ctx, audit, size)
		if t != nil {
			b.rep.relay = append(b.rep.relay, t)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// relayClient names the relay's ClickHouse connection in system.query_log.
const relayClient = "kirjuri-bench-audit-relay"

func (b *bench) relayTrial(ctx context.Context, audit *clickhouse.Audit, size int) (*relayTrial, error) {
	n := b.opts.relayEvents
	t := &relayTrial{batch: size, events: n}
	if err := b.dropRelayPartition(ctx); err != nil {
		return nil, err
	}
	if _, err := b.pool.Exec(ctx, "TRUNCATE consent_outbox_batches RESTART IDENTITY"); err != nil {
		return nil, err
	}

	logf("Relay, batch %d: writing %d unshipped events to the outbox", size, n)
	events := b.relayEvents(n)
	t0 := time.Now()
	// One event a row, as API changes write them: the relay's dearest case
	// (an import's batch writes one row of thousands).
	if err := postgres.SeedOutbox(ctx, b.pool, events, 1); err != nil {
		return nil, err
	}
	t.fill = time.Since(t0)
	// A settled table and no checkpoint due in the middle of the trial (a
	// checkpoint just before makes every page the relay touches write a full
	// page image to the WAL: if anything, this is pessimistic).
	if _, err := b.pool.Exec(ctx, "VACUUM ANALYZE consent_outbox_batches"); err != nil {
		return nil, fmt.Errorf("vacuum consent_outbox_batches: %w", err)
	}
	if _, err := b.pool.Exec(ctx, "CHECKPOINT"); err != nil {
		logf("Relay: CHECKPOINT refused (%v); going on without", err)
	}
	if backlog, _, err := b.store.Backlog(ctx); err != nil || backlog != int64(n) {
		return nil, fmt.Errorf("outbox backlog %d before the relay, want %d (%v)", backlog, n, err)
	}

	logf("Relay, batch %d: running clickhouse.Relay until the outbox is empty", size)
	ob := &timedOutbox{Outbox: b.store, want: n, done: make(chan struct{})}
	relay := clickhouse.NewRelay(ob, audit, clickhouse.RelayConfig{BatchSize: size}, nil, nil)
	start := time.Now()
	relay.Start()
	var waitErr error
	select {
	case <-ob.done:
	case <-time.After(15 * time.Minute):
		waitErr = fmt.Errorf("the relay shipped %d of %d events in 15 minutes", ob.shippedNow(), n)
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := relay.Stop(stopCtx); err != nil && waitErr == nil {
		waitErr = err
	}
	if st := relay.Status(); st.LastError != "" && waitErr == nil {
		waitErr = fmt.Errorf("the relay failed: %s", st.LastError)
	}
	if waitErr != nil {
		return t, waitErr
	}
	ob.mu.Lock()
	t.wall = ob.last.Sub(start)
	t.calls, t.claim, t.append, t.mark = ob.calls, ob.claim, ob.append, ob.mark
	ob.mu.Unlock()
	t.rate = float64(n) / t.wall.Seconds()
	logf("Relay, batch %d: %d events in %s: %.0f events/s (%d batches; claim %s, ClickHouse append %s, mark+commit %s)",
		size, n, t.wall.Round(time.Millisecond), t.rate, t.calls, t.claim.Round(time.Millisecond),
		t.append.Round(time.Millisecond), t.mark.Round(time.Millisecond))

	if err := b.ch.Exec(ctx, "SYSTEM FLUSH LOGS"); err != nil {
		return t, err
	}
	var serverMS uint64
	if err := b.ch.QueryRow(ctx, `SELECT count(), sum(query_duration_ms), sum(written_rows) FROM system.query_log
		WHERE type = 2 AND event_date >= yesterday() AND event_time >= toDateTime(?)
		  AND client_name LIKE ? AND query LIKE 'INSERT INTO consent_events %'`,
		start.Unix()-1, "%"+relayClient+"%").Scan(&t.inserts, &serverMS, &t.insertWritten); err != nil {
		return t, err
	}
	t.insertServer = time.Duration(serverMS) * time.Millisecond

	backlog, _, err := b.store.Backlog(ctx)
	if err != nil {
		return t, err
	}
	t.backlogAfter = backlog
	b.rep.check(fmt.Sprintf("relay batch %d: the outbox backlog is 0 afterwards", size), backlog == 0, fmt.Sprintf("backlog %d", backlog))
	if err := b.verifyRelay(ctx, t, events); err != nil {
		return t, err
	}
	if err := b.dropRelayPartition(ctx); err != nil {
		return t, err
	}
	_, err = b.pool.Exec(ctx, "TRUNCATE consent_outbox_batches RESTART IDENTITY")
	return t, err
}

// relayEvents makes n new events of the loaded customers, in the relay's
// own month, oldest first (as the outbox holds them).
func (b *bench) relayEvents(n int) []consent.Event {
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x4e1a7))
	state := make([]uint8, len(b.customers))
	span := relayMonth.AddDate(0, 1, 0).Sub(relayMonth)
	out := make([]consent.Event, n)
	for i := range out {
		c := r.IntN(len(b.customers))
		at := relayMonth.Add(time.Duration(float64(span) * (float64(i) + r.Float64()) / float64(n)))
		out[i] = makeEvent(r, b.customers[c].id, int64(100_000+c), at, &state[c])
	}
	return out
}

// verifyRelay checks that both ClickHouse tables hold exactly the trial's
// events, each once when copies are collapsed.
func (b *bench) verifyRelay(ctx context.Context, t *relayTrial, events []consent.Event) error {
	want := make(map[uuid.UUID]bool, len(events))
	for _, e := range events {
		want[e.ID] = true
	}
	from, to := relayMonth, relayMonth.AddDate(0, 1, 0)
	check := func(table string) (stored, distinct uint64, problem string, err error) {
		rows, err := b.ch.Query(ctx, `SELECT event_id, count() FROM `+table+`
			WHERE occurred_at >= toDateTime(?) AND occurred_at < toDateTime(?) GROUP BY event_id`, from.Unix(), to.Unix())
		if err != nil {
			return 0, 0, "", err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id uuid.UUID
				c  uint64
			)
			if err := rows.Scan(&id, &c); err != nil {
				return 0, 0, "", err
			}
			stored += c
			distinct++
			if !want[id] && problem == "" {
				problem = fmt.Sprintf("%s holds event %s, which the trial did not write", table, id)
			}
		}
		if err := rows.Err(); err != nil {
			return 0, 0, "", err
		}
		if distinct != uint64(len(want)) && problem == "" {
			problem = fmt.Sprintf("%s holds %d distinct trial events, want %d", table, distinct, len(want))
		}
		return stored, distinct, problem, nil
	}
	stored, distinct, p1, err := check("consent_events")
	if err != nil {
		return err
	}
	_, byTime, p2, err := check("consent_events_by_time")
	if err != nil {
		return err
	}
	t.stored, t.distinct, t.byTime = stored, distinct, byTime
	// How fragmented the relay's inserts left the partition they went to
	// (every insert makes a part; merges combine them in the background).
	if err := b.ch.QueryRow(ctx, `SELECT count() FROM system.parts WHERE database = currentDatabase()
		AND table = 'consent_events' AND active AND max_time < toDateTime(?)`, to.Unix()).Scan(&t.partsAfter); err != nil {
		return err
	}
	problem := p1
	if problem == "" {
		problem = p2
	}
	b.rep.check(fmt.Sprintf("relay batch %d: ClickHouse holds exactly the %d outbox events, each once after collapsing copies (%d rows stored)",
		t.batch, len(events), stored), problem == "", problem)
	return nil
}

// timedOutbox is the real outbox, timing each Relay call around the ship
// callback, and telling when the wanted number of events has been shipped.
type timedOutbox struct {
	ports.Outbox
	want int
	done chan struct{}

	mu                  sync.Mutex
	shipped, calls      int
	claim, append, mark time.Duration
	last                time.Time
}

func (o *timedOutbox) Relay(ctx context.Context, max int, ship func(ctx context.Context, events []consent.Event) error) (int, error) {
	t0 := time.Now()
	var s0, s1 time.Time
	n, err := o.Outbox.Relay(ctx, max, func(ctx context.Context, events []consent.Event) error {
		s0 = time.Now()
		err := ship(ctx, events)
		s1 = time.Now()
		return err
	})
	t1 := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if n > 0 {
		o.calls++
		o.claim += s0.Sub(t0)
		o.append += s1.Sub(s0)
		o.mark += t1.Sub(s1)
		before := o.shipped
		o.shipped += n
		o.last = t1
		if before < o.want && o.shipped >= o.want {
			close(o.done)
		}
	}
	return n, err
}

func (o *timedOutbox) shippedNow() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.shipped
}
