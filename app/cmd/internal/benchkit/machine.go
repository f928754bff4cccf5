package benchkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Machine is what the figures depend on besides the code.
type Machine struct {
	Started            time.Time
	CPUModel           string
	Cores, GOMAXPROCS  int
	Memory, GoVersion  string
	PGVersion          string
	PGSettings         []Setting // those the report names, in its order
	Postmaster         int       // pid of the PostgreSQL server, when on this machine
	LoadStart, LoadEnd string
}

// Setting is a PostgreSQL server setting.
type Setting struct{ Name, Value string }

// ReadMachine reads the machine at the start of a run.
func ReadMachine() Machine {
	return Machine{Started: time.Now(), CPUModel: CPUModel(), Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Memory: memoryTotal(), GoVersion: runtime.Version(), LoadStart: LoadAverage()}
}

// ReadPostgres reads the server's version and the settings named, and
// finds the postmaster (the parent of this connection's backend) for the
// CPU figures. What it cannot read stays unknown.
func (m *Machine) ReadPostgres(ctx context.Context, pool *pgxpool.Pool, settings ...string) {
	cols := []string{"current_setting('server_version')", "pg_backend_pid()"}
	args := make([]any, len(settings))
	values := make([]string, len(settings))
	var backend int
	dst := []any{&m.PGVersion, &backend}
	for i, name := range settings {
		cols = append(cols, fmt.Sprintf("current_setting($%d)", i+1))
		args[i] = name
		dst = append(dst, &values[i])
	}
	_ = pool.QueryRow(ctx, "SELECT "+strings.Join(cols, ", "), args...).Scan(dst...)
	m.PGSettings = m.PGSettings[:0]
	for i, name := range settings {
		m.PGSettings = append(m.PGSettings, Setting{Name: name, Value: values[i]})
	}
	if backend > 0 {
		if pp, _, _, err := ProcCPU(backend); err == nil {
			m.Postmaster = pp
		}
	}
}

// WriteHeading writes the report's title, when and how the run was
// started, the machine (note, when given, ends its line) and the load
// average with the wait for a quiet machine; one line each, no blank line
// after.
func WriteHeading(w io.Writer, title string, m *Machine, note string, q *Quiet) {
	settings := make([]string, len(m.PGSettings))
	for i, s := range m.PGSettings {
		settings[i] = s.Name + " " + OrUnknown(s.Value)
	}
	if note != "" {
		note = " " + note + "."
	}
	fmt.Fprintf(w, "# %s\n\n", title)
	fmt.Fprintf(w, "%s; `%s`.\n\n", m.Started.Format("2006-01-02 15:04 MST"), strings.Join(os.Args, " "))
	fmt.Fprintf(w, "Machine: %s, %d cores (GOMAXPROCS %d), %s memory; %s. PostgreSQL %s (%s).%s\n",
		OrUnknown(m.CPUModel), m.Cores, m.GOMAXPROCS, OrUnknown(m.Memory), m.GoVersion,
		OrUnknown(m.PGVersion), strings.Join(settings, ", "), note)
	fmt.Fprintf(w, "Load average (1, 5, 15 min): %s at the start, %s at the end; waited %s in all for a quieter machine (--quiet %.0f %%, --quiet-wait %s).\n",
		m.LoadStart, OrUnknown(m.LoadEnd), q.Waited.Round(time.Second), 100*q.Limit, q.Budget)
}
