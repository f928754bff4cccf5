package excel

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// BenchmarkWrite writes benchRows() customers (100,000 unless
// KIRJURI_EXCEL_BENCH_ROWS says otherwise) of 26 columns, the columns of
// the import benchmark, with this package's Writer and with excelize's
// StreamWriter, to io.Discard and to a file. Besides time and allocated
// bytes (B/op) it reports rows/s, the peak HeapInuse sampled every 10 ms
// while writing (peak-heap-MB) and the file's size (file-MB).
//
//	go test ./adapters/excel/ -run '^$' -bench BenchmarkWrite -benchtime 1x
//	KIRJURI_EXCEL_BENCH_ROWS=1000000 go test ./adapters/excel/ -run '^$' -bench 'BenchmarkWrite/writer' -benchtime 1x -timeout 30m
//
// The writer/level-N cases compare DEFLATE levels (to io.Discard).
func BenchmarkWrite(b *testing.B) {
	rows := benchRows()
	dir := b.TempDir()
	sinks := []struct {
		name string
		open func() (io.Writer, func() (int64, error))
	}{
		{"discard", func() (io.Writer, func() (int64, error)) {
			c := &countingWriter{w: io.Discard}
			return c, func() (int64, error) { return c.n, nil }
		}},
		{"file", func() (io.Writer, func() (int64, error)) {
			path := filepath.Join(dir, "bench.xlsx")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			return f, func() (int64, error) {
				if err := f.Close(); err != nil {
					return 0, err
				}
				st, err := os.Stat(path)
				if err != nil {
					return 0, err
				}
				return st.Size(), os.Remove(path)
			}
		}},
	}
	writers := []struct {
		name  string
		write func(io.Writer, int) error
	}{
		{"writer", writeBenchCustomers},
		{"excelize", writeBenchCustomersExcelize},
	}
	for _, wr := range writers {
		for _, sink := range sinks {
			b.Run(wr.name+"/"+sink.name, func(b *testing.B) {
				runWriteBench(b, rows, func() (int64, error) {
					out, done := sink.open()
					if err := wr.write(out, rows); err != nil {
						return 0, err
					}
					return done()
				})
			})
		}
	}
	for _, level := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("writer/level-%d", level), func(b *testing.B) {
			defer func(l int) { writeLevel = l }(writeLevel)
			writeLevel = level
			runWriteBench(b, rows, func() (int64, error) {
				c := &countingWriter{w: io.Discard}
				err := writeBenchCustomers(c, rows)
				return c.n, err
			})
		})
	}
}

func runWriteBench(b *testing.B, rows int, run func() (int64, error)) {
	b.ReportAllocs()
	var peak uint64
	var size int64
	for b.Loop() {
		runtime.GC()
		stop := sampleHeap(&peak)
		n, err := run()
		stop()
		if err != nil {
			b.Fatal(err)
		}
		size = n
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(size)/(1<<20), "file-MB")
}

// sampleHeap records the largest HeapInuse into *peak every 10 ms until
// the returned function is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	read := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		*peak = maxU(*peak, ms.HeapInuse)
	}
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
		read()
	}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// benchHeader is the customer sheet of the benchmarks: 26 columns, the
// booleans in GeneralColumns.
var benchHeader = []string{"number", "email", "firstName", "lastName", "marketingEmail", "marketingSms", "creditAllowed",
	"externalId", "eInvoiceMode", "eInvoiceBroker", "eInvoiceAddress",
	"address:1:type", "address:1:streetAddress1", "address:1:postalCode", "address:1:city", "address:1:country",
	"address:2:type", "address:2:streetAddress1", "address:2:postalCode", "address:2:city", "address:2:country",
	"phoneNumber:1", "phoneNumber:2", "group:vip", "group:newsletter", "customerCard:1"}

var benchBoolColumns = map[int]bool{4: true, 5: true, 6: true, 23: true, 24: true}

// benchCustomer fills row (26 cells) with customer i: the same data as
// writeBenchFile, postal codes as text.
func benchCustomer(i int, row []any) {
	n := 10000 + i
	row[0] = n
	row[1] = fmt.Sprintf("customer%d@example.com", n)
	row[2] = []string{"Matti", "Maija", "Aino", "Eino", "Liisa"}[i%5]
	row[3] = fmt.Sprintf("Meikäläinen %d", i%997)
	row[4], row[5], row[6] = i%2 == 0, i%3 == 0, i%5 == 0
	row[7] = fmt.Sprintf("EXT-%08d", n)
	row[8], row[9], row[10] = "Broker", "003721291126", fmt.Sprintf("FI%016d", n)
	row[11], row[12] = "Invoice", fmt.Sprintf("Mannerheimintie %d A %d", i%200, i%50)
	row[13] = fmt.Sprintf("%05d", 100+i%900)
	row[14], row[15] = "Helsinki", "FI"
	row[16], row[17] = "Delivery", fmt.Sprintf("Hämeenkatu %d", i%120)
	row[18] = fmt.Sprintf("%05d", 33100+i%50)
	row[19], row[20] = "Tampere", "FI"
	row[21], row[22] = fmt.Sprintf("+35840%07d", i), fmt.Sprintf("050 %07d", i)
	row[23], row[24] = i%7 == 0, i%2 == 1
	row[25] = fmt.Sprintf("CARD%010d", n)
}

func writeBenchCustomers(out io.Writer, rows int) error {
	w := NewWriter(out)
	cols := make([]Column, len(benchHeader))
	for i, h := range benchHeader {
		cols[i] = Column{Header: h}
		if benchBoolColumns[i] || i == 0 {
			cols[i].Type = GeneralColumn
		}
	}
	if err := w.AddSheet(Sheet{Name: "Customers", Columns: cols, AutoFilter: true}); err != nil {
		return err
	}
	src := make([]any, len(benchHeader))
	vals := make([]Value, len(benchHeader))
	for i := 0; i < rows; i++ {
		benchCustomer(i, src)
		for j, v := range src {
			switch v := v.(type) {
			case int:
				vals[j] = IntValue(int64(v))
			case bool:
				vals[j] = BoolValue(v)
			case string:
				vals[j] = TextValue(v)
			}
		}
		if err := w.WriteRow(vals); err != nil {
			return err
		}
	}
	return w.Close()
}

func writeBenchCustomersExcelize(out io.Writer, rows int) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Customers"); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter("Customers")
	if err != nil {
		return err
	}
	header := make([]any, len(benchHeader))
	for i, h := range benchHeader {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	row := make([]any, len(benchHeader))
	for i := 0; i < rows; i++ {
		benchCustomer(i, row)
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(out)
	return err
}
