// Command task is how this repository runs go-task: `go tool task <args>`.
//
// go-task is pinned in tools/go-task/go.mod, a module of its own, so that
// none of its dependencies enter the service's go.mod. This launcher is the
// service module's tool named task; it uses the standard library only and
// runs
//
//	go tool -modfile=<repo>/tools/go-task/go.mod task <args>
//
// in the current folder, saying so when that first has to build go-task.
//
// It also passes stop signals on. go-task deliberately does not forward the
// signals it receives to the commands it runs: it expects them to get the
// terminal's signal through the process group. So a SIGTERM sent to `go
// tool task run` alone (kill PID, docker stop, a process manager that
// signals the main process only) went go → go-task and stopped there, and
// kirjuri kept serving. The launcher sends each SIGINT, SIGTERM and SIGHUP
// it receives to every process below go-task (the commands of the running
// tasks, kirjuri among them), so every way of stopping ends in kirjuri's
// graceful stop. go-task itself is left out: it already gets the signal
// through the process group and the go command, and force-quits on the
// third.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const modfile = "tools/go-task/go.mod"

func main() {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "go tool task:", err)
		os.Exit(2)
	}
	args := append([]string{"tool", "-modfile=" + filepath.Join(root, modfile), "task"}, os.Args[1:]...)
	cmd := exec.Command("go", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	// Registered before the start, so that no signal is lost in between.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "go tool task:", err)
		os.Exit(1)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// A first run builds go-task (tens of seconds) with nothing on screen
	// but go's download lines: say what is going on.
	building := time.After(2 * time.Second)
	for {
		select {
		case sig := <-sigs:
			forward(cmd.Process.Pid, sig.(syscall.Signal))
		case <-building:
			if !goTaskStarted(cmd.Process.Pid) {
				fmt.Fprintf(os.Stderr, "go tool task: building go-task (%s; first run only, about half a minute)…\n", modfile)
			}
		case err := <-done:
			signal.Stop(sigs)
			os.Exit(exitCode(err))
		}
	}
}

// repoRoot is the nearest folder at or above the working directory that
// holds tools/go-task/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, modfile)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no %s in this folder or above: run it inside the kirjuri repository", modfile)
		}
		dir = parent
	}
}

// forward sends sig to every process below go-task, the child of goPID.
// Before go-task runs (while go still builds it), the go command gets it
// instead and stops the build.
func forward(goPID int, sig syscall.Signal) {
	children := childrenByParent()
	var targets []int
	for _, task := range children[goPID] {
		if comm(task) != "task" {
			continue
		}
		// Breadth first: the commands go-task runs and their children.
		queue := append([]int(nil), children[task]...)
		for len(queue) > 0 {
			pid := queue[0]
			queue = queue[1:]
			targets = append(targets, pid)
			queue = append(queue, children[pid]...)
		}
		if len(targets) == 0 {
			return // go-task between two commands: it got the signal too
		}
	}
	if len(targets) == 0 {
		targets = []int{goPID}
	}
	for _, pid := range targets {
		_ = syscall.Kill(pid, sig)
	}
}

func goTaskStarted(goPID int) bool {
	for _, pid := range childrenByParent()[goPID] {
		if comm(pid) == "task" {
			return true
		}
	}
	return false
}

// childrenByParent reads the process table from /proc (Linux). Elsewhere
// it is empty, and signals go to the go command only.
func childrenByParent() map[int][]int {
	m := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			m[ppid] = append(m[ppid], pid)
		}
	}
	return m
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "go tool task:", err)
	return 1
}
