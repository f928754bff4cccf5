package benchkit

import (
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
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The packages a benchmark builds its service from: the service itself,
// or the same with a CPU profile and an execution trace of its whole run
// (--cpu-profile).
const (
	ServicePackage  = "./app/cmd/kirjuri"
	ProfiledPackage = "./app/cmd/kirjuri-profiled"
)

// Build builds pkg into bin as `go build` does; it runs from the module's
// root.
func Build(ctx context.Context, bin, pkg string) error {
	Logf("building %s (go build %s)", bin, pkg)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s (run from the module's root): %w", pkg, err)
	}
	return nil
}

// ServiceConfig is how to run `kirjuri serve` for a benchmark.
type ServiceConfig struct {
	Bin string // the built service
	// Dir is its working folder, the benchmark's own, so that a
	// kirjuri.yaml of the working tree does not apply; its data folder is
	// Dir/data.
	Dir           string
	LogPath       string // its standard output and error
	DatabaseURL   string
	ClickHouseURL string // "": ClickHouse off (the consent events wait in the outbox)
	EncryptionKey []byte // of the bench database's identity codes
	// Env is more KEY=VALUE for its environment, after the above (the
	// benchmark's own settings, then --service-env, which wins).
	Env    []string
	Client *http.Client // for the readiness polls and the benchmark's requests
}

// Service is one `kirjuri serve` subprocess.
type Service struct {
	Cmd     *exec.Cmd
	Base    string // http://127.0.0.1:port
	Key     string // bootstrap API key (every scope)
	LogPath string
	Client  *http.Client
	exited  chan error
}

// StartService runs `kirjuri serve` on a free loopback port with a
// bootstrap key of its own and no KIRJURI_ variable of this process's
// environment, logging at info level (JSON) to c.LogPath, and waits until
// it answers /readyz.
func StartService(ctx context.Context, c ServiceConfig) (*Service, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	raw := make([]byte, 24)
	_, _ = rand.Read(raw)
	s := &Service{
		Base:    "http://127.0.0.1:" + strconv.Itoa(port),
		Key:     "kir_bench_" + base64.RawURLEncoding.EncodeToString(raw),
		LogPath: c.LogPath,
		Client:  c.Client,
		exited:  make(chan error, 1),
	}
	logFile, err := os.Create(s.LogPath)
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
		"KIRJURI_DATABASE_URL="+c.DatabaseURL,
		"KIRJURI_CLICKHOUSE_URL="+c.ClickHouseURL,
		"KIRJURI_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"KIRJURI_BOOTSTRAP_API_KEY="+s.Key,
		"KIRJURI_ENCRYPTION_KEY="+base64.StdEncoding.EncodeToString(c.EncryptionKey),
		"KIRJURI_DATA_DIR="+filepath.Join(c.Dir, "data"),
		"KIRJURI_LOG_LEVEL=info",
		"KIRJURI_LOG_FORMAT=json",
	)
	env = append(env, c.Env...)
	s.Cmd = exec.Command(c.Bin, "serve")
	s.Cmd.Dir = c.Dir
	s.Cmd.Env = env
	s.Cmd.Stdout, s.Cmd.Stderr = logFile, logFile
	if err := s.Cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", c.Bin, err)
	}
	go func() { s.exited <- s.Cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("kirjuri serve exited while starting (%v); see %s", err, s.LogPath)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := s.Client.Get(s.Base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("kirjuri serve was not ready within 60 s; see %s", s.LogPath)
		}
	}
	// Let the start-up settle (River's leader election, the first GC)
	// before anything is measured.
	time.Sleep(500 * time.Millisecond)
	return s, nil
}

// Pid is the service's process id.
func (s *Service) Pid() int { return s.Cmd.Process.Pid }

// Stop ends the service gracefully (SIGTERM), killing it after 30 s.
func (s *Service) Stop() {
	if s.Cmd == nil || s.Cmd.Process == nil {
		return
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err
	case <-time.After(30 * time.Second):
		_ = s.Cmd.Process.Kill()
		<-s.exited
	}
	s.Client.CloseIdleConnections()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
