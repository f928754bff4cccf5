package excel

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// readAll reads every row of a file with the reader, as a grid indexed by
// row number - 1 (skipped rows are empty), with the cells.
func readAll(t testing.TB, data []byte, limits Limits) ([][]Cell, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), limits)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var grid [][]Cell
	for r.Next() {
		row := r.Row()
		for len(grid) < row.Number-1 {
			grid = append(grid, nil)
		}
		grid = append(grid, append([]Cell(nil), row.Cells...))
	}
	return grid, r.Err()
}

// oracle is excelize's reading of the first sheet of a file.
type oracle struct {
	shown    [][]string // GetRows
	raw      [][]string // GetRows with RawCellValue
	date1904 bool
}

func readOracle(t testing.TB, data []byte) oracle {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("excelize cannot open the file: %v", err)
	}
	defer f.Close()
	// The first sheet that is a worksheet. excelize v2.11's GetRows gives
	// no rows and no error for a chart sheet, so ask GetSheetProps (which
	// says "is not a worksheet") — on a second handle, since it loads the
	// sheet and GetRows would then read excelize's re-encoded copy.
	probe, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("excelize cannot open the file: %v", err)
	}
	defer probe.Close()
	var o oracle
	var sheet string
	for _, name := range f.GetSheetList() {
		if _, perr := probe.GetSheetProps(name); perr != nil {
			continue
		}
		if o.shown, err = f.GetRows(name); err == nil {
			sheet = name
			break
		}
	}
	if sheet == "" {
		t.Fatalf("excelize GetRows: %v", err)
	}
	if o.raw, err = f.GetRows(sheet, excelize.Options{RawCellValue: true}); err != nil {
		t.Fatalf("excelize GetRows raw: %v", err)
	}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		o.date1904 = *props.Date1904
	}
	o.shown, o.raw = trimGrid(o.shown), trimGrid(o.raw)
	return o
}

// trimGrid drops empty cells at the end of each row and empty rows at the
// end (excelize keeps a formula cell with no cached value).
func trimGrid(g [][]string) [][]string {
	for i, row := range g {
		n := len(row)
		for n > 0 && row[n-1] == "" {
			n--
		}
		g[i] = row[:n]
	}
	n := len(g)
	for n > 0 && len(g[n-1]) == 0 {
		n--
	}
	return g[:n]
}

// compareWithOracle checks that the reader shows every cell as excelize
// does, except where the package doc says it deliberately differs, and
// there it checks the reader's text against excelize's raw value:
//   - dates: ISO 8601 of excelize.ExcelDateToTime(raw);
//   - numbers whose format is General (with a style), "@" or one the
//     reader does not render: the same number as the raw value, to 15
//     significant digits (excelize shows General with a style to 10 digits
//     and renders formats the reader leaves alone);
//   - t="d" cells: the same date as the raw value.
func compareWithOracle(t testing.TB, name string, grid [][]Cell, o oracle) {
	t.Helper()
	rows := len(grid)
	if len(o.shown) > rows {
		rows = len(o.shown)
	}
	bad := 0
	for i := 0; i < rows && bad < 10; i++ {
		var got []Cell
		var want, raw []string
		if i < len(grid) {
			got = grid[i]
		}
		if i < len(o.shown) {
			want = o.shown[i]
		}
		if i < len(o.raw) {
			raw = o.raw[i]
		}
		cols := max(len(got), len(want))
		for j := 0; j < cols; j++ {
			var c Cell
			var w, rw string
			if j < len(got) {
				c = got[j]
			}
			if j < len(want) {
				w = want[j]
			}
			if j < len(raw) {
				rw = raw[j]
			}
			if ok, why := agrees(c, w, rw, o.date1904); !ok {
				bad++
				t.Errorf("%s: cell %s: reader %q (%s, format %q), excelize %q (raw %q): %s",
					name, CellName(j+1, i+1), c.Text, c.Kind, c.Format, w, rw, why)
			}
		}
	}
}

func agrees(c Cell, shown, raw string, date1904 bool) (bool, string) {
	if c.Text == shown {
		return true, ""
	}
	switch {
	case c.Kind == Date && c.Format == "yyyy-mm-dd" && !strings.ContainsAny(raw, ".E") && strings.Contains(raw, "-"):
		// A t="d" cell: excelize shows its serial number.
		want, ok := appendISODate(nil, []byte(raw))
		return ok && string(want) == c.Text, "t=\"d\" date differs from the raw value"
	case c.Kind == Date:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return false, "raw value of a date is not a number"
		}
		if strings.Contains(c.Format, "[h") {
			secs := int(math.Round(f * 86400))
			want := fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
			return c.Text == want, "elapsed time differs from the raw value"
		}
		tm, err := excelize.ExcelDateToTime(f, date1904)
		if err != nil {
			return false, err.Error()
		}
		// Excel's day zero and 1900-02-29 are no time.Time.
		if !date1904 && (int(f) == 0 && strings.HasPrefix(c.Text, "1900-01-00") || int(f) == 60 && strings.HasPrefix(c.Text, "1900-02-29")) {
			return true, ""
		}
		// excelize's conversion before 1900-03-01 may be a second off.
		for _, d := range []time.Duration{0, time.Second, -time.Second} {
			tm := tm.Add(d)
			date, clock := tm.Format("2006-01-02"), tm.Format("15:04:05")
			switch c.Text {
			case date, clock, date + " " + clock:
				return true, ""
			}
		}
		return false, "date differs from excelize.ExcelDateToTime(raw)"
	case c.Kind == Number && isFixedCode(c.Format) && significantDigits(raw) > 15:
		// excelize renders digits past Excel's 15; the reader, like Excel,
		// shows 15 and zeros.
		a, err1 := strconv.ParseFloat(c.Text, 64)
		b, err2 := strconv.ParseFloat(raw, 64)
		if err1 != nil || err2 != nil {
			return false, "not numbers"
		}
		return math.Abs(a-b) <= 1e-14*math.Max(math.Abs(a), math.Abs(b))+0.5*math.Pow10(-fracDigits(c.Format)), "padded number differs from the raw value"
	case c.Kind == Number && c.Format != "" && !isFixedCode(c.Format):
		a, err1 := strconv.ParseFloat(c.Text, 64)
		b, err2 := strconv.ParseFloat(raw, 64)
		if err1 != nil || err2 != nil {
			return false, "not numbers"
		}
		if a == b || math.Abs(a-b) <= 1e-14*math.Max(math.Abs(a), math.Abs(b)) {
			return true, ""
		}
		return false, "number differs from the raw value"
	}
	return false, "text differs"
}

func fracDigits(code string) int {
	_, f, _ := zeroPadding(code)
	return f
}

// significantDigits counts the significant digits of a stored number.
func significantDigits(raw string) int {
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0
	}
	s := strconv.FormatFloat(math.Abs(f), 'e', -1, 64)
	return len(s[:strings.IndexByte(s, 'e')]) - strings.Count(s, ".")
}

func isFixedCode(code string) bool {
	_, _, ok := zeroPadding(code)
	return ok
}

func TestDifferentialSmoke(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellValue("Sheet1", "A1", "email"))
	must(f.SetCellValue("Sheet1", "B1", "postalCode"))
	must(f.SetCellValue("Sheet1", "A2", "a@example.com"))
	must(f.SetCellValue("Sheet1", "B2", 100))
	st, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("00000")})
	must(err)
	must(f.SetCellStyle("Sheet1", "B2", "B2", st))
	must(f.SetCellValue("Sheet1", "C3", true))
	var buf bytes.Buffer
	must(f.Write(&buf))
	grid, err := readAll(t, buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	compareWithOracle(t, "smoke", grid, readOracle(t, buf.Bytes()))
	if got := grid[1][1].Text; got != "00100" {
		t.Errorf("B2 = %q, want 00100", got)
	}
	if testing.Verbose() {
		for i, row := range grid {
			fmt.Fprintln(os.Stderr, i+1, row)
		}
	}
}

func ptr[T any](v T) *T { return &v }
