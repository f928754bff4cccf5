// Command kirjuri-bench-connectors is the connector benchmark (issue 8):
// signed webhook deliveries of the generic web store (connectors/webstore,
// Standard Webhooks) over loopback into the real service, measured from
// the request to the acknowledgement and to the customer stored and
// visible through the API, beside the floor of an acknowledgement.
//
// It builds `kirjuri serve` from this tree and runs it as a subprocess on
// a database of its own (kirjuri_bench_connectors, emptied each run) with
// the webstore connector enabled under a generated signing secret and
// ClickHouse off (consent events wait in the outbox). It sends
// customer.upserted deliveries over keep-alive HTTP at --rate per second on
// a fixed schedule (the open loop; --rate 0: --concurrency closed-loop
// workers): new customers, updates of earlier ones (--updates) and replays
// of webhook-ids already acknowledged (--replays), for --duration after
// --warmup, counting every second how many deliveries are processed. Then
// it waits until the inbox's backlog is empty and counts: every distinct
// customer stored exactly once with its latest data, no email twice,
// replays stored nothing, no dead letters, one consent event per customer.
// Targets: ≥ 1,000 deliveries/s acknowledged and processed (sustained:
// the backlog does not grow), p99 acknowledgement ≤ 50 ms, zero lost or
// doubled.
//
// The floor, measured in the same run before the service starts under the
// same load: a bare net/http handler that verifies the same signature and
// INSERTs the raw body into a table with a unique key on the same
// PostgreSQL.
//
//	eval "$(scripts/servers.sh env --profile dev)"
//	go run ./app/cmd/kirjuri-bench-connectors [--rate 1000] [--duration 60s]
//
// or `go tool task bench:connectors [-- flags]`. See README.md beside this
// file. Exit status: 0 when every target is met and every check holds, 3
// when a target or check is missed (the report is still written), 1 on an
// error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// benchDB is the benchmark's own database on the dev PostgreSQL server.
const benchDB = "kirjuri_bench_connectors"

type options struct {
	duration, warmup      time.Duration
	floorDuration         time.Duration
	concurrency           int
	rate                  float64 // open loop: deliveries per second; 0: closed loop
	maxInFlight           int     // open loop: requests at once, at most
	cpuProfile            bool
	replays, updates      float64 // shares of the deliveries
	sampleEvery           int     // 1 in N new customers is polled for until visible
	drainTimeout          time.Duration
	jobWorkers            int
	out, dir              string
	quietLimit            float64
	quietWait             time.Duration
	serviceEnv            []string
	databaseURL           string
	noFloor, noClickHouse bool
	clickhouseURL         string
}

func main() { os.Exit(run()) }

func run() int {
	var (
		o             options
		serviceEnv    benchkit.EnvFlag
		quietLimitPct float64
		replayPct     float64
		updatePct     float64
		withCH        bool
	)
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "measured window of the service (after --warmup)")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "warm-up before each window (sent, not measured)")
	flag.DurationVar(&o.floorDuration, "floor-duration", 20*time.Second, "measured window of the floor")
	flag.Float64Var(&o.rate, "rate", 1000, "open loop: send this many deliveries per second on a fixed schedule, whatever the answers; 0: closed loop (--concurrency)")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 2000, "open loop: requests in flight at most (a request due when all are busy waits, and the report says the sender fell behind)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "closed loop (--rate 0): workers, each with its own keep-alive connection, each sending the next delivery when the last is answered")
	flag.BoolVar(&o.cpuProfile, "cpu-profile", false, "run the service with a CPU profiler (./app/cmd/kirjuri-profiled) and keep its profile as cpu.pprof under --dir")
	flag.Float64Var(&replayPct, "replays", 2, "percent of deliveries that resend an acknowledged webhook-id (a sender's retry)")
	flag.Float64Var(&updatePct, "updates", 10, "percent of deliveries that update an earlier customer (new webhook-id, newer updated_at)")
	flag.IntVar(&o.sampleEvery, "sample", 100, "poll GET /v1/customers/by-external/7/{id} for 1 in N new customers until it is visible")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 15*time.Minute, "give up waiting for the inbox's backlog after this long")
	flag.IntVar(&o.jobWorkers, "job-workers", 0, "KIRJURI_JOBS_WORKERS of the service (0: the service's default)")
	flag.BoolVar(&o.noFloor, "no-floor", false, "do not measure the floor")
	flag.BoolVar(&withCH, "clickhouse", false, "run the service with ClickHouse ($KIRJURI_CLICKHOUSE_URL) instead of without (consent events then relay to it)")
	flag.StringVar(&o.out, "out", "bench-out/connectors.md", "Markdown report to write")
	flag.StringVar(&o.dir, "dir", "bench-out/connectors", "folder of the service's binary, data folder and log")
	flag.Float64Var(&quietLimitPct, "quiet", 10, "before each window, wait until other work keeps the machine at most this busy (percent of all cores)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 3*time.Minute, "how long in all a run may wait for a quiet machine; then it measures anyway")
	flag.Var(&serviceEnv, "service-env", "KEY=VALUE for the service's environment (repeatable)")
	flag.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL server URL (default $KIRJURI_DATABASE_URL); its database is replaced by "+benchDB)
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %q\n", flag.Args())
		return 2
	}
	o.quietLimit = quietLimitPct / 100
	o.replays, o.updates = replayPct/100, updatePct/100
	o.serviceEnv = serviceEnv
	o.noClickHouse = !withCH
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench-connectors:", err)
		return 2
	}
	b := &bench{opts: o, rep: &report{}, quiet: benchkit.NewQuiet(o.quietLimit, o.quietWait)}
	return benchkit.Run("kirjuri-bench-connectors", o.out, &b.rep.Findings, b.run,
		func(path string) error { return b.rep.write(path, b) }, b.rep.missed)
}

func (o *options) check() error {
	switch {
	case o.duration < time.Second || o.floorDuration < time.Second:
		return errors.New("--duration and --floor-duration must be at least 1s")
	case o.warmup < 0:
		return errors.New("--warmup must not be negative")
	case o.concurrency < 1 || o.concurrency > 1000:
		return errors.New("--concurrency must be 1 to 1000")
	case o.rate < 0 || o.rate > 100_000:
		return errors.New("--rate must be 0 (closed loop) to 100000 deliveries per second")
	case o.maxInFlight < 1 || o.maxInFlight > 20_000:
		return errors.New("--max-in-flight must be 1 to 20000")
	case o.replays < 0 || o.updates < 0 || o.replays+o.updates >= 1:
		return errors.New("--replays and --updates are percentages that leave room for new customers")
	case o.sampleEvery < 1:
		return errors.New("--sample must be at least 1")
	case o.jobWorkers < 0:
		return errors.New("--job-workers must not be negative")
	}
	if err := benchkit.CheckEnv(o.serviceEnv); err != nil {
		return err
	}
	dbURL, err := benchkit.DatabaseURL(o.databaseURL, "bench:connectors")
	if err != nil {
		return err
	}
	o.databaseURL = dbURL
	if !o.noClickHouse {
		o.clickhouseURL = os.Getenv("KIRJURI_CLICKHOUSE_URL")
		if o.clickhouseURL == "" {
			return errors.New("--clickhouse: KIRJURI_CLICKHOUSE_URL is not set")
		}
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	o.dir = dir
	return nil
}

// loadName says how the load is sent, for logs and the report.
func (o *options) loadName() string {
	if o.rate > 0 {
		return fmt.Sprintf("open loop at %s deliveries/s (at most %d in flight)", benchkit.Thousands(o.rate), o.maxInFlight)
	}
	return fmt.Sprintf("closed loop of %d workers", o.concurrency)
}
