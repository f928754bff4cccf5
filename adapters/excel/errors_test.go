package excel

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
)

func TestLimits(t *testing.T) {
	t.Parallel()
	whitespace := strings.Repeat(" ", 4<<20) // 4 MiB that deflate to a few KiB
	tests := []struct {
		name   string
		give   book
		limits Limits
		want   LimitError
	}{
		{
			name:   "a zip bomb stops at the part limit",
			give:   book{rows: `<row r="1"><c r="A1"><v>1</v></c></row>` + whitespace},
			limits: Limits{MaxPartBytes: 1 << 20},
			want:   LimitError{Limit: LimitPartBytes, Max: 1 << 20, Part: "xl/worksheets/sheet1.xml"},
		},
		{
			name:   "shared strings count toward the part limit",
			give:   book{sst: `<si><t>a</t></si>` + whitespace, rows: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`},
			limits: Limits{MaxPartBytes: 1 << 20},
			want:   LimitError{Limit: LimitPartBytes, Max: 1 << 20, Part: "xl/sharedStrings.xml"},
		},
		{
			name:   "rows",
			give:   book{rows: `<row r="1"><c><v>1</v></c></row><row r="3"><c><v>1</v></c></row><row r="4"><c><v>1</v></c></row>`},
			limits: Limits{MaxRows: 3},
			want:   LimitError{Limit: LimitRows, Max: 3, Part: "xl/worksheets/sheet1.xml", Row: 4},
		},
		{
			name:   "columns with a value; styled empty cells further right do not count",
			give:   book{rows: `<row r="1"><c r="B1"><v>1</v></c><c r="XFD1" s="1"/></row><row r="2"><c r="C2"><v>1</v></c></row>`, xfs: []string{"0"}},
			limits: Limits{MaxColumns: 2},
			want:   LimitError{Limit: LimitColumns, Max: 2, Part: "xl/worksheets/sheet1.xml", Row: 2, Column: 3},
		},
		{
			name:   "cell length of an inline string",
			give:   book{rows: `<row r="1"><c r="B1" t="inlineStr"><is><t>12345678901</t></is></c></row>`},
			limits: Limits{MaxCellBytes: 10},
			want:   LimitError{Limit: LimitCellBytes, Max: 10, Part: "xl/worksheets/sheet1.xml", Row: 1, Column: 2},
		},
		{
			name:   "cell length after entities",
			give:   book{rows: `<row r="1"><c r="A1" t="inlineStr"><is><t>&amp;&amp;&amp;&amp;&amp;&amp;</t></is></c></row>`},
			limits: Limits{MaxCellBytes: 5},
			want:   LimitError{Limit: LimitCellBytes, Max: 5, Part: "xl/worksheets/sheet1.xml", Row: 1, Column: 1},
		},
		{
			name:   "cell length of a shared string",
			give:   book{sst: `<si><t>12345678901</t></si>`, rows: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`},
			limits: Limits{MaxCellBytes: 10},
			want:   LimitError{Limit: LimitCellBytes, Max: 10, Part: "xl/sharedStrings.xml"},
		},
		{
			name:   "shared strings count",
			give:   book{sst: `<si><t>a</t></si><si><t>b</t></si><si><t>c</t></si>`, rows: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`},
			limits: Limits{MaxSharedStrings: 2},
			want:   LimitError{Limit: LimitSharedStrings, Max: 2, Part: "xl/sharedStrings.xml"},
		},
		{
			name:   "shared strings bytes",
			give:   book{sst: `<si><t>abc</t></si><si><t>def</t></si>`, rows: `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`},
			limits: Limits{MaxSharedStringsBytes: 5},
			want:   LimitError{Limit: LimitSharedStringsBytes, Max: 5, Part: "xl/sharedStrings.xml"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAll(t, tt.give.zip(t), tt.limits)
			var le *LimitError
			if !errors.As(err, &le) || *le != tt.want || !errors.Is(err, ErrLimit) {
				t.Fatalf("error %v, want %+v", err, tt.want)
			}
			t.Log(err)
		})
	}
}

// TestZipBombWithLyingHeader: a part whose header claims a few bytes but
// inflates to many is stopped, whatever the header says.
func TestZipBombWithLyingHeader(t *testing.T) {
	t.Parallel()
	sheet := `<worksheet xmlns="` + nsMain + `"><sheetData><row r="1"><c r="A1"><v>1</v></c></row>` +
		strings.Repeat("<!-- -->", 1<<20) + `</sheetData></worksheet>`
	for _, claim := range []uint64{100, 1 << 40} {
		parts := book{sheetXML: "x"}.parts()
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, p := range parts {
			if p.name != "xl/worksheets/sheet1.xml" {
				w, _ := zw.Create(p.name)
				_, _ = w.Write([]byte(p.body))
				continue
			}
			var comp bytes.Buffer
			fw, _ := flate.NewWriter(&comp, flate.BestCompression)
			_, _ = fw.Write([]byte(sheet))
			_ = fw.Close()
			w, err := zw.CreateRaw(&zip.FileHeader{
				Name: p.name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE([]byte(sheet)),
				CompressedSize64: uint64(comp.Len()), UncompressedSize64: claim,
			})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(comp.Bytes())
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := readAll(t, buf.Bytes(), Limits{MaxPartBytes: 1 << 20})
		var le *LimitError
		var fe *FileError
		switch {
		case errors.As(err, &le) && le.Limit == LimitPartBytes:
		case claim < 1<<20 && errors.As(err, &fe) && fe.Kind == ErrCorrupt:
			// archive/zip stops at the claimed size first.
		default:
			t.Errorf("claim %d: error %v", claim, err)
		}
	}
}

func TestDamagedFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		give []byte
		want error
	}{
		{"a shared string that does not exist", book{sst: `<si><t>a</t></si>`, rows: `<row r="1"><c r="A1" t="s"><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"a shared string index that is not a number", book{sst: `<si><t>a</t></si>`, rows: `<row r="1"><c r="A1" t="s"><v>x</v></c></row>`}.zip(t), ErrCorrupt},
		{"rows out of order", book{rows: `<row r="2"><c><v>1</v></c></row><row r="1"><c><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"cells out of order", book{rows: `<row r="1"><c r="B1"><v>1</v></c><c r="A1"><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"a bad cell reference", book{rows: `<row r="1"><c r="1A"><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"a column past XFD", book{rows: `<row r="1"><c r="XFE1"><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"a row past Excel's last", book{rows: `<row r="1048577"><c><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"a bad row number", book{rows: `<row r="x"><c><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"an unknown entity", book{rows: `<row r="1"><c t="inlineStr"><is><t>&nbsp;</t></is></c></row>`}.zip(t), ErrCorrupt},
		{"a reference to a character XML forbids", book{rows: `<row r="1"><c t="inlineStr"><is><t>&#0;</t></is></c></row>`}.zip(t), ErrCorrupt},
		{"a raw control character", book{rows: "<row r=\"1\"><c t=\"inlineStr\"><is><t>a\x01</t></is></c></row>"}.zip(t), ErrCorrupt},
		{"text that is not UTF-8", book{rows: "<row r=\"1\"><c t=\"inlineStr\"><is><t>\xff</t></is></c></row>"}.zip(t), ErrCorrupt},
		{"a DOCTYPE", book{sheetXML: `<!DOCTYPE x [<!ENTITY a "b">]><worksheet><sheetData/></worksheet>`}.zip(t), ErrCorrupt},
		{"the XML ends inside the sheet data", book{sheetXML: `<worksheet><sheetData><row r="1"><c><v>1</v></c></row>`}.zip(t), ErrCorrupt},
		{"the XML ends inside a cell", book{sheetXML: `<worksheet><sheetData><row r="1"><c><v>1`}.zip(t), ErrCorrupt},
		{"an unclosed tag", book{sheetXML: `<worksheet><sheetData><row r="1"`}.zip(t), ErrCorrupt},
		{"'<' inside a tag", book{sheetXML: `<worksheet><sheetData><row <c>`}.zip(t), ErrCorrupt},
		{"the worksheet part is missing", zipParts(t, book{}.parts()[:5]...), ErrCorrupt},
		{"workbook.xml is not XML", zipParts(t, part{"_rels/.rels", book{}.parts()[1].body}, part{"xl/workbook.xml", "<workbook"}), ErrCorrupt},
		{"the main part is not a workbook", zipParts(t, part{"_rels/.rels", book{}.parts()[1].body}, part{"xl/workbook.xml", "<document/>"}), ErrNoWorkbook},
		{"only a chart sheet", zipParts(t, part{"_rels/.rels", book{}.parts()[1].body},
			part{"xl/workbook.xml", `<workbook xmlns:r="` + nsRel + `"><sheets><sheet name="C" sheetId="1" r:id="rId1"/></sheets></workbook>`},
			part{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Type="` + nsRel + `/chartsheet" Target="chartsheets/sheet1.xml"/></Relationships>`}), ErrNoWorksheet},
		{"an empty zip", zipParts(t), ErrNoWorkbook},
		{"an OLE2 header and nothing else", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 100)...), ErrLegacyXLS},
		{"PK and garbage", []byte("PK\x03\x04garbage"), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readAll(t, tt.give, Limits{})
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, tt.want) {
				t.Fatalf("error %v (%T), want a FileError of kind %v", err, err, tt.want)
			}
			t.Log(err)
		})
	}
}

func TestColumnName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		give int
		want string
	}{{1, "A"}, {26, "Z"}, {27, "AA"}, {702, "ZZ"}, {703, "AAA"}, {16384, "XFD"}}
	for _, tt := range tests {
		if got := ColumnName(tt.give); got != tt.want {
			t.Errorf("ColumnName(%d) = %q, want %q", tt.give, got, tt.want)
		}
		if got, ok := parseColumn([]byte(tt.want + "1")); !ok || got != tt.give {
			t.Errorf("parseColumn(%q) = %d, %v", tt.want+"1", got, ok)
		}
	}
}
