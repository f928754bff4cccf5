package benchkit

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The heading is the same in every report: its wording is pinned here.
func TestWriteHeading(t *testing.T) {
	m := &Machine{
		Started: time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC), CPUModel: "AMD EPYC", Cores: 2, GOMAXPROCS: 2,
		Memory: "24 GiB", GoVersion: "go1.26", PGVersion: "15.18",
		PGSettings: []Setting{{"fsync", "on"}, {"synchronous_commit", ""}, {"shared_buffers", "512MB"}},
		LoadStart:  "1.00 0.50 0.25",
	}
	q := &Quiet{Limit: 0.1, Budget: 3 * time.Minute, Waited: 4200 * time.Millisecond}
	tests := []struct {
		name, note, wantMachine string
	}{
		{name: "no note", wantMachine: "Machine: AMD EPYC, 2 cores (GOMAXPROCS 2), 24 GiB memory; go1.26. PostgreSQL 15.18 (fsync on, synchronous_commit ?, shared_buffers 512MB).\n"},
		{name: "note", note: "no LibreOffice", wantMachine: "Machine: AMD EPYC, 2 cores (GOMAXPROCS 2), 24 GiB memory; go1.26. PostgreSQL 15.18 (fsync on, synchronous_commit ?, shared_buffers 512MB). no LibreOffice.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w strings.Builder
			WriteHeading(&w, "Some benchmark (kirjuri-bench-some)", m, tt.note, q)
			want := "# Some benchmark (kirjuri-bench-some)\n\n" +
				"2026-03-01 09:30 UTC; `" + strings.Join(os.Args, " ") + "`.\n\n" +
				tt.wantMachine +
				"Load average (1, 5, 15 min): 1.00 0.50 0.25 at the start, ? at the end; waited 4s in all for a quieter machine (--quiet 10 %, --quiet-wait 3m0s).\n"
			if w.String() != want {
				t.Errorf("got\n%s\nwant\n%s", w.String(), want)
			}
		})
	}
}

func TestReadMachine(t *testing.T) {
	m := ReadMachine()
	if m.Cores < 1 || m.GOMAXPROCS < 1 || m.GoVersion == "" || m.Started.IsZero() {
		t.Errorf("ReadMachine() = %+v", m)
	}
	if _, err := os.Stat("/proc/meminfo"); err == nil && !regexp.MustCompile(`^\d+ GiB$`).MatchString(m.Memory) {
		t.Errorf("Memory = %q, want N GiB", m.Memory)
	}
}
