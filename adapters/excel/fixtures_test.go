package excel

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite testdata/*.xlsx (the LibreOffice ones need soffice)")

// goodFixtures are files a merchant could send; each must read as
// excelize reads it, and show the cells listed.
var goodFixtures = []struct {
	file string
	want map[string]Cell // by cell name
}{
	{"excelize-stream.xlsx", map[string]Cell{
		"A1": {Text: "email", Kind: String},
		"C2": {Text: "00100", Kind: Number, Format: "00000"},
		"D2": {Text: "0401234567", Kind: Number, Format: "0000000000"},
		"E2": {Text: "TRUE", Kind: Bool},
		"F2": {Text: "2024-01-02", Kind: Date, Format: "yyyy-mm-dd"},
		"B3": {Text: "Maija Meikäläinen", Kind: String},
		"C3": {Text: "100", Kind: Number, Format: "General"},
		"G3": {Text: "5", Kind: Number, Formula: true, Format: "General"},
	}},
	{"excelize-shared.xlsx", map[string]Cell{
		"A1": {Text: "email", Kind: String},
		"A2": {Text: "a & b <c>", Kind: String},
		"B2": {Text: "00100", Kind: Number, Format: "00000"},
	}},
	{"generated.xlsx", nil},
	{"libreoffice-from-fods.xlsx", map[string]Cell{
		"B2": {Text: "Matti Meikäläinen", Kind: String},
		"C2": {Text: "00100", Kind: Number, Format: "00000"},
		"D2": {Text: "0401234567", Kind: Number, Format: "0000000000"},
		"E2": {Text: "1", Kind: Number, Format: "General"}, // LibreOffice writes booleans as 1 and 0
		"F2": {Text: "2024-01-02", Kind: Date, Format: "d\\.m\\.yyyy"},
		"G2": {Text: "1234.50", Kind: Number, Format: "0.00"},
		"H2": {Text: "007", Kind: String},
		"I2": {Text: "a & b <c>\nsecond line", Kind: String},
		"A3": {Text: "  maija@example.com ", Kind: String},
		"C3": {Text: "100", Kind: Number, Format: "General"},
		"D3": {Text: "358401234567", Kind: Number, Format: "General"},
		"H3": {Text: "5", Kind: Number, Formula: true, Format: "General"},
		"B6": {Text: "#DIV/0!", Kind: Error, Formula: true},
		"C6": {Text: "xy", Kind: String, Formula: true},
		"D6": {Text: "ääkköset €", Kind: String},
	}},
	{"libreoffice-from-csv.xlsx", map[string]Cell{
		"A1": {Text: "email", Kind: String},
		"C2": {Text: "100", Kind: Number, Format: "General"}, // the trap: 00100 became a number
		"D2": {Text: "401234567", Kind: Number, Format: "General"},
		"B3": {Text: `Maija "M"`, Kind: String},
		"A3": {Text: "maija@example.com ", Kind: String},
	}},
	{"libreoffice-resaved-excelize.xlsx", map[string]Cell{
		"C2": {Text: "00100", Kind: Number, Format: "00000"},
		"B3": {Text: "Maija Meikäläinen", Kind: String},
	}},
}

// badFixtures are files that are not a readable .xlsx.
var badFixtures = []struct {
	file string
	want error
}{
	{"empty.xlsx", ErrEmpty},
	{"csv-renamed.xlsx", ErrNotXLSX},
	{"pdf-renamed.xlsx", ErrNotXLSX},
	{"opendocument-renamed.xlsx", ErrNotXLSX},
	{"old.xls", ErrLegacyXLS},
	{"password.xlsx", ErrEncrypted},
	{"no-workbook.xlsx", ErrNoWorkbook},
	{"truncated.xlsx", ErrCorrupt},
}

func TestFixtures(t *testing.T) {
	if *update {
		makeFixtures(t)
	}
	for _, fx := range goodFixtures {
		t.Run(fx.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", fx.file))
			if err != nil {
				t.Fatal(err)
			}
			grid, err := readAll(t, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			compareWithOracle(t, fx.file, grid, readOracle(t, data))
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
	for _, fx := range badFixtures {
		t.Run(fx.file, func(t *testing.T) {
			r, err := Open(filepath.Join("testdata", fx.file), Limits{})
			if err == nil {
				r.Close()
				t.Fatal("no error")
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, fx.want) {
				t.Fatalf("error %v (%T), want a FileError of kind %v", err, err, fx.want)
			}
			t.Log(err)
		})
	}
}

// makeFixtures writes the fixtures: some by code, the rest by LibreOffice
// from those and from testdata/src.
func makeFixtures(t *testing.T) {
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join("testdata", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stream := fixtureStream(t)
	write("excelize-stream.xlsx", stream)
	write("excelize-shared.xlsx", fixtureShared(t))
	write("generated.xlsx", handBuiltFile(t, 42, 30, 8))
	write("empty.xlsx", nil)
	csv, err := os.ReadFile("testdata/src/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	write("csv-renamed.xlsx", csv)
	write("no-workbook.xlsx", zipParts(t, part{"readme.txt", "not a workbook"}, part{"data/customers.csv", string(csv)}))
	write("truncated.xlsx", stream[:len(stream)/2])
	write("password.xlsx", fixturePassword(t))

	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Fatalf("-update needs LibreOffice (apt-get install libreoffice-calc): %v", err)
	}
	tmp := t.TempDir()
	convert := func(src, to, want string) {
		t.Helper()
		out := filepath.Join(tmp, to)
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(soffice, "-env:UserInstallation=file://"+filepath.Join(tmp, "profile"),
			"--headless", "--convert-to", to, "--outdir", out, src)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("soffice: %v\n%s", err, b)
		}
		base := filepath.Base(src)
		data, err := os.ReadFile(filepath.Join(out, base[:len(base)-len(filepath.Ext(base))]+"."+to))
		if err != nil {
			t.Fatal(err)
		}
		write(want, data)
	}
	fods, _ := filepath.Abs("testdata/src/customers.fods")
	csvPath, _ := filepath.Abs("testdata/src/customers.csv")
	streamPath := filepath.Join(tmp, "excelize-stream.xlsx")
	if err := os.WriteFile(streamPath, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	convert(fods, "xlsx", "libreoffice-from-fods.xlsx")
	convert(csvPath, "xlsx", "libreoffice-from-csv.xlsx")
	convert(streamPath, "xlsx", "libreoffice-resaved-excelize.xlsx")
	convert(fods, "xls", "old.xls")
	convert(fods, "ods", "opendocument-renamed.xlsx")
	convert(csvPath, "pdf", "pdf-renamed.xlsx")
}

// fixtureStream is a customer sheet written by excelize's stream writer.
func fixtureStream(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	style := func(code string) int {
		id, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr(code)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	postal, phone, date := style("00000"), style("0000000000"), style("yyyy-mm-dd")
	rows := [][]any{
		{"email", "name", "address:1:postalCode", "phoneNumber:1", "marketingEmail", "since", "nameLength"},
		{"matti@example.com", "Matti", excelize.Cell{StyleID: postal, Value: 100}, excelize.Cell{StyleID: phone, Value: 401234567},
			true, excelize.Cell{StyleID: date, Value: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}},
		{"maija@example.com", []excelize.RichTextRun{{Text: "Maija "}, {Text: "Meikäläinen", Font: &excelize.Font{Bold: true}}},
			100, "+358 40 123 4567", false, nil, excelize.Cell{Formula: "LEN(A3)", Value: 5}},
		nil,
		{nil, "  spaces kept  ", "a & b <c>", "_x0041_ stays", 0.1 + 0.2},
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fixtureShared is written with excelize's ordinary API (shared strings),
// its worksheet renamed and placed first among two sheets.
func fixtureShared(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "Asiakkaat"))
	_, err := f.NewSheet("Ohjeet")
	must(err)
	must(f.SetSheetRow("Asiakkaat", "A1", &[]any{"email", "postalCode", "note"}))
	must(f.SetSheetRow("Asiakkaat", "A2", &[]any{"a & b <c>", 100, "line\nbreak"}))
	must(f.SetSheetRow("Ohjeet", "A1", &[]any{"not read"}))
	postal, err := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("00000")})
	must(err)
	must(f.SetCellStyle("Asiakkaat", "B2", "B2", postal))
	var buf bytes.Buffer
	must(f.Write(&buf))
	return buf.Bytes()
}

// fixturePassword is a password-protected workbook, as excelize encrypts
// it (the way Excel does: an OLE2 file with EncryptionInfo).
func fixturePassword(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetCellValue("Sheet1", "A1", "secret"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf, excelize.Options{Password: "salasana"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestNotZipSniffing checks the message for files that are not a zip.
func TestNotZipSniffing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give string
		want string
	}{
		{"%PDF-1.7\n...", "it is a PDF document"},
		{"email;name\r\nmatti@example.com;Matti\r\n", "it looks like a text file (CSV?); open it in a spreadsheet and save it as .xlsx"},
		{"\xEF\xBB\xBF<html><body><table>", "it is a web page (HTML); open it in a spreadsheet and save it as .xlsx"},
		{`<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">`, "it is an Excel 2003 XML spreadsheet; save it as .xlsx"},
		{"\x00\x01\x02binary", "it is not a zip file"},
	}
	for _, tt := range tests {
		_, err := NewReader(bytes.NewReader([]byte(tt.give)), int64(len(tt.give)), Limits{})
		var fe *FileError
		if !errors.As(err, &fe) || fe.Kind != ErrNotXLSX || fe.Detail != tt.want {
			t.Errorf("%q: got %v, want %q", tt.give, err, tt.want)
		}
	}
}
