package benchkit

// The readers read Linux's /proc, as the benchmarks do.

import (
	"os"
	"regexp"
	"testing"
	"time"
)

func TestProcCPU(t *testing.T) {
	_, before, _, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn CPU until the kernel's clock has counted some of it.
	for start := time.Now(); time.Since(start) < 2*time.Second; {
		_, own, _, _ := ProcCPU(os.Getpid())
		if own-before >= 5*ClockTick {
			break
		}
	}
	ppid, after, _, err := ProcCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ppid != os.Getppid() {
		t.Errorf("ppid = %d, want %d", ppid, os.Getppid())
	}
	if after-before < 5*ClockTick {
		t.Errorf("own CPU grew by %s while busy, want at least %s", after-before, 5*ClockTick)
	}
	if tree := TreeCPU(os.Getppid()); tree < after {
		t.Errorf("TreeCPU(parent) = %s, less than this child's own %s", tree, after)
	}
	if _, _, _, err := ProcCPU(-1); err == nil {
		t.Error("ProcCPU(-1): want an error")
	}
}

func TestMachineReaders(t *testing.T) {
	busy, total, ok := MachineTicks()
	if !ok || busy <= 0 || busy > total {
		t.Errorf("MachineTicks() = %v, %v, %v", busy, total, ok)
	}
	if share, ok := MachineBusy(100 * time.Millisecond); !ok || share < 0 || share > 1 {
		t.Errorf("MachineBusy() = %v, %v", share, ok)
	}
	if got := LoadAverage(); !regexp.MustCompile(`^[\d.]+ [\d.]+ [\d.]+$`).MatchString(got) {
		t.Errorf("LoadAverage() = %q", got)
	}
}

// A budget of nothing measures once (2 s) and waits no more, however busy
// the machine.
func TestQuietWithoutBudget(t *testing.T) {
	q := NewQuiet(0, 0)
	load := q.Wait("the test")
	if !regexp.MustCompile(`^[\d.]+ [\d.]+ [\d.]+$`).MatchString(load) {
		t.Errorf("Wait() = %q, want the load average", load)
	}
	if q.Waited < 2*time.Second || q.Waited > 4*time.Second {
		t.Errorf("Waited = %s, want one 2 s sample", q.Waited)
	}
}
