package run

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/adapters/postgres/pgtest"
)

// The README's run command, stopped every way a terminal or a process
// manager stops it, ends in kirjuri's graceful stop. go-task does not pass
// the signals it receives on to the commands it runs; tools/task does.
func TestRunStopsGracefully(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		group bool // to the process group; else to its leader (go) alone
		exit  int  // -1: any
	}{
		// The exit status is 0 or, as shells report a command ended by a
		// signal, 128 + the signal: go-task answers 128 + n when the
		// signal reaches it before kirjuri's clean exit does (a race of a
		// millisecond; which one wins does not matter to the stop itself).
		{"SIGTERM to the process group", syscall.SIGTERM, true, 0},
		{"SIGTERM to the leader alone", syscall.SIGTERM, false, 0},
		{"SIGINT to the process group (Ctrl-C)", syscall.SIGINT, true, 0},
		{"SIGINT to the leader alone", syscall.SIGINT, false, 0},
		// go-task dies of a SIGHUP at once (it catches only SIGINT and
		// SIGTERM), so the command's own status is go-task's; kirjuri, which
		// got the signal too, still stops gracefully.
		{"SIGHUP to the process group (terminal closed)", syscall.SIGHUP, true, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRun(t)
			target := r.cmd.Process.Pid
			if tc.group {
				target = -target
			}
			if err := syscall.Kill(target, tc.sig); err != nil {
				t.Fatal(err)
			}
			code := r.wait(t, time.Minute)
			out := r.out.String()
			if !strings.Contains(out, `"msg":"stopped gracefully"`) {
				t.Errorf("kirjuri did not log its graceful stop; output:\n%s", out)
			}
			if tc.exit >= 0 && code != tc.exit && code != 128+int(tc.sig) {
				t.Errorf("exit status %d, want %d or %d; output:\n%s", code, tc.exit, 128+int(tc.sig), out)
			}
			// Nothing of the run is left behind.
			if left := groupMembers(r.cmd.Process.Pid); len(left) > 0 {
				t.Errorf("processes of the run still alive after it ended: %v", left)
			}
			if _, err := http.Get(r.base + "/healthz"); err == nil {
				t.Errorf("%s still answers after the run ended", r.base)
			}
		})
	}
}

// go-task's own lines carry no colour codes when they go to a pipe, CI or
// not (later go-task releases coloured them whenever CI=true).
func TestTaskOutputPlainOffTerminal(t *testing.T) {
	cmd := exec.Command("go", "tool", "task", "--list")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CI=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go tool task --list: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("\x1b[")) {
		t.Errorf("colour codes in output to a pipe: %q", out)
	}
	if !bytes.Contains(out, []byte("servers:test-down")) {
		t.Errorf("task list without servers:test-down:\n%s", out)
	}
}

type run struct {
	cmd  *exec.Cmd
	base string
	out  *syncBuffer
	done chan struct{}
	err  error
}

// startRun starts `go tool task run DEV_SERVERS=false` in a process group
// of its own, on fresh databases of the test servers and a free port, and
// waits until /healthz answers.
func startRun(t *testing.T) *run {
	t.Helper()
	env, addr := serviceEnv(t) // `kirjuri migrate` (in the task) makes the schema
	r := &run{base: "http://" + addr, out: &syncBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command("go", "tool", "task", "run", "DEV_SERVERS=false")
	r.cmd.Dir = repoRoot(t)
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
	})

	// A cold build of bin/kirjuri takes minutes; a warm one seconds.
	waitHealthy(t, r.base, r.done, 5*time.Minute, r.out)
	return r
}

// wait returns the run's exit status, failing the test when it does not
// end within d.
func (r *run) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(d):
		t.Fatalf("the run did not end within %s of the signal; output:\n%s", d, r.out)
	}
	if r.err == nil {
		return 0
	}
	if exit, ok := r.err.(*exec.ExitError); ok {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	t.Fatalf("run: %v", r.err)
	return -1
}

// groupMembers lists the live processes of process group pgid as "pid
// command" (zombies, which a container's init may be slow to reap, do not
// count).
func groupMembers(pgid int) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state ppid pgrp …
		if len(f) >= 3 && f[0] != "Z" && f[2] == strconv.Itoa(pgid) {
			out = append(out, e.Name()+" "+s[strings.IndexByte(s, '(')+1:i])
		}
	}
	return out
}

// serviceEnv is this process's environment without its KIRJURI_
// variables, plus fresh, empty databases on the test servers, a free
// address, a data folder of the test's and JSON logs: for one kirjuri
// service. It returns the address too.
func serviceEnv(t *testing.T) ([]string, string) {
	t.Helper()
	dbURL := pgtest.NewEmptyDatabase(t)
	chURL := chtest.NewDatabase(t)
	addr := freeAddr(t)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KIRJURI_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"KIRJURI_DATABASE_URL="+dbURL,
		"KIRJURI_CLICKHOUSE_URL="+chURL,
		"KIRJURI_HTTP_ADDR="+addr,
		"KIRJURI_DATA_DIR="+t.TempDir(),
		"KIRJURI_LOG_FORMAT=json",
	), addr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// repoRoot: go test runs in the package folder, two below the root.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The service's module graph holds none of go-task's dependencies: `go
// tool task` is the launcher in tools/task, and go-task lives in
// tools/go-task/go.mod.
func TestServiceModuleHoldsNoTaskDependencies(t *testing.T) {
	cmd := exec.Command("go", "list", "-m", "all")
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	for _, m := range strings.Fields(string(out)) {
		for _, bad := range []string{"github.com/go-task/", "mvdan.cc/sh", "charm.land/", "github.com/aws/"} {
			if strings.HasPrefix(m, bad) {
				t.Errorf("the service's go.mod requires %s", m)
			}
		}
	}
	cmd = exec.Command("go", "tool")
	cmd.Dir = repoRoot(t)
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go tool: %v", err)
	}
	if !strings.Contains(string(out), "kirjuri/tools/task") {
		t.Errorf("go tool lists no kirjuri/tools/task:\n%s", out)
	}
}

// One Ctrl-C reaches kirjuri up to three times under `go tool task run`:
// through the process group, and passed on by the launcher for each copy
// the go commands pass on to it. However many stop signals arrive, and
// whenever (during the stop, or as the process exits), kirjuri stops
// gracefully and exits 0; it never dies of a later one.
func TestServeOutlastsRepeatedStopSignals(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "kirjuri")
	build := exec.Command("go", "build", "-o", bin, "./app/cmd/kirjuri")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for i := range 20 {
		env, addr := serviceEnv(t)
		env = append(env, "KIRJURI_MODE=development") // as the run task sets it
		migrate := exec.Command(bin, "migrate")
		migrate.Env = env
		if out, err := migrate.CombinedOutput(); err != nil {
			t.Fatalf("kirjuri migrate: %v\n%s", err, out)
		}
		out := &syncBuffer{}
		cmd := exec.Command(bin, "serve")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var err error
		done := make(chan struct{})
		go func() { err = cmd.Wait(); close(done) }()
		waitHealthy(t, "http://"+addr, done, time.Minute, out)

		// Signals, one after another, until the process is gone.
	signals:
		for n := 0; ; n++ {
			select {
			case <-done:
				break signals
			default:
			}
			sig := []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}[n%3]
			_ = cmd.Process.Signal(sig)
			if n > 2_000_000 {
				_ = cmd.Process.Kill()
				t.Fatalf("round %d: kirjuri did not end under repeated stop signals; output:\n%s", i, out)
			}
		}
		if err != nil {
			t.Fatalf("round %d: kirjuri serve ended with %v under repeated stop signals, want exit status 0; output:\n%s", i, err, out)
		}
		if !strings.Contains(out.String(), `"msg":"stopped gracefully"`) {
			t.Fatalf("round %d: no graceful stop in the log; output:\n%s", i, out)
		}
	}
}

// waitHealthy waits until base/healthz answers 200, failing the test when
// the process ends first (ended is closed) or within passes.
func waitHealthy(t *testing.T, base string, ended <-chan struct{}, within time.Duration, out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ended:
			t.Fatalf("kirjuri ended before serving; output:\n%s", out)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer within %s; output:\n%s", within, out)
		}
	}
}
