package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// processCPU is the CPU time a process has used so far (every thread).
func processCPU(pid int) time.Duration {
	_, own, _, err := benchkit.ProcCPU(pid)
	if err != nil {
		return 0
	}
	return own
}

// postgresCPU is the CPU time the PostgreSQL server of the bench database
// has used so far for it: the live backends connected to the bench
// database, and the server's shared processes (WAL writer, checkpointer,
// background writer, autovacuum), which work for every database. Backends
// of other databases (another benchmark on the same server) are left out;
// so are backends that have exited (the service keeps its connections
// through an import). Its growth over an import is the database's share
// of the work.
func (b *bench) postgresCPU(ctx context.Context) time.Duration {
	if b.postmaster == 0 {
		var backend int
		if err := b.pool.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
			return 0
		}
		ppid, _, _, err := benchkit.ProcCPU(backend)
		if err != nil {
			return 0 // a server on another machine
		}
		b.postmaster = ppid
	}
	var total time.Duration
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		ppid, own, _, err := benchkit.ProcCPU(pid)
		if err != nil || ppid != b.postmaster {
			continue
		}
		// A backend's title is "postgres: user database host(port) state",
		// an autovacuum worker's "postgres: autovacuum worker database",
		// a shared process's "postgres: walwriter" and the like.
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		title := strings.ReplaceAll(string(raw), "\x00", " ")
		f := strings.Fields(title)
		ours := len(f) >= 3 && (f[2] == benchDB || len(f) >= 4 && f[1] == "autovacuum" && f[3] == benchDB)
		shared := !strings.Contains(title, "(") && !strings.Contains(title, "autovacuum worker")
		if ours || shared {
			total += own
		}
	}
	return total
}
