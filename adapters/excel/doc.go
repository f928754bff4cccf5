// Package excel streams the rows of an .xlsx workbook's first worksheet,
// for the customer import, and streams workbooks out (Writer, in
// writer.go), for the export, the template and the rejected rows.
//
// It is a purpose-built reader: the worksheet and the shared strings are
// read by a small hand-written XML scanner over the inflated zip stream
// (no encoding/xml, no DOM), so that reading costs a small multiple of
// decompressing the sheet; the small parts that describe the workbook
// (workbook.xml, the rels, styles.xml) go through encoding/xml. The big
// parts are inflated with klauspost/compress's DEFLATE decoder on a
// goroutine of their own, up to four 256 KiB chunks ahead of the scanner,
// so that inflating and scanning overlap on two cores. Memory is constant
// in the number of rows except for the shared-strings table, which is
// read whole first (cells refer to it in any order). The reader
// is trusted only while it agrees with excelize, the oracle, on every
// fixture and on generated and fuzzed files (see the tests).
//
// What a cell shows (Cell.Text):
//
//   - strings (shared, inline with rich-text runs, formula strings) as
//     stored, with ECMA-376's _xHHHH_ escapes undone the way excelize does
//     it (not in formula strings, which excelize shows as stored);
//   - booleans as TRUE and FALSE;
//   - formula errors as stored (#DIV/0!);
//   - formulas by their cached values;
//   - numbers with General (or no style), the text format "@" and formats
//     the reader does not render (thousands separators, percentages,
//     fractions, scientific, currency, text sections): the number as
//     stored, to at most 15 significant digits (0.30000000000000004 shows
//     0.3), as excelize shows a number without a style;
//   - numbers with a zero-padding format ("0", "00000", "0.00"): padded
//     and rounded half away from zero, so 100 with "00000" shows 00100;
//   - numbers with a date or time format, and t="d" cells: ISO 8601,
//     yyyy-mm-dd, hh:mm:ss, or yyyy-mm-dd hh:mm:ss when the format shows
//     both (1900 and 1904 date systems; serial 60 is Excel's 1900-02-29).
//
// Cell.Kind and Cell.Format keep what a column mapper needs to refuse a
// value that a spreadsheet changed: a postal code or phone number stored
// as a plain number has Kind Number and Format "General".
//
// Every error is a *FileError (errors.Is tells ErrEmpty, ErrNotXLSX,
// ErrLegacyXLS, ErrEncrypted, ErrNoWorkbook, ErrNoWorksheet and ErrCorrupt
// apart) or a *LimitError; the text of either is meant for the person who
// sent the file.
package excel
