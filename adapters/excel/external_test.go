package excel

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// externalFixtures are files written by programs we cannot run here
// (Microsoft Excel, Google Sheets, Apple Numbers), taken from the test data
// of open-source spreadsheet readers; testdata/external/SOURCES.md says
// where each one comes from and under which licence. Each must carry its
// producer's marks (so that the fixture is what we say it is), read as
// excelize reads it, open its first sheet by the workbook's order, and
// show the cells listed.
var externalFixtures = []struct {
	file     string
	producer producer
	sheet    string          // the first sheet's name
	want     map[string]Cell // by cell name
}{
	{"excel-2008-mac-cell-types.xlsx", excel("Microsoft Macintosh Excel", "12.0000"), "Sheet1", map[string]Cell{
		"A1": {Text: "hello world", Kind: String},
		"A2": {Text: "日本語", Kind: String},
		"A3": {Text: "12345", Kind: Number, Format: "General"},
		"A4": {Text: "1.024", Kind: Number, Format: "General"},
		"A5": {Text: "2015-01-01", Kind: Date, Format: "yyyy-mm-dd"}, // 40543 in the 1904 date system
		"A6": {Text: "TRUE", Kind: Bool},
		"A7": {Text: "30", Kind: Number, Formula: true, Format: "General"},
		"A8": {Text: "#DIV/0!", Kind: Error, Formula: true},
	}},
	{"excel-2010-rich-text.xlsx", excel("Microsoft Excel", "14.0300"), "Sheet1", map[string]Cell{
		"A1": {Text: "abcd", Kind: String}, // runs "ab" + red "cd"
		"B1": {Text: "abcd", Kind: String},
		"A2": {Text: "tvalrval1rval2", Kind: String}, // a plain <t> before the runs
		"D2": {Text: "rval1rval2", Kind: String},
	}},
	{"excel-2010-colour-formats.xlsx", excel("Microsoft Excel", "14.0300"), "Sheet1", map[string]Cell{
		// A colour is no date: "[Red]0" is a plain number format.
		"A1": {Text: "0", Kind: Number, Format: "[Black]0"},
		"A8": {Text: "0", Kind: Number, Format: "[Red]0"},
	}},
	// The first sheet is a chart sheet: the import reads the worksheet
	// after it.
	{"excel-2010-mac-chart-sheet-first.xlsx", excel("Microsoft Macintosh Excel", "14.0300"), "Sheet1", map[string]Cell{
		"A1": {Text: "Value", Kind: String},
		"A5": {Text: "4", Kind: Number, Format: "General"},
	}},
	{"excel-2016-mac-types.xlsx", excel("Microsoft Macintosh Excel", "15.0300"), "guess_me", map[string]Cell{
		"A1": {Text: "blank", Kind: String},
		"A2": {},
		"B2": {Text: "TRUE", Kind: Bool},
		"C2": {Text: "2017-02-27", Kind: Date, Format: "yyyy-mm-dd"}, // 41331 in the 1904 date system
		"D2": {Text: "1", Kind: Number, Format: "General"},
		"B5": {Text: "TRUE", Kind: Bool, Formula: true},
		"C5": {Text: "2017-02-28", Kind: Date, Formula: true, Format: "yyyy-mm-dd"},
		"D6": {Text: "6", Kind: Number, Formula: true, Format: "General"},
		"E6": {Text: "wor", Kind: String, Formula: true},
	}},
	{"excel-2016-mac-leap-year.xlsx", excel("Microsoft Macintosh Excel", "15.0300"), "for_testing", map[string]Cell{
		"A5": {Text: "1900-02-29", Kind: Date, Format: `[$-F800]dddd\,\ mmmm\ dd\,\ yyyy`},
		"B5": {Text: "1900-02-29 08:00:00", Kind: String, Formula: true},
		"C5": {Text: "FALSE", Kind: Bool},
	}},
	{"excel-2016-strict.xlsx", excel("Microsoft Excel", "16.0300"), "ml_out", map[string]Cell{
		"A1": {Text: "Item", Kind: String},
		"A3": {Text: "1625593500", Kind: Number, Format: "General"},
		"B2": {Text: "1.50", Kind: Number, Format: "0.00"},
		"P2": {Text: "12.6183", Kind: Number, Format: "0.0000"},
		"R2": {Text: "104", Kind: Number, Format: "General"},
	}},
	{"excel-online.xlsx", excel("Microsoft Excel Online", "16.0300"), "Some Sheet", map[string]Cell{
		"A1":  {Text: "String Value 32", Kind: String},
		"B7":  {Text: "2023-03-15", Kind: Date, Format: "yyyy-mm-dd"},
		"G7":  {Text: "901", Kind: Number, Format: "General"},
		"B11": {Text: " ", Kind: String},
	}},
	{"spreadsheetgear-no-r.xlsx", spreadsheetGear, "Some Sheet", map[string]Cell{
		"A1":  {Text: "String Value 32", Kind: String},
		"B7":  {Text: "2023-03-15", Kind: Date, Format: "yyyy-mm-dd"},
		"G7":  {Text: "901", Kind: Number, Format: "General"},
		"B11": {Text: " ", Kind: String},
	}},
	{"google-sheets-iris.xlsx", googleSheets, "iris", map[string]Cell{
		"A1":   {Text: "Sepal.Length", Kind: String},
		"A2":   {Text: "5.1", Kind: Number, Format: "General"}, // stored as 5.1
		"B3":   {Text: "3", Kind: Number, Format: "General"},   // stored as 3.0
		"E151": {Text: "virginica", Kind: String},
	}},
	{"google-sheets-tutorial.xlsx", googleSheets, "Sample", map[string]Cell{
		"A2": {Text: "Alice", Kind: String},
		"B2": {Text: "2020-03-20", Kind: Date, Format: "yyyy-mm-dd"}, // stored as 43910.0
		"C2": {Text: "24315", Kind: Number, Format: "General"},
		"D3": {Text: "1067.25", Kind: Number, Formula: true, Format: `_-* #,##0.00\ [$€-407]_-;\-* #,##0.00\ [$€-407]_-;_-* "-"??\ [$€-407]_-;_-@`}, // a shared formula
	}},
	{"google-sheets-2024.xlsx", googleSheets, "Feuille 1", map[string]Cell{
		"A1": {},
		"A3": {Text: "a", Kind: String},
		"B3": {Text: "0", Kind: Number, Format: "General"}, // stored as 0.0
		"B4": {Text: "1", Kind: Number, Format: "General"},
	}},
	{"apple-numbers.xlsx", appleNumbers, "主动技能", map[string]Cell{
		"A1": {Text: "编号", Kind: String},
	}},
}

// producer is what a program leaves in the package it writes.
type producer struct {
	appXML      bool   // whether the package has docProps/app.xml
	application string // its <Application>, "" when it names none
	appVersion  string // its <AppVersion>, "" when it names none
	marks       []mark
}

// mark is a text that a part of the package must contain, or must not
// when absent is set.
type mark struct {
	part, text string
	absent     bool
}

// excel is Microsoft Excel: it names itself in docProps/app.xml, and its
// workbook.xml has <fileVersion appName="xl"> (libraries that copy Excel's
// app.xml, like openpyxl's "Microsoft Excel Compatible", write neither
// this name nor this element).
func excel(application, version string) producer {
	return producer{appXML: true, application: application, appVersion: version, marks: []mark{
		{part: "xl/workbook.xml", text: `<fileVersion appName="xl"`},
	}}
}

// googleSheets is Google Sheets' download as .xlsx: no docProps at all, the
// Mac Excel 2008 namespace declared on the workbook and the worksheet,
// custom-height rows and no <dimension>.
var googleSheets = producer{marks: []mark{
	{part: "docProps/core.xml", absent: true},
	{part: "xl/workbook.xml", text: `xmlns:mx="http://schemas.microsoft.com/office/mac/excel/2008/main"`},
	{part: "xl/workbook.xml", text: "<fileVersion", absent: true},
	{part: "xl/worksheets/sheet1.xml", text: `xmlns:mx="http://schemas.microsoft.com/office/mac/excel/2008/main"`},
	{part: "xl/worksheets/sheet1.xml", text: `<sheetFormatPr customHeight="1"`},
	{part: "xl/worksheets/sheet1.xml", text: "<dimension", absent: true},
}}

// appleNumbers is Numbers' export: an empty app.xml and core.xml, content
// types for the media iWork embeds (movies, PDF), and a worksheet part
// named sheet.xml.
var appleNumbers = producer{appXML: true, marks: []mark{
	{part: "[Content_Types].xml", text: `<Default Extension="mov" ContentType="application/movie"/>`},
	{part: "[Content_Types].xml", text: `<Override PartName="/xl/worksheets/sheet.xml"`},
	{part: "xl/workbook.xml", text: "<fileVersion", absent: true},
}}

// spreadsheetGear is the SpreadsheetGear library: no docProps, its name in
// <fileVersion>, and cells without an r attribute.
var spreadsheetGear = producer{marks: []mark{
	{part: "xl/workbook.xml", text: `<fileVersion appName="SpreadsheetGear 8.7.17.102"/>`},
	{part: "xl/worksheets/sheet1.xml", text: "<c s="},
}}

// checkProducer fails the test unless the package carries the producer's
// marks.
func checkProducer(t *testing.T, data []byte, want producer) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	part := func(name string) (string, bool) {
		for _, f := range zr.File {
			if f.Name != name {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return string(b), true
		}
		return "", false
	}
	app, ok := part("docProps/app.xml")
	if ok != want.appXML {
		t.Errorf("docProps/app.xml present = %v, want %v", ok, want.appXML)
	}
	if ok {
		var props struct {
			Application string
			AppVersion  string
		}
		if err := xml.Unmarshal([]byte(app), &props); err != nil {
			t.Fatalf("docProps/app.xml: %v", err)
		}
		if props.Application != want.application || props.AppVersion != want.appVersion {
			t.Errorf("docProps/app.xml names %q %q, want %q %q", props.Application, props.AppVersion, want.application, want.appVersion)
		}
	}
	for _, m := range want.marks {
		text, ok := part(m.part)
		switch {
		case m.absent && m.text == "" && ok:
			t.Errorf("%s is present", m.part)
		case m.absent && m.text != "" && strings.Contains(text, m.text):
			t.Errorf("%s contains %s", m.part, m.text)
		case !m.absent && !ok:
			t.Errorf("%s is missing", m.part)
		case !m.absent && !strings.Contains(text, m.text):
			t.Errorf("%s lacks %s", m.part, m.text)
		}
	}
}

func readExternal(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "external", file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestExternalFixtures(t *testing.T) {
	t.Parallel()
	for _, fx := range externalFixtures {
		t.Run(fx.file, func(t *testing.T) {
			t.Parallel()
			data := readExternal(t, fx.file)
			checkProducer(t, data, fx.producer)
			grid, err := readAll(t, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			compareWithOracle(t, fx.file, grid, readOracle(t, data))
			r, err := NewReader(bytes.NewReader(data), int64(len(data)), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.SheetName(); got != fx.sheet {
				t.Errorf("sheet %q, want %q", got, fx.sheet)
			}
			r.Close()
			for name, want := range fx.want {
				col, row, err := excelize.CellNameToCoordinates(name)
				if err != nil {
					t.Fatal(err)
				}
				var got Cell
				if row <= len(grid) && col <= len(grid[row-1]) {
					got = grid[row-1][col-1]
				}
				if got != want {
					t.Errorf("%s = %+v, want %+v", name, got, want)
				}
			}
		})
	}
}

// TestExternalDatesAsExcelShowsThem checks the reader's dates against
// Excel's own rendering, not excelize's: in this file Excel computed
// TEXT(A, "yyyy-mm-dd hh:mm:ss") into column B, across the 1900 leap-year
// bug (serial 60 is 1900-02-29) and the 1904 boundary.
func TestExternalDatesAsExcelShowsThem(t *testing.T) {
	t.Parallel()
	grid, err := readAll(t, readExternal(t, "excel-2016-mac-leap-year.xlsx"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != 8 {
		t.Fatalf("%d rows, want 8", len(grid))
	}
	for i, row := range grid[1:] {
		if len(row) < 2 || row[0].Kind != Date || row[1].Kind != String || !row[1].Formula {
			t.Fatalf("row %d: %+v, want a date and Excel's TEXT of it", i+2, row)
		}
		// The format shows the date only; Excel's text has the time too.
		if date, shown := row[0].Text, row[1].Text; !strings.HasPrefix(shown, date+" ") {
			t.Errorf("row %d: reader %q, Excel %q", i+2, date, shown)
		}
	}
}

// TestExternalSameSheetTwoWriters reads one sheet as two programs wrote
// it: SpreadsheetGear (cells without r, indented XML, a byte-order mark)
// and Excel Online, which opened and saved that file. Both must show the
// same cells.
func TestExternalSameSheetTwoWriters(t *testing.T) {
	t.Parallel()
	library, err := readAll(t, readExternal(t, "spreadsheetgear-no-r.xlsx"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	online, err := readAll(t, readExternal(t, "excel-online.xlsx"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	cells := 0
	for i := 0; i < max(len(library), len(online)); i++ {
		var a, b []Cell
		if i < len(library) {
			a = library[i]
		}
		if i < len(online) {
			b = online[i]
		}
		for j := 0; j < max(len(a), len(b)); j++ {
			var x, y Cell
			if j < len(a) {
				x = a[j]
			}
			if j < len(b) {
				y = b[j]
			}
			if x.Text != "" {
				cells++
			}
			if x.Text != y.Text || x.Kind != y.Kind {
				t.Errorf("%s: SpreadsheetGear %+v, Excel Online %+v", CellName(j+1, i+1), x, y)
			}
		}
	}
	if cells < 100 {
		t.Errorf("only %d cells with text; the sheet has more", cells)
	}
}
