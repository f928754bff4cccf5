package excel

import (
	"reflect"
	"testing"
)

// TestHandBuiltSheets reads sheets written by hand, one feature each, and
// checks the text against the table and against excelize.
func TestHandBuiltSheets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		give book
		want [][]string
	}{
		{
			name: "shared strings with rich-text runs and a phonetic run",
			give: book{
				sst:  `<si><t>email</t></si><si><r><rPr><b/></rPr><t>Mat</t></r><r><t xml:space="preserve">ti </t></r><rPh sb="0" eb="1"><t>PH</t></rPh></si><si><t/></si>`,
				rows: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>`,
			},
			want: [][]string{{"email", "Matti "}},
		},
		{
			name: "inline strings, formula strings, booleans, errors",
			give: book{rows: `<row r="1"><c r="A1" t="inlineStr"><is><t>inline</t></is></c>` +
				`<c r="B1" t="inlineStr"><is><r><t>ri</t></r><r><rPr/><t>ch</t></r></is></c>` +
				`<c r="C1" t="str"><f>A1&amp;"x"</f><v>inlinex</v></c>` +
				`<c r="D1" t="b"><v>1</v></c><c r="E1" t="b"><v>0</v></c>` +
				`<c r="F1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>`},
			want: [][]string{{"inline", "rich", "inlinex", "TRUE", "FALSE", "#DIV/0!"}},
		},
		{
			name: "cells and rows without r follow the previous one",
			give: book{rows: `<row><c><v>1</v></c><c><v>2</v></c><c r="E1"><v>5</v></c><c><v>6</v></c></row>` +
				`<row r="3"><c r="B3"><v>2</v></c></row><row><c><v>4</v></c></row>`},
			want: [][]string{{"1", "2", "", "", "5", "6"}, nil, {"", "2"}, {"4"}},
		},
		{
			name: "trailing empty cells and rows, styled empty cells",
			give: book{rows: `<row r="1"><c r="A1"><v>1</v></c><c r="B1" s="1"/><c r="C1" t="inlineStr"><is><t></t></is></c><c r="D1"><v></v></c></row>` +
				`<row r="2" spans="1:3"/><row r="3"><c r="A3" s="1"/></row>`, xfs: []string{"0"}},
			want: [][]string{{"1"}},
		},
		{
			name: "entities, character references, CDATA, comments, line ends",
			give: book{rows: `<row r="1"><c r="A1" t="inlineStr"><is><t>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#228;&#x00E4;</t></is></c>` +
				"<c r=\"B1\" t=\"inlineStr\"><is><t><![CDATA[<x> & y]]><!-- no -->z</t></is></c>" +
				"<c r=\"C1\" t=\"inlineStr\"><is><t>line1\r\nline2\rline3&#13;</t></is></c></row>"},
			want: [][]string{{`a & b <c> "d" 'e' ää`, "<x> & yz", "line1\nline2\nline3\r"}},
		},
		{
			name: "_xHHHH_ escapes as excelize reads them",
			give: book{
				sst:  `<si><t>a_x000D_b_x005F_x0041_c_x0041__xD800_</t></si>`,
				rows: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="inlineStr"><is><t>_x0009_tab</t></is></c><c r="C1" t="str"><v>_x0041_</v></c></row>`,
			},
			want: [][]string{{"a\rb_x0041_cA", "\ttab", "_x0041_"}},
		},
		{
			name: "whitespace is kept with or without xml:space",
			give: book{rows: `<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve">  a  </t></is></c><c r="B1" t="inlineStr"><is><t> b </t></is></c></row>`},
			want: [][]string{{"  a  ", " b "}},
		},
		{
			name: "numbers with General, padding, text and other formats",
			give: book{
				numFmts: `<numFmt numFmtId="164" formatCode="00000"/><numFmt numFmtId="165" formatCode="0000000000"/><numFmt numFmtId="166" formatCode="#,##0.00 &quot;€&quot;"/>`,
				xfs:     []string{"164", "165", "49", "1", "2", "166", "0"},
				rows: `<row r="1"><c r="A1"><v>100</v></c><c r="B1" s="1"><v>100</v></c><c r="C1" s="2"><v>401234567</v></c>` +
					`<c r="D1" s="3"><v>100</v></c><c r="E1" s="4"><v>2.5</v></c><c r="F1" s="5"><v>2.345</v></c>` +
					`<c r="G1" s="6"><v>1234.5</v></c><c r="H1"><v>0.30000000000000004</v></c><c r="I1"><v>1E3</v></c>` +
					`<c r="J1" s="7"><v>-12</v></c><c r="K1"><v>-0</v></c><c r="L1" t="n"><v>12345678901234567890</v></c></row>`,
			},
			want: [][]string{{"100", "00100", "0401234567", "100", "3", "2.35", "1234.5", "0.3", "1000", "-12", "0", "1.23456789012346E+19"}},
		},
		{
			name: "dates and times",
			give: book{
				numFmts: `<numFmt numFmtId="164" formatCode="d.m.yyyy"/><numFmt numFmtId="165" formatCode="[$-40B]d\.\ mmmm&quot;ta &quot;yyyy;@"/><numFmt numFmtId="166" formatCode="[h]:mm"/>`,
				xfs:     []string{"14", "22", "164", "165", "20", "166"},
				rows: `<row r="1"><c r="A1" s="1"><v>45292</v></c><c r="B1" s="2"><v>45292.75</v></c><c r="C1" s="3"><v>1</v></c>` +
					`<c r="D1" s="4"><v>45000</v></c><c r="E1" s="5"><v>0.5</v></c><c r="F1" s="6"><v>1.25</v></c>` +
					`<c r="G1" s="1"><v>-1</v></c><c r="H1" t="d"><v>2024-02-29T00:00:00Z</v></c><c r="I1" s="3"><v>60</v></c></row>`,
			},
			want: [][]string{{"2024-01-01", "2024-01-01 18:00:00", "1900-01-01", "2023-03-15", "12:00:00", "30:00:00", "-1", "2024-02-29", "1900-02-29"}},
		},
		{
			name: "the 1904 date system",
			give: book{date1904: true, xfs: []string{"14"}, rows: `<row r="1"><c r="A1" s="1"><v>0</v></c><c r="B1" s="1"><v>43830</v></c></row>`},
			want: [][]string{{"1904-01-01", "2024-01-01"}},
		},
		{
			name: "prefixed element names",
			give: book{sheetXML: `<x:worksheet xmlns:x="` + nsMain + `"><x:sheetData><x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>pre</x:t></x:is></x:c><x:c r="B1"><x:v>7</x:v></x:c></x:row></x:sheetData></x:worksheet>`},
			want: [][]string{{"pre", "7"}},
		},
		{
			name: "the worksheet first in the zip, with an absolute target, after a chart sheet",
			give: book{
				sheetFirst: true, sheetTarget: "/xl/worksheets/data.xml", sheetPath: "xl/worksheets/data.xml",
				extraSheets: `<sheet name="Chart" sheetId="2" r:id="rId9"/>`,
				extraRels:   `<Relationship Id="rId9" Type="` + nsRel + `/chartsheet" Target="chartsheets/sheet1.xml"/>`,
				rows:        `<row r="1"><c r="A1" t="inlineStr"><is><t>here</t></is></c></row>`,
			},
			want: [][]string{{"here"}},
		},
		{
			name: "no sheetData, and an empty one",
			give: book{sheetXML: `<worksheet xmlns="` + nsMain + `"><dimension ref="A1"/></worksheet>`},
			want: nil,
		},
		{
			name: "formula with no cached value, shared formula",
			give: book{rows: `<row r="1"><c r="A1"><f>1+1</f></c><c r="B1"><f t="shared" ref="B1:B2" si="0">A1</f><v>2</v></c></row><row r="2"><c r="B2"><f t="shared" si="0"/><v>3</v></c></row>`},
			want: [][]string{{"", "2"}, {"", "3"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.give.zip(t)
			grid, err := readAll(t, data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(grid); !reflect.DeepEqual(got, normalize(tt.want)) {
				t.Errorf("got\n%swant\n%s", gridString(got), gridString(tt.want))
			}
			compareWithOracle(t, tt.name, grid, readOracle(t, data))
		})
	}
}

// normalize makes a want table comparable with texts(): nil rows for the
// skipped ones.
func normalize(g [][]string) [][]string {
	if len(g) == 0 {
		return []([]string){}
	}
	return g
}

// TestCellKinds checks the kind, formula flag and format of each kind of
// cell: what the column mapper will use to refuse a postal code stored as
// a plain number.
func TestCellKinds(t *testing.T) {
	t.Parallel()
	data := book{
		numFmts: `<numFmt numFmtId="164" formatCode="00000"/>`,
		xfs:     []string{"164", "49", "14"},
		sst:     `<si><t>s</t></si>`,
		rows: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>100</v></c><c r="C1" s="1"><v>100</v></c><c r="D1" s="2"><v>100</v></c>` +
			`<c r="E1" s="3"><v>45292</v></c><c r="F1" t="b"><v>1</v></c><c r="G1" t="e"><v>#N/A</v></c><c r="H1" t="str"><f>"x"</f><v>x</v></c>` +
			`<c r="I1"><f>1+1</f><v>2</v></c><c r="J1" t="d"><v>2024-01-02</v></c></row>`,
	}.zip(t)
	grid, err := readAll(t, data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Cell{
		{Text: "s", Kind: String},
		{Text: "100", Kind: Number, Format: "General"},
		{Text: "00100", Kind: Number, Format: "00000"},
		{Text: "100", Kind: Number, Format: "@"},
		{Text: "2024-01-01", Kind: Date, Format: "yyyy-mm-dd"},
		{Text: "TRUE", Kind: Bool},
		{Text: "#N/A", Kind: Error},
		{Text: "x", Kind: String, Formula: true},
		{Text: "2", Kind: Number, Formula: true, Format: "General"},
		{Text: "2024-01-02", Kind: Date, Format: "yyyy-mm-dd"},
	}
	if !reflect.DeepEqual(grid[0], want) {
		t.Errorf("got  %+v\nwant %+v", grid[0], want)
	}
}
