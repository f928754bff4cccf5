package excel

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// part is one zip entry of a hand-built package.
type part struct {
	name, body string
}

// zipParts writes the parts, in order, into a zip.
func zipParts(t testing.TB, parts ...part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	nsMain = `http://schemas.openxmlformats.org/spreadsheetml/2006/main`
	nsRel  = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	relWS  = nsRel + `/worksheet`
)

// book describes a hand-built workbook: its first worksheet's sheetData
// content, and optionally shared strings, styles and other knobs.
type book struct {
	rows        string // the content of <sheetData>
	sheetXML    string // the whole worksheet, instead of rows
	sst         string // the content of <sst>, if any
	numFmts     string // <numFmt .../> elements
	xfs         []string
	date1904    bool
	sheetTarget string // the worksheet's rels target (default worksheets/sheet1.xml)
	sheetPath   string // its zip name (default xl/worksheets/sheet1.xml)
	sheetFirst  bool   // put the worksheet first in the zip
	extraSheets string // more <sheet> elements before the first one
	extraRels   string
}

func (b book) parts() []part {
	target := b.sheetTarget
	if target == "" {
		target = "worksheets/sheet1.xml"
	}
	path := b.sheetPath
	if path == "" {
		path = "xl/worksheets/sheet1.xml"
	}
	sheet := b.sheetXML
	if sheet == "" {
		sheet = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<worksheet xmlns="` + nsMain + `" xmlns:r="` + nsRel + `"><dimension ref="A1"/><sheetData>` +
			b.rows + `</sheetData><pageMargins left="0.7"/></worksheet>`
	}
	wbPr := ""
	if b.date1904 {
		wbPr = `<workbookPr date1904="1"/>`
	}
	rels := `<Relationship Id="rId1" Type="` + relWS + `" Target="` + target + `"/>` +
		`<Relationship Id="rId2" Type="` + nsRel + `/styles" Target="styles.xml"/>` + b.extraRels
	if b.sst != "" {
		rels += `<Relationship Id="rId3" Type="` + nsRel + `/sharedStrings" Target="sharedStrings.xml"/>`
	}
	xfs := `<xf numFmtId="0"/>`
	for _, id := range b.xfs {
		xfs += `<xf numFmtId="` + id + `" applyNumberFormat="1"/>`
	}
	parts := []part{
		{"[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="` + nsRel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0"?><workbook xmlns="` + nsMain + `" xmlns:r="` + nsRel + `">` + wbPr +
			`<sheets>` + b.extraSheets + `<sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`},
		{"xl/styles.xml", `<?xml version="1.0"?><styleSheet xmlns="` + nsMain + `"><numFmts count="1">` + b.numFmts +
			`</numFmts><cellXfs count="` + fmt.Sprint(len(b.xfs)+1) + `">` + xfs + `</cellXfs></styleSheet>`},
	}
	if b.sst != "" {
		parts = append(parts, part{"xl/sharedStrings.xml", `<?xml version="1.0"?><sst xmlns="` + nsMain + `">` + b.sst + `</sst>`})
	}
	ws := part{path, sheet}
	if b.sheetFirst {
		return append([]part{ws}, parts...)
	}
	return append(parts, ws)
}

func (b book) zip(t testing.TB) []byte { return zipParts(t, b.parts()...) }

// texts returns the grid's texts, for comparing with a table.
func texts(grid [][]Cell) [][]string {
	out := make([][]string, len(grid))
	for i, row := range grid {
		for _, c := range row {
			out[i] = append(out[i], c.Text)
		}
	}
	return out
}

func gridString(g [][]string) string {
	var b strings.Builder
	for i, row := range g {
		fmt.Fprintf(&b, "%d: %q\n", i+1, row)
	}
	return b.String()
}
