// Command kirjuri-profiled is `kirjuri` that writes a CPU profile of its
// whole run to the file named by KIRJURI_BENCH_CPU_PROFILE, and an
// execution trace to the one named by KIRJURI_BENCH_TRACE: the benchmarks
// (kirjuri-bench-excel, kirjuri-bench-connectors) build it instead of
// ./app/cmd/kirjuri with --cpu-profile, so that the profile is of the real
// service under the benchmark's load (stopped with SIGTERM, which app.Main
// turns into a graceful return). The trace shows where it waits (go tool
// trace -pprof=net|sync|sched FILE). KIRJURI_BENCH_ALLOC_PROFILE names a
// file for the profile of every allocation of the run, written at its end.
package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"

	"kirjuri/app"
)

func main() { os.Exit(run()) }

func run() int {
	if path := os.Getenv("KIRJURI_BENCH_CPU_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("KIRJURI_BENCH_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, "profiled:", err)
			return 1
		}
		defer trace.Stop()
	}
	if path := os.Getenv("KIRJURI_BENCH_ALLOC_PROFILE"); path != "" {
		defer func() {
			f, err := os.Create(path)
			if err != nil {
				fmt.Fprintln(os.Stderr, "profiled:", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintln(os.Stderr, "profiled:", err)
			}
		}()
	}
	return app.Main(os.Args[1:])
}
