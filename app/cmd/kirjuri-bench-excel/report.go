package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kirjuri/app/cmd/internal/benchkit"
)

// The targets.
const (
	readRatioTarget  = 3.0
	import100kTarget = 3 * time.Second
	export100kTarget = 2 * time.Second
	peakRSSTarget    = 300e6 // bytes, the service at 1,000,000 rows
	targetRowsTime   = 100_000
	targetRowsMemory = 1_000_000
)

type report struct {
	benchkit.Findings
	machine     benchkit.Machine
	soffice     string // LibreOffice's version, when installed
	files       []benchFile
	reads       []*readResult
	phones      *phoneResult
	copyFloors  []copyFloorResult
	imports     []*importResult
	writeFloors []*writeFloorResult
	exports     []*exportResult
}

func (r *report) copyFloor(n int) time.Duration { return r.copyFloorOf(n).took }

func (r *report) copyFloorOf(n int) copyFloorResult {
	for _, c := range r.copyFloors {
		if c.rows == n {
			return c
		}
	}
	return copyFloorResult{}
}

func (r *report) writeFloor(n int) *writeFloorResult {
	for _, w := range r.writeFloors {
		if w.rows == n {
			return w
		}
	}
	return nil
}

func ratio(a, b time.Duration) string {
	if b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", a.Seconds()/b.Seconds())
}

func (r *report) targets() []benchkit.Target {
	var out []benchkit.Target
	for _, rd := range r.reads {
		out = append(out, benchkit.Target{
			Name:     "Read " + rd.file.label() + ": reader / raw scan",
			Limit:    "≤ 3×",
			Measured: "**" + secs(rd.reader) + "**",
			Floor:    secs(rd.floor),
			Ratio:    fmt.Sprintf("**%.2f×**", rd.ratio()),
			OK:       rd.ratio() <= readRatioTarget,
		})
	}
	for _, im := range r.imports {
		if im.rows == targetRowsTime {
			out = append(out, benchkit.Target{
				Name:     "Import 100,000 rows, upload to job done",
				Limit:    "≤ 3 s",
				Measured: "**" + secs(im.total) + "**",
				Floor:    secs(r.copyFloor(im.rows)) + " COPY (+ read floor)",
				Ratio:    ratio(im.total, r.copyFloor(im.rows)),
				OK:       im.total <= import100kTarget,
			})
		}
		if im.rows >= targetRowsMemory {
			out = append(out, benchkit.Target{
				Name:     fmt.Sprintf("Import %s rows, the service's peak resident memory", benchkit.Thousands(float64(im.rows))),
				Limit:    "≤ 300 MB",
				Measured: fmt.Sprintf("**%.0f MB**", mb(im.peakRSS)),
				Floor:    fmt.Sprintf("%.0f MB idle", mb(im.idleRSS)),
				Ratio:    "–",
				OK:       float64(im.peakRSS) <= peakRSSTarget,
			})
		}
	}
	for _, ex := range r.exports {
		wf := r.writeFloor(ex.rows)
		var floor time.Duration
		if wf != nil {
			floor = wf.took
		}
		if ex.rows == targetRowsTime {
			out = append(out, benchkit.Target{
				Name:     "Export 100,000 rows, request to last byte",
				Limit:    "≤ 2 s",
				Measured: "**" + secs(ex.total) + "**",
				Floor:    secs(floor) + " writer alone",
				Ratio:    ratio(ex.total, floor),
				OK:       ex.total <= export100kTarget,
			})
		}
		if ex.rows >= targetRowsMemory {
			out = append(out, benchkit.Target{
				Name:     fmt.Sprintf("Export %s rows, the service's peak resident memory", benchkit.Thousands(float64(ex.rows))),
				Limit:    "≤ 300 MB",
				Measured: fmt.Sprintf("**%.0f MB**", mb(ex.peakRSS)),
				Floor:    fmt.Sprintf("%.0f MB idle", mb(ex.idleRSS)),
				Ratio:    "–",
				OK:       float64(ex.peakRSS) <= peakRSSTarget,
			})
		}
	}
	return out
}

func (r *report) missed() int { return benchkit.Missed(r.targets()) }

func (r *report) write(path string, b *bench) error {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	m := r.machine
	benchkit.WriteHeading(&w, "Spreadsheet benchmark (kirjuri-bench-excel)", &m, orNo(r.soffice, "no LibreOffice"), b.quiet)
	p("")
	benchkit.WriteTargets(&w, r.targets(), "× floor", "**MISS**")

	if len(r.files) > 0 {
		p("## Files")
		p("")
		p("%d columns (%s), every row a new customer.", len(header), strings.Join(header, ", "))
		p("")
		p("| file | size | made in |")
		p("| --- | --- | --- |")
		for _, f := range r.files {
			made := "cached"
			if f.took > 0 {
				made = secs(f.took)
			}
			p("| %s (`%s`) | %.1f MB | %s |", f.label(), filepath.Base(f.path), float64(f.bytes)/1e6, made)
		}
		p("")
	}

	if len(r.reads) > 0 {
		p("## Reading")
		p("")
		p("Median of %d runs each, interleaved. Raw scan: inflate `xl/worksheets/sheet1.xml` (klauspost/compress) and count `<c ` with `bytes.Count`, no XML library. Reader: `excel.Open` and `Next` over every row, as the import reads. excelize: `Rows` / `Columns`.", b.opts.readRuns)
		p("")
		p("| file | raw scan | reader | excelize | reader / raw scan | excelize / reader | rows/s (reader) | shared strings | load avg |")
		p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, rd := range r.reads {
			ex, exRatio := "–", "–"
			if rd.excelize > 0 {
				ex, exRatio = secs(rd.excelize), fmt.Sprintf("%.1f×", rd.excelize.Seconds()/rd.reader.Seconds())
			}
			p("| %s | %s | %s | %s | %.2f× | %s | %s | %s | %s |", rd.file.label(), secs(rd.floor), secs(rd.reader), ex,
				rd.ratio(), exRatio, benchkit.Thousands(float64(rd.file.rows)/rd.reader.Seconds()), benchkit.Thousands(float64(rd.sharedStrings)), rd.load)
		}
		for _, rd := range r.reads {
			if rd.excelizeSkipped != "" {
				p("")
				p("excelize: %s.", rd.excelizeSkipped)
				break
			}
		}
		p("")
	}

	if len(r.imports) > 0 || len(r.copyFloors) > 0 || r.phones != nil {
		p("## Import")
		p("")
		p("`kirjuri serve` (built from this tree) as a subprocess on the database %s, emptied before each import, started afresh for each import so that VmHWM (/proc/<pid>/status) is that import's peak; ClickHouse off (the consent events wait in the outbox). Time: from the start of `POST /v1/imports` (multipart, streamed from the file) to the first `GET /v1/imports/{id}` that says succeeded (polled every %s). COPY floor: the same customers, as the store encodes them (two addresses, two phones, card, groups, search text), COPYed in batches of %s into a table `LIKE customers INCLUDING ALL` (same indexes), building the rows not timed; beside it the same COPY into a table with the columns alone (no index, no constraint: the heap alone, the floor the issue names). Since migration 00011 the trigram index of the search text is on customer_search, not customers: the floor's table lost it with the customers table, and the import leaves it to the service's search.index job (its time is the last column, from the import's end until every copy is made; a find with q is right meanwhile, only slower). CPU: used from upload to done by the service, and by PostgreSQL for the bench database (its backends and the server's shared processes). The service writes batches of %s.",
			benchDB, b.opts.pollEvery, benchkit.Thousands(copyBatch), batchRowsText(b.opts.batchRows))
		p("")
		if len(r.imports) > 0 {
			p("| rows | upload to done | upload (202) | first progress | rows/s | COPY floor | × COPY | COPY, no index | CPU service / PostgreSQL | peak RSS | idle RSS | Go heap in use (max) | created / updated / unchanged / rejected | load avg | search copies made after |")
			p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
			for _, im := range r.imports {
				cf := r.copyFloorOf(im.rows)
				p("| %s | **%s** | %s | %s | %s | %s | %s | %s | %s / %s | **%.0f MB** | %.0f MB | %.0f MB | %d / %d / %d / %d | %s | %s (%s pending) |",
					benchkit.Thousands(float64(im.rows)), secs(im.total), secs(im.upload), secs(im.firstProgress),
					benchkit.Thousands(float64(im.rows)/im.total.Seconds()), secs(cf.took), ratio(im.total, cf.took), secs(cf.bare), secs(im.svcCPU), secs(im.pgCPU),
					mb(im.peakRSS), mb(im.idleRSS), im.maxHeap/1e6, im.created, im.updated, im.unchanged, im.rejected, im.load,
					secs(im.searchCopied), benchkit.Thousands(float64(im.searchPending)))
			}
			if len(r.imports) > 1 {
				a, z := r.imports[0], r.imports[len(r.imports)-1]
				slope := (mb(z.peakRSS) - mb(a.peakRSS)) / (float64(z.rows-a.rows) / 100_000)
				p("")
				p("Peak resident memory grows by %.1f MB per 100,000 rows between %s and %s rows (%.0f → %.0f MB).",
					slope, benchkit.Thousands(float64(a.rows)), benchkit.Thousands(float64(z.rows)), mb(a.peakRSS), mb(z.peakRSS))
			}
		} else {
			p("The import was not measured (see Problems).")
			p("")
			p("| rows | COPY floor | COPY, no index |")
			p("| --- | --- | --- |")
			for _, c := range r.copyFloors {
				p("| %s | %s | %s |", benchkit.Thousands(float64(c.rows)), secs(c.took), secs(c.bare))
			}
		}
		if ph := r.phones; ph != nil {
			p("")
			p("Phone numbers: %s of the file's phones (half `040 1234567`, half `+358 50 1234567`) through `customer.NormalizePhone` (nyaruka/phonenumbers): %s on one goroutine (%.1f µs each), %s on %d goroutines.",
				benchkit.Thousands(float64(ph.phones)), secs(ph.serial), float64(ph.serial.Nanoseconds())/1e3/float64(ph.phones), secs(ph.parallel), ph.workers)
			for _, im := range r.imports {
				if im.rows*2 == ph.phones {
					p("That is %.0f %% of the %s-row import's time on one core (%.0f %% if spread over %d).",
						100*ph.serial.Seconds()/im.total.Seconds(), benchkit.Thousands(float64(im.rows)),
						100*ph.parallel.Seconds()/im.total.Seconds(), ph.workers)
				}
			}
		}
		p("")
	}

	if len(r.exports) > 0 || len(r.writeFloors) > 0 {
		p("## Export")
		p("")
		p("`GET /v1/exports/customers.xlsx` of every customer in the register (those just imported), on a freshly started service, saved to a file; the rows are counted afterwards with the reader. Writer floor: the same customers with the export's columns through `excel.CustomerSheets` (the export's sheet writer) to a byte counter, from memory (%s distinct customers cycled).", benchkit.Thousands(poolRows))
		p("")
		if len(r.exports) > 0 {
			p("| rows | request to last byte | first byte | rows/s | writer floor | × floor | file | peak RSS | idle RSS | Go heap in use (max) | load avg |")
			p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
			for _, ex := range r.exports {
				wf := r.writeFloor(ex.rows)
				var floor time.Duration
				if wf != nil {
					floor = wf.took
				}
				note := ""
				if ex.seeded {
					note = " (loaded by COPY)"
				}
				p("| %s%s | **%s** | %s | %s | %s | %s | %.1f MB | **%.0f MB** | %.0f MB | %.0f MB | %s |",
					benchkit.Thousands(float64(ex.rows)), note, secs(ex.total), secs(ex.firstByte), benchkit.Thousands(float64(ex.rows)/ex.total.Seconds()),
					secs(floor), ratio(ex.total, floor), float64(ex.bytes)/1e6, mb(ex.peakRSS), mb(ex.idleRSS), ex.maxHeap/1e6, ex.load)
			}
		} else {
			p("| rows | writer floor | bytes |")
			p("| --- | --- | --- |")
			for _, wf := range r.writeFloors {
				p("| %s | %s | %.1f MB |", benchkit.Thousands(float64(wf.rows)), secs(wf.took), float64(wf.bytes)/1e6)
			}
		}
		p("")
	}

	if len(r.Checks) > 0 {
		p("## Checks")
		p("")
		for _, c := range r.Checks {
			if c.OK {
				p("- ok: %s", c.Name)
			} else {
				p("- **FAILED**: %s: %s", c.Name, c.Detail)
			}
		}
		p("")
	}
	if len(r.Errors) > 0 || len(r.Notes) > 0 {
		p("## Problems and notes")
		p("")
		for _, e := range r.Errors {
			p("- **%s**", e)
		}
		for _, n := range r.Notes {
			p("- %s", n)
		}
		p("")
	}
	fmt.Fprint(os.Stdout, "\n"+w.String())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(w.String()), 0o644)
}

func orNo(s, no string) string {
	if s == "" {
		return no
	}
	return s
}

func batchRowsText(n int) string {
	if n == 0 {
		return "its default imports.batchRows"
	}
	return benchkit.Thousands(float64(n)) + " rows (imports.batchRows, --batch-rows)"
}
