package excel

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
)

// The column mapper turns a customer sheet (its header row and then its
// rows, as the Reader gives them) into the register's batch rows, the way
// the HTTP adapter's merge-patch decoding turns a JSON body into a patch.
// It maps only the file's shape: which columns the file has (a missing
// column keeps a field, an empty cell is the field's "value empty" case of
// excel.md), the sections of numbered columns, group:{id} columns and the
// number column that matches a row. What a value may be is the core's
// business (customer.New and Apply); the mapper parses a cell through the
// core's field table (customer.ParseColumn, Column.ParseText) and refuses
// only what a spreadsheet did to a cell:
//
//   - a text column (every column whose field is text, and every cell of
//     the customerCard, phoneNumber and address sections) takes no number
//     cell unless its format pads it with zeros ("00000"): a postal code or
//     phone number that a spreadsheet stored as the number 100 has lost its
//     leading zeros (and a long card number its last digits), and the row
//     is refused rather than stored changed. A date in a text column is
//     refused for the same reason;
//   - a cell that shows a formula error (#DIV/0!) is refused in any column.
//
// File errors (a *HeaderError, row 0 in a report) are found in the header
// by NewMapper, and in the rows by CheckRow: a value under a column without
// a header. Row errors (a *RowError) name the row as the spreadsheet shows
// it and the column as the file spells it.

// Problem is one thing wrong with a column, or with one cell of a row.
type Problem struct {
	// Column is the header as the file writes it (trimmed), the column's
	// name from the field table when the file lacks it, or "(column C)"
	// for a column without a header.
	Column  string
	Message string
}

func (p Problem) String() string {
	if p.Column == "" {
		return p.Message
	}
	return p.Column + ": " + p.Message
}

// HeaderError is a file error of the mapper: the file's columns cannot be
// imported, and no row is. It lists every problem found.
type HeaderError struct {
	Problems []Problem
}

func (e *HeaderError) Error() string { return joinProblems("the file's columns", e.Problems) }

// RowError says why one row cannot be imported.
type RowError struct {
	// Row is the row's number as the spreadsheet shows it.
	Row      int
	Problems []Problem
}

func (e *RowError) Error() string { return joinProblems("row "+strconv.Itoa(e.Row), e.Problems) }

func joinProblems(what string, ps []Problem) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
	}
	return what + ": " + strings.Join(parts, "; ")
}

// mapKind is what the mapper does with a column.
type mapKind uint8

const (
	mapUnnamed mapKind = iota // no header: its cells must be empty
	mapNumber
	mapOwn // a field's own column, email included; group:{id}
	mapCard
	mapPhone
	mapAddress
)

type mcol struct {
	kind   mapKind
	col    customer.Column
	header string // as written, trimmed
	// textual columns refuse numbers that lost their leading zeros.
	textual bool
}

// mapAddr are the columns of one address:{index}:{field}, by member.
type mapAddr struct {
	index   int
	members map[string]int // member -> position
}

// Mapper maps the rows of one sheet. It is read-only after NewMapper, so
// rows may be mapped from several goroutines at once.
type Mapper struct {
	cols   []mcol
	number int // position of the number column, -1 when none
	email  int // position of the email column
	// The sections' columns by index, in index order; nil when the file
	// has no column of the section (every customer keeps it).
	cards, phones []int
	addrs         []mapAddr
	hasCards      bool
	hasPhones     bool
	hasAddrs      bool
	// byName finds a column's header by its canonical name, lower case.
	byName map[string]string
	groups []int // positions of the group:{id} columns
}

// The members an address needs: the core refuses an address without any
// of them, so a file that has some columns of an address but lacks one of
// these could only give row errors.
var addressRequired = []string{"type", "streetAddress1", "postalCode", "city"}

// NewMapper reads the header row. Every header must be a column of the
// field table (matched case-insensitively, trimmed), no column may be there
// twice, email must be there, and an address that has any column must have
// its type, streetAddress1, postalCode and city columns. A cell without a
// header is allowed as long as no row has a value under it (see CheckRow).
// Otherwise the error is a *HeaderError naming every column concerned.
func NewMapper(header Row) (*Mapper, error) {
	m := &Mapper{number: -1, email: -1, byName: map[string]string{}}
	var problems []Problem
	seen := map[string]int{} // canonical name -> position
	addrs := map[int]*mapAddr{}
	cards, phones := map[int]int{}, map[int]int{}
	m.cols = make([]mcol, len(header.Cells))
	for i, cell := range header.Cells {
		h := strings.TrimSpace(cell.Text)
		if customer.IsBlank(h) {
			continue
		}
		c, err := customer.ParseColumn(h)
		if err != nil {
			problems = append(problems, problemsOf(err, h)...)
			continue
		}
		key := strings.ToLower(c.Name())
		if j, dup := seen[key]; dup {
			problems = append(problems, Problem{h, fmt.Sprintf("is in the file twice (columns %s and %s)", ColumnName(j+1), ColumnName(i+1))})
			continue
		}
		seen[key] = i
		m.byName[key] = h
		mc := mcol{col: c, header: h, kind: mapOwn}
		switch {
		case c.Number:
			mc.kind, m.number = mapNumber, i
		case c.Field.Name == "customerCards":
			mc.kind, mc.textual, m.hasCards = mapCard, true, true
			cards[c.Index] = i
		case c.Field.Name == "phoneNumbers":
			mc.kind, mc.textual, m.hasPhones = mapPhone, true, true
			phones[c.Index] = i
		case c.Field.Name == "addresses":
			mc.kind, mc.textual, m.hasAddrs = mapAddress, true, true
			a := addrs[c.Index]
			if a == nil {
				a = &mapAddr{index: c.Index, members: map[string]int{}}
				addrs[c.Index] = a
			}
			a.members[c.Member] = i
		case c.Field.Name == "groups":
			m.groups = append(m.groups, i)
		default:
			mc.textual = c.Field.Kind == customer.KindText
			if c.Field.Name == "email" {
				m.email = i
			}
		}
		m.cols[i] = mc
	}
	if m.email < 0 {
		problems = append(problems, Problem{"email", "is required: the file has no email column (email matches each row to its customer)"})
	}
	m.cards, m.phones = inIndexOrder(cards), inIndexOrder(phones)
	for _, i := range slices.Sorted(maps.Keys(addrs)) {
		a := addrs[i]
		m.addrs = append(m.addrs, *a)
		for _, req := range addressRequired {
			if _, ok := a.members[req]; !ok {
				problems = append(problems, Problem{fmt.Sprintf("address:%d:%s", i, req),
					fmt.Sprintf("is missing: the file has columns of address %d, and an address needs type, streetAddress1, postalCode and city", i)})
			}
		}
	}
	if len(problems) > 0 {
		return nil, &HeaderError{Problems: problems}
	}
	return m, nil
}

// inIndexOrder gives the positions of a section's columns in index order.
func inIndexOrder(byIndex map[int]int) []int {
	var out []int
	for _, idx := range slices.Sorted(maps.Keys(byIndex)) {
		out = append(out, byIndex[idx])
	}
	return out
}

// problemsOf turns a core error about one column into problems under the
// column's header as the file writes it.
func problemsOf(err error, header string) []Problem {
	var v *fault.Validation
	if !errors.As(err, &v) {
		return []Problem{{header, err.Error()}}
	}
	out := make([]Problem, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = Problem{header, f.Message}
	}
	return out
}

// unnamedColumn is how a problem names a column without a header.
func unnamedColumn(i int) string { return "(column " + ColumnName(i+1) + ")" }

// CheckRow finds what in a row makes the whole file wrong: a value under a
// column that has no header, which the import cannot place (it may be a
// column the merchant forgot to name). It is a file error, so an import
// reads the file once with CheckRow (while it counts the rows) before it
// writes any row; Row also refuses such a row, for a caller that does not.
func (m *Mapper) CheckRow(r Row) *HeaderError {
	var problems []Problem
	for i, cell := range r.Cells {
		if (i >= len(m.cols) || m.cols[i].header == "") && !customer.IsBlank(cell.Text) {
			problems = append(problems, Problem{unnamedColumn(i), fmt.Sprintf("has a value in row %d but no header: name the column or delete it", r.Number)})
		}
	}
	if problems == nil {
		return nil
	}
	return &HeaderError{Problems: problems}
}

// rowNumber is the row's number cell: given when not empty, bad when it
// is not a customer number (n is then what ParseInt made of it).
func (m *Mapper) rowNumber(r Row) (n int64, given, bad bool) {
	if m.number < 0 {
		return 0, false, false
	}
	t := strings.TrimSpace(mappedText(r, m.number))
	if customer.IsBlank(t) {
		return 0, false, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	return n, true, err != nil || n <= 0
}

// rowEmail is the row's email cell, trimmed; false when it is empty.
func (m *Mapper) rowEmail(r Row) (string, bool) {
	email := mappedText(r, m.email)
	if customer.IsBlank(email) {
		return "", false
	}
	return strings.TrimSpace(email), true
}

// mappedText is the cell's text at position i, "" beyond the row's cells.
func mappedText(r Row, i int) string {
	if i < 0 || i >= len(r.Cells) {
		return ""
	}
	return r.Cells[i].Text
}

// Row maps one row (not the header). The batch row matches the customer by
// the number column's cell, or by email when the file has no number column
// or the cell is empty. Every column the file has is in the patch: a field's
// own column through Column.ParseText (an empty cell clears the field, or
// keeps it where the field table says so), a group:{id} column as a
// membership (true adds, false or empty removes; nothing for a new
// customer), and each section the file has, whole: the items of the row
// that have any non-empty cell, in index order, replace the customer's
// (none at all leaves the section empty). A row that cannot be mapped is a
// *RowError naming every column concerned.
func (m *Mapper) Row(r Row) (register.BatchRow, *RowError) {
	br := register.BatchRow{Row: r.Number}
	var problems []Problem
	add := func(ps ...Problem) { problems = append(problems, ps...) }
	if he := m.CheckRow(r); he != nil {
		add(he.Problems...)
	}
	for i := range min(len(r.Cells), len(m.cols)) {
		mc, cell := m.cols[i], r.Cells[i]
		if mc.header == "" {
			continue
		}
		if p, bad := m.checkCell(mc, cell); bad {
			add(p)
		}
	}
	if problems != nil {
		// The cells are wrong as cells: say so, and nothing else.
		return br, &RowError{Row: r.Number, Problems: problems}
	}

	n, given, numberBad := m.rowNumber(r)
	if numberBad {
		add(Problem{m.cols[m.number].header, "must be a customer number (a whole number above 0), or empty to match the row by email"})
	}
	if given {
		br.Number = n
	}
	if email, ok := m.rowEmail(r); ok {
		br.Email = email
	} else if br.Number == 0 && !numberBad {
		add(Problem{m.cols[m.email].header, "is required: the row has no customer number, so its email finds the customer"})
	}

	for i, mc := range m.cols {
		if mc.kind != mapOwn {
			continue
		}
		if err := mc.col.ParseText(&br.Patch, mappedText(r, i)); err != nil {
			add(problemsOf(err, mc.header)...)
		}
	}
	if m.hasCards {
		br.Patch.CustomerCards = customer.Set(sectionItems(r, m.cards))
	}
	if m.hasPhones {
		br.Patch.PhoneNumbers = customer.Set(sectionItems(r, m.phones))
	}
	if m.hasAddrs {
		list := []customer.Address{}
		for _, a := range m.addrs {
			if item, ok := rowAddress(r, a); ok {
				list = append(list, item)
			}
		}
		br.Patch.Addresses = customer.Set(list)
	}
	if problems != nil {
		return br, &RowError{Row: r.Number, Problems: problems}
	}
	return br, nil
}

// checkCell refuses a cell that the spreadsheet has made into something
// else than the merchant typed.
func (m *Mapper) checkCell(mc mcol, cell Cell) (Problem, bool) {
	switch {
	case cell.Kind == Error:
		return Problem{mc.header, fmt.Sprintf("the cell shows the formula error %s", cell.Text)}, true
	case !mc.textual:
		return Problem{}, false
	case cell.Kind == Number && !zeroPadded(cell):
		return Problem{mc.header, "is stored as a number, which loses leading zeros (00100 becomes 100); format the column as text and type the values again"}, true
	case cell.Kind == Date:
		return Problem{mc.header, "is stored as a date; format the column as text and type the values again"}, true
	}
	return Problem{}, false
}

// zeroPadded tells a number cell whose format pads it to a fixed number of
// digits ("00000"), which the reader shows padded: the text is what the
// merchant sees. The number must be a whole one that a spreadsheet holds
// exactly (at most 15 significant digits).
func zeroPadded(c Cell) bool {
	if len(c.Format) < 2 || strings.Trim(c.Format, "0") != "" {
		return false
	}
	if c.Text == "" || strings.Trim(c.Text, "0123456789") != "" {
		return false
	}
	return len(strings.TrimLeft(c.Text, "0")) <= 15
}

// sectionItems are the non-empty cells of a section, trimmed, in index order.
func sectionItems(r Row, positions []int) []string {
	out := []string{}
	for _, i := range positions {
		if t := mappedText(r, i); !customer.IsBlank(t) {
			out = append(out, strings.TrimSpace(t))
		}
	}
	return out
}

// rowAddress is the address of a's columns in r, if any of its cells is not
// empty.
func rowAddress(r Row, a mapAddr) (customer.Address, bool) {
	var item customer.Address
	any := false
	for member, i := range a.members {
		if t := mappedText(r, i); !customer.IsBlank(t) {
			customer.SetAddressMember(&item, member, t)
			any = true
		}
	}
	return item, any
}

// ColumnOf names the column of a field path that the core reports for
// row r ("addresses[1].postalCode", "email", "eInvoice.broker",
// "customerCards[0]", "group:vip"), as the file writes its header; a
// column the file lacks by its name in the field table. A list's item is
// the row's item: the second non-empty address of the row may be
// address:3. A path that names no column is returned as it is.
func (m *Mapper) ColumnOf(r Row, path string) string {
	name, rest := path, ""
	if i := strings.IndexAny(path, "[."); i >= 0 {
		name, rest = path[:i], path[i:]
	}
	switch name {
	case "customerCards":
		return m.itemColumn(r, rest, m.cards, "customerCard:{index}")
	case "phoneNumbers":
		return m.itemColumn(r, rest, m.phones, "phoneNumber:{index}")
	case "addresses":
		k, member, ok := listIndex(rest)
		if !ok {
			return "address:{index}:{field}"
		}
		member = strings.TrimPrefix(member, ".")
		n := 0
		for _, a := range m.addrs {
			if _, has := rowAddress(r, a); !has {
				continue
			}
			if n == k {
				return m.header(fmt.Sprintf("address:%d:%s", a.index, member))
			}
			n++
		}
		return "address:{index}:" + member
	case "groups":
		if len(m.groups) == 1 {
			return m.cols[m.groups[0]].header
		}
		return "group:{id}"
	case customer.NumberColumn:
		return m.header(customer.NumberColumn)
	}
	if strings.HasPrefix(strings.ToLower(path), "group:") {
		return m.header(path)
	}
	if f, ok := customer.FieldByName(path); ok && f.Column != "" && f.Kind != customer.KindList {
		return m.header(f.Column)
	}
	return path
}

// header is the file's header of a canonical column name, or the name.
func (m *Mapper) header(name string) string {
	if h, ok := m.byName[strings.ToLower(name)]; ok {
		return h
	}
	return name
}

// itemColumn is the column of a section's item "[k]" in r; without an
// index, the column of the row's only item, else the section's pattern.
func (m *Mapper) itemColumn(r Row, rest string, positions []int, pattern string) string {
	k, _, ok := listIndex(rest)
	var filled []int
	for _, i := range positions {
		if !customer.IsBlank(mappedText(r, i)) {
			filled = append(filled, i)
		}
	}
	switch {
	case ok && k < len(filled):
		return m.cols[filled[k]].header
	case !ok && rest == "" && len(filled) == 1:
		return m.cols[filled[0]].header
	}
	return pattern
}

// listIndex reads "[k]" and what follows it.
func listIndex(rest string) (int, string, bool) {
	if !strings.HasPrefix(rest, "[") {
		return 0, rest, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, rest, false
	}
	k, err := strconv.Atoi(rest[1:end])
	if err != nil || k < 0 {
		return 0, rest, false
	}
	return k, rest[end+1:], true
}

// Explain turns the error of a row that the core refused (a
// register.RowResult's Err: a *fault.Validation, a *fault.Conflict, a
// *fault.Stale) into the row's error for the report, every field named by
// its column (ColumnOf).
func (m *Mapper) Explain(r Row, err error) *RowError {
	if err == nil {
		return nil
	}
	re := &RowError{Row: r.Number}
	var v *fault.Validation
	var c *fault.Conflict
	switch {
	case errors.As(err, &v):
		for _, f := range v.Fields {
			re.Problems = append(re.Problems, Problem{m.problemColumn(r, f.Field, f.Message), f.Message})
		}
	case errors.As(err, &c):
		re.Problems = []Problem{{m.problemColumn(r, c.Field, c.Message), c.Message}}
	case fault.IsStale(err):
		re.Problems = []Problem{{"", "the customer kept changing while the file was imported; import this row again"}}
	default:
		re.Problems = []Problem{{"", err.Error()}}
	}
	return re
}

// problemColumn is ColumnOf, except that a problem about groups that names
// its group ("group \"vip\" does not exist") names that group's column.
func (m *Mapper) problemColumn(r Row, path, msg string) string {
	if strings.HasPrefix(path, "groups") {
		if _, after, ok := strings.Cut(msg, `group "`); ok {
			if g, _, ok := strings.Cut(after, `"`); ok {
				if h, ok := m.byName[strings.ToLower("group:"+g)]; ok {
					return h
				}
			}
		}
	}
	return m.ColumnOf(r, path)
}
