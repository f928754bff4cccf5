package excel

import (
	"encoding/json"
	"errors"
	"io"
	"strings"

	"kirjuri/ports"
)

// ImportSheets implements ports.ImportSheets: the quick check of an upload,
// the template and the workbook of rejected rows.
type ImportSheets struct {
	Limits Limits
}

var _ ports.ImportSheets = ImportSheets{}

// NewImportSheets returns the import workbooks with the reader's limits.
func NewImportSheets(l Limits) ImportSheets { return ImportSheets{Limits: l} }

// ReasonHeader is the last column of a rejected rows workbook. The mapper
// ignores a column of this name, so that the fixed file imports as it is.
const ReasonHeader = "reason"

// Check opens the workbook and maps its header: a file the reader cannot
// read, or whose header the mapper refuses, is a *ports.ImportFileError.
// The rows are not read here (the worker's first pass reads them all).
func (s ImportSheets) Check(path string) ([]string, error) {
	r, err := Open(path, s.Limits)
	if err != nil {
		return nil, FileProblem(err)
	}
	defer r.Close()
	header, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	return headerTexts(header), nil
}

// readHeader reads the header row and maps it.
func readHeader(r *Reader) (Row, error) {
	if !r.Next() {
		if err := r.Err(); err != nil {
			return Row{}, FileProblem(err)
		}
		return Row{}, &ports.ImportFileError{Problems: []ports.ImportProblem{{Message: "the first sheet is empty: row 1 must name the columns (see GET /v1/imports/template.xlsx)"}}}
	}
	header := r.Row()
	if _, err := NewMapper(stripCell(header, reasonColumn(header))); err != nil {
		return Row{}, FileProblem(err)
	}
	return header, nil
}

// reasonColumn is the position of a reason column (of a rejected rows
// file imported again), -1 when none. The import ignores it.
func reasonColumn(header Row) int {
	for i, c := range header.Cells {
		if strings.EqualFold(strings.TrimSpace(c.Text), ReasonHeader) {
			return i
		}
	}
	return -1
}

// stripCell empties the cell at i (a copy of the row's cells).
func stripCell(row Row, i int) Row {
	if i < 0 || i >= len(row.Cells) {
		return row
	}
	cells := make([]Cell, len(row.Cells))
	copy(cells, row.Cells)
	cells[i] = Cell{}
	row.Cells = cells
	return row
}

func headerTexts(r Row) []string {
	out := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		out[i] = c.Text
	}
	return out
}

// FileProblem turns a reader's or the mapper's file error into a
// *ports.ImportFileError (row 0); another error is returned as it is.
func FileProblem(err error) error {
	var he *HeaderError
	var fe *FileError
	var le *LimitError
	switch {
	case errors.As(err, &he):
		out := &ports.ImportFileError{}
		for _, p := range he.Problems {
			out.Problems = append(out.Problems, ports.ImportProblem{Column: p.Column, Message: p.Message})
		}
		return out
	case errors.As(err, &fe), errors.As(err, &le):
		return &ports.ImportFileError{Problems: []ports.ImportProblem{{Message: err.Error()}}}
	}
	return err
}

// storedCell is a cell of a rejected row as stored: enough for ValueOf.
type storedCell struct {
	T string `json:"t,omitempty"`
	K Kind   `json:"k,omitempty"`
	F string `json:"f,omitempty"`
	X bool   `json:"x,omitempty"`
}

// EncodeCells encodes a row's cells for ports.RejectedRow.
func EncodeCells(r Row) []byte {
	cells := make([]storedCell, len(r.Cells))
	for i, c := range r.Cells {
		cells[i] = storedCell{T: c.Text, K: c.Kind, F: c.Format, X: c.Formula}
	}
	b, _ := json.Marshal(cells) // strings and small numbers only
	return b
}

func decodeCells(b []byte) ([]Cell, error) {
	var cells []storedCell
	if err := json.Unmarshal(b, &cells); err != nil {
		return nil, err
	}
	out := make([]Cell, len(cells))
	for i, c := range cells {
		out[i] = Cell{Text: c.T, Kind: c.K, Format: c.F, Formula: c.X}
	}
	return out, nil
}

// WriteRejected writes the rejected rows as they were (ValueOf of each
// cell, under the file's own header) with the reason in a last column.
func (s ImportSheets) WriteRejected(w io.Writer, header []string, next func() (ports.RejectedRow, bool, error)) error {
	// A header cell the file left empty stays empty; a reason column the
	// file already had (a rejected rows file imported again) is replaced.
	keep := make([]int, 0, len(header))
	cols := make([]Column, 0, len(header)+1)
	for i, h := range header {
		if strings.EqualFold(strings.TrimSpace(h), ReasonHeader) {
			continue
		}
		keep = append(keep, i)
		cols = append(cols, Column{Header: h})
	}
	cols = append(cols, Column{Header: ReasonHeader, Width: 60, Wrap: true})
	wr := NewWriter(w)
	if err := wr.AddSheet(Sheet{Name: "Rejected rows", Columns: cols}); err != nil {
		return err
	}
	vals := make([]Value, len(cols))
	for {
		row, ok, err := next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		cells, err := decodeCells(row.Cells)
		if err != nil {
			return err
		}
		for k, i := range keep {
			vals[k] = Value{}
			if i < len(cells) {
				vals[k] = ValueOf(cells[i])
			}
		}
		vals[len(vals)-1] = TextValue(row.Reason)
		if err := wr.WriteRow(vals); err != nil {
			return err
		}
	}
	return wr.Close()
}
