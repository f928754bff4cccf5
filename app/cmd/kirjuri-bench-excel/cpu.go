package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on Linux everywhere the project runs).
const clockTick = 10 * time.Millisecond

// procStat reads the parent pid and the CPU times of a process from
// /proc/<pid>/stat: its own (user + system) and that of its children it
// has waited for.
func procStat(pid int) (ppid int, own, children time.Duration, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command (field 2) is in parentheses and may hold spaces: the
	// fields after it start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 15 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	// f[0] is field 3 (state): ppid is field 4, utime..cstime 14..17.
	num := func(k int) int64 { v, _ := strconv.ParseInt(f[k-3], 10, 64); return v }
	ppid = int(num(4))
	own = time.Duration(num(14)+num(15)) * clockTick
	children = time.Duration(num(16)+num(17)) * clockTick
	return ppid, own, children, nil
}

// processCPU is the CPU time a process has used so far (every thread).
func processCPU(pid int) time.Duration {
	_, own, _, err := procStat(pid)
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
		ppid, _, _, err := procStat(backend)
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
		ppid, own, _, err := procStat(pid)
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
