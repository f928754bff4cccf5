package excel

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits are small, so that fuzzing explores the limits too.
var fuzzLimits = Limits{MaxPartBytes: 1 << 20, MaxRows: 1000, MaxColumns: 50, MaxCellBytes: 200, MaxSharedStrings: 100, MaxSharedStringsBytes: 2000}

// checkInvariants reads a whole file and checks what must hold for any
// input: no panic, every error typed, rows increasing and within limits.
func checkInvariants(t *testing.T, data []byte) {
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), fuzzLimits)
	if err != nil {
		checkErr(t, err)
		return
	}
	defer r.Close()
	last := 0
	for r.Next() {
		row := r.Row()
		if row.Number <= last || row.Number > fuzzLimits.MaxRows {
			t.Fatalf("row %d after %d", row.Number, last)
		}
		last = row.Number
		if len(row.Cells) == 0 || len(row.Cells) > fuzzLimits.MaxColumns {
			t.Fatalf("row %d has %d cells", row.Number, len(row.Cells))
		}
		if row.Cells[len(row.Cells)-1].Text == "" {
			t.Fatalf("row %d ends with an empty cell", row.Number)
		}
		for _, c := range row.Cells {
			if len(c.Text) > fuzzLimits.MaxCellBytes || (c.Text == "") != (c.Kind == Empty) {
				t.Fatalf("row %d: cell %+v", row.Number, c)
			}
		}
	}
	if err := r.Err(); err != nil {
		checkErr(t, err)
	}
}

func checkErr(t *testing.T, err error) {
	var fe *FileError
	var le *LimitError
	if !errors.As(err, &fe) && !errors.As(err, &le) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
	if err.Error() == "" {
		t.Fatal("empty error text")
	}
}

// FuzzOpen feeds whole files: the fixtures and hand-built ones, mutated.
// Run: go test ./adapters/excel/ -run '^$' -fuzz FuzzOpen -fuzztime 1m
func FuzzOpen(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xls*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	f.Add(handBuiltFile(f, 3, 5, 4))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkInvariants(t, data)
	})
}

// FuzzSheetXML feeds the worksheet XML alone, stored in a valid package
// with shared strings and styles, so that mutations reach the scanner.
// Run: go test ./adapters/excel/ -run '^$' -fuzz FuzzSheetXML -fuzztime 1m
func FuzzSheetXML(f *testing.F) {
	f.Add(`<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c t="inlineStr"><is><r><t>a</t></r><rPh><t>b</t></rPh></is></c></row><row><c s="1"><v>100</v></c><c s="2"><v>45000.5</v></c><c t="b"><v>1</v></c></row></sheetData></worksheet>`)
	f.Add(`<x:worksheet xmlns:x="` + nsMain + `"><x:sheetData><x:row><x:c><x:f>1</x:f><x:v>2</x:v></x:c><x:c t="e"><x:v>#N/A</x:v></x:c></x:row></x:sheetData></x:worksheet>`)
	f.Add("<worksheet><sheetData><row r=\"3\"><c r=\"B3\" t=\"str\"><v>&amp;&#x41;<![CDATA[<]]>\r\n_x0041_</v></c><c t=\"d\"><v>2024-01-02</v></c></row><!-- c --><?pi?></sheetData></worksheet>")
	sst := `<si><t>shared</t></si><si><r><t>ri</t></r><r><t>ch</t></r></si>`
	f.Fuzz(func(t *testing.T, sheet string) {
		data := book{
			sheetXML: sheet, sst: sst,
			numFmts: `<numFmt numFmtId="164" formatCode="00000"/>`, xfs: []string{"164", "14", "49", "22"},
		}.zip(t)
		checkInvariants(t, data)
	})
}
