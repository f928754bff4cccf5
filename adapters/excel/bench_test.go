package excel

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kflate "github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"
)

// The benchmarks read a generated customer sheet (benchRows rows × 26
// columns, 100,000 unless KIRJURI_EXCEL_BENCH_ROWS says otherwise), once
// as excelize's stream writer wrote it (inline strings) and once as
// LibreOffice saved it (shared strings), when soffice is installed. The
// files are made once per run in a temporary directory. Measured: the
// floor (inflate the sheet and count "<c" with a byte scan, no XML
// library), this reader, and excelize's row iterator.
//
//	KIRJURI_EXCEL_BENCH_ROWS=100000 go test ./adapters/excel/ -run '^$' -bench . -benchtime 3x -timeout 30m
//
// BenchmarkRatio reports the reader's time over the floor's, measured in
// the same iterations.

var bench struct {
	once  sync.Once
	dir   string
	files []benchFile
	err   error
}

type benchFile struct{ name, path string }

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("KIRJURI_EXCEL_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

func benchFiles(b *testing.B) []benchFile {
	b.Helper()
	bench.once.Do(func() {
		bench.dir, bench.err = os.MkdirTemp("", "kirjuri-excel-bench-")
		if bench.err != nil {
			return
		}
		path := filepath.Join(bench.dir, "customers.xlsx")
		if bench.err = writeBenchFile(path, benchRows()); bench.err != nil {
			return
		}
		bench.files = append(bench.files, benchFile{"excelize", path})
		soffice, err := exec.LookPath("soffice")
		if err != nil {
			return
		}
		out := filepath.Join(bench.dir, "libreoffice")
		cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(bench.dir, "profile"),
			"--headless", "--convert-to", "xlsx", "--outdir", out, path)
		if msg, err := cmd.CombinedOutput(); err != nil {
			bench.err = fmt.Errorf("soffice: %v: %s", err, msg)
			return
		}
		bench.files = append(bench.files, benchFile{"libreoffice", filepath.Join(out, "customers.xlsx")})
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.files
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		_ = os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

// writeBenchFile writes rows customers of 26 columns with excelize's
// stream writer: texts, postal codes as padded numbers, booleans.
func writeBenchFile(path string, rows int) error {
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	postal, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("00000")})
	if err != nil {
		return err
	}
	header := []any{"number", "email", "firstName", "lastName", "marketingEmail", "marketingSms", "creditAllowed",
		"externalId", "eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress",
		"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "address:1:country",
		"address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city", "address:2:country",
		"phoneNumber:1", "phoneNumber:2", "group:vip", "group:newsletter", "customerCard:1"}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	row := make([]any, len(header))
	for i := 0; i < rows; i++ {
		n := 10000 + i
		row[0] = n
		row[1] = fmt.Sprintf("customer%d@example.com", n)
		row[2] = []string{"Matti", "Maija", "Aino", "Eino", "Liisa"}[i%5]
		row[3] = fmt.Sprintf("Meikäläinen %d", i%997)
		row[4], row[5], row[6] = i%2 == 0, i%3 == 0, i%5 == 0
		row[7] = fmt.Sprintf("EXT-%08d", n)
		row[8], row[9], row[10] = "Broker", "003721291126", fmt.Sprintf("FI%016d", n)
		row[11], row[12] = "Invoice", fmt.Sprintf("Mannerheimintie %d A %d", i%200, i%50)
		row[13] = excelize.Cell{StyleID: postal, Value: 100 + i%900}
		row[14], row[15] = "Helsinki", "FI"
		row[16], row[17] = "Delivery", fmt.Sprintf("Hämeenkatu %d", i%120)
		row[18] = excelize.Cell{StyleID: postal, Value: 33100 + i%50}
		row[19], row[20] = "Tampere", "FI"
		row[21], row[22] = fmt.Sprintf("+35840%07d", i), fmt.Sprintf("050 %07d", i)
		row[23], row[24] = i%7 == 0, i%2 == 1
		row[25] = fmt.Sprintf("CARD%010d", n)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.SaveAs(path)
}

// floor inflates the first worksheet and counts its cells with a byte
// scan: what reading cannot go below.
func floor(path string, fast bool) (int, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	if fast {
		zr.RegisterDecompressor(zip.Deflate, kflate.NewReader)
	}
	for _, f := range zr.File {
		if f.Name != "xl/worksheets/sheet1.xml" {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		buf := make([]byte, scanBufSize)
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
	return 0, fmt.Errorf("no sheet1.xml")
}

func readerPass(path string) (int, error) {
	r, err := Open(path, Limits{})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	cells := 0
	for r.Next() {
		cells += len(r.Row().Cells)
	}
	return cells, r.Err()
}

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
		cells += len(cols)
	}
	return cells, rows.Close()
}

func BenchmarkRead(b *testing.B) {
	for _, bf := range benchFiles(b) {
		passes := []struct {
			name string
			run  func(string) (int, error)
		}{
			{"floor-stdlib-inflate", func(p string) (int, error) { return floor(p, false) }},
			{"floor", func(p string) (int, error) { return floor(p, true) }},
			{"reader", readerPass},
			{"reader-one-goroutine", func(p string) (int, error) {
				readAheadParts = false
				defer func() { readAheadParts = true }()
				return readerPass(p)
			}},
			{"reader-stdlib-inflate", func(p string) (int, error) {
				fastInflate = false
				defer func() { fastInflate = true }()
				return readerPass(p)
			}},
			{"excelize", excelizePass},
		}
		for _, p := range passes {
			b.Run(bf.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := p.run(bf.path); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkRatio times the floor and the reader in the same iterations
// and reports reader / floor (the target is at most 3).
func BenchmarkRatio(b *testing.B) {
	for _, bf := range benchFiles(b) {
		b.Run(bf.name, func(b *testing.B) {
			var tFloor, tReader time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := floor(bf.path, true); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if _, err := readerPass(bf.path); err != nil {
					b.Fatal(err)
				}
				tFloor += mid.Sub(start)
				tReader += time.Since(mid)
			}
			b.ReportMetric(float64(tFloor.Milliseconds())/float64(b.N), "floor-ms")
			b.ReportMetric(float64(tReader.Milliseconds())/float64(b.N), "reader-ms")
			b.ReportMetric(float64(tReader)/float64(tFloor), "x-floor")
		})
	}
}

// TestMemoryFlatInRows: the reader's live heap does not grow with the
// number of rows (inline strings, so no shared-strings table grows).
func TestMemoryFlatInRows(t *testing.T) {
	// From files, as an upload is read, so that the input is not on the
	// heap; both written before anything is measured.
	dir := t.TempDir()
	path := func(rows int) string { return filepath.Join(dir, fmt.Sprintf("flat-%d.xlsx", rows)) }
	for _, rows := range []int{4000, 40000} {
		if err := os.WriteFile(path(rows), flatFile(t, rows), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	peak := func(rows int) uint64 {
		runtime.GC()
		r, err := Open(path(rows), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var ms runtime.MemStats
		var max uint64
		n := 0
		for r.Next() {
			if n++; n%2000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				max = maxU(max, ms.HeapAlloc)
			}
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		if n != rows {
			t.Fatalf("read %d rows, want %d", n, rows)
		}
		return max
	}
	small, large := peak(4000), peak(40000)
	t.Logf("live heap while reading: %d KiB at 4,000 rows, %d KiB at 40,000 rows", small>>10, large>>10)
	if large > small+256<<10 {
		t.Errorf("live heap grew from %d to %d bytes with ten times the rows", small, large)
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// flatFile is a hand-built sheet of inline strings and numbers.
func flatFile(t testing.TB, rows int) []byte {
	var sb strings.Builder
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&sb, `<row r="%d">`, i)
		for c := 1; c <= 10; c++ {
			if c%2 == 0 {
				fmt.Fprintf(&sb, `<c r="%s"><v>%d</v></c>`, CellName(c, i), i*c)
			} else {
				fmt.Fprintf(&sb, `<c r="%s" t="inlineStr"><is><t>text %d %d</t></is></c>`, CellName(c, i), i, c)
			}
		}
		sb.WriteString("</row>")
	}
	return book{rows: sb.String()}.zip(t)
}
