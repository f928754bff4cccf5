package api

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kirjuri/adapters/postgres/pgtest"
)

// The binary is built once per test run, on first use.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func kirjuriBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "kirjuri-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "kirjuri")
		cmd := exec.Command("go", "build", "-o", binPath, "kirjuri/app/cmd/kirjuri")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cli runs the kirjuri binary with a clean environment: no KIRJURI_*
// variable of the caller's leaks in.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

func newCLI(t *testing.T, vars map[string]string) *cli {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KIRJURI_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return &cli{t: t, bin: kirjuriBinary(t), env: env}
}

func (c *cli) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Env = c.env
	cmd.Dir = c.t.TempDir() // no kirjuri.yaml of the repository is read
	return cmd
}

// run runs a command to its end and returns its exit code and output.
func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := c.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		c.t.Fatalf("kirjuri %s: %v", strings.Join(args, " "), err)
	}
	return 0, out.String(), errOut.String()
}

// TestBinary drives the real binary: `kirjuri migrate` on an empty
// database, `kirjuri apikey create` for keys of different scopes, and
// `kirjuri serve` configured through the environment, stopped by SIGTERM.
func TestBinary(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDatabase(t)
	// An empty KIRJURI_CLICKHOUSE_URL is ignored (the default, the dev
	// ClickHouse, stays), so the audit part is switched off by a file.
	cfgFile := filepath.Join(t.TempDir(), "kirjuri.yaml")
	if err := os.WriteFile(cfgFile, []byte("clickhouse:\n  url: \"\"\nlog:\n  format: json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	c := newCLI(t, map[string]string{
		"KIRJURI_MODE":              "production",
		"KIRJURI_DATABASE_URL":      dbURL,
		"KIRJURI_HTTP_ADDR":         addr,
		"KIRJURI_BOOTSTRAP_API_KEY": bootstrapSecret,
		"KIRJURI_ENCRYPTION_KEY":    randomKey(),
	})
	conf := "--config=" + cfgFile

	code, out, errOut := c.run(conf, "migrate")
	if code != 0 || !strings.Contains(out, "PostgreSQL schema is up to date") || !strings.Contains(out, "ClickHouse not configured") {
		t.Fatalf("kirjuri migrate: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := c.run(conf, "migrate"); code != 0 {
		t.Fatalf("kirjuri migrate, again: exit %d\n%s%s", code, out, errOut)
	}

	newKey := func(name, scopes string) string {
		t.Helper()
		code, out, errOut := c.run(conf, "apikey", "create", "--name", name, "--scopes", scopes)
		secret := strings.TrimSpace(out)
		if code != 0 || !strings.HasPrefix(secret, "kir_") || strings.Contains(secret, "\n") {
			t.Fatalf("apikey create: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if strings.Contains(errOut, secret) {
			t.Errorf("apikey create repeats the secret on stderr")
		}
		return secret
	}
	writer := newKey("cli-writer", "customers:read,customers:write")
	reader := newKey("cli-reader", "customers:read")
	if writer == reader {
		t.Fatal("two keys with one secret")
	}
	if code, _, errOut := c.run(conf, "apikey", "create", "--name", "x", "--scopes", "customers:rule"); code == 0 || !strings.Contains(errOut, "customers:rule") {
		t.Errorf("apikey create with an unknown scope: exit %d, stderr %q", code, errOut)
	}

	// Serve.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var logs bytes.Buffer
	srv := c.command(ctx, conf, "serve")
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// done is closed when the process has exited; waitErr is then its
	// result.
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("kirjuri serve output:\n%s", logs.String())
		}
	}()
	e := &env{t: t, base: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	waitReady(t, e, done)

	r := e.want(e.do(req{method: http.MethodPost, path: "/v1/customers", key: writer, body: person("Binääri", "Asiakas", obj{"ssn": "131052-308T"})}), http.StatusCreated)
	created := decode[Customer](t, r)
	if created.Number < 10000 || created.SSN == "131052-308T" {
		t.Errorf("created through the binary: number %d ssn %q", created.Number, created.SSN)
	}
	e.wantProblem(e.do(req{method: http.MethodPost, path: "/v1/customers", key: reader, body: person("A", "B", nil)}), http.StatusForbidden, "")
	if got := decode[Customer](t, e.want(e.get("/v1/customers/"+created.ID, bootstrapSecret), http.StatusOK)); got.SSN != "131052-308T" {
		t.Errorf("bootstrap key (every scope) sees ssn %q", got.SSN)
	}
	e.wantProblem(e.get("/v1/customers", ""), http.StatusUnauthorized, "")

	// SIGTERM stops it gracefully, with exit code 0.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("kirjuri serve after SIGTERM: %v", waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("kirjuri serve did not stop within 20 s of SIGTERM")
	}
	// The logs never hold the identity code or the key secrets.
	for _, secret := range []string{"131052-308T", writer, reader, bootstrapSecret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the server log holds a secret or an identity code (%.8s...)", secret)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

func waitReady(t *testing.T, e *env, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatal("kirjuri serve exited before it was ready")
		default:
		}
		hr, _ := http.NewRequest(http.MethodGet, e.base+"/readyz", nil)
		if resp, err := e.client.Do(hr); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("kirjuri serve was not ready within 30 s")
}
