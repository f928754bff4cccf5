package excel

import (
	"errors"
	"fmt"
)

// The kinds of file error. Every error the reader returns is a *FileError
// or a *LimitError; errors.Is(err, ErrCorrupt) and the like tell the kinds
// apart, and the error's text is written for the person who sent the file.
var (
	// ErrEmpty: the file has no bytes.
	ErrEmpty = errors.New("the file is empty")
	// ErrNotXLSX: the bytes are not an Office Open XML zip at all (a CSV,
	// a PDF or an OpenDocument file renamed to .xlsx, say).
	ErrNotXLSX = errors.New("the file is not an .xlsx workbook")
	// ErrLegacyXLS: an OLE2 compound file, the pre-2007 .xls format.
	ErrLegacyXLS = errors.New("this is an old .xls file; save it as .xlsx")
	// ErrEncrypted: an OLE2 compound file holding an encrypted Office Open
	// XML package, which is how Excel stores a password-protected .xlsx.
	ErrEncrypted = errors.New("the file is password-protected; remove the password and save it again as .xlsx")
	// ErrNoWorkbook: a zip file without an Excel workbook in it.
	ErrNoWorkbook = errors.New("the zip file holds no Excel workbook")
	// ErrNoWorksheet: a workbook whose sheets are all chart sheets, or none.
	ErrNoWorksheet = errors.New("the workbook has no worksheet")
	// ErrCorrupt: the file is an .xlsx, but damaged: a bad zip entry, XML
	// that is not well formed, a reference to a missing part or string.
	ErrCorrupt = errors.New("the file is damaged")
	// ErrLimit: a limit of Limits was exceeded (the error is a *LimitError).
	ErrLimit = errors.New("the file exceeds a limit")
)

// FileError says why a file cannot be read. Kind is one of the Err values
// above; Part names the zip part concerned, if any; Detail adds what was
// found; Cause is the underlying library error, if any.
type FileError struct {
	Kind   error
	Part   string
	Detail string
	Cause  error
}

func (e *FileError) Error() string {
	msg := e.Kind.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Part != "" {
		msg += " (in " + e.Part + ")"
	}
	return msg
}

// Unwrap lets errors.Is match the kind and the cause.
func (e *FileError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// Limit names one of the limits of Limits.
type Limit string

// The limits, as LimitError.Limit names them.
const (
	LimitPartBytes          Limit = "uncompressed part size"
	LimitRows               Limit = "rows"
	LimitColumns            Limit = "columns"
	LimitCellBytes          Limit = "cell length"
	LimitSharedStrings      Limit = "shared strings"
	LimitSharedStringsBytes Limit = "shared strings size"
)

// LimitError reports that a file goes past one of the Limits. Row and
// Column (1-based, 0 when not known) locate the offending cell or row as the
// spreadsheet shows it.
type LimitError struct {
	Limit  Limit
	Max    int64
	Part   string
	Row    int
	Column int
}

func (e *LimitError) Error() string {
	var msg string
	switch e.Limit {
	case LimitPartBytes:
		msg = fmt.Sprintf("the file is too large: %s unpacks to more than %d bytes", e.Part, e.Max)
	case LimitRows:
		msg = fmt.Sprintf("the sheet has more than %d rows", e.Max)
	case LimitColumns:
		msg = fmt.Sprintf("the sheet has more than %d columns", e.Max)
	case LimitCellBytes:
		msg = fmt.Sprintf("a cell holds more than %d bytes of text", e.Max)
	case LimitSharedStrings:
		msg = fmt.Sprintf("the workbook has more than %d distinct texts", e.Max)
	case LimitSharedStringsBytes:
		msg = fmt.Sprintf("the workbook's distinct texts take more than %d bytes", e.Max)
	default:
		msg = fmt.Sprintf("%s: more than %d", e.Limit, e.Max)
	}
	if e.Row > 0 && e.Column > 0 {
		msg += " (cell " + CellName(e.Column, e.Row) + ")"
	} else if e.Row > 0 {
		msg += fmt.Sprintf(" (row %d)", e.Row)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Unwrap() error { return ErrLimit }

// CellName gives the A1-style name of a 1-based column and row.
func CellName(col, row int) string {
	return ColumnName(col) + fmt.Sprint(row)
}

// ColumnName gives the letters of a 1-based column number (1 is A, 27 AA).
func ColumnName(col int) string {
	if col < 1 {
		return "?"
	}
	var b [8]byte
	i := len(b)
	for col > 0 && i > 0 {
		col--
		i--
		b[i] = byte('A' + col%26)
		col /= 26
	}
	return string(b[i:])
}

func corrupt(part, detail string, cause error) *FileError {
	return &FileError{Kind: ErrCorrupt, Part: part, Detail: detail, Cause: cause}
}
