package main

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	kflate "github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"

	"kirjuri/adapters/excel"
	"kirjuri/app/cmd/internal/benchkit"
)

// readResult is the reading figures of one file: the median of each pass.
type readResult struct {
	file                    benchFile
	floor, reader, excelize time.Duration // 0: not run
	floorCells, readerRows  int
	readerCells, excelCells int
	sharedStrings           int
	floorRuns, readerRuns   []time.Duration
	excelizeRuns            []time.Duration
	excelizeSkipped         string
	load                    string // load average before
}

func (r *readResult) ratio() float64 { return r.reader.Seconds() / r.floor.Seconds() }

// measureRead runs the floor, the reader and (on files small enough)
// excelize on f, interleaved, --read-runs times each.
func (b *bench) measureRead(f benchFile) (*readResult, error) {
	res := &readResult{file: f}
	withExcelize := f.rows <= b.opts.excelizeMax
	if !withExcelize {
		res.excelizeSkipped = fmt.Sprintf("not run on files of more than %s rows (--excelize-max-rows)", benchkit.Thousands(float64(b.opts.excelizeMax)))
	}
	res.load = b.quiet.Wait("reading " + f.label())
	for run := range b.opts.readRuns {
		start := time.Now()
		cells, err := floorScan(f.path)
		if err != nil {
			return nil, fmt.Errorf("floor of %s: %w", f.path, err)
		}
		res.floorRuns = append(res.floorRuns, time.Since(start))
		res.floorCells = cells

		start = time.Now()
		rows, rcells, sst, err := readerPass(f.path)
		if err != nil {
			return nil, fmt.Errorf("reader on %s: %w", f.path, err)
		}
		res.readerRuns = append(res.readerRuns, time.Since(start))
		res.readerRows, res.readerCells, res.sharedStrings = rows, rcells, sst

		if withExcelize {
			start = time.Now()
			ecells, err := excelizePass(f.path)
			if err != nil {
				return nil, fmt.Errorf("excelize on %s: %w", f.path, err)
			}
			res.excelizeRuns = append(res.excelizeRuns, time.Since(start))
			res.excelCells = ecells
		}
		benchkit.Logf("read %s, run %d/%d: floor %s, reader %s%s", f.label(), run+1, b.opts.readRuns,
			secs(res.floorRuns[run]), secs(res.readerRuns[run]), func() string {
				if withExcelize {
					return ", excelize " + secs(res.excelizeRuns[run])
				}
				return ""
			}())
	}
	res.floor, res.reader, res.excelize = median(res.floorRuns), median(res.readerRuns), median(res.excelizeRuns)
	b.rep.Check(fmt.Sprintf("the reader reads %s rows (header included) of %s", benchkit.Thousands(float64(f.rows+1)), f.label()),
		res.readerRows == f.rows+1, fmt.Sprintf("read %d rows", res.readerRows))
	if withExcelize {
		b.rep.Check("the reader and excelize find as many non-empty cells in "+f.label(),
			res.readerCells == res.excelCells, fmt.Sprintf("reader %d, excelize %d", res.readerCells, res.excelCells))
	}
	return res, nil
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// floorScan inflates the first worksheet (klauspost/compress's decoder, as
// the reader uses) and counts its cells with a plain byte scan: what
// reading cannot go below. The same floor as adapters/excel's
// BenchmarkRatio.
func floorScan(path string) (int, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		buf := make([]byte, 256<<10)
		cells, carry := 0, 0
		for {
			n, err := rc.Read(buf[carry:])
			chunk := buf[:carry+n]
			cells += bytes.Count(chunk, []byte("<c "))
			carry = 0
			if len(chunk) > 0 && chunk[len(chunk)-1] == '<' {
				buf[0], carry = '<', 1
			} else if len(chunk) > 1 && chunk[len(chunk)-2] == '<' && chunk[len(chunk)-1] == 'c' {
				buf[0], buf[1], carry = '<', 'c', 2
			}
			if err == io.EOF {
				return cells, nil
			}
			if err != nil {
				return cells, err
			}
		}
	}
	return 0, errors.New("no xl/worksheets/sheet1.xml")
}

// readerPass reads every row with adapters/excel's reader (as the import
// does: Open on the spooled file, default limits) and counts the rows and
// non-empty cells.
func readerPass(path string) (rows, cells, sst int, err error) {
	r, err := excel.Open(path, excel.Limits{})
	if err != nil {
		return 0, 0, 0, err
	}
	defer r.Close()
	for r.Next() {
		rows++
		for _, c := range r.Row().Cells {
			if c.Text != "" {
				cells++
			}
		}
	}
	return rows, cells, r.SharedStrings(), r.Err()
}

// excelizePass reads every row with excelize's row iterator, the library
// baseline.
func excelizePass(path string) (int, error) {
	f, err := excelize.OpenFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rows, err := f.Rows(f.GetSheetName(0))
	if err != nil {
		return 0, err
	}
	cells := 0
	for rows.Next() {
		cols, err := rows.Columns()
		if err != nil {
			return cells, err
		}
		for _, c := range cols {
			if c != "" {
				cells++
			}
		}
	}
	return cells, rows.Close()
}
