// Package benchkit is what the benchmark commands (kirjuri-bench,
// kirjuri-bench-excel, kirjuri-bench-connectors) share: the bench
// database and its run lock, the `kirjuri serve` subprocess, the machine
// the figures were taken on, the wait for a quiet machine, the /proc
// readers, and the parts of the report and of main that do not depend on
// what is measured. What each benchmark measures (its load, its
// scenarios, its checks) stays in its command.
package benchkit

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// started is when the benchmark started, for the progress lines.
var started = time.Now()

// Logf prints a progress line to standard error with the time since the
// start.
func Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%7.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}

// Run runs bench under a context that an interrupt or SIGTERM cancels,
// then writes the report to out whatever happened (an error goes into
// findings, so that a failed run still says how far it came), and returns
// the exit status: 1 on an error or when the report cannot be written, 3
// when missed says a target or check was missed, else 0.
func Run(command, out string, findings *Findings, bench func(context.Context) error, write func(path string) error, missed func() int) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := bench(ctx)
	if err != nil {
		Logf("error: %v", err)
		findings.Errorf("%v", err)
	}
	if werr := write(out); werr != nil {
		fmt.Fprintln(os.Stderr, command+": write report:", werr)
		return 1
	}
	Logf("report written to %s", out)
	switch {
	case err != nil || len(findings.Errors) > 0:
		return 1
	case missed() > 0:
		return 3
	}
	return 0
}
