package benchkit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The readers of /proc the figures need. Where /proc cannot be read (not
// Linux, or a server on another machine) they say so and the figures are
// left out; nothing fails.

// ClockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on Linux everywhere the project runs).
const ClockTick = 10 * time.Millisecond

// ProcCPU reads the parent pid and the CPU times of a process from
// /proc/<pid>/stat: its own (user + system, every thread) and that of its
// children it has waited for.
func ProcCPU(pid int) (ppid int, own, children time.Duration, err error) {
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
	own = time.Duration(num(14)+num(15)) * ClockTick
	children = time.Duration(num(16)+num(17)) * ClockTick
	return ppid, own, children, nil
}

// TreeCPU sums the CPU time of root and its children (PostgreSQL's
// postmaster and its backends; exited backends are not counted, which is
// why a benchmark's connections stay open through a window).
func TreeCPU(root int) time.Duration {
	_, sum, _, _ := ProcCPU(root)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if pp, own, _, err := ProcCPU(pid); err == nil && pp == root {
			sum += own
		}
	}
	return sum
}

// MachineTicks is /proc/stat's first line: the busy and total ticks of
// all cores so far.
func MachineTicks() (busy, total float64, ok bool) {
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

// MachineBusy is the share of all cores busy over d.
func MachineBusy(d time.Duration) (float64, bool) {
	b0, t0, ok := MachineTicks()
	if !ok {
		return 0, false
	}
	time.Sleep(d)
	b1, t1, _ := MachineTicks()
	return (b1 - b0) / max(t1-t0, 1e-9), true
}

// LoadAverage is /proc/loadavg's three figures ("?" when unknown).
func LoadAverage() string {
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

// CPUModel is the first model name of /proc/cpuinfo ("" when unknown).
func CPUModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memoryTotal is /proc/meminfo's MemTotal in GiB ("" when unknown).
func memoryTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	var memory string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			memory = fmt.Sprintf("%.0f GiB", kb/(1<<20))
		}
	}
	return memory
}
