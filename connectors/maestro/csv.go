package maestro

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
)

// format is how a delivery's body is written.
type format int

const (
	formatCSV format = iota + 1
	formatJSON
)

// bodyFormat tells the body's format by its Content-Type: text/csv (or
// application/csv) and application/json (or any +json type), in UTF-8.
func bodyFormat(contentType string) (format, error) {
	if strings.TrimSpace(contentType) == "" {
		return 0, errors.New("Content-Type is missing: send text/csv or application/json")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return 0, errors.New("Content-Type does not parse: send text/csv or application/json")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return 0, fmt.Errorf("charset %s: the export must be UTF-8 (with or without a byte order mark)", quoteName(cs))
	}
	switch {
	case mt == "text/csv" || mt == "application/csv":
		return formatCSV, nil
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return formatJSON, nil
	case strings.Contains(mt, "spreadsheet") || strings.Contains(mt, "excel"):
		return 0, fmt.Errorf("Content-Type %s: spreadsheets are imported through POST /v1/imports; this webhook takes text/csv or application/json", quoteName(mt))
	}
	return 0, fmt.Errorf("Content-Type %s is not taken: send text/csv or application/json", quoteName(mt))
}

var bom = []byte("\xef\xbb\xbf")

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, bom) }

// separator tells the separator of a CSV file from its header row (up to
// the first line break outside quotes): ';' or ',', whichever it has more
// of outside quotes; ',' when it has neither (one column). An Excel
// separator line ("sep=;") before the header names it, and is skipped
// (skipped is then 1).
func separator(body []byte) (sep rune, rest []byte, skipped int, err error) {
	line, after, _ := bytes.Cut(body, []byte{'\n'})
	if l := bytes.TrimSpace(line); len(l) == 5 && strings.EqualFold(string(l[:4]), "sep=") && (l[4] == ';' || l[4] == ',') {
		return rune(l[4]), after, 1, nil
	}
	semi, comma, quoted := 0, 0, false
scan:
	for _, c := range body {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n':
			break scan
		case c == ';':
			semi++
		case c == ',':
			comma++
		}
	}
	switch {
	case semi > comma:
		return ';', body, 0, nil
	case semi == comma && semi > 0:
		return 0, nil, 0, errors.New("the header row has as many ';' as ',' outside quotes, so the separator cannot be told: quote the column names that contain the other one")
	}
	return ',', body, 0, nil
}

// parseCSV reads a CSV export: a header row of source column names, then
// one customer per row. Row numbers count records as a spreadsheet shows
// them, the header being row 1 (a record's line in the file is added when
// it differs, as after a quoted line break or a blank line). A row of
// empty cells is skipped, as a spreadsheet's empty rows are.
func (m *mapping) parseCSV(body []byte) ([]intake.Draft, error) {
	sep, body, skipped, err := separator(body)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = sep
	r.FieldsPerRecord = -1 // ragged rows are reported here, naming the row

	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the CSV has no header row")
		}
		return nil, csvError(err, 1, skipped)
	}
	rs := m.newRows()
	pos := make([]int, len(m.slots)) // slot → the header's column, or -1
	for i := range pos {
		pos[i] = -1
	}
	seen := map[string]int{}
	for i, h := range header {
		col := "column " + strconv.Itoa(i+1)
		if !utf8.ValidString(h) {
			rs.rep.add("header", "", "%s: the name is not valid UTF-8 (export the file as UTF-8)", col)
			continue
		}
		if customer.IsBlank(h) {
			if m.strict {
				rs.rep.add("header", "", "%s has no name (strictColumns)", col)
			}
			continue
		}
		k := fold(h)
		if first, dup := seen[k]; dup {
			rs.rep.add("header", strings.TrimSpace(h), "appears twice (columns %d and %d)", first+1, i+1)
			continue
		}
		seen[k] = i
		slot, mapped := m.slot[k]
		if !mapped {
			if m.strict {
				rs.rep.add("header", strings.TrimSpace(h), "is not mapped (strictColumns): map it in columns, or leave it out of the export")
			}
			continue
		}
		pos[slot] = i
	}
	if _, has := seen[fold(m.slots[m.id])]; !has {
		rs.rep.add("header", m.slots[m.id], "is missing: it is idColumn, Maestro's customer id; the header has %s", headerNames(header))
	}
	if err := rs.rep.err(); err != nil {
		return nil, err
	}

	cells := make([]string, len(m.slots))
	for n := 2; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rs.rep.add(csvRow(n, err, skipped), "", "%s", csvProblem(err, skipped))
			break // the reader cannot be trusted past a malformed record
		}
		line, _ := r.FieldPos(0)
		label := "row " + strconv.Itoa(n)
		if line += skipped; line != n {
			label += " (line " + strconv.Itoa(line) + ")"
		}
		if blankRecord(rec) {
			continue
		}
		if len(rec) != len(header) {
			rs.rep.add(label, "", "has %d fields; the header has %d", len(rec), len(header))
			continue
		}
		bad := false
		for slot, p := range pos {
			cells[slot] = ""
			if p < 0 {
				continue
			}
			if !utf8.ValidString(rec[p]) {
				rs.rep.add(label, m.slots[slot], "is not valid UTF-8 (export the file as UTF-8)")
				bad = true
				continue
			}
			cells[slot] = rec[p]
		}
		if bad {
			continue
		}
		if !rs.add(label, cells) {
			return nil, rs.tooMany()
		}
	}
	return rs.result()
}

// blankRecord reports whether every cell of a record is empty.
func blankRecord(rec []string) bool {
	for _, c := range rec {
		if !customer.IsBlank(c) {
			return false
		}
	}
	return true
}

// headerNames lists a header's names for a message, shortened.
func headerNames(h []string) string {
	const show = 12
	names := make([]string, 0, show)
	for i, n := range h {
		if i == show {
			names = append(names, fmt.Sprintf("and %d more", len(h)-show))
			break
		}
		if utf8.ValidString(n) {
			names = append(names, quoteName(strings.TrimSpace(n)))
		}
	}
	return strings.Join(names, ", ")
}

// csvRow labels the row of a malformed record; skipped lines come before
// the reader's first.
func csvRow(n int, err error, skipped int) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) && pe.StartLine+skipped != n {
		return fmt.Sprintf("row %d (line %d)", n, pe.StartLine+skipped)
	}
	return "row " + strconv.Itoa(n)
}

// csvProblem says what is wrong with a malformed record, without its text.
func csvProblem(err error, skipped int) string {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return "the CSV cannot be read"
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf("a quote inside a field that is not quoted (line %d, character %d): quote the field and double the quote", pe.Line+skipped, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf("a quoted field is not closed, or text follows its closing quote (line %d)", pe.Line+skipped)
	}
	return fmt.Sprintf("the CSV is malformed at line %d", pe.Line+skipped)
}

// csvError is the error of a malformed header (row n).
func csvError(err error, n, skipped int) error {
	return fmt.Errorf("%s: %s", csvRow(n, err, skipped), csvProblem(err, skipped))
}
