// Command kirjuri-bench measures the HTTP API on loopback against a
// PostgreSQL database of a million customers, beside a floor: a bare
// net/http server answering the same lookup with one pgx query.
//
//	kirjuri-bench [--customers 1000000] [--duration 20s] [--concurrency 16] [--out bench-out/api.md]
//
// It needs KIRJURI_DATABASE_URL (the dev server: `eval "$(scripts/servers.sh
// env --profile dev)"`), and uses its own database there, kirjuri_bench,
// which it creates, migrates and loads once; later runs reuse the loaded
// customers. The service runs in this process as in production: logging at
// info level (to a file), API keys and metrics on; ClickHouse off.
// `go tool task bench` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/postgres"
	"kirjuri/app"
	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/core/access"
	"kirjuri/ports"
)

type options struct {
	customers   int64
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	findWorkers int
	batch       int
	out         string
	logFile     string
	profileDir  string
	gomaxprocs  int
	only        string
	rounds      int
	quietLimit  float64
	quietWait   time.Duration
	reload      bool
}

func main() {
	var o options
	flag.Int64Var(&o.customers, "customers", 1_000_000, "customers to load and look up")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "measuring window of each scenario")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "warm-up of each scenario, not counted")
	flag.IntVar(&o.concurrency, "concurrency", 12, "closed-loop workers of the lookup and create scenarios (floor and kirjuri alike)")
	flag.IntVar(&o.findWorkers, "find-concurrency", 4, "closed-loop workers of the find scenario")
	flag.IntVar(&o.batch, "batch", 10_000, "customers per WriteBatch while loading")
	flag.StringVar(&o.out, "out", "bench-out/api.md", "Markdown report")
	flag.StringVar(&o.logFile, "log", "bench-out/kirjuri.log", "the service's access log (info level, JSON)")
	flag.StringVar(&o.profileDir, "cpuprofile", "", "write a CPU profile of each scenario's window to this folder (profiling costs throughput: do not report such a run)")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 0, "GOMAXPROCS of this process (0: one per core)")
	flag.StringVar(&o.only, "scenarios", "", "comma-separated scenarios to run (default all): floor,by-external,by-number,find,create")
	flag.IntVar(&o.rounds, "rounds", 5, "the lookup scenarios (floor, by-external, by-number) run interleaved in this many slices of duration/rounds each")
	flag.BoolVar(&o.reload, "reload", false, "load the customers again even when the bench database holds them")
	flag.Float64Var(&o.quietLimit, "quiet", 10, "before each scenario, wait until other work keeps the machine at most this busy (percent of all cores)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 5*time.Minute, "how long in all a run may wait for a quiet machine; then it measures anyway")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := bench(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// benchKey protects the identity codes of the bench database only.
var benchKey = []byte("kirjuri-bench identity code key!")

func bench(ctx context.Context, o options) (int, error) {
	if o.gomaxprocs > 0 {
		runtime.GOMAXPROCS(o.gomaxprocs)
	}
	cfg, err := app.LoadConfig("")
	if err != nil {
		return 0, err
	}
	if os.Getenv("KIRJURI_DATABASE_URL") == "" {
		return 0, errors.New(`KIRJURI_DATABASE_URL is not set: run eval "$(scripts/servers.sh env --profile dev)" (or use go tool task bench)`)
	}
	db := benchkit.Database{ServerURL: cfg.Database.URL, Name: benchDB, Command: "kirjuri-bench", LockKey: benchLock, Logf: logf}
	benchURL, err := db.Ensure(ctx, false)
	if err != nil {
		return 0, err
	}
	cipher, err := postgres.NewSSNCipher(benchKey)
	if err != nil {
		return 0, err
	}
	admin, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: benchURL, MaxConns: 4})
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	unlock, err := db.LockPool(ctx, admin)
	if err != nil {
		return 0, err
	}
	defer unlock()
	loaderStore := postgres.New(admin, cipher)
	loaded, loadTook, reused, err := prepareData(ctx, admin, loaderStore, o.customers, o.batch, o.reload)
	if err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	mc, err := readContext(ctx, admin, o, loaded, loadTook)
	if err != nil {
		return 0, err
	}
	mc.reused = reused
	prewarm(ctx, admin)

	// The service, as `kirjuri serve` builds it, on the bench database.
	cfg.Database.URL = benchURL
	cfg.ClickHouse.URL = ""
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.BootstrapAPIKey = ""
	cfg.Connectors = nil
	cfg.Log.Level, cfg.Log.Format = "info", "json"
	cfg.EncryptionKey = encodeKey(benchKey)
	log, err := fileLogger(o.logFile)
	if err != nil {
		return 0, err
	}
	defer func() { _ = log.Sync() }()
	opts, err := app.Options(cfg, log)
	if err != nil {
		return 0, err
	}
	var (
		srv  *httpapi.Server
		keys ports.KeyStore
	)
	svc := fx.New(opts, fx.Populate(&srv, &keys))
	if err := svc.Err(); err != nil {
		return 0, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := svc.Start(startCtx); err != nil {
		return 0, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = svc.Stop(stopCtx)
	}()
	// A key of this run's own; the run lock makes the keys earlier runs
	// left behind safe to drop.
	secret := app.NewSecret()
	key := access.Key{ID: newID(), Name: "kirjuri-bench", Scopes: []access.Scope{access.CustomersRead, access.CustomersWrite}, CreatedAt: time.Now().UTC()}
	if _, err := admin.Exec(ctx, `DELETE FROM api_keys WHERE name = $1`, key.Name); err != nil {
		return 0, err
	}
	if err := keys.CreateKey(ctx, key, access.Hash(secret)); err != nil {
		return 0, err
	}
	defer func() { _, _ = admin.Exec(context.Background(), `DELETE FROM api_keys WHERE id = $1`, key.ID) }()
	mc.poolSize = cfg.Database.MaxConns

	// The floor, on its own pool of the service's size.
	floorPool, err := postgres.OpenPool(ctx, postgres.Config{DatabaseURL: benchURL, MaxConns: cfg.Database.MaxConns})
	if err != nil {
		return 0, err
	}
	defer floorPool.Close()
	floorAddr, stopFloor, err := startFloor(ctx, floorPool)
	if err != nil {
		return 0, err
	}
	defer stopFloor()

	var backend int
	if err := admin.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		return 0, err
	}
	cpu := newCPUMeter(admin, backend)

	t := targets{
		floor:   "http://" + floorAddr,
		kirjuri: "http://" + srv.Addr(),
		auth:    "Bearer " + secret,
		n:       o.customers,
		runID:   strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffffff)),
	}
	logf("kirjuri on %s, floor on %s; GOMAXPROCS %d; %d workers (find: %d); warm-up %s, window %s",
		t.kirjuri, t.floor, runtime.GOMAXPROCS(0), o.concurrency, o.findWorkers, o.warmup, o.duration)

	// The lookups (floor and kirjuri) run interleaved, in rounds of equal
	// slices, so that other work on the machine, which comes and goes,
	// falls on all of them alike. The others run once each.
	var lookups, others []scenario
	for _, sc := range t.scenarios(o) {
		if o.only != "" && !contains(o.only, sc.name) {
			continue
		}
		if sc.lookup {
			lookups = append(lookups, sc)
		} else {
			others = append(others, sc)
		}
	}
	var results []*result
	quietBudget := o.quietWait
	measure := func(sc scenario, client *http.Client, warmup, window time.Duration, slice string) (*result, error) {
		var profile string
		if o.profileDir != "" {
			if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
				return nil, err
			}
			profile = filepath.Join(o.profileDir, "cpu-"+sc.name+strings.NewReplacer(" ", "", "[", "-", "]", "", "/", "of").Replace(slice)+".pprof")
		}
		waitStart := time.Now()
		bg := cpu.waitQuiet(o.quietLimit/100, quietBudget)
		quietBudget = max(0, quietBudget-time.Since(waitStart))
		mc.waited += time.Since(waitStart)
		res, err := run(ctx, client, sc, warmup, window, cpu, profile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.name, err)
		}
		res.background = bg
		logf("%s%s: %d workers: %.0f req/s  p50 %s  p95 %s  p99 %s  max %s  failures %d  (machine %.0f %% busy before, %.0f %% during)",
			sc.name, slice, sc.workers, res.rate(), ms(res.pct(50, -1)), ms(res.pct(95, -1)), ms(res.pct(99, -1)),
			ms(res.pct(100, -1)), res.failures, 100*bg, 100*res.cpu.busy/max(res.cpu.total, 1e-9))
		if res.failures > 0 {
			logf("%s: first failure: %s", sc.name, res.firstErr)
		}
		return res, nil
	}
	if len(lookups) > 0 {
		rounds := max(1, o.rounds)
		slice := o.duration / time.Duration(rounds)
		clients := make([]*http.Client, len(lookups))
		merged := make([]*result, len(lookups))
		for i, sc := range lookups {
			clients[i] = newClient(sc.workers)
			defer clients[i].CloseIdleConnections()
		}
		for round := range rounds {
			for i, sc := range lookups {
				warmup := o.warmup
				if round > 0 {
					warmup = min(o.warmup, time.Second) // caches and connections are warm
				}
				res, err := measure(sc, clients[i], warmup, slice, fmt.Sprintf(" [%d/%d]", round+1, rounds))
				if err != nil {
					return 0, err
				}
				if merged[i] == nil {
					merged[i] = res
				} else {
					merged[i].merge(res)
				}
			}
		}
		results = append(results, merged...)
	}
	for _, sc := range others {
		client := newClient(sc.workers)
		res, err := measure(sc, client, o.warmup, o.duration, "")
		client.CloseIdleConnections()
		if err != nil {
			return 0, err
		}
		results = append(results, res)
	}
	if err := dropCreated(ctx, admin, loaded); err != nil {
		return 0, err
	}

	report := renderReport(results, mc, o)
	fmt.Print("\n" + report)
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
		return 0, err
	}
	logf("report written to %s; the service's log is %s", o.out, o.logFile)
	for _, r := range results {
		if r.failures > 0 {
			return 1, nil
		}
	}
	return 0, nil
}

// benchLock is the PostgreSQL advisory lock a run holds on the bench
// database, so that two runs (which would truncate, load, create and delete
// under each other, and share the machine) take turns.
const benchLock = 0x6b6972_6a757269 // "kirjuri"

func contains(list, name string) bool {
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

// fileLogger is app.NewLogger's JSON logger at info level, writing to a
// file instead of standard error.
func fileLogger(path string) (*zap.Logger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	zc.Sampling = nil
	zc.Level = zap.NewAtomicLevelAt(zapcore.InfoLevel)
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.DisableStacktrace = true
	zc.OutputPaths = []string{path}
	return zc.Build()
}
