package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// cpuMeter reads the CPU time used by this process (load generator and
// servers together), by the PostgreSQL server (postmaster and all its
// children) and by the whole machine, to tell what each request costs
// where. It reads /proc; without it only this process is measured.
type cpuMeter struct {
	postmaster int // 0 when unknown
	pool       *pgxpool.Pool
}

// cpuUse is CPU time over a window, in seconds.
type cpuUse struct {
	self, pg        float64
	busy, total     float64 // machine-wide, all cores
	irq             float64 // interrupts and softirqs (loopback networking), also in the processes' times
	pgKnown         bool
	pgProcs         map[int]float64 // CPU seconds of each PostgreSQL process so far
	wall            time.Duration
	when            time.Time
	selfInvoluntary int64 // context switches of this process
	// WAL flushes to disk (fsync or fdatasync) and bytes written, from
	// pg_stat_wal.
	walSyncs, walBytes float64
}

const clkTck = 100 // USER_HZ; 100 on every Linux architecture Go supports

func newCPUMeter(pool *pgxpool.Pool, backendPID int) *cpuMeter {
	m := &cpuMeter{pool: pool}
	if f, ok := procStat(backendPID); ok && len(f) > 1 {
		m.postmaster, _ = strconv.Atoi(f[1]) // ppid of a backend
	}
	return m
}

func (m *cpuMeter) read() cpuUse {
	u := cpuUse{when: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = tv(ru.Utime) + tv(ru.Stime)
		u.selfInvoluntary = ru.Nivcsw
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		for i, s := range f[1:] {
			v, _ := strconv.ParseFloat(s, 64)
			if i >= 8 { // guest time is counted in user already
				break
			}
			u.total += v / clkTck
			if i != 3 && i != 4 { // idle, iowait
				u.busy += v / clkTck
			}
			if i == 5 || i == 6 { // irq, softirq
				u.irq += v / clkTck
			}
		}
	}
	if m.pool != nil {
		_ = m.pool.QueryRow(context.Background(), `SELECT wal_sync::float8, wal_bytes::float8 FROM pg_stat_wal`).Scan(&u.walSyncs, &u.walBytes)
	}
	if m.postmaster == 0 {
		return u
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return u
	}
	u.pgKnown = true
	u.pgProcs = map[int]float64{}
	parent := strconv.Itoa(m.postmaster)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f, ok := procStat(pid)
		if !ok || len(f) < 15 {
			continue
		}
		if pid != m.postmaster && (f[1] != parent || !benchBackend(pid)) {
			continue
		}
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		u.pgProcs[pid] = (ut + st) / clkTck
	}
	return u
}

// benchBackend tells the server's own processes (checkpointer, WAL writer,
// autovacuum, ...) and the bench database's backends from the backends of
// other databases, whose work is someone else's.
func benchBackend(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	f := strings.Fields(strings.ReplaceAll(string(b), "\x00", " "))
	if len(f) < 2 || f[0] != "postgres:" {
		return false
	}
	switch {
	case len(f) >= 3 && f[1] == "autovacuum" && f[2] == "worker":
		return len(f) < 4 || f[3] == benchDB
	case len(f) >= 4 && (strings.Contains(f[3], "(") || f[3] == "[local]"):
		return f[2] == benchDB // a client backend: user, database, host
	}
	return true
}

// since is the use between an earlier reading and this one.
func (u cpuUse) since(before cpuUse) cpuUse {
	// Per process: one that ended in between took its time with it; one
	// that started counts whole.
	var pg float64
	for pid, t := range u.pgProcs {
		pg += t - before.pgProcs[pid]
	}
	return cpuUse{
		self:            u.self - before.self,
		pg:              pg,
		busy:            u.busy - before.busy,
		irq:             u.irq - before.irq,
		total:           u.total - before.total,
		pgKnown:         u.pgKnown && before.pgKnown,
		wall:            u.when.Sub(before.when),
		selfInvoluntary: u.selfInvoluntary - before.selfInvoluntary,
		walSyncs:        u.walSyncs - before.walSyncs,
		walBytes:        u.walBytes - before.walBytes,
	}
}

// procStat returns the fields of /proc/<pid>/stat after the command name:
// f[0] is the state, f[1] the parent pid, f[11] utime, f[12] stime.
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// background samples how busy the machine is for a while, as a share of
// all cores.
func (m *cpuMeter) background(d time.Duration) float64 {
	a := m.read()
	time.Sleep(d)
	u := m.read().since(a)
	return u.busy / max(u.total, 1e-9)
}

// waitQuiet waits until the machine, without this bench's load, is busier
// than limit no more, for at most patience. It returns the last reading.
func (m *cpuMeter) waitQuiet(limit float64, patience time.Duration) float64 {
	deadline := time.Now().Add(patience)
	for {
		b := m.background(2 * time.Second)
		if b <= limit || time.Now().After(deadline) {
			return b
		}
		logf("the machine is %.0f %% busy without the bench (other work); waiting for it to calm down", 100*b)
	}
}
