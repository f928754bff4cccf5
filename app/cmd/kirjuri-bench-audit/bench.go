package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
)

type bench struct {
	opts  options
	rep   *report
	runID string

	ch    driver.Conn
	audit *clickhouse.Audit
	pool  *pgxpool.Pool
	store *postgres.Store

	ds        dataset
	customers []customerCount // every customer with events, and how many
}

// dataset is what the marker table remembers of a loaded data set.
type dataset struct {
	Gen                      uint32
	Events, Customers, Seed  uint64
	StartSec, EndSec         int64 // the generated period [start, end)
	ChangesTotal, Changes30d uint64
	DupEvents                uint64 // events appended a second time on purpose
	LoadSeconds              float64
	AppendSeconds            float64
	LoadedAt                 time.Time
	Reused                   bool
}

type customerCount struct {
	id uuid.UUID
	n  uint64
}

func (b *bench) run(ctx context.Context) error {
	b.runID = time.Now().UTC().Format("150405")
	b.rep.machine.started = time.Now()
	if err := b.connect(ctx); err != nil {
		return err
	}
	defer b.ch.Close()
	defer b.pool.Close()
	if err := b.machineContext(ctx); err != nil {
		return err
	}
	if err := b.ensureData(ctx); err != nil {
		return err
	}
	if err := b.waitMerges(ctx, 15*time.Minute); err != nil {
		return err
	}
	if err := b.ensureCopies(ctx); err != nil {
		return err
	}
	if err := b.compact(ctx); err != nil {
		return err
	}
	if err := b.datasetStats(ctx); err != nil {
		return err
	}
	ph := b.opts.phases
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"history", b.measureHistory},
		{"summary", b.measureSummary},
		{"state", b.measureState},
		{"events", b.measureEvents},
		{"relay", b.measureRelay},
	}
	for _, s := range steps {
		if !ph[s.name] {
			continue
		}
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// Copies still stored after the measurements (merges may remove them
	// at any time; the queries must not care either way).
	if err := b.ch.QueryRow(ctx, "SELECT count() FROM consent_events").Scan(&b.rep.data.rawRowsAfter); err != nil {
		return err
	}
	b.rep.machine.loadEnd = loadavg()
	return nil
}

func (b *bench) connect(ctx context.Context) error {
	logf("ClickHouse: migrating database %s", chDatabase)
	if err := clickhouse.Migrate(ctx, b.opts.chURL); err != nil {
		return err
	}
	ch, err := clickhouse.Open(ctx, b.opts.chURL)
	if err != nil {
		return err
	}
	b.ch = ch
	b.audit = clickhouse.New(ch)

	logf("PostgreSQL: creating and migrating database %s", pgDatabase)
	if err := createPGDatabase(ctx, b.opts.pgURL); err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, b.opts.pgURL); err != nil {
		return err
	}
	pool, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: b.opts.pgURL})
	if err != nil {
		return err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("postgres %s: %w", pgDatabase, err)
	}
	b.pool = pool
	// Relay and Backlog use the pool only; no identity codes are written.
	b.store = postgres.New(pool, nil)
	return nil
}

// createPGDatabase creates the database of dbURL when it does not exist,
// connecting to the server's "postgres" database.
func createPGDatabase(ctx context.Context, dbURL string) error {
	serverURL, err := replaceDatabase(dbURL, "postgres")
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("postgres: connect to the server: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", pgDatabase).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgDatabase); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", pgDatabase, err)
	}
	return nil
}

// replaceDatabase returns raw with its database replaced by db.
func replaceDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("not a URL (want scheme://host:port/database)")
	}
	u.Path = "/" + db
	q := u.Query()
	for _, k := range []string{"database", "dbname"} {
		if q.Has(k) {
			q.Set(k, db)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (b *bench) machineContext(ctx context.Context) error {
	m := &b.rep.machine
	m.cores = runtime.NumCPU()
	m.goVersion = runtime.Version()
	m.memory = memTotal()
	m.loadStart = loadavg()
	if err := b.ch.QueryRow(ctx, "SELECT version()").Scan(&m.chVersion); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"server_version", &m.pgVersion},
		{"fsync", &m.pgFsync},
		{"synchronous_commit", &m.pgSyncCommit},
		{"shared_buffers", &m.pgSharedBuffers},
	} {
		if err := b.pool.QueryRow(ctx, "SELECT current_setting($1)", s.name).Scan(s.dst); err != nil {
			return err
		}
	}
	var maxThreads string
	if err := b.ch.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&maxThreads); err != nil {
		return err
	}
	m.chMaxThreads = maxThreads
	logf("machine: %d cores, %s memory, load %s; ClickHouse %s (max_threads %s); PostgreSQL %s, fsync %s, synchronous_commit %s",
		m.cores, m.memory, m.loadStart, m.chVersion, m.chMaxThreads, m.pgVersion, m.pgFsync, m.pgSyncCommit)
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			var kb float64
			fmt.Sscan(f[1], &kb)
			return fmt.Sprintf("%.0f GiB", kb/1024/1024)
		}
	}
	return "?"
}

// ---------------------------------------------------------------- loading

const markerTable = "bench_marker"

// relayMonth is the month the relay trials' events occur in: no loaded
// event does, so a trial's events are dropped with DROP PARTITION afterwards
// and never change the loaded data set.
var relayMonth = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

func (b *bench) ensureData(ctx context.Context) error {
	if err := b.ch.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+markerTable+` (
		gen UInt32, events UInt64, customers UInt64, seed UInt64,
		start_sec Int64, end_sec Int64, changes_total UInt64, changes_30d UInt64,
		dup_events UInt64, load_seconds Float64, append_seconds Float64, loaded_at DateTime
	) ENGINE = TinyLog`); err != nil {
		return fmt.Errorf("create %s: %w", markerTable, err)
	}
	// A relay trial that was interrupted may have left its events.
	if err := b.dropRelayPartition(ctx); err != nil {
		return err
	}

	o := b.opts
	var ds dataset
	err := b.ch.QueryRow(ctx, `SELECT gen, events, customers, seed, start_sec, end_sec, changes_total,
		changes_30d, dup_events, load_seconds, append_seconds, loaded_at
		FROM `+markerTable+` ORDER BY loaded_at DESC LIMIT 1`).Scan(&ds.Gen, &ds.Events, &ds.Customers, &ds.Seed,
		&ds.StartSec, &ds.EndSec, &ds.ChangesTotal, &ds.Changes30d, &ds.DupEvents, &ds.LoadSeconds, &ds.AppendSeconds, &ds.LoadedAt)
	haveMarker := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read %s: %w", markerTable, err)
	}
	if haveMarker && !o.reload && ds.Gen == genVersion && ds.Events == uint64(o.events) &&
		ds.Customers == uint64(o.customers) && ds.Seed == o.seed {
		logf("ClickHouse: the marker names this data set (loaded %s); counting its events", ds.LoadedAt.UTC().Format(time.RFC3339))
		var byCustomer, byTime uint64
		if err := b.ch.QueryRow(ctx, "SELECT uniqExact(event_id) FROM consent_events").Scan(&byCustomer); err != nil {
			return err
		}
		if err := b.ch.QueryRow(ctx, "SELECT uniqExact(event_id) FROM consent_events_by_time").Scan(&byTime); err != nil {
			return err
		}
		if byCustomer == ds.Events && byTime == ds.Events {
			logf("ClickHouse: reusing the %d events in %s (--reload loads them again)", ds.Events, chDatabase)
			ds.Reused = true
			b.ds = ds
			return nil
		}
		logf("ClickHouse: the tables hold %d / %d distinct events, not %d: loading again", byCustomer, byTime, ds.Events)
	}
	return b.load(ctx)
}

func (b *bench) load(ctx context.Context) error {
	o := b.opts
	for _, t := range []string{markerTable, "consent_events", "consent_events_by_time"} {
		if err := b.ch.Exec(ctx, "TRUNCATE TABLE "+t); err != nil {
			return fmt.Errorf("truncate %s: %w", t, err)
		}
	}
	end := time.Now().UTC().Truncate(time.Second)
	g := newGenerator(o.seed, o.events, o.customers, end)
	batches := (o.events + o.loadBatch - 1) / o.loadBatch
	// About 1% of the batches are appended twice, as a relay retry would.
	dup := func(i int) bool { return i%100 == 99 || (batches < 100 && i == batches-1) }
	logf("ClickHouse: loading %d events of %d customers over %s → %s in %d Append calls of %d",
		o.events, o.customers, end.Add(-period).Format("2006-01-02"), end.Format("2006-01-02"), batches, o.loadBatch)

	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []consent.Event, 2)
	go func() {
		defer close(ch)
		for {
			batch := g.batch(o.loadBatch)
			if batch == nil {
				return
			}
			select {
			case ch <- batch:
			case <-genCtx.Done():
				return
			}
		}
	}()

	var (
		start        = time.Now()
		lastPrint    = start
		appendTime   time.Duration
		loaded, dups int
		i            int
	)
	for batch := range ch {
		t0 := time.Now()
		if err := b.audit.Append(ctx, batch); err != nil {
			return fmt.Errorf("append batch %d: %w", i, err)
		}
		if dup(i) {
			if err := b.audit.Append(ctx, batch); err != nil {
				return fmt.Errorf("append batch %d again: %w", i, err)
			}
			dups += len(batch)
		}
		appendTime += time.Since(t0)
		loaded += len(batch)
		i++
		if now := time.Now(); now.Sub(lastPrint) >= 5*time.Second || loaded == o.events {
			lastPrint = now
			el := now.Sub(start).Seconds()
			logf("  %11d / %d events (%3.0f%%)  %8.0f events/s overall, %8.0f/s in Append; %d appended twice",
				loaded, o.events, 100*float64(loaded)/float64(o.events), float64(loaded+dups)/el,
				float64(loaded+dups)/appendTime.Seconds(), dups)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	took := time.Since(start)
	ds := dataset{
		Gen: genVersion, Events: uint64(o.events), Customers: uint64(o.customers), Seed: o.seed,
		StartSec: end.Add(-period).Unix(), EndSec: end.Unix(),
		ChangesTotal: g.changesTotal, Changes30d: g.changes30d, DupEvents: uint64(dups),
		LoadSeconds: took.Seconds(), AppendSeconds: appendTime.Seconds(), LoadedAt: time.Now().UTC().Truncate(time.Second),
	}
	batch, err := b.ch.PrepareBatch(ctx, "INSERT INTO "+markerTable+
		" (gen, events, customers, seed, start_sec, end_sec, changes_total, changes_30d, dup_events, load_seconds, append_seconds, loaded_at)")
	if err != nil {
		return err
	}
	if err := batch.Append(ds.Gen, ds.Events, ds.Customers, ds.Seed, ds.StartSec, ds.EndSec, ds.ChangesTotal,
		ds.Changes30d, ds.DupEvents, ds.LoadSeconds, ds.AppendSeconds, ds.LoadedAt); err != nil {
		return err
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("write %s: %w", markerTable, err)
	}
	logf("ClickHouse: loaded %d events (+%d appended twice) in %s: %.0f events/s (%.0f/s in Append)",
		o.events, dups, took.Round(100*time.Millisecond), float64(o.events+dups)/took.Seconds(),
		float64(o.events+dups)/appendTime.Seconds())
	b.ds = ds
	return nil
}

// waitMerges waits until ClickHouse runs no merge in the bench database, so
// the figures are those of a settled table (as a long-running one is), not
// of one still merging what was just loaded.
func (b *bench) waitMerges(ctx context.Context, limit time.Duration) error {
	start := time.Now()
	quiet := 0
	var lastLog time.Time
	for {
		var n uint64
		if err := b.ch.QueryRow(ctx, "SELECT count() FROM system.merges WHERE database = currentDatabase()").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			quiet++
			if quiet >= 3 {
				break
			}
		} else {
			quiet = 0
			if time.Since(lastLog) > 10*time.Second {
				lastLog = time.Now()
				logf("ClickHouse: waiting for %d merges to finish", n)
			}
		}
		if time.Since(start) > limit {
			logf("ClickHouse: merges still running after %s; measuring anyway", limit)
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	b.rep.data.mergeWait += time.Since(start)
	return nil
}

// currentMonth is the month the service's housekeeping would leave alone if
// its clock stood at the end of the data set: the month of the newest
// events. The bench measures as of that moment, whenever it runs, so that a
// reused data set always has the same months closed.
func (b *bench) currentMonth() time.Time {
	t := time.Unix(b.ds.EndSec-1, 0).UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// compact brings the tables to the state the service keeps them in: the
// hourly housekeeping's clickhouse.Audit.Compact (the real code path), as
// of the end of the data set, so that every month before the newest is one
// part and the newest keeps the parts its inserts and merges left. A
// partition a background merge held is merged on a second try.
func (b *bench) compact(ctx context.Context) error {
	now := time.Unix(b.ds.EndSec-1, 0).UTC()
	d := &b.rep.data
	start := time.Now()
	for attempt := 1; ; attempt++ {
		n, err := b.audit.Compact(ctx, now)
		d.compacted += n
		if err != nil {
			return fmt.Errorf("compact: %w", err)
		}
		var left uint64
		if err := b.ch.QueryRow(ctx, `SELECT count() FROM (
			SELECT table, partition_id FROM system.parts
			WHERE database = currentDatabase() AND active AND table IN ('consent_events', 'consent_events_by_time')
			GROUP BY table, partition_id
			HAVING count() > 1 AND max(max_time) < toDateTime(?))`, b.currentMonth().Unix()).Scan(&left); err != nil {
			return err
		}
		d.compactLeft = left
		if left == 0 || attempt == 3 {
			break
		}
		logf("ClickHouse: %d closed months still hold more than one part (a background merge held them); waiting and compacting again", left)
		if err := b.waitMerges(ctx, 5*time.Minute); err != nil {
			return err
		}
	}
	d.compactTime = time.Since(start)
	logf("ClickHouse: Audit.Compact as of %s merged %d partitions in %s (months before %s; %d closed months left with more than one part)",
		now.Format("2006-01-02"), d.compacted, d.compactTime.Round(100*time.Millisecond), b.currentMonth().Format("2006-01"), d.compactLeft)
	return nil
}

func (b *bench) datasetStats(ctx context.Context) error {
	d := &b.rep.data
	d.ds = b.ds
	if err := b.ch.QueryRow(ctx, "SELECT count() FROM consent_events").Scan(&d.rawRows); err != nil {
		return err
	}
	month := b.currentMonth().Unix()
	rows, err := b.ch.Query(ctx, `SELECT table, count(), uniqExact(partition), sum(rows),
		sum(data_compressed_bytes), sum(data_uncompressed_bytes),
		countIf(max_time < toDateTime(?)), uniqExactIf(partition, max_time < toDateTime(?))
		FROM system.parts WHERE database = currentDatabase() AND active AND table LIKE 'consent_events%'
		GROUP BY table ORDER BY table`, month, month)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t tableStat
		if err := rows.Scan(&t.name, &t.parts, &t.partitions, &t.rows, &t.compressed, &t.uncompressed,
			&t.closedParts, &t.closedPartitions); err != nil {
			rows.Close()
			return err
		}
		d.tables = append(d.tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	logf("ClickHouse: reading every customer's event count")
	rows, err = b.ch.Query(ctx, "SELECT customer_id, uniqExact(event_id) FROM consent_events GROUP BY customer_id")
	if err != nil {
		return err
	}
	defer rows.Close()
	b.customers = b.customers[:0]
	for rows.Next() {
		var c customerCount
		if err := rows.Scan(&c.id, &c.n); err != nil {
			return err
		}
		b.customers = append(b.customers, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// A fixed order, so that a seed samples the same customers every run.
	slices.SortFunc(b.customers, func(a, b customerCount) int { return strings.Compare(a.id.String(), b.id.String()) })
	counts := make([]float64, len(b.customers))
	for i, c := range b.customers {
		counts[i] = float64(c.n)
	}
	slices.Sort(counts)
	d.customersWithEvents = len(counts)
	if len(counts) > 0 {
		d.perCustomer = [4]float64{quantile(counts, 0.5), quantile(counts, 0.95), quantile(counts, 0.99), counts[len(counts)-1]}
	}
	for _, t := range d.tables {
		logf("ClickHouse: %s: %d rows in %d active parts over %d partitions (%d parts in %d closed months, %d in the current one), %s compressed (%s raw)",
			t.name, t.rows, t.parts, t.partitions, t.closedParts, t.closedPartitions, t.parts-t.closedParts,
			bytesIEC(t.compressed), bytesIEC(t.uncompressed))
	}
	logf("data set: %d distinct events, %d rows stored (copies not yet merged away: %d); %d customers with events, per customer median %.0f, p95 %.0f, p99 %.0f, max %.0f",
		b.ds.Events, d.rawRows, int64(d.rawRows)-int64(b.ds.Events), d.customersWithEvents,
		d.perCustomer[0], d.perCustomer[1], d.perCustomer[2], d.perCustomer[3])
	return nil
}

func bytesIEC(n uint64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB"} {
		if f < 1024 || u == "GiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

// dropRelayPartition drops the partitions holding the relay trials' events:
// those that end before 2002 (whatever the partition key, month or year), in
// which no loaded event falls.
func (b *bench) dropRelayPartition(ctx context.Context) error {
	rows, err := b.ch.Query(ctx, `SELECT DISTINCT table, partition_id FROM system.parts
		WHERE database = currentDatabase() AND active AND table IN ('consent_events', 'consent_events_by_time')
		  AND max_time < toDateTime(?)`, relayMonth.AddDate(1, 0, 0).Unix())
	if err != nil {
		return err
	}
	type part struct{ table, id string }
	var parts []part
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.table, &p.id); err != nil {
			rows.Close()
			return err
		}
		parts = append(parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range parts {
		if err := b.ch.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION ID '%s'", p.table, p.id)); err != nil {
			return fmt.Errorf("drop the relay partition %s of %s: %w", p.id, p.table, err)
		}
	}
	return nil
}

// ensureCopies makes sure the queries are measured with copies of events
// stored, as after a relay retry: when merges have collapsed the copies in
// the current month (Compact merges the closed months, and their copies
// with them, as the service's housekeeping does), the newest 1% of the
// events, no older than the current month, are appended again through
// Audit.Append.
func (b *bench) ensureCopies(ctx context.Context) error {
	from := max(b.currentMonth().Unix(), b.ds.EndSec-int64(summaryWindow/time.Second))
	var stored, distinct uint64
	if err := b.ch.QueryRow(ctx, `SELECT count(), uniqExact(event_id) FROM consent_events
		WHERE occurred_at >= toDateTime(?)`, from).Scan(&stored, &distinct); err != nil {
		return err
	}
	want := min(b.ds.Events/100, distinct)
	if stored >= distinct+want/2 {
		return nil
	}
	b.rep.data.reappended = want
	logf("ClickHouse: merges have collapsed the copies in the current month (%d rows stored for %d events); appending the newest %d events again, as a retried relay batch would", stored, distinct, want)
	rows, err := b.ch.Query(ctx, `SELECT `+eventColumns+` FROM consent_events_by_time
		WHERE occurred_at >= toDateTime(?)
		ORDER BY occurred_at DESC, occurred_nanos DESC, event_id DESC
		LIMIT 1 BY event_id LIMIT ?`, from, want)
	if err != nil {
		return err
	}
	defer rows.Close()
	var events []consent.Event
	for rows.Next() {
		var (
			e            consent.Event
			at           time.Time
			nanos        uint32
			kind, source string
			system       uint16
		)
		if err := rows.Scan(&e.ID, &at, &nanos, &e.CustomerID, &e.CustomerNumber, &kind, &e.OldValue, &e.NewValue,
			&source, &system, &e.Actor, &e.RequestID, &e.ImportID, &e.Evidence); err != nil {
			return err
		}
		e.OccurredAt = time.Unix(at.Unix(), int64(nanos)).UTC()
		e.Consent, e.Source, e.SourceSystemID = consent.Kind(kind), consent.Source(source), int(system)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for len(events) > 0 {
		n := min(len(events), b.opts.loadBatch)
		if err := b.audit.Append(ctx, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// eventColumns are the columns of an event, in the order Append writes them.
const eventColumns = `event_id, occurred_at, occurred_nanos, customer_id, customer_number, consent,
	old_value, new_value, source, source_system_id, actor, request_id, import_id, evidence`
