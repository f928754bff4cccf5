// Command kirjuri-bench-excel is the spreadsheet benchmark (issue 7): it
// generates customer files of 100,000 and 1,000,000 rows × 26 columns with
// adapters/excel's writer (and one saved by LibreOffice), and measures,
// each beside its floor:
//
//   - reading: the raw scan (inflate the sheet, count cells with a byte
//     scan, no XML library), adapters/excel's reader and excelize's row
//     iterator; target: reader ≤ 3 × the raw scan;
//
//   - import through the real service (`kirjuri serve` built and run as a
//     subprocess on a database of its own): POST /v1/imports, then GET
//     /v1/imports/{id} until the job is done; targets: 100,000 rows ≤ 3 s,
//     1,000,000 rows with the service's peak resident memory ≤ 300 MB;
//     beside it COPY of the same customers alone, and the cost of parsing
//     200,000 phone numbers with the core's NormalizePhone;
//
//   - export: GET /v1/exports/customers.xlsx of the customers just
//     imported; targets: 100,000 rows ≤ 2 s, 1,000,000 with peak resident
//     memory ≤ 300 MB; beside it the writer writing the same rows from
//     memory to io.Discard.
//
//     eval "$(scripts/servers.sh env --profile dev)"
//     go run ./app/cmd/kirjuri-bench-excel [--rows 100000,300000,1000000] \
//     [--scenarios read,import,export] [--reload] [--out bench-out/excel.md]
//
// or `go tool task bench:excel [-- flags]`. See README.md beside this file.
//
// Exit status: 0 when every target measured is met, 3 when one is missed
// (the report is still written), 1 on an error or a scenario that could not
// run.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// benchDB is the benchmark's own database on the dev PostgreSQL server.
const benchDB = "kirjuri_bench_excel"

var allScenarios = []string{"read", "import", "export"}

type options struct {
	rows         []int
	scenarios    map[string]bool
	reload       bool
	out          string
	dir          string // generated files, the service's binary, log and data
	readRuns     int
	excelizeMax  int
	libreoffice  bool
	phones       int
	pollEvery    time.Duration
	jobTimeout   time.Duration
	quietLimit   float64
	quietWait    time.Duration
	serviceEnv   []string
	databaseURL  string
	keepExported bool
	cpuProfile   bool
	batchRows    int
}

func main() { os.Exit(run()) }

func run() int {
	var (
		o               options
		rows, scenarios string
		serviceEnv      benchkit.EnvFlag
		databaseURL     string
		noLibreOffice   bool
		quietLimitPct   float64
	)
	flag.StringVar(&rows, "rows", "100000,300000,1000000", "row counts of the generated files, comma-separated (each is read, imported and exported)")
	flag.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "what to measure, comma-separated: "+strings.Join(allScenarios, ","))
	flag.BoolVar(&o.reload, "reload", false, "generate the files again (they are cached under --dir by their parameters) and recreate the bench database")
	flag.StringVar(&o.out, "out", "bench-out/excel.md", "Markdown report to write")
	flag.StringVar(&o.dir, "dir", "bench-out/excel", "folder of the generated files, the service's binary, data folder and log")
	flag.IntVar(&o.readRuns, "read-runs", 3, "runs of each reading pass (the report gives the median)")
	flag.IntVar(&o.excelizeMax, "excelize-max-rows", 100_000, "run excelize's row iterator only on files of at most this many rows (it takes about 8 s per 100,000)")
	flag.BoolVar(&noLibreOffice, "no-libreoffice", false, "do not make or read the file saved by LibreOffice")
	flag.IntVar(&o.phones, "phones", 200_000, "phone numbers parsed with the core's NormalizePhone (those of the first rows of the file)")
	flag.DurationVar(&o.pollEvery, "poll", 50*time.Millisecond, "interval of GET /v1/imports/{id} while an import runs")
	flag.DurationVar(&o.jobTimeout, "job-timeout", 30*time.Minute, "give up on an import that has not finished after this long")
	flag.Float64Var(&quietLimitPct, "quiet", 10, "before each measurement, wait until other work keeps the machine at most this busy (percent of all cores)")
	flag.DurationVar(&o.quietWait, "quiet-wait", 5*time.Minute, "how long in all a run may wait for a quiet machine; then it measures anyway")
	flag.Var(&serviceEnv, "service-env", "KEY=VALUE for the service's environment, e.g. a larger upload limit (repeatable)")
	flag.StringVar(&databaseURL, "database-url", "", "PostgreSQL server URL (default $KIRJURI_DATABASE_URL); its database is replaced by "+benchDB)
	flag.IntVar(&o.batchRows, "batch-rows", 0, "imports.batchRows of the service (rows a batch transaction writes); 0 keeps the service's default")
	flag.BoolVar(&o.cpuProfile, "cpu-profile", false, "run the service with a CPU profiler and an execution trace (./app/cmd/kirjuri-profiled) and keep each start's under --dir: cpu-import-N.pprof, trace-import-N.out, …")
	flag.BoolVar(&o.keepExported, "keep-exports", false, "keep the exported workbooks under --dir (by default each is deleted once its rows are counted)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "unexpected arguments: %q\n", flag.Args())
		return 2
	}
	o.libreoffice = !noLibreOffice
	o.quietLimit = quietLimitPct / 100
	o.serviceEnv = serviceEnv
	if err := o.check(rows, scenarios, databaseURL); err != nil {
		fmt.Fprintln(os.Stderr, "kirjuri-bench-excel:", err)
		return 2
	}

	b := &bench{opts: o, rep: &report{}, quiet: benchkit.NewQuiet(o.quietLimit, o.quietWait)}
	return benchkit.Run("kirjuri-bench-excel", o.out, &b.rep.Findings, b.run,
		func(path string) error { return b.rep.write(path, b) }, b.rep.missed)
}

func (o *options) check(rows, scenarios, databaseURL string) error {
	for _, s := range strings.Split(rows, ",") {
		s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 1_048_575 {
			return fmt.Errorf("--rows: %q is not a row count from 100 to 1,048,575 (a worksheet holds 1,048,576 rows with the header)", s)
		}
		if !slices.Contains(o.rows, n) {
			o.rows = append(o.rows, n)
		}
	}
	if len(o.rows) == 0 {
		return errors.New("--rows: give at least one row count")
	}
	slices.Sort(o.rows)
	o.scenarios = map[string]bool{}
	for _, s := range strings.Split(scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("--scenarios: unknown scenario %q (%s)", s, strings.Join(allScenarios, ", "))
		}
		o.scenarios[s] = true
	}
	if len(o.scenarios) == 0 {
		return errors.New("--scenarios: give at least one")
	}
	if o.readRuns < 1 {
		return errors.New("--read-runs must be at least 1")
	}
	if o.phones < 0 {
		return errors.New("--phones must not be negative")
	}
	if o.batchRows < 0 || o.batchRows > 100_000 {
		return errors.New("--batch-rows must be 0 (the service's default) to 100,000")
	}
	if o.pollEvery <= 0 || o.jobTimeout <= 0 {
		return errors.New("--poll and --job-timeout must be positive")
	}
	if err := benchkit.CheckEnv(o.serviceEnv); err != nil {
		return err
	}
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	o.dir = dir
	if o.scenarios["import"] || o.scenarios["export"] {
		if o.databaseURL, err = benchkit.DatabaseURL(databaseURL, "bench:excel"); err != nil {
			return err
		}
	}
	return nil
}
