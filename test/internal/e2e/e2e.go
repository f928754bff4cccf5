// Package e2e starts the real kirjuri binary for end-to-end tests, as the
// harness of test/audit does, in the small: `go build` of app/cmd/kirjuri
// once per test binary, then for each test a fresh PostgreSQL database and a
// fresh ClickHouse database of the test servers, `kirjuri migrate`, and
// `kirjuri serve` on a free loopback port with a bootstrap key of every
// scope. Without test servers the tests skip, and fail under CI=true
// (pgtest, chtest).
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/adapters/postgres/pgtest"
)

// bootstrapKey is the bootstrap API key of every server.
const bootstrapKey = "kir_e2e-bootstrap-key-with-every-scope"

// AllScopes are the scopes of Server.Key.
const AllScopes = "customers:read,customers:write,pii:read,imports,audit:read,admin"

// ModuleRoot finds the module's root folder from the working directory (a
// test runs in its package folder).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// Build compiles app/cmd/kirjuri into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "kirjuri")
	cmd := exec.Command(goTool(), "build", "-o", out, "./app/cmd/kirjuri")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./app/cmd/kirjuri: %w", err)
	}
	return out, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// Server is one running `kirjuri serve`.
type Server struct {
	// Base is http://127.0.0.1:port.
	Base string
	// Key is the secret of an API key with every scope (AllScopes), made
	// with `kirjuri apikey create` before serve started.
	Key  string
	dir  string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start makes the databases, migrates them and starts the binary. It is
// stopped with SIGTERM when the test ends; a test that failed shows the end
// of the server's log.
func Start(t *testing.T, binary string) *Server {
	t.Helper()
	dbURL := pgtest.NewEmptyDatabase(t)
	chURL := chtest.NewDatabase(t)
	if binary == "" {
		t.Fatal("the kirjuri binary was not built (TestMain: e2e.Main)")
	}
	dir := t.TempDir()
	env := append(CleanEnv(),
		"KIRJURI_MODE=production",
		"KIRJURI_DATA_DIR="+filepath.Join(dir, "data"),
		"KIRJURI_DATABASE_URL="+dbURL,
		"KIRJURI_CLICKHOUSE_URL="+chURL,
		"KIRJURI_BOOTSTRAP_API_KEY="+bootstrapKey,
		"KIRJURI_ENCRYPTION_KEY="+RandomKey(),
		"KIRJURI_LOG_FORMAT=json",
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	migrate := exec.CommandContext(ctx, binary, "migrate")
	migrate.Dir, migrate.Env = dir, env
	if out, err := migrate.CombinedOutput(); err != nil {
		t.Fatalf("kirjuri migrate: %v\n%s", err, out)
	}
	// The key the tests use is made before serve starts, as an operator
	// would: serve answers /healthz before its bootstrap key is stored.
	create := exec.CommandContext(ctx, binary, "apikey", "create", "--name", "e2e", "--scopes", AllScopes)
	create.Dir, create.Env = dir, env
	var stderr bytes.Buffer
	create.Stderr = &stderr
	secret, err := create.Output()
	if err != nil {
		t.Fatalf("kirjuri apikey create: %v\n%s", err, stderr.Bytes())
	}

	var s *Server
	defer func() {
		if s != nil {
			s.Key = strings.TrimSpace(string(secret))
		}
	}()
	for attempt := 1; ; attempt++ {
		var err error
		s, err = spawn(binary, dir, env, attempt)
		if err == nil {
			break
		}
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		t.Fatalf("kirjuri serve: %v", err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			t.Errorf("kirjuri serve did not stop within 30s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("--- end of the server's log ---\n%s", Tail(s.log, 40))
		}
	})
	return s
}

func spawn(binary, dir string, env []string, attempt int) (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	logPath := filepath.Join(dir, fmt.Sprintf("serve-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, env...), "KIRJURI_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Base: "http://" + addr, dir: dir, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("exited at start (%v):\n%s", s.err, Tail(logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-s.done
			return nil, fmt.Errorf("did not answer /healthz within 30s:\n%s", Tail(logPath, 40))
		}
		resp, err := client.Get(s.Base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log is what the server has logged so far.
func (s *Server) Log() []byte {
	b, _ := os.ReadFile(s.log)
	return b
}

// ServersConfigured tells whether pgtest and chtest will find test servers;
// a TestMain builds the binary only then.
func ServersConfigured() bool {
	pg := os.Getenv("KIRJURI_TEST_DATABASE_URL") != "" || os.Getenv("KIRJURI_DATABASE_URL") != ""
	ch := os.Getenv("KIRJURI_TEST_CLICKHOUSE_URL") != "" || os.Getenv("KIRJURI_CLICKHOUSE_URL") != ""
	return pg && ch
}

// CleanEnv is the environment without KIRJURI_ variables, so that nothing of
// the developer's own configuration reaches a server a test starts.
func CleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KIRJURI_") {
			out = append(out, kv)
		}
	}
	return out
}

// RandomKey is a fresh encryption key: 32 random bytes, standard base64.
func RandomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// Tail returns the last n lines of a file (or says why it cannot).
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// Main is a TestMain's body: it builds the binary into *binary when test
// servers are configured (otherwise the tests skip, or fail under CI=true,
// through pgtest and chtest), runs the tests and returns the exit code.
func Main(m *testing.M, binary *string) int {
	if ServersConfigured() {
		dir, err := os.MkdirTemp("", "kirjuri-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if *binary, err = Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
	}
	return m.Run()
}
