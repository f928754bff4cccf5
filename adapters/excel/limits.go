package excel

// Limits bound what a file may make the reader do. A zero field takes its
// default (DefaultLimits). The compressed size of an upload is the caller's
// to bound before the file reaches Open.
type Limits struct {
	// MaxPartBytes bounds the uncompressed bytes of each zip part read
	// (the worksheet, the shared strings, and so on), counted on the real
	// inflated stream, whatever the zip's headers claim. The small parts
	// that describe the workbook (workbook.xml, styles.xml, the rels) are
	// held to at most metaPartBytes whatever this says.
	MaxPartBytes int64
	// MaxRows bounds the row number (as the spreadsheet shows it) of a row
	// that has a value.
	MaxRows int
	// MaxColumns bounds the column number of a cell that has a value
	// (styled empty cells further right are ignored).
	MaxColumns int
	// MaxCellBytes bounds one cell's text, in bytes of UTF-8. Excel's own
	// limit is 32,767 characters.
	MaxCellBytes int
	// MaxSharedStrings bounds the number of entries in the shared-strings
	// table (the distinct texts of the workbook).
	MaxSharedStrings int
	// MaxSharedStringsBytes bounds the text held by the shared-strings
	// table, which is the one part of the reader's memory that grows with
	// the file.
	MaxSharedStringsBytes int64
}

// Excel's own bounds: the last row and column of a worksheet.
const (
	excelMaxRows    = 1 << 20 // 1,048,576
	excelMaxColumns = 1 << 14 // 16,384 (XFD)
)

// metaPartBytes bounds workbook.xml, styles.xml and the rels parts, which
// are decoded whole.
const metaPartBytes = 64 << 20

// DefaultLimits are Excel's own bounds where it has them, and generous
// ones for the rest: a caller that knows its files sets tighter ones.
func DefaultLimits() Limits {
	return Limits{
		MaxPartBytes:          2 << 30,
		MaxRows:               excelMaxRows,
		MaxColumns:            excelMaxColumns,
		MaxCellBytes:          32767 * 3,
		MaxSharedStrings:      excelMaxRows * 4,
		MaxSharedStringsBytes: 512 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxPartBytes <= 0 {
		l.MaxPartBytes = d.MaxPartBytes
	}
	if l.MaxRows <= 0 || l.MaxRows > excelMaxRows {
		l.MaxRows = d.MaxRows
	}
	if l.MaxColumns <= 0 || l.MaxColumns > excelMaxColumns {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxCellBytes <= 0 {
		l.MaxCellBytes = d.MaxCellBytes
	}
	if l.MaxSharedStrings <= 0 {
		l.MaxSharedStrings = d.MaxSharedStrings
	}
	if l.MaxSharedStringsBytes <= 0 {
		l.MaxSharedStringsBytes = d.MaxSharedStringsBytes
	}
	return l
}
