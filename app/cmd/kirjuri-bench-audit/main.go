// Command kirjuri-bench-audit is the consent audit log benchmark: it loads
// (once) a large audit log into ClickHouse through the real Audit.Append,
// brings it to the state the service keeps it in (Audit.Compact: one part
// per closed month) and measures the compliance queries and the outbox relay
// against the targets:
//
//   - one customer's history (first page of 50): p95 at most 50 ms;
//   - the daily summary over the most recent 30 days: at most 1 s;
//   - the relay, PostgreSQL outbox to ClickHouse: at least 20,000 events/s.
//
// It uses its own databases on the dev servers: ClickHouse kirjuri_bench and
// PostgreSQL kirjuri_bench_audit (created and migrated when missing), found
// from KIRJURI_CLICKHOUSE_URL and KIRJURI_DATABASE_URL:
//
//	eval "$(scripts/servers.sh env --profile dev)"
//	go run ./app/cmd/kirjuri-bench-audit [--events 10000000] [--customers 200000] \
//	    [--relay-events 200000] [--out bench-out/audit.md]
//
// or `go tool task bench:audit [-- flags]`. See README.md beside this file.
//
// Exit status: 0 when every target is met, 3 when a target is missed (the
// report is still written), 1 on an error or a failed correctness check.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The databases the benchmark uses on the dev servers (flags can name
// others, e.g. to compare a changed schema side by side).
var (
	chDatabase = "kirjuri_bench"
	pgDatabase = "kirjuri_bench_audit"
)

type options struct {
	events, customers, relayEvents int
	out                            string
	loadBatch                      int
	historySamples, summaryRuns    int
	relayBatches                   []int
	seed                           uint64
	reload                         bool
	phases                         map[string]bool
	chURL, pgURL                   string
}

var allPhases = []string{"history", "summary", "state", "events", "relay"}

func main() {
	os.Exit(run())
}

func run() int {
	var (
		o            options
		relayBatches string
		phases       string
		chBase       string
		pgBase       string
	)
	flag.IntVar(&o.events, "events", 10_000_000, "distinct consent events in the audit log")
	flag.IntVar(&o.customers, "customers", 200_000, "customers the events are spread over (Zipf-like skew)")
	flag.IntVar(&o.relayEvents, "relay-events", 200_000, "events written to the outbox for each relay trial")
	flag.StringVar(&o.out, "out", "bench-out/audit.md", "Markdown report to write")
	flag.IntVar(&o.loadBatch, "load-batch", 100_000, "events per Audit.Append while loading (50,000–100,000 is what a backfill would use)")
	flag.IntVar(&o.historySamples, "history-samples", 500, "random customers whose history is read")
	flag.IntVar(&o.summaryRuns, "summary-runs", 10, "runs of the 30-day summary")
	flag.StringVar(&relayBatches, "relay-batches", "5000,10000", "relay batch sizes to try, comma-separated")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated data set (a different seed reloads)")
	flag.BoolVar(&o.reload, "reload", false, "truncate and reload the audit log even if it holds the data set")
	flag.StringVar(&phases, "phases", strings.Join(allPhases, ","), "what to measure, comma-separated: "+strings.Join(allPhases, ","))
	flag.StringVar(&chDatabase, "clickhouse-database", chDatabase, "ClickHouse database of the benchmark (created and migrated when missing)")
	flag.StringVar(&pgDatabase, "postgres-database", pgDatabase, "PostgreSQL database of the relay trials (created and migrated when missing)")
	flag.StringVar(&chBase, "clickhouse-url", "", "ClickHouse server URL (default $KIRJURI_CLICKHOUSE_URL); its database is replaced by --clickhouse-database")
	flag.StringVar(&pgBase, "database-url", "", "PostgreSQL server URL (default $KIRJURI_DATABASE_URL); its database is replaced by --postgres-database")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %q\n", flag.Args())
		return 2
	}

	if err := o.check(relayBatches, phases, chBase, pgBase); err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench-audit:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	b := &bench{opts: o, rep: &report{}}
	err := b.run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench-audit:", err)
	}
	if werr := b.rep.write(o.out, b); werr != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench-audit: write report:", werr)
		if err == nil {
			err = werr
		}
	}
	switch {
	case err != nil || len(b.rep.failedChecks()) > 0:
		return 1
	case b.rep.missed() > 0:
		return 3
	}
	return 0
}

func (o *options) check(relayBatches, phases, chBase, pgBase string) error {
	switch {
	case o.events < 1000:
		return errors.New("--events must be at least 1000")
	case o.customers < 100 || o.customers > o.events:
		return errors.New("--customers must be at least 100 and at most --events")
	case o.relayEvents < 0:
		return errors.New("--relay-events must not be negative")
	case o.loadBatch < 1000:
		return errors.New("--load-batch must be at least 1000")
	case o.historySamples < 1 || o.summaryRuns < 1:
		return errors.New("--history-samples and --summary-runs must be at least 1")
	}
	for _, s := range strings.Split(relayBatches, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--relay-batches: %q is not a positive number", s)
		}
		o.relayBatches = append(o.relayBatches, n)
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !slices.Contains(allPhases, p) {
			return fmt.Errorf("--phases: unknown phase %q (%s)", p, strings.Join(allPhases, ", "))
		}
		o.phases[p] = true
	}

	for _, db := range []string{chDatabase, pgDatabase} {
		if !plainIdentifier(db) {
			return fmt.Errorf("database name %q: use letters, digits and _ only", db)
		}
	}
	if chBase == "" {
		chBase = os.Getenv("KIRJURI_CLICKHOUSE_URL")
	}
	if pgBase == "" {
		pgBase = os.Getenv("KIRJURI_DATABASE_URL")
	}
	if chBase == "" || pgBase == "" {
		return errors.New(`no server URLs: run eval "$(scripts/servers.sh env --profile dev)" first, or pass --clickhouse-url and --database-url`)
	}
	var err error
	if o.chURL, err = replaceDatabase(chBase, chDatabase); err != nil {
		return fmt.Errorf("the ClickHouse URL: %w", err)
	}
	if o.pgURL, err = replaceDatabase(pgBase, pgDatabase); err != nil {
		return fmt.Errorf("the PostgreSQL URL: %w", err)
	}
	return nil
}

// logf prints a progress line with the time since the start.
var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

func plainIdentifier(s string) bool {
	if s == "" || len(s) > 63 || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
