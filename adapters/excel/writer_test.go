package excel

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// writeBook writes sheets of rows with the Writer and returns the file.
type testSheet struct {
	sheet Sheet
	rows  [][]Value
}

func writeBook(t testing.TB, sheets ...testSheet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, s := range sheets {
		if err := w.AddSheet(s.sheet); err != nil {
			t.Fatal(err)
		}
		for _, row := range s.rows {
			if err := w.WriteRow(row); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writerTexts are texts that a writer gets wrong: XML's specials, what
// XML 1.0 cannot hold, what looks like an _xHHHH_ escape, spaces at the
// ends, leading zeros, emoji, Excel's longest cell.
var writerTexts = func() []string {
	texts := append([]string(nil), trickyTexts...)
	for c := rune(0); c < 0x20; c++ {
		texts = append(texts, "ctl"+string(c)+"x", string(c))
	}
	texts = append(texts,
		"\r\n", "a\rb", "\uFFFE", "\uFFFF", "x\uFFFFy", "_x000D_", "_x005F_", "_x005f_", "_x0041\u0001", "_x0041\uFFFE",
		"_x0041_\u0001", "__x0041__", "_x_x0041_", "_X0041_", "_xD800_", "_xd83d__xde00_", "_x00", "_x0041",
		"00100", "0401234567", "007", " 00100 ", "\tTab", "Line\n", "ÅÄÖåäö", "👩‍👩‍👧‍👦 family", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
		"<![CDATA[x]]>", "&lt;", "&#13;", `a"b'c`, "]]>",
		strings.Repeat("x", MaxCellChars), strings.Repeat("😀", MaxCellChars/2), strings.Repeat("ä", MaxCellChars),
	)
	return texts
}()

// escapeAlphabet builds random texts out of the pieces of escapes.
var escapeAlphabet = []string{"_", "_", "x", "x", "0", "0", "5", "F", "f", "D", "A", "\r", "\u0001", "\u0000", "\uFFFE",
	"a", "&", "<", ">", " ", "ä", "😀", "\t", "\n"}

func randomWriterText(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		var sb strings.Builder
		for n := 1 + rng.IntN(16); n > 0; n-- {
			sb.WriteString(escapeAlphabet[rng.IntN(len(escapeAlphabet))])
		}
		return sb.String()
	case 1:
		return randomText(rng)
	}
	return writerTexts[rng.IntN(len(writerTexts))]
}

// randomWriterNumber is a number of at most 15 significant digits, which
// Excel and the reader show exactly.
func randomWriterNumber(rng *rand.Rand) float64 {
	switch rng.IntN(7) {
	case 0:
		return float64(rng.Int64N(1e15))
	case 1:
		return -float64(rng.IntN(100000))
	case 2:
		return float64(rng.IntN(1e8)) / 100
	case 3:
		f, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", rng.IntN(1000), rng.IntN(40)-20), 64)
		return f
	case 4:
		return 0
	case 5:
		return 1.5e300
	}
	return -2.25e-7
}

// randomBook is rows of random cells of every kind, up to cols columns,
// with empty cells in the middle and empty rows.
func randomBook(seed uint64, rows, cols int) [][]Value {
	rng := rand.New(rand.NewPCG(seed, 11))
	grid := make([][]Value, rows)
	for r := range grid {
		if rng.IntN(15) == 0 {
			continue // an empty row
		}
		row := make([]Value, 1+rng.IntN(cols))
		for c := range row {
			switch rng.IntN(12) {
			case 0:
				// empty
			case 1:
				row[c] = TextValue("")
			case 2:
				row[c] = BoolValue(rng.IntN(2) == 0)
			case 3:
				row[c] = NumberValue(randomWriterNumber(rng))
			case 4:
				row[c] = IntValue(rng.Int64N(1e15) - 5e14)
			default:
				row[c] = TextValue(randomWriterText(rng))
			}
		}
		grid[r] = row
	}
	return grid
}

// wantCell is what the reader should read of a written value.
func wantCell(v Value) Cell {
	switch v.kind {
	case String:
		if v.s == "" {
			return Cell{}
		}
		return Cell{Text: v.s, Kind: String}
	case Bool:
		return Cell{Text: map[int64]string{0: "FALSE", 1: "TRUE"}[v.i], Kind: Bool}
	case Number:
		if v.isInt {
			return Cell{Text: strconv.FormatInt(v.i, 10), Kind: Number, Format: "General"}
		}
		return Cell{Text: string(appendNumber(nil, v.f)), Kind: Number, Format: "General"}
	}
	return Cell{}
}

// sameCell compares a cell read back with the value written; numbers by
// value (the reader shows 1.5e300 as 1.5E+300).
func sameCell(got Cell, v Value) bool {
	want := wantCell(v)
	if want.Kind != Number {
		return got == want
	}
	g, err1 := strconv.ParseFloat(got.Text, 64)
	w, err2 := strconv.ParseFloat(want.Text, 64)
	return err1 == nil && err2 == nil && g == w && got.Kind == Number && got.Format == "General"
}

// checkReadBack reads the first sheet of data with the reader and with
// excelize (the oracle) and compares every cell with what was written
// (header row first).
func checkReadBack(t *testing.T, name string, data []byte, header []string, rows [][]Value) {
	t.Helper()
	want := append([][]Value{make([]Value, len(header))}, rows...)
	for i, h := range header {
		want[0][i] = TextValue(h)
	}
	grid, err := readAll(t, data, Limits{})
	if err != nil {
		t.Fatalf("%s: reader: %v", name, err)
	}
	o := readOracle(t, data)
	bad := 0
	for r, row := range want {
		for c, v := range row {
			var got Cell
			if r < len(grid) && c < len(grid[r]) {
				got = grid[r][c]
			}
			if !sameCell(got, v) {
				bad++
				t.Errorf("%s: reader: cell %s = %+v, want %+v", name, CellName(c+1, r+1), got, wantCell(v))
			}
			// excelize shows numbers by their raw value, the rest as shown.
			oracle := o.shown
			if v.kind == Number {
				oracle = o.raw
			}
			var shown string
			if r < len(oracle) && c < len(oracle[r]) {
				shown = oracle[r][c]
			}
			if !sameCell(Cell{Text: shown, Kind: wantCell(v).Kind, Format: wantCell(v).Format}, v) {
				bad++
				t.Errorf("%s: excelize: cell %s = %q, want %q", name, CellName(c+1, r+1), shown, wantCell(v).Text)
			}
			if bad > 10 {
				t.Fatal("too many differences")
			}
		}
		// Nothing more in the row than was written.
		if r < len(grid) && len(grid[r]) > len(row) {
			t.Errorf("%s: reader: row %d has %d cells, want at most %d", name, r+1, len(grid[r]), len(row))
		}
	}
	if len(grid) > len(want) {
		t.Errorf("%s: reader: %d rows, want at most %d", name, len(grid), len(want))
	}
}

func TestWriterRoundTrip(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 6; seed++ {
		cols := []int{3, 26, 300}[seed%3]
		rows := randomBook(seed, 40, cols)
		header := make([]string, cols)
		columns := make([]Column, cols)
		for i := range header {
			header[i] = randomWriterText(rand.New(rand.NewPCG(seed, uint64(i))))
			columns[i] = Column{Header: header[i], Type: ColumnType(i % 2), Wrap: i%5 == 0}
		}
		name := fmt.Sprintf("seed %d, %d columns", seed, cols)
		data := writeBook(t, testSheet{Sheet{Name: "Sheet " + strconv.Itoa(int(seed)), Columns: columns, AutoFilter: seed%2 == 0}, rows})
		checkReadBack(t, name, data, header, rows)
	}
}

// TestWriterEveryText writes each awkward text alone in a cell.
func TestWriterEveryText(t *testing.T) {
	t.Parallel()
	var rows [][]Value
	for _, s := range writerTexts {
		rows = append(rows, []Value{TextValue(s), TextValue(s)})
	}
	data := writeBook(t, testSheet{Sheet{Name: "Texts", Columns: []Column{{Header: "text"}, {Header: "general", Type: GeneralColumn}}}, rows})
	checkReadBack(t, "texts", data, []string{"text", "general"}, rows)
}

func TestWriterEscapes(t *testing.T) {
	tests := []struct {
		give, want string
	}{
		{"plain", "plain"},
		{"a & b <c> \"d\" 'e'", "a &amp; b &lt;c&gt; \"d\" 'e'"},
		{"tab\tline\n", "tab\tline\n"},
		{"cr\r\n", "cr_x000D_\n"},
		{"nul\x00bell\x07", "nul_x0000_bell_x0007_"},
		{"\uFFFE\uFFFF", "_xFFFE__xFFFF_"},
		{"_x0041_", "_x005F_x0041_"},
		{"_x005F_", "_x005F_x005F_"},
		{"_x005F_x0041_", "_x005F_x005F_x005F_x0041_"},
		{"_x0041\x01", "_x005F_x0041_x0001_"},
		{"_x0041\uFFFF", "_x005F_x0041_xFFFF_"},
		{"_x0041&", "_x0041&amp;"},
		{"_x0041", "_x0041"},
		{"_X0041_", "_X0041_"},
		{"_xG041_", "_xG041_"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
		{"emoji 😀 ä", "emoji 😀 ä"},
	}
	for _, tt := range tests {
		if got := string(appendEscaped(nil, tt.give)); got != tt.want {
			t.Errorf("appendEscaped(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

// TestWriterInvalidUTF8 writes invalid UTF-8 as U+FFFD.
func TestWriterInvalidUTF8(t *testing.T) {
	data := writeBook(t, testSheet{Sheet{Name: "S", Columns: []Column{{Header: "h\xff"}}}, [][]Value{{TextValue("a\xffb")}}})
	checkReadBack(t, "invalid UTF-8", data, []string{"h\uFFFD"}, [][]Value{{TextValue("a\uFFFDb")}})
}

// TestWriterTwoSheetsInExcelize checks a template-like pair of sheets as
// excelize sees them: names, rows, the text format of text columns, the
// frozen header, widths and the autofilter.
func TestWriterTwoSheetsInExcelize(t *testing.T) {
	t.Parallel()
	data := writeBook(t,
		testSheet{Sheet{Name: "Customers", AutoFilter: true, Columns: []Column{
			{Header: "email", Width: 30}, {Header: "marketingEmail", Type: GeneralColumn}, {Header: "address:1:postalCode"},
		}}, [][]Value{{TextValue("matti@example.com"), BoolValue(true), TextValue("00100")}}},
		testSheet{Sheet{Name: "Sarakkeet 'ohje' 2", Columns: []Column{
			{Header: "column", Width: 25}, {Header: "explanation", Width: 80, Wrap: true},
		}}, [][]Value{
			{TextValue("email"), TextValue("The customer's email address.\nRequired.")},
			{TextValue("marketingEmail"), TextValue("TRUE or FALSE.")},
		}},
	)
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"Customers", "Sarakkeet 'ohje' 2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}
	rows, err := f.GetRows("Sarakkeet 'ohje' 2")
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{{"column", "explanation"}, {"email", "The customer's email address.\nRequired."}, {"marketingEmail", "TRUE or FALSE."}}
	if fmt.Sprintf("%q", rows) != fmt.Sprintf("%q", wantRows) {
		t.Errorf("second sheet = %q, want %q", rows, wantRows)
	}
	rows, err = f.GetRows("Customers")
	if err != nil {
		t.Fatal(err)
	}
	wantRows = [][]string{{"email", "marketingEmail", "address:1:postalCode"}, {"matti@example.com", "TRUE", "00100"}}
	if fmt.Sprintf("%q", rows) != fmt.Sprintf("%q", wantRows) {
		t.Errorf("first sheet = %q, want %q", rows, wantRows)
	}
	numFmt := func(sheet, col string) int {
		id, err := f.GetColStyle(sheet, col)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return st.NumFmt
	}
	cellFmt := func(sheet, cell string) (int, bool) {
		id, err := f.GetCellStyle(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil {
			t.Fatal(err)
		}
		return st.NumFmt, st.Font != nil && st.Font.Bold
	}
	for _, tt := range []struct {
		sheet, col string
		want       int
	}{{"Customers", "A", 49}, {"Customers", "B", 0}, {"Customers", "C", 49}, {"Sarakkeet 'ohje' 2", "B", 49}} {
		if got := numFmt(tt.sheet, tt.col); got != tt.want {
			t.Errorf("%s column %s: number format %d, want %d", tt.sheet, tt.col, got, tt.want)
		}
	}
	if got, bold := cellFmt("Customers", "C2"); got != 49 || bold {
		t.Errorf("C2: number format %d, bold %v; want 49 (text), not bold", got, bold)
	}
	if got, bold := cellFmt("Customers", "B1"); !bold {
		t.Errorf("B1 (header): number format %d, not bold", got)
	}
	if w, err := f.GetColWidth("Customers", "A"); err != nil || w != 30 {
		t.Errorf("column A width %v, %v; want 30", w, err)
	}
	panes, err := f.GetPanes("Customers")
	if err != nil {
		t.Fatal(err)
	}
	if !panes.Freeze || panes.YSplit != 1 || panes.TopLeftCell != "A2" {
		t.Errorf("panes = %+v, want the first row frozen", panes)
	}
	var filter bool
	for _, dn := range f.GetDefinedName() {
		if dn.Name == "_xlnm._FilterDatabase" && dn.Scope == "Customers" && dn.RefersTo == "'Customers'!$A$1:$C$2" {
			filter = true
		}
	}
	if !filter {
		t.Errorf("no autofilter defined name: %+v", f.GetDefinedName())
	}
}

// TestWriterLibreOffice has LibreOffice convert a written workbook of two
// sheets to CSV, one file a sheet, and compares the cells.
func TestWriterLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("LibreOffice (soffice) is needed: apt-get install --no-install-recommends libreoffice-calc")
		}
		t.Skip("LibreOffice (soffice) is not installed: apt-get install --no-install-recommends libreoffice-calc")
	}
	t.Parallel()
	first := [][]Value{
		{TextValue("00100"), BoolValue(true), IntValue(12), TextValue("  spaces kept  ")},
		{TextValue("0401234567"), BoolValue(false), NumberValue(-3.25), TextValue("a, \"quoted\"\nnew line")},
		{{}, {}, {}, TextValue("empty cells before")},
		{TextValue("emoji 😀 ÅÄÖ"), {}, NumberValue(1234567), TextValue("_x0041_ stays, ctl\x01 too")},
		{TextValue(strings.Repeat("long ", 2000))},
	}
	second := [][]Value{{TextValue("email"), TextValue("The customer's email.")}, {TextValue("a & b"), TextValue("<x>")}}
	data := writeBook(t,
		testSheet{Sheet{Name: "Asiakkaat", AutoFilter: true, Columns: []Column{{Header: "postalCode"}, {Header: "marketingEmail", Type: GeneralColumn}, {Header: "n", Type: GeneralColumn}, {Header: "text", Wrap: true}}}, first},
		testSheet{Sheet{Name: "Ohjeet", Columns: []Column{{Header: "column"}, {Header: "explanation"}}}, second},
	)
	dir := t.TempDir()
	in := filepath.Join(dir, "book.xlsx")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// Comma, double quote, UTF-8, from line 1; the last token -1 writes
	// every sheet to a file of its own (book-Asiakkaat.csv ...).
	cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(dir, "profile"), "--headless",
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", dir, in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		sheet  string
		header []string
		rows   [][]Value
	}{
		{"Asiakkaat", []string{"postalCode", "marketingEmail", "n", "text"}, first},
		{"Ohjeet", []string{"column", "explanation"}, second},
	} {
		b, err := os.ReadFile(filepath.Join(dir, "book-"+tt.sheet+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tt.sheet, err, b)
		}
		want := [][]string{tt.header}
		for _, row := range tt.rows {
			line := make([]string, len(tt.header))
			for i, v := range row {
				line[i] = wantCell(v).Text
			}
			want = append(want, line)
		}
		if len(got) != len(want) {
			t.Errorf("%s: LibreOffice reads %d rows, want %d", tt.sheet, len(got), len(want))
		}
		for r := range min(len(got), len(want)) {
			if fmt.Sprintf("%q", got[r]) != fmt.Sprintf("%q", want[r]) {
				t.Errorf("%s row %d as LibreOffice reads it:\n got %.200q\nwant %.200q", tt.sheet, r+1, got[r], want[r])
			}
		}
	}
}

// TestWriterMemoryFlat: the writer's live heap does not grow with the
// rows (writing ten times the rows to io.Discard).
func TestWriterMemoryFlat(t *testing.T) {
	peak := func(rows int) uint64 {
		runtime.GC()
		w := NewWriter(io.Discard)
		cols := make([]Column, len(benchHeader))
		for i, h := range benchHeader {
			cols[i] = Column{Header: h}
		}
		if err := w.AddSheet(Sheet{Name: "Customers", Columns: cols}); err != nil {
			t.Fatal(err)
		}
		src := make([]any, len(cols))
		vals := make([]Value, len(cols))
		var ms runtime.MemStats
		var max uint64
		for i := 0; i < rows; i++ {
			benchCustomer(i, src)
			for j, v := range src {
				vals[j] = TextValue(fmt.Sprint(v))
			}
			if err := w.WriteRow(vals); err != nil {
				t.Fatal(err)
			}
			if i%(rows/10) == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				max = maxU(max, ms.HeapAlloc)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return max
	}
	small, large := peak(10000), peak(100000)
	t.Logf("live heap while writing: %d KiB at 10,000 rows, %d KiB at 100,000 rows", small>>10, large>>10)
	if large > small+256<<10 {
		t.Errorf("live heap grew from %d to %d bytes with ten times the rows", small, large)
	}
}

func TestWriterErrors(t *testing.T) {
	cols := []Column{{Header: "a"}, {Header: "b"}}
	tests := []struct {
		name string
		give func(w *Writer) error
		want string // in the error
		is   error
	}{
		{"no sheet", func(w *Writer) error { return w.WriteRow([]Value{TextValue("x")}) }, "add a sheet", nil},
		{"empty name", func(w *Writer) error { return w.AddSheet(Sheet{Columns: cols}) }, "1 to 31 characters", nil},
		{"long name", func(w *Writer) error { return w.AddSheet(Sheet{Name: strings.Repeat("x", 32), Columns: cols}) }, "1 to 31 characters", nil},
		{"slash", func(w *Writer) error { return w.AddSheet(Sheet{Name: "a/b", Columns: cols}) }, "cannot hold", nil},
		{"apostrophe", func(w *Writer) error { return w.AddSheet(Sheet{Name: "'a", Columns: cols}) }, "apostrophe", nil},
		{"control", func(w *Writer) error { return w.AddSheet(Sheet{Name: "a\tb", Columns: cols}) }, "control", nil},
		{"no columns", func(w *Writer) error { return w.AddSheet(Sheet{Name: "a"}) }, "1 to 16,384 columns", nil},
		{"same name", func(w *Writer) error {
			if err := w.AddSheet(Sheet{Name: "Ohjeet", Columns: cols}); err != nil {
				return err
			}
			return w.AddSheet(Sheet{Name: "OHJEET", Columns: cols})
		}, "already has a sheet", nil},
		{"long header", func(w *Writer) error {
			return w.AddSheet(Sheet{Name: "a", Columns: []Column{{Header: strings.Repeat("x", MaxCellChars+1)}}})
		}, "column A", ErrCellTooLong},
		{"too many cells", func(w *Writer) error {
			_ = w.AddSheet(Sheet{Name: "a", Columns: cols})
			return w.WriteRow(make([]Value, 3))
		}, "3 cells, 2 columns", ErrTooManyCells},
		{"long text", func(w *Writer) error {
			_ = w.AddSheet(Sheet{Name: "a", Columns: cols})
			return w.WriteRow([]Value{{}, TextValue(strings.Repeat("😀", MaxCellChars/2+1))})
		}, "cell B2", ErrCellTooLong},
		{"NaN", func(w *Writer) error {
			_ = w.AddSheet(Sheet{Name: "a", Columns: cols})
			return w.WriteRow([]Value{NumberValue(math.NaN())})
		}, "cell A2", ErrBadNumber},
		{"infinity", func(w *Writer) error {
			_ = w.AddSheet(Sheet{Name: "a", Columns: cols})
			return w.WriteRow([]Value{NumberValue(math.Inf(-1))})
		}, "cell A2", ErrBadNumber},
		{"after close", func(w *Writer) error {
			_ = w.AddSheet(Sheet{Name: "a", Columns: cols})
			_ = w.Close()
			return w.WriteRow([]Value{TextValue("x")})
		}, "add a sheet", nil},
		{"close without sheets", func(w *Writer) error { return w.Close() }, "at least one sheet", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.give(NewWriter(io.Discard))
			if err == nil || !strings.Contains(err.Error(), tt.want) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want one with %q (%v)", err, tt.want, tt.is)
			}
		})
	}
}

// TestWriterRowErrorLeavesWriterUsable: a refused row is not written and
// the rows after it are, at the next row number.
func TestWriterRowErrorLeavesWriterUsable(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if err := w.AddSheet(Sheet{Name: "a", Columns: []Column{{Header: "a"}, {Header: "b"}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRow([]Value{TextValue("kept"), NumberValue(math.NaN())}); !errors.Is(err, ErrBadNumber) {
		t.Fatalf("error = %v, want ErrBadNumber", err)
	}
	if err := w.WriteRow([]Value{TextValue("next")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	grid, err := readAll(t, buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q", texts(grid)); got != `[["a" "b"] ["next"]]` {
		t.Errorf("rows = %s", got)
	}
}

// TestWriterIOError: an error of the underlying writer is returned, and
// again by Close.
func TestWriterIOError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewWriter(failingWriter{boom})
	err := w.AddSheet(Sheet{Name: "a", Columns: []Column{{Header: "a"}}})
	for i := 0; err == nil && i < 100000; i++ {
		err = w.WriteRow([]Value{TextValue(strings.Repeat("x", 1000))})
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
	if err := w.Close(); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want %v", err, boom)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

// TestValueOfRoundTrip writes the rows of the reader's fixtures back with
// ValueOf, as a file of rejected rows does, and reads them again: every
// cell shows the same text; texts, booleans and General numbers keep
// their kind, the rest become texts.
func TestValueOfRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"libreoffice-from-fods.xlsx", "excelize-stream.xlsx", "generated.xlsx", "libreoffice-from-csv.xlsx"} {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		grid, err := readAll(t, src, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		width := 0
		for _, row := range grid {
			width = max(width, len(row))
		}
		cols := make([]Column, width)
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.AddSheet(Sheet{Name: "Rejected", Columns: cols}); err != nil {
			t.Fatal(err)
		}
		// The header row is empty (no headers); the grid's rows follow it.
		for _, row := range grid {
			vals := make([]Value, len(row))
			for i, c := range row {
				vals[i] = ValueOf(c)
			}
			if err := w.WriteRow(vals); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := readAll(t, buf.Bytes(), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for r, row := range grid {
			for c, cell := range row {
				var got Cell
				if r+1 < len(back) && c < len(back[r+1]) {
					got = back[r+1][c]
				}
				wantKind := String
				switch {
				case cell.Kind == Empty || cell.Kind == Bool:
					wantKind = cell.Kind
				case cell.Kind == Number && cell.Format == "General" && !cell.Formula:
					wantKind = Number
				}
				if got.Text != cell.Text || got.Kind != wantKind {
					t.Errorf("%s: cell %s read %q (%v), written back and read %q (%v), want kind %v",
						name, CellName(c+1, r+1), cell.Text, cell.Kind, got.Text, got.Kind, wantKind)
				}
			}
		}
	}
}
