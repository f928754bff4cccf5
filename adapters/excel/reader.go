package excel

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// Kind is what a cell holds.
type Kind uint8

// The kinds of cell.
const (
	Empty  Kind = iota
	String      // a shared, inline or formula string
	Number      // a number: Text is as its number format shows it
	Bool        // TRUE or FALSE
	Date        // a number with a date or time format, or a t="d" cell
	Error       // a formula error such as #DIV/0!
)

func (k Kind) String() string {
	switch k {
	case Empty:
		return "empty"
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "boolean"
	case Date:
		return "date"
	case Error:
		return "error"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Cell is one cell as the spreadsheet shows it.
type Cell struct {
	// Text is the cell as displayed (see the package doc for how numbers
	// and dates are shown). It is never trimmed.
	Text string
	Kind Kind
	// Formula is true when Text is a formula's cached result.
	Formula bool
	// Format is the number format code of a Number or Date cell: "General"
	// when the number has no format, "@" for the text format, else the
	// code such as "00000" or "yyyy-mm-dd". A column that must keep
	// leading zeros (a postal code, a phone number) can refuse a Number
	// cell whose Format is General or "@": the digits are the number's,
	// and any leading zero the merchant typed is gone.
	Format string
}

// Row is one row that has at least one non-empty cell.
type Row struct {
	// Number is the row number as the spreadsheet shows it (the header is
	// usually row 1). Empty rows are skipped, so numbers may jump.
	Number int
	// Cells holds the row's cells from column A on; empty cells at the end
	// are left out, so len(Cells) varies.
	Cells []Cell
}

// Text returns the text of the cell at the 0-based column index, or "".
func (r Row) Text(col int) string {
	if col < 0 || col >= len(r.Cells) {
		return ""
	}
	return r.Cells[col].Text
}

// Reader streams the rows of a workbook's first worksheet.
type Reader struct {
	limits    Limits
	sheetName string
	sheetPart string
	date1904  bool
	styles    []numFmt // by cell style (xf) index
	sst       []string

	file   io.Closer // the file Open opened, if any
	stream io.ReadCloser
	sc     *scanner

	inData  bool
	done    bool
	err     error
	lastRow int
	row     Row

	cells   []Cell
	pending []pendingText
	rowBuf  []byte
	val     []byte
	inline  []byte
	attr    [3][]byte
}

// pendingText is a cell whose text is in rowBuf until the row ends.
type pendingText struct {
	idx        int
	start, end int
}

// SheetName is the name of the worksheet being read.
func (r *Reader) SheetName() string { return r.sheetName }

// SharedStrings is the number of entries in the shared-strings table
// (the one part of the reader's memory that grows with the file).
func (r *Reader) SharedStrings() int { return len(r.sst) }

// Next moves to the next row that has a value. It returns false at the end
// of the sheet or on an error (see Err).
func (r *Reader) Next() bool {
	if r.done {
		return false
	}
	for {
		ok, err := r.readRow()
		if err != nil {
			r.err = err
			r.finish()
			return false
		}
		if !ok {
			r.finish()
			return false
		}
		if len(r.cells) == 0 {
			continue
		}
		if r.lastRow > r.limits.MaxRows {
			r.err = &LimitError{Limit: LimitRows, Max: int64(r.limits.MaxRows), Part: r.sheetPart, Row: r.lastRow}
			r.finish()
			return false
		}
		r.row = Row{Number: r.lastRow, Cells: r.cells}
		return true
	}
}

// Row returns the current row. Its Cells slice is reused by the next call
// to Next; the strings in it stay valid.
func (r *Reader) Row() Row { return r.row }

// Err returns the error that ended the rows, if any: a *FileError or a
// *LimitError.
func (r *Reader) Err() error { return r.err }

// Close releases the sheet stream and the file Open opened.
func (r *Reader) Close() error {
	r.finish()
	if r.file != nil {
		err := r.file.Close()
		r.file = nil
		return err
	}
	return nil
}

func (r *Reader) finish() {
	r.done = true
	r.row = Row{}
	if r.stream != nil {
		_ = r.stream.Close()
		r.stream = nil
	}
}

// readRow reads up to the next <row> and its cells into r.cells. It
// returns false at the end of the sheet data.
func (r *Reader) readRow() (bool, error) {
	sc := r.sc
	for !r.inData {
		k, err := sc.nextTag()
		if err != nil {
			return false, err
		}
		if k == tagEOF {
			return false, nil // a worksheet without sheetData has no rows
		}
		if k == tagStart && string(sc.name) == "sheetData" {
			if sc.selfClose {
				return false, nil
			}
			r.inData = true
		}
	}
	for {
		k, err := sc.nextTag()
		if err != nil {
			return false, err
		}
		switch k {
		case tagEOF:
			return false, sc.fail("the XML ends inside the sheet data")
		case tagEnd:
			return false, nil // </sheetData>
		}
		if string(sc.name) != "row" {
			if err := sc.skipElement(); err != nil {
				return false, err
			}
			continue
		}
		num := r.lastRow + 1
		for i := 0; ; {
			name, val, next, ok, bad := nextAttr(sc.attrs, i)
			if bad {
				return false, sc.fail(fmt.Sprintf("a malformed row after row %d", r.lastRow))
			}
			if !ok {
				break
			}
			i = next
			if string(name) == "r" {
				if val, err = sc.attrValue(val); err != nil {
					return false, err
				}
				n, err := strconv.Atoi(bstr(bytes.TrimSpace(val)))
				if err != nil || n < 1 {
					return false, sc.fail(fmt.Sprintf("a bad row number %q after row %d", val, r.lastRow))
				}
				num = n
				break // the rest of the attributes do not matter
			}
		}
		if num <= r.lastRow {
			return false, sc.fail(fmt.Sprintf("row %d comes after row %d", num, r.lastRow))
		}
		if num > excelMaxRows {
			return false, sc.fail(fmt.Sprintf("row number %d is past Excel's last row", num))
		}
		r.lastRow = num
		r.cells = r.cells[:0]
		if sc.selfClose {
			continue
		}
		return true, r.readCells()
	}
}

// readCells reads the cells of the row whose start tag was just read.
func (r *Reader) readCells() error {
	sc := r.sc
	r.pending = r.pending[:0]
	r.rowBuf = r.rowBuf[:0]
	col := 0
	for {
		var k tagKind
		if sc.consume("</row>") {
			k = tagEnd
		} else {
			var err error
			if k, err = sc.nextTag(); err != nil {
				return err
			}
		}
		switch k {
		case tagEOF:
			return sc.fail(fmt.Sprintf("the XML ends inside row %d", r.lastRow))
		case tagEnd:
			if len(r.pending) > 0 {
				s := string(r.rowBuf)
				for _, p := range r.pending {
					r.cells[p.idx].Text = s[p.start:p.end]
				}
			}
			return nil
		}
		if string(sc.name) != "c" {
			if err := sc.skipElement(); err != nil {
				return err
			}
			continue
		}
		var err error
		if col, err = r.readCell(col); err != nil {
			return err
		}
	}
}

// readCell reads the cell whose start tag was just read; prev is the
// column of the cell before it. It returns the cell's column.
func (r *Reader) readCell(prev int) (int, error) {
	sc := r.sc
	ref, style, typ := r.attr[0][:0], r.attr[1][:0], r.attr[2][:0]
	var hasRef bool
	for i, seen := 0, 0; seen < 3; {
		name, val, next, ok, bad := sc.attrsNext(i)
		if bad {
			return 0, sc.fail(fmt.Sprintf("a malformed cell in row %d", r.lastRow))
		}
		if !ok {
			break
		}
		i = next
		if len(name) != 1 {
			continue
		}
		switch name[0] {
		case 'r':
			ref, hasRef = append(ref[:0], val...), len(val) > 0
		case 's':
			style = append(style[:0], val...)
		case 't':
			typ = append(typ[:0], val...)
		default:
			continue
		}
		seen++ // the rest of the attributes do not matter
	}
	r.attr[0], r.attr[1], r.attr[2] = ref, style, typ
	col := prev + 1
	if hasRef {
		var ok bool
		if col, ok = parseColumn(ref); !ok {
			return 0, sc.fail(fmt.Sprintf("a bad cell reference %q in row %d", ref, r.lastRow))
		}
	}
	if col <= prev {
		return 0, sc.fail(fmt.Sprintf("cell %s comes after %s", CellName(col, r.lastRow), CellName(prev, r.lastRow)))
	}
	if col > excelMaxColumns {
		return 0, sc.fail(fmt.Sprintf("a cell past Excel's last column in row %d", r.lastRow))
	}
	if sc.selfClose {
		return col, nil
	}
	maxCell := r.limits.MaxCellBytes
	val, inline := r.val[:0], r.inline[:0]
	hasF, hasIS := false, false
	for done := false; !done; {
		var err error
		switch {
		case sc.consume("<v>"):
			val, _, err = sc.readValue(val[:0], maxCell, "</v>")
		case sc.consume("<is><t>"):
			hasIS = true
			inline, err = sc.readInline(inline[:0], maxCell)
		case sc.consume("</c>"):
			done = true
			continue
		default:
			err = r.readCellChild(col, &val, &inline, &hasF, &hasIS, &done)
		}
		if err == errTextTooLong {
			return 0, &LimitError{Limit: LimitCellBytes, Max: int64(maxCell), Part: r.sheetPart, Row: r.lastRow, Column: col}
		}
		if err != nil {
			return 0, err
		}
	}
	r.val, r.inline = val, inline
	if err := r.addCell(col, typ, style, val, inline, hasIS, hasF); err != nil {
		return 0, err
	}
	return col, nil
}

// readCellChild reads the next child of a cell the general way.
func (r *Reader) readCellChild(col int, val, inline *[]byte, hasF, hasIS, done *bool) error {
	sc := r.sc
	maxCell := r.limits.MaxCellBytes
	{
		k, err := sc.nextTag()
		if err != nil {
			return err
		}
		switch k {
		case tagEOF:
			return sc.fail(fmt.Sprintf("the XML ends inside cell %s", CellName(col, r.lastRow)))
		case tagEnd:
			*done = true
			return nil
		}
		switch string(sc.name) {
		case "v":
			if !sc.selfClose {
				*val, err = sc.readElementText((*val)[:0], maxCell)
			} else {
				*val = (*val)[:0]
			}
		case "is":
			*hasIS = true
			*inline, err = sc.readRich((*inline)[:0], maxCell)
		case "f":
			*hasF = true
			err = sc.skipElement()
		default:
			err = sc.skipElement()
		}
		return err
	}
}

// attrsNext iterates the current tag's attributes, decoding entities in
// values (rare).
func (s *scanner) attrsNext(i int) (name, val []byte, next int, ok, bad bool) {
	name, val, next, ok, bad = nextAttr(s.attrs, i)
	if ok && bytes.IndexByte(val, '&') >= 0 {
		v, err := s.attrValue(val)
		if err != nil {
			return nil, nil, next, false, true
		}
		val = v
	}
	return name, val, next, ok, bad
}

// addCell works out how the cell shows and adds it to the row unless it
// is empty.
func (r *Reader) addCell(col int, typ, style, val, inline []byte, hasIS, hasF bool) error {
	start := len(r.rowBuf)
	var (
		text    string // set when the text is not in rowBuf
		kind    = String
		format  string
		inBuf   = true
		rawText = func() { r.rowBuf = append(r.rowBuf, val...) }
	)
	switch string(typ) {
	case "s":
		v := bytes.TrimSpace(val)
		if len(v) == 0 {
			return nil
		}
		n, err := strconv.Atoi(bstr(v))
		if err != nil || n < 0 || n >= len(r.sst) {
			return r.sc.fail(fmt.Sprintf("cell %s refers to shared string %q, which does not exist", CellName(col, r.lastRow), v))
		}
		text, inBuf = r.sst[n], false
	case "inlineStr":
		if hasIS {
			r.rowBuf = unescapeBstr(r.rowBuf, inline)
		} else {
			rawText()
		}
	case "str":
		rawText() // excelize shows a formula string as stored, escapes and all
	case "b":
		kind, inBuf = Bool, false
		switch string(val) {
		case "1":
			text = "TRUE"
		case "0":
			text = "FALSE"
		default:
			inBuf = true
			rawText()
		}
	case "e":
		kind = Error
		rawText()
	case "d":
		var ok bool
		if r.rowBuf, ok = appendISODate(r.rowBuf, val); ok {
			kind, format = Date, "yyyy-mm-dd"
		} else {
			rawText()
		}
	default: // "n", absent, or a type excelize also reads as a number
		nf := &generalFmt
		if n, err := strconv.Atoi(bstr(style)); err == nil && n > 0 && n < len(r.styles) {
			nf = &r.styles[n]
		}
		kind, format = Number, nf.code
		var ok bool
		switch nf.kind {
		case fmtFixed:
			var f float64
			if f, ok = parseNumber(val); ok {
				r.rowBuf = appendFixed(r.rowBuf, f, nf)
			}
		case fmtDate:
			var f float64
			if f, ok = parseNumber(val); ok {
				if r.rowBuf, ok = appendDate(r.rowBuf, f, nf, r.date1904); ok {
					kind = Date
				} else {
					r.rowBuf, ok = appendGeneral(r.rowBuf[:start], val)
				}
			}
		default:
			r.rowBuf, ok = appendGeneral(r.rowBuf, val)
		}
		if !ok {
			kind, format = String, ""
			r.rowBuf = r.rowBuf[:start]
			rawText()
		}
	}
	if inBuf && len(r.rowBuf) == start || !inBuf && text == "" {
		return nil
	}
	if col > r.limits.MaxColumns {
		return &LimitError{Limit: LimitColumns, Max: int64(r.limits.MaxColumns), Part: r.sheetPart, Row: r.lastRow, Column: col}
	}
	if n := len(r.rowBuf) - start; n > r.limits.MaxCellBytes {
		return &LimitError{Limit: LimitCellBytes, Max: int64(r.limits.MaxCellBytes), Part: r.sheetPart, Row: r.lastRow, Column: col}
	}
	for len(r.cells) < col-1 {
		r.cells = append(r.cells, Cell{})
	}
	r.cells = append(r.cells, Cell{Text: text, Kind: kind, Formula: hasF, Format: format})
	if inBuf {
		r.pending = append(r.pending, pendingText{idx: col - 1, start: start, end: len(r.rowBuf)})
	}
	return nil
}

// parseColumn reads the column of a cell reference such as "AB12" (the
// row part is not checked: the row element says which row it is).
func parseColumn(ref []byte) (int, bool) {
	col, i := 0, 0
	for ; i < len(ref) && i < 4; i++ {
		c := ref[i]
		switch {
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A'+1)
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a'+1)
		default:
			if i == 0 {
				return 0, false
			}
			return col, isDigits(ref[i:])
		}
	}
	if i < len(ref) && i == 4 {
		return 0, false // more than three letters
	}
	return col, i > 0 && i < len(ref) && isDigits(ref[i:])
}

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
