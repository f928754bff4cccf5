package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
)

// benchKey encrypts the identity codes of the bench database only (the
// generated customers have none).
var benchKey = []byte("kirjuri-bench-conn identity key!")

// benchLock is the advisory lock a run holds (on the server's postgres
// database), so that two runs, which would drop the database under each
// other and share the machine, take turns.
const benchLock = 0x6b6972_636f6e6e // "kir" "conn"

// lockBench connects to the server's postgres database and takes the run
// lock, waiting for another run to finish. The connection is returned; it
// holds the lock until closed.
func (b *bench) lockBench(ctx context.Context) (*pgx.Conn, error) {
	adminURL, err := withDatabase(b.opts.databaseURL, "postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the PostgreSQL server: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, benchLock).Scan(&got); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	if !got {
		logf("another kirjuri-bench-connectors run holds the lock; waiting for it to finish")
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, benchLock); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("wait for the other run: %w", err)
		}
	}
	return conn, nil
}

// freshDatabase drops the bench database (with any connection a crashed
// run left), creates and migrates it, and returns its URL.
func (b *bench) freshDatabase(ctx context.Context, admin *pgx.Conn) (string, error) {
	benchURL, err := withDatabase(b.opts.databaseURL, benchDB)
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+benchDB+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop database %s: %w", benchDB, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+benchDB); err != nil {
		return "", fmt.Errorf("create database %s: %w", benchDB, err)
	}
	if err := postgres.Migrate(ctx, benchURL); err != nil {
		return "", err
	}
	return benchURL, nil
}

func withDatabase(serverURL, db string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", errors.New("the database URL does not parse")
	}
	u.Path = "/" + db
	return u.String(), nil
}

// buildService builds the service as `go build` does, into the bench
// folder.
func (b *bench) buildService(ctx context.Context) (string, error) {
	bin, pkg := filepath.Join(b.opts.dir, "kirjuri"), "./app/cmd/kirjuri"
	if b.opts.cpuProfile {
		pkg = "./app/cmd/kirjuri-profiled"
	}
	logf("building %s (go build %s)", bin, pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./app/cmd/kirjuri (run from the module's root): %w", err)
	}
	return bin, nil
}

// service is the `kirjuri serve` subprocess.
type service struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	key     string // bootstrap API key (every scope)
	logPath string
	exited  chan error
	client  *http.Client // for polls and checks
}

// startService runs `kirjuri serve` on the bench database with the
// webstore connector enabled under secret, a bootstrap key of its own,
// ClickHouse off unless --clickhouse, logging at info level to a file, and
// waits until it answers /readyz.
func (b *bench) startService(ctx context.Context, secret string) (*service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	s := &service{
		base:    "http://127.0.0.1:" + strconv.Itoa(port),
		key:     "kir_bench_" + base64.RawURLEncoding.EncodeToString(raw),
		logPath: filepath.Join(b.opts.dir, "kirjuri.log"),
		exited:  make(chan error, 1),
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}, Timeout: 30 * time.Second},
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KIRJURI_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"KIRJURI_DATABASE_URL="+b.benchURL,
		"KIRJURI_CLICKHOUSE_URL="+b.opts.clickhouseURL,
		"KIRJURI_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"KIRJURI_BOOTSTRAP_API_KEY="+s.key,
		"KIRJURI_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(benchKey),
		"KIRJURI_DATA_DIR="+filepath.Join(b.opts.dir, "data"),
		"KIRJURI_LOG_LEVEL=info",
		"KIRJURI_LOG_FORMAT=json",
		"KIRJURI_CONNECTORS_WEBSTORE_ENABLED=true",
		"KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET="+secret,
	)
	if b.opts.cpuProfile {
		env = append(env, "KIRJURI_BENCH_CPU_PROFILE="+filepath.Join(b.opts.dir, "cpu.pprof"))
	}
	if b.opts.jobWorkers > 0 {
		env = append(env, "KIRJURI_JOBS_WORKERS="+strconv.Itoa(b.opts.jobWorkers))
	}
	env = append(env, b.opts.serviceEnv...)
	s.cmd = exec.Command(b.bin, "serve")
	// Its own folder, so that a kirjuri.yaml of the working tree does not
	// apply.
	s.cmd.Dir = b.opts.dir
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", b.bin, err)
	}
	go func() { s.exited <- s.cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("kirjuri serve exited while starting (%v); see %s", err, s.logPath)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := s.client.Get(s.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("kirjuri serve was not ready within 60 s; see %s", s.logPath)
		}
	}
	time.Sleep(500 * time.Millisecond) // River's leader election, the first GC
	return s, nil
}

// stop ends the service gracefully (SIGTERM), killing it after 30 s.
func (s *service) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.client.CloseIdleConnections()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ------------------------------------------------------------ the machine

// waitQuiet waits until the machine, without this benchmark, is busier
// than --quiet no more (sampled over 2 s from /proc/stat), for at most what
// is left of --quiet-wait, and returns the load average then.
func (b *bench) waitQuiet(what string) string {
	start := time.Now()
	for {
		busy, ok := machineBusy(2 * time.Second)
		if !ok || busy <= b.opts.quietLimit || b.quiet-time.Since(start) <= 0 {
			break
		}
		logf("before %s: the machine is %.0f %% busy with other work; waiting for it to calm down", what, 100*busy)
	}
	b.quiet = max(0, b.quiet-time.Since(start))
	b.rep.waited += time.Since(start)
	return loadAverage()
}

// cpuTicks is /proc/stat's first line: busy and total ticks of all cores.
func cpuTicks() (busy, total float64, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	for i, s := range strings.Fields(line)[1:] {
		if i >= 8 { // guest time is in user already
			break
		}
		v, _ := strconv.ParseFloat(s, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, true
}

// machineBusy is the share of all cores busy over d.
func machineBusy(d time.Duration) (float64, bool) {
	b0, t0, ok := cpuTicks()
	if !ok {
		return 0, false
	}
	time.Sleep(d)
	b1, t1, _ := cpuTicks()
	return (b1 - b0) / max(t1-t0, 1e-9), true
}

// procTicks is a process's user + system CPU ticks (/proc/<pid>/stat) and
// its parent's pid.
func procTicks(pid int) (ticks float64, ppid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:]) // f[0] is the state, field 3 of the file
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return u + st, ppid, true
}

// treeTicks sums the CPU ticks of root and its children (PostgreSQL's
// postmaster and its backends; exited backends are not counted, which is
// why the benchmark's connections stay open through a window).
func treeTicks(root int) float64 {
	sum, _, _ := procTicks(root)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if t, pp, ok := procTicks(pid); ok && pp == root {
			sum += t
		}
	}
	return sum
}

// loadAverage is /proc/loadavg's three figures.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// machine is what the figures depend on besides the code.
type machine struct {
	started                      time.Time
	cpuModel                     string
	cores, gomaxprocs            int
	memory, goVersion            string
	pgVersion, fsync, syncCommit string
	commitDelay, sharedBuffers   string
	postmaster                   int
	loadStart, loadEnd           string
}

func readMachine() machine {
	m := machine{started: time.Now(), cores: runtime.NumCPU(), gomaxprocs: runtime.GOMAXPROCS(0),
		goVersion: runtime.Version(), loadStart: loadAverage()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
				m.memory = fmt.Sprintf("%.0f GiB", kb/(1<<20))
			}
		}
	}
	return m
}

// readPostgres reads the server's settings and finds the postmaster (the
// parent of this connection's backend) for the CPU split.
func (m *machine) readPostgres(ctx context.Context, pool *pgxpool.Pool) {
	var backend int
	_ = pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('commit_delay'), current_setting('shared_buffers'), pg_backend_pid()`).
		Scan(&m.pgVersion, &m.fsync, &m.syncCommit, &m.commitDelay, &m.sharedBuffers, &backend)
	if _, pp, ok := procTicks(backend); ok {
		m.postmaster = pp
	}
}
