package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/test/internal/e2e"
)

// The API keys every server has. The bootstrap key (every scope) comes from
// KIRJURI_BOOTSTRAP_API_KEY; the others are made with `kirjuri apikey
// create` before `serve` starts, so their actor in the audit log is
// "apikey:<name>".
const (
	bootstrapSecret = "kir_audit-e2e-bootstrap-key-every-scope"
	clerkName       = "e2e-clerk"   // customers:read, customers:write, admin: makes the changes
	auditorName     = "e2e-auditor" // audit:read only: reads the audit log
	readerName      = "e2e-reader"  // customers:read only
	clerkActor      = "apikey:" + clerkName
)

// serverOptions tune one server.
type serverOptions struct {
	// batchSize is clickhouse.relay.batchSize (default 500).
	batchSize int
	// unreadyAfter is clickhouse.relay.unreadyAfter (kirjuri's default when
	// zero).
	unreadyAfter time.Duration
	// config is more YAML for the configuration file: whole top-level
	// sections other than clickhouse and log (jobs, imports).
	config string
}

// server is one kirjuri: the binary on a fresh PostgreSQL database and a
// fresh ClickHouse database, which it reaches through a proxy the test
// controls.
type server struct {
	t       *testing.T
	dir     string
	dbURL   string // PostgreSQL, as kirjuri uses it
	chURL   string // ClickHouse, directly (not through the proxy)
	proxy   *proxy
	cfgPath string
	env     []string

	clerk, auditor, reader string // secrets of the keys above

	client *http.Client

	mu        sync.Mutex
	base      string // http://127.0.0.1:port of the running process
	proc      *process
	runs      int
	allowErrs []string // messages of error log lines a test provokes on purpose
}

// process is one `kirjuri serve`.
type process struct {
	cmd     *exec.Cmd
	log     string
	exited  chan struct{}
	waitErr error
}

// startServer makes the databases, runs `kirjuri migrate` and `kirjuri
// apikey create`, and starts `kirjuri serve`. Everything is stopped and
// dropped when the test ends.
func startServer(t *testing.T, opts serverOptions) *server {
	t.Helper()
	// Skips (or fails under CI=true) without test servers.
	dbURL := pgtest.NewEmptyDatabase(t) // `kirjuri migrate` makes its schema
	chURL := chtest.NewDatabase(t)
	if binary == "" {
		t.Fatal("the kirjuri binary was not built (TestMain)")
	}
	u, err := url.Parse(chURL)
	if err != nil {
		t.Fatalf("ClickHouse URL: %v", err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.Addr()

	if opts.batchSize == 0 {
		opts.batchSize = 500
	}
	dir := t.TempDir()
	s := &server{
		t:     t,
		dir:   dir,
		dbURL: dbURL,
		chURL: chURL,
		proxy: p,
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: 32, MaxIdleConns: 32},
		},
	}
	// A short relay interval and backoff, so that a restored ClickHouse is
	// noticed within a fraction of a second.
	s.cfgPath = filepath.Join(dir, "kirjuri.yaml")
	cfg := fmt.Sprintf(`clickhouse:
  relay:
    batchSize: %d
    interval: 50ms
    maxBackoff: 250ms
`, opts.batchSize)
	if opts.unreadyAfter > 0 {
		cfg += fmt.Sprintf("    unreadyAfter: %s\n", opts.unreadyAfter)
	}
	cfg += "log:\n  level: info\n  format: json\n"
	cfg += opts.config
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = append(e2e.CleanEnv(),
		"KIRJURI_MODE=production", // no generated development key
		"KIRJURI_DATA_DIR="+filepath.Join(dir, "data"),
		"KIRJURI_DATABASE_URL="+dbURL,
		"KIRJURI_CLICKHOUSE_URL="+u.String(),
		"KIRJURI_BOOTSTRAP_API_KEY="+bootstrapSecret,
		"KIRJURI_ENCRYPTION_KEY="+e2e.RandomKey(),
		"TMPDIR="+s.tmpDir(), // the uploads, restored files and spools: see what is left
	)
	if err := os.Mkdir(s.tmpDir(), 0o700); err != nil {
		t.Fatal(err)
	}

	s.cli("migrate")
	s.clerk = s.newKey(clerkName, "customers:read,customers:write,admin")
	s.auditor = s.newKey(auditorName, "audit:read")
	s.reader = s.newKey(readerName, "customers:read")

	t.Cleanup(s.finish)
	s.serve()
	return s
}

// cli runs a kirjuri command to its end and returns its standard output.
func (s *server) cli(args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"--config", s.cfgPath}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("kirjuri %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String()
}

// newKey runs `kirjuri apikey create` and returns the secret it prints.
func (s *server) newKey(name, scopes string) string {
	s.t.Helper()
	secret := strings.TrimSpace(s.cli("apikey", "create", "--name", name, "--scopes", scopes))
	if !strings.HasPrefix(secret, "kir_") || strings.ContainsAny(secret, " \n") {
		s.t.Fatalf("apikey create printed %q, want one secret starting with kir_", secret)
	}
	return secret
}

// serve starts `kirjuri serve` on a free loopback port and waits until it
// answers /healthz.
func (s *server) serve() {
	s.t.Helper()
	for attempt := 1; ; attempt++ {
		err := s.trySpawn()
		if err == nil {
			return
		}
		// Another process may take the port between our probe and the
		// server's listen: try another one.
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		s.t.Fatalf("kirjuri serve: %v", err)
	}
}

func (s *server) trySpawn() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	s.mu.Lock()
	s.runs++
	logPath := filepath.Join(s.dir, fmt.Sprintf("serve-%d.log", s.runs))
	s.mu.Unlock()
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(binary, "--config", s.cfgPath, "serve")
	cmd.Dir = s.dir
	cmd.Env = append(append([]string{}, s.env...), "KIRJURI_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Killed with the test binary, should it end without stopping the
	// server (one was found still running, orphaned, an hour after a
	// passing run).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()

	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited at start (%v):\n%s", p.waitErr, e2e.Tail(logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("did not answer /healthz within 30s:\n%s", e2e.Tail(logPath, 40))
		}
		resp, err := s.client.Get(base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	s.base, s.proc = base, p
	s.mu.Unlock()
	return nil
}

// kill ends the running server with SIGKILL: no shutdown of any kind.
func (s *server) kill() {
	s.t.Helper()
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		s.t.Fatal("kill: no server is running")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatalf("kill -9: %v", err)
	}
	<-p.exited
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		s.t.Fatalf("after kill -9 the process ended with %v, want signal: killed", p.waitErr)
	}
	s.checkLog(p.log)
}

// stop ends the running server with SIGTERM, as a service manager does, and
// expects a clean exit.
func (s *server) stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			s.t.Errorf("kirjuri serve ended with %v after SIGTERM:\n%s", p.waitErr, e2e.Tail(p.log, 40))
		}
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		s.t.Errorf("kirjuri serve did not stop within 40s of SIGTERM:\n%s", e2e.Tail(p.log, 40))
	}
	s.checkLog(p.log)
}

// tmpDir is the server's TMPDIR.
func (s *server) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// finish stops the server and shows its log when the test failed.
func (s *server) finish() {
	s.stop()
	if keep := os.Getenv("AUDIT_E2E_KEEP_LOGS"); keep != "" {
		to := filepath.Join(keep, strings.ReplaceAll(s.t.Name(), "/", "_"))
		if err := os.CopyFS(to, os.DirFS(s.dir)); err != nil {
			s.t.Logf("keep logs: %v", err)
		}
	}
	if s.t.Failed() {
		for i := 1; i <= s.runs; i++ {
			path := filepath.Join(s.dir, fmt.Sprintf("serve-%d.log", i))
			s.t.Logf("--- %s (last lines) ---\n%s", filepath.Base(path), e2e.Tail(path, 60))
		}
	}
}

// allowErrorLog accepts error log lines with this message: a test that
// provokes them on purpose says so.
func (s *server) allowErrorLog(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowErrs = append(s.allowErrs, msg)
}

// checkLog fails the test on error-level log lines nobody expected: an
// error logged by kirjuri is a 500, a panic or a lost event. It also fails
// on any personal data of the test customers in the log.
func (s *server) checkLog(path string) {
	f, err := os.Open(path)
	if err != nil {
		s.t.Errorf("read the server log: %v", err)
		return
	}
	defer f.Close()
	s.mu.Lock()
	allowed := append([]string(nil), s.allowErrs...)
	s.mu.Unlock()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(line, &entry) != nil {
			continue // not a zap line (e.g. a Go runtime message)
		}
		switch entry.Level {
		case "error", "dpanic", "panic", "fatal":
			ok := entry.Level == "error" && contains(allowed, entry.Msg)
			if !ok {
				s.t.Errorf("the server logged: %s", line)
			}
		}
		for _, pii := range piiMarkers {
			if bytes.Contains(line, []byte(pii)) {
				s.t.Errorf("personal data %q in the server log: %s", pii, line)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
