package excel

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	kflate "github.com/klauspost/compress/flate"
)

// Writer streams an .xlsx workbook to an io.Writer: sheets one after
// another, each a header row and then rows of text, boolean and number
// cells. It writes the zip parts itself (archive/zip with
// klauspost/compress's DEFLATE encoder), streaming each worksheet's XML
// into its zip entry, so that memory does not grow with the rows
// (excelize's stream writer keeps the finished zip in memory when it
// saves). Texts are inline strings (t="inlineStr"), not a shared-strings
// table, which would hold every distinct text until the end.
//
// The parts are written in this order: the package relationships, the
// styles, the worksheets, then the workbook, its relationships and the
// content types, which name the sheets and so can only come last (readers
// find the parts through the zip's central directory and the
// relationships, not by their order).
//
// What a merchant who edits the file gets:
//
//   - text cells, and every cell of a TextColumn (including the empty ones
//     below the data), have the text number format "@", so that a postal
//     code 00100 typed again stays text;
//   - booleans are boolean cells (t="b"), which Excel and LibreOffice show
//     as TRUE and FALSE and the reader reads as Kind Bool;
//   - the header row is bold and frozen; an autofilter is optional.
//
// Texts are written exactly: XML's special characters are escaped,
// leading and trailing spaces kept (xml:space="preserve"), and characters
// that XML 1.0 cannot hold (control characters, U+FFFE, U+FFFF) and the
// carriage return (which XML parsers turn into a line feed) are written
// as ECMA-376's _xHHHH_ escapes, as Excel does; a text that itself looks
// like such an escape has its underscore escaped (_x005F_), so that the
// reader, excelize and Excel read back what was written. Invalid UTF-8
// is written as U+FFFD.
//
// A Writer is not safe for concurrent use. Errors of the underlying
// io.Writer are sticky; errors about a row (a cell too long, a bad
// number, too many cells) leave the row unwritten and the Writer usable.
type Writer struct {
	zw   *zip.Writer
	part io.Writer // the current worksheet's zip entry
	// deflate is the compressor of the zip entry being written (Flush
	// pushes out what it holds back).
	deflate *kflate.Writer
	buf     []byte
	sheets  []writtenSheet
	cur     *sheetWriter
	err     error // sticky
	closed  bool
}

// writeLevel is the DEFLATE level of the zip parts (klauspost/compress's
// levels): 3 costs no more time than 1 and makes smaller files; 5 takes
// half as long again (BenchmarkWrite/writer/level-N). A variable so that
// the benchmark can compare them.
var writeLevel = 3

// flushBytes is how much sheet XML is gathered before it goes to the zip
// entry.
const flushBytes = 64 << 10

// MaxCellChars is the most characters (UTF-16 code units) Excel holds in a
// cell.
const MaxCellChars = 32767

// The errors of a row that cannot be written.
var (
	// ErrCellTooLong: a text of more than MaxCellChars characters, which
	// Excel would refuse to open (excelize cuts it silently).
	ErrCellTooLong = errors.New("excel: a cell holds at most 32,767 characters")
	// ErrBadNumber: NaN or an infinity, which a worksheet cannot hold.
	ErrBadNumber = errors.New("excel: a cell cannot hold NaN or an infinity")
	// ErrTooManyCells: a row with more cells than the sheet has columns.
	ErrTooManyCells = errors.New("excel: the row has more cells than the sheet has columns")
	// ErrSheetFull: a row past Excel's last row, 1,048,576.
	ErrSheetFull = errors.New("excel: a worksheet holds at most 1,048,576 rows")
)

// ColumnType says how Excel treats what a merchant types into a column.
type ColumnType uint8

const (
	// TextColumn (the zero value) has the text number format "@": what is
	// typed stays text, leading zeros and all. For every text column.
	TextColumn ColumnType = iota
	// GeneralColumn has Excel's General format: typed numbers become
	// numbers and TRUE/FALSE booleans. For boolean and number columns.
	GeneralColumn
)

// Column is one column of a sheet.
type Column struct {
	// Header is the text of the column's cell in row 1.
	Header string
	// Width in characters; 0 takes the header's length plus two, at least
	// 10 and at most 50.
	Width float64
	Type  ColumnType
	// Wrap wraps long texts in the column's cells onto several lines (for
	// an explanation column, say).
	Wrap bool
}

// Sheet describes a worksheet to add.
type Sheet struct {
	// Name is the sheet's tab name: 1 to 31 characters, none of : \ / ? *
	// [ ], not beginning or ending with an apostrophe, unique in the
	// workbook regardless of case.
	Name string
	// Columns gives the header row; every later row has at most this many
	// cells. At least one, at most 16,384.
	Columns []Column
	// AutoFilter puts filter buttons on the header row.
	AutoFilter bool
}

// Value is one cell to write; the zero Value is an empty cell.
type Value struct {
	kind  Kind
	isInt bool
	s     string
	f     float64
	i     int64
}

// TextValue is a text cell ("" is an empty cell).
func TextValue(s string) Value { return Value{kind: String, s: s} }

// BoolValue is a boolean cell.
func BoolValue(b bool) Value {
	if b {
		return Value{kind: Bool, i: 1}
	}
	return Value{kind: Bool}
}

// NumberValue is a number cell. Excel keeps 15 significant digits: write
// identifiers and codes as text.
func NumberValue(f float64) Value { return Value{kind: Number, f: f} }

// IntValue is a whole-number cell. Excel keeps 15 significant digits:
// write identifiers and codes as text.
func IntValue(i int64) Value { return Value{kind: Number, isInt: true, i: i} }

// ValueOf is how a cell the reader read is written back (for a file of
// rejected rows that must look as it was sent): texts as texts, booleans
// as booleans, numbers with the General format as the same numbers, and
// every other cell (dates, padded numbers such as a postal code 00100,
// errors) as the text the reader showed, so that it reads back the same.
func ValueOf(c Cell) Value {
	switch c.Kind {
	case Empty:
		return Value{}
	case Bool:
		return BoolValue(c.Text == "TRUE")
	case Number:
		if c.Format == "General" && !c.Formula {
			if f, err := strconv.ParseFloat(c.Text, 64); err == nil {
				return NumberValue(f)
			}
		}
	}
	return TextValue(c.Text)
}

// The cell styles of styles.xml's cellXfs.
const (
	styleText     = 1 // numFmtId 49, "@"
	styleHeader   = 2 // "@", bold
	styleTextWrap = 3 // "@", wrapped, top-aligned
)

type writtenSheet struct {
	name string
	// filterCols and filterRows are the autofilter's range (A1 to its
	// last column and row), 0 for none.
	filterCols, filterRows int
}

// sheetWriter is the state of the sheet being written.
type sheetWriter struct {
	cols      []Column
	refs      []string // the column letters
	textStyle []byte   // the s attribute of a text cell, by column
	row       int      // the last row written
	num       [20]byte // the digits of the row being written
	filter    bool
}

// NewWriter starts a workbook written to w. Add at least one sheet, write
// its rows, then Close.
func NewWriter(w io.Writer) *Writer {
	zw := zip.NewWriter(w)
	wr := &Writer{zw: zw, buf: make([]byte, 0, flushBytes+4096)}
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		fw, err := kflate.NewWriter(out, writeLevel)
		wr.deflate = fw
		return fw, err
	})
	wr.err = wr.writePart("_rels/.rels", rootRelsXML)
	if wr.err == nil {
		wr.err = wr.writePart("xl/styles.xml", stylesXML)
	}
	return wr
}

// AddSheet finishes the sheet before it, if any, and starts a worksheet
// with its header row. Rows written next go to it.
func (w *Writer) AddSheet(s Sheet) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("excel: the writer is closed")
	}
	if err := w.checkSheet(s); err != nil {
		return err
	}
	if err := w.endSheet(); err != nil {
		return err
	}
	n := len(w.sheets) + 1
	part, err := w.zw.CreateHeader(partHeader(sheetPart(n)))
	if err != nil {
		w.err = err
		return err
	}
	w.part = part
	sw := &sheetWriter{cols: s.Columns, filter: s.AutoFilter}
	sw.refs = make([]string, len(s.Columns))
	sw.textStyle = make([]byte, len(s.Columns))
	for i, c := range s.Columns {
		sw.refs[i] = ColumnName(i + 1)
		sw.textStyle[i] = '0' + styleText
		if c.Wrap {
			sw.textStyle[i] = '0' + styleTextWrap
		}
	}
	w.cur = sw
	w.sheets = append(w.sheets, writtenSheet{name: s.Name})

	b := append(w.buf[:0], xmlHeader...)
	b = append(b, `<worksheet xmlns="`+nsSpreadsheet+`" xmlns:r="`+nsRelationships+`">`...)
	b = append(b, `<sheetViews><sheetView workbookViewId="0"`...)
	if n == 1 {
		b = append(b, ` tabSelected="1"`...)
	}
	b = append(b, `><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>`+
		`<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>`+
		`<sheetFormatPr defaultRowHeight="15"/><cols>`...)
	for i := 0; i < len(s.Columns); {
		j := i + 1 // columns i..j-1 look the same
		for j < len(s.Columns) && sameLook(s.Columns[i], s.Columns[j]) {
			j++
		}
		c := s.Columns[i]
		b = append(b, `<col min="`...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, `" max="`...)
		b = strconv.AppendInt(b, int64(j), 10)
		b = append(b, `" width="`...)
		b = strconv.AppendFloat(b, columnWidth(c), 'f', -1, 64)
		b = append(b, `" customWidth="1"`...)
		if c.Type == TextColumn {
			b = append(b, ` style="`...)
			b = append(b, sw.textStyle[i])
			b = append(b, '"')
		}
		b = append(b, `/>`...)
		i = j
	}
	b = append(b, `</cols><sheetData><row r="1">`...)
	for i, c := range s.Columns {
		if c.Header == "" {
			continue
		}
		b = append(b, `<c r="`...)
		b = append(b, sw.refs[i]...)
		b = append(b, `1" s="`...)
		b = append(b, '0'+styleHeader)
		b = appendInlineText(b, c.Header)
	}
	b = append(b, `</row>`...)
	sw.row = 1
	w.buf = b
	return w.flush()
}

func sameLook(a, b Column) bool {
	return a.Width == b.Width && a.Type == b.Type && a.Wrap == b.Wrap &&
		(a.Width != 0 || columnWidth(a) == columnWidth(b))
}

func columnWidth(c Column) float64 {
	if c.Width > 0 {
		return c.Width
	}
	n := float64(utf8.RuneCountInString(c.Header) + 2)
	return math.Min(math.Max(n, 10), 50)
}

func (w *Writer) checkSheet(s Sheet) error {
	name := s.Name
	switch n := utf8.RuneCountInString(name); {
	case n == 0 || n > 31:
		return fmt.Errorf("excel: sheet name %q: a sheet name has 1 to 31 characters", name)
	case strings.ContainsAny(name, `:\/?*[]`):
		return fmt.Errorf("excel: sheet name %q: a sheet name cannot hold any of : \\ / ? * [ ]", name)
	case name[0] == '\'' || name[len(name)-1] == '\'':
		return fmt.Errorf("excel: sheet name %q: a sheet name cannot begin or end with an apostrophe", name)
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0xFFFE || r == 0xFFFF }):
		return fmt.Errorf("excel: sheet name %q: a sheet name cannot hold control characters", name)
	}
	for _, prev := range w.sheets {
		if strings.EqualFold(prev.name, name) {
			return fmt.Errorf("excel: sheet name %q: the workbook already has a sheet %q", name, prev.name)
		}
	}
	if len(s.Columns) == 0 || len(s.Columns) > excelMaxColumns {
		return fmt.Errorf("excel: sheet %q: a sheet has 1 to 16,384 columns, not %d", name, len(s.Columns))
	}
	for i, c := range s.Columns {
		if err := checkText(c.Header); err != nil {
			return fmt.Errorf("excel: sheet %q, header of column %s: %w", name, ColumnName(i+1), err)
		}
		if math.IsNaN(c.Width) || c.Width < 0 || c.Width > 255 {
			return fmt.Errorf("excel: sheet %q, column %s: a width is 0 to 255 characters, not %v", name, ColumnName(i+1), c.Width)
		}
	}
	return nil
}

// WriteRow writes the next row of the current sheet: values[i] goes to
// column i+1. A row of empty values is an empty row.
func (w *Writer) WriteRow(values []Value) error {
	if w.err != nil {
		return w.err
	}
	sw := w.cur
	if sw == nil || w.closed {
		return errors.New("excel: add a sheet before writing rows")
	}
	if len(values) > len(sw.cols) {
		return fmt.Errorf("%w: %d cells, %d columns", ErrTooManyCells, len(values), len(sw.cols))
	}
	row := sw.row + 1
	if row > excelMaxRows {
		return ErrSheetFull
	}
	rowNum := strconv.AppendInt(sw.num[:0], int64(row), 10)
	start := len(w.buf)
	b := append(w.buf, `<row r="`...)
	b = append(b, rowNum...)
	b = append(b, `">`...)
	for i := range values {
		v := &values[i]
		switch v.kind {
		case String:
			if v.s == "" {
				continue
			}
			if err := checkText(v.s); err != nil {
				w.buf = b[:start]
				return fmt.Errorf("cell %s: %w", CellName(i+1, row), err)
			}
			b = append(b, `<c r="`...)
			b = append(b, sw.refs[i]...)
			b = append(b, rowNum...)
			b = append(b, `" s="`...)
			b = append(b, sw.textStyle[i])
			b = appendInlineText(b, v.s)
		case Bool:
			b = append(b, `<c r="`...)
			b = append(b, sw.refs[i]...)
			b = append(b, rowNum...)
			b = append(b, `" t="b"><v>`...)
			b = append(b, byte('0'+v.i))
			b = append(b, `</v></c>`...)
		case Number:
			if !v.isInt && (math.IsNaN(v.f) || math.IsInf(v.f, 0)) {
				w.buf = b[:start]
				return fmt.Errorf("cell %s: %w", CellName(i+1, row), ErrBadNumber)
			}
			b = append(b, `<c r="`...)
			b = append(b, sw.refs[i]...)
			b = append(b, rowNum...)
			b = append(b, `"><v>`...)
			if v.isInt {
				b = strconv.AppendInt(b, v.i, 10)
			} else {
				b = appendNumber(b, v.f)
			}
			b = append(b, `</v></c>`...)
		}
	}
	if len(b)-start == len(`<row r="">`)+len(rowNum) {
		b = b[:start] // an empty row is not written
	} else {
		b = append(b, `</row>`...)
	}
	w.buf = b
	sw.row = row
	if len(w.buf) >= flushBytes {
		return w.flush()
	}
	return nil
}

// Rows is the number of the last row written to the current sheet (1
// after the header).
func (w *Writer) Rows() int {
	if w.cur == nil {
		return 0
	}
	return w.cur.row
}

// checkText refuses a text Excel cannot hold.
func checkText(s string) error {
	if len(s) <= MaxCellChars {
		return nil // UTF-16 units <= bytes of UTF-8
	}
	n := 0
	for _, r := range s {
		if n++; r >= 0x10000 {
			n++
		}
	}
	if n > MaxCellChars {
		return ErrCellTooLong
	}
	return nil
}

// appendNumber writes f as a worksheet number: integers as integers, the
// rest in the shortest form that reads back the same.
func appendNumber(b []byte, f float64) []byte {
	a := math.Abs(f)
	switch {
	case f == 0:
		return append(b, '0') // and -0
	case a < 1e15 && f == math.Trunc(f):
		return strconv.AppendInt(b, int64(f), 10)
	case a >= 1e-5 && a < 1e15:
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'E', -1, 64)
}

// appendInlineText ends a cell's start tag with an inline string of s and
// closes the cell: `" t="inlineStr"><is><t>s</t></is></c>`.
func appendInlineText(b []byte, s string) []byte {
	if s != "" && (isSpaceByte(s[0]) || isSpaceByte(s[len(s)-1])) {
		b = append(b, `" t="inlineStr"><is><t xml:space="preserve">`...)
	} else {
		b = append(b, `" t="inlineStr"><is><t>`...)
	}
	b = appendEscaped(b, s)
	return append(b, `</t></is></c>`...)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendEscaped writes s as XML character data (see the Writer's doc).
func appendEscaped(b []byte, s string) []byte {
	i := 0
	for i < len(s) && plainByte[s[i]] {
		i++
	}
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case plainByte[c]:
			b = append(b, c)
			i++
		case c == '&':
			b = append(b, "&amp;"...)
			i++
		case c == '<':
			b = append(b, "&lt;"...)
			i++
		case c == '>':
			b = append(b, "&gt;"...)
			i++
		case c == '_':
			if escapeUnderscore(s, i) {
				b = append(b, "_x005F_"...)
			} else {
				b = append(b, '_')
			}
			i++
		case c < utf8.RuneSelf: // a control character, or \r
			b = appendBstr(b, rune(c))
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && n == 1:
				b = append(b, "\uFFFD"...)
			case r == 0xFFFE || r == 0xFFFF:
				b = appendBstr(b, r)
			default:
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return b
}

// plainByte marks the bytes written as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['\t'], t['\n'] = true, true
	t['&'], t['<'], t['>'], t['_'] = false, false, false, false
	return t
}()

func appendBstr(b []byte, r rune) []byte {
	const hex = "0123456789ABCDEF"
	return append(b, '_', 'x', hex[r>>12&15], hex[r>>8&15], hex[r>>4&15], hex[r&15], '_')
}

// escapeUnderscore reports whether the '_' at s[i] must be written as
// _x005F_: when it and what is written after it would read as an _xHHHH_
// escape, that is, "_x" and four hex digits followed by a '_' or by a
// character written as an escape (which begins with '_').
func escapeUnderscore(s string, i int) bool {
	if i+7 > len(s) || s[i+1] != 'x' || !isHex(s[i+2]) || !isHex(s[i+3]) || !isHex(s[i+4]) || !isHex(s[i+5]) {
		return false
	}
	c := s[i+6]
	switch {
	case c == '_':
		return true
	case c < utf8.RuneSelf:
		return !plainByte[c] && c != '&' && c != '<' && c != '>'
	}
	r, _ := utf8.DecodeRuneInString(s[i+6:])
	return r == 0xFFFE || r == 0xFFFF
}

// flush writes the gathered XML to the current zip entry.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if _, err := w.part.Write(w.buf); err != nil {
		w.err = err
		return err
	}
	w.buf = w.buf[:0]
	return nil
}

// Flush pushes the rows written so far through the compressor to the
// underlying io.Writer, so that a client of a streamed workbook sees them
// now rather than when the compressor's window fills. Each call costs a
// few bytes of the file (a DEFLATE sync flush): call it every few hundred
// rows, not after each.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("excel: the writer is closed")
	}
	if err := w.flush(); err != nil {
		return err
	}
	if w.deflate != nil && w.cur != nil {
		if err := w.deflate.Flush(); err != nil {
			w.err = err
			return err
		}
	}
	if err := w.zw.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// endSheet writes the end of the current sheet, if any.
func (w *Writer) endSheet() error {
	sw := w.cur
	if sw == nil {
		return nil
	}
	b := append(w.buf, `</sheetData>`...)
	if sw.filter {
		ws := &w.sheets[len(w.sheets)-1]
		ws.filterCols, ws.filterRows = len(sw.cols), sw.row
		b = append(b, `<autoFilter ref="A1:`...)
		b = append(b, CellName(ws.filterCols, ws.filterRows)...)
		b = append(b, `"/>`...)
	}
	b = append(b, `<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`...)
	w.buf = b
	w.cur = nil
	return w.flush()
}

// Close finishes the last sheet and writes the workbook parts and the
// zip's central directory. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	if w.err != nil {
		w.closed = true
		return w.err
	}
	if len(w.sheets) == 0 {
		return errors.New("excel: a workbook needs at least one sheet")
	}
	w.closed = true
	if w.err = w.endSheet(); w.err != nil {
		return w.err
	}
	var wb, rels, types strings.Builder
	wb.WriteString(xmlHeader + `<workbook xmlns="` + nsSpreadsheet + `" xmlns:r="` + nsRelationships + `">` +
		`<workbookPr/><bookViews><workbookView activeTab="0"/></bookViews><sheets>`)
	rels.WriteString(xmlHeader + `<Relationships xmlns="` + nsPackageRels + `">`)
	types.WriteString(xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`)
	var names strings.Builder
	for i, s := range w.sheets {
		n := strconv.Itoa(i + 1)
		fmt.Fprintf(&wb, `<sheet name="%s" sheetId="%s" r:id="rId%s"/>`, attrEscape(s.name), n, n)
		fmt.Fprintf(&rels, `<Relationship Id="rId%s" Type="%s/worksheet" Target="worksheets/sheet%s.xml"/>`, n, nsRelationships, n)
		fmt.Fprintf(&types, `<Override PartName="/%s" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, sheetPart(i+1))
		if s.filterCols > 0 {
			fmt.Fprintf(&names, `<definedName name="_xlnm._FilterDatabase" localSheetId="%d" hidden="1">%s!$A$1:$%s$%d</definedName>`,
				i, attrEscape(quoteSheetName(s.name)), ColumnName(s.filterCols), s.filterRows)
		}
	}
	wb.WriteString(`</sheets>`)
	if names.Len() > 0 {
		wb.WriteString(`<definedNames>` + names.String() + `</definedNames>`)
	}
	wb.WriteString(`</workbook>`)
	fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="%s/styles" Target="styles.xml"/></Relationships>`, len(w.sheets)+1, nsRelationships)
	types.WriteString(`</Types>`)
	for _, p := range []struct{ name, body string }{
		{"xl/workbook.xml", wb.String()},
		{"xl/_rels/workbook.xml.rels", rels.String()},
		{"[Content_Types].xml", types.String()},
	} {
		if w.err = w.writePart(p.name, p.body); w.err != nil {
			return w.err
		}
	}
	w.err = w.zw.Close()
	return w.err
}

// quoteSheetName quotes a sheet name for a formula: 'My sheet'!A1.
func quoteSheetName(name string) string {
	return "'" + strings.ReplaceAll(name, "'", "''") + "'"
}

func attrEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (w *Writer) writePart(name, body string) error {
	part, err := w.zw.CreateHeader(partHeader(name))
	if err != nil {
		return err
	}
	_, err = io.WriteString(part, body)
	return err
}

// partHeader is the zip header of a part. The parts carry a fixed time
// (the first valid MS-DOS one), so that the same rows give the same file.
func partHeader(name string) *zip.FileHeader {
	return &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func sheetPart(n int) string { return "xl/worksheets/sheet" + strconv.Itoa(n) + ".xml" }

const (
	xmlHeader       = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsSpreadsheet   = `http://schemas.openxmlformats.org/spreadsheetml/2006/main`
	nsRelationships = `http://schemas.openxmlformats.org/officeDocument/2006/relationships`
	nsPackageRels   = `http://schemas.openxmlformats.org/package/2006/relationships`

	rootRelsXML = xmlHeader + `<Relationships xmlns="` + nsPackageRels + `">` +
		`<Relationship Id="rId1" Type="` + nsRelationships + `/officeDocument" Target="xl/workbook.xml"/>` +
		`</Relationships>`

	// stylesXML holds the cell styles named by the style constants.
	stylesXML = xmlHeader + `<styleSheet xmlns="` + nsSpreadsheet + `">` +
		`<fonts count="2">` +
		`<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
		`<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>` +
		`</fonts>` +
		`<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>` +
		`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
		`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
		`<cellXfs count="4">` +
		`<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
		`<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
		`<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>` +
		`<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyAlignment="1">` +
		`<alignment vertical="top" wrapText="1"/></xf>` +
		`</cellXfs>` +
		`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
		`</styleSheet>`
)
