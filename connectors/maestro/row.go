package maestro

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
)

// maxProblems bounds the problems one rejection lists; the rest are
// counted.
const maxProblems = 20

// maxName bounds a source column's name (or a JSON member's) as an error
// shows it.
const maxName = 64

// report collects the problems of one delivery: each names the row (or the
// JSON item) and the source column, never the value.
type report struct {
	v     fault.Validation
	count int
}

// add records a problem of row (a label: "row 5", "customers[3]") in
// column ("" for the row as a whole).
func (r *report) add(row, column, format string, args ...any) {
	r.count++
	if len(r.v.Fields) >= maxProblems {
		return
	}
	where := row
	if column != "" {
		where += ", column " + quoteName(column)
	}
	r.v.Add(where, format, args...)
}

// err is the rejection, or nil.
func (r *report) err() error {
	if r.count == 0 {
		return nil
	}
	if more := r.count - len(r.v.Fields); more > 0 {
		r.v.Add("and more", "%d more problems are not listed", more)
	}
	return &r.v
}

// quoteName quotes a column's name for a message, shortened.
func quoteName(s string) string {
	if utf8.RuneCountInString(s) > maxName {
		s = string([]rune(s)[:maxName]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// rows turns the rows of one delivery into drafts, checking what the
// connector can tell a row's cells by: the id, the update time, each
// mapped cell through the field table, the phones and addresses through
// the core's normalisation (so that their problems name the source column,
// not addAddresses[0]). What a value may be beyond that is the register's.
type rows struct {
	m      *mapping
	rep    report
	drafts []intake.Draft
	ids    map[string]string // id → the row that has it
	n      int               // rows read, blank ones aside
}

func (m *mapping) newRows() *rows {
	return &rows{m: m, ids: map[string]string{}}
}

// tooMany is the error of an export with more rows than maxRows.
func (rs *rows) tooMany() error {
	return fmt.Errorf("the export has more than %d customers (maxRows): split it into several deliveries", rs.m.maxRows)
}

// add reads one row's cells (by slot) into a draft. It reports false when
// the row is one too many.
func (rs *rows) add(label string, cells []string) bool {
	rs.n++
	if rs.n > rs.m.maxRows {
		return false
	}
	m := rs.m
	d := intake.Draft{Trust: m.trust}
	ok := true
	problem := func(slot int, format string, args ...any) {
		rs.rep.add(label, m.slots[slot], format, args...)
		ok = false
	}

	id, err := customer.ParseText(cells[m.id], customer.MaxIdentifierLen)
	switch {
	case err != nil:
		problem(m.id, "%s", err)
	case id == "":
		problem(m.id, "is empty or missing: every row needs Maestro's customer id (idColumn)")
	default:
		if other, dup := rs.ids[id]; dup {
			problem(m.id, "has the same customer id as %s: one row per customer", other)
		} else {
			rs.ids[id] = label
		}
	}
	d.Link = customer.ExternalLink{SystemID: customer.Maestro, Identifier: id}

	if m.updated >= 0 && !customer.IsBlank(cells[m.updated]) {
		at, err := parseUpdatedAt(cells[m.updated])
		if err != nil {
			problem(m.updated, "%s", err)
		}
		d.SourceUpdatedAt = at
	}

	for _, f := range m.fields {
		t := cells[f.slot]
		if customer.IsBlank(t) {
			continue // an empty cell keeps the field
		}
		if err := f.col.ParseText(&d.Patch, t); err != nil {
			problem(f.slot, "%s", problems(err))
		}
	}

	for _, p := range m.phones {
		t := cells[p.slot]
		if customer.IsBlank(t) {
			continue
		}
		if _, err := customer.NormalizePhone(t); err != nil {
			problem(p.slot, "%s", err)
			continue
		}
		d.AddPhones = append(d.AddPhones, strings.TrimSpace(t))
	}

	for _, a := range m.addrs {
		var item customer.Address
		given := false
		for _, member := range a.order {
			if t := cells[a.members[member]]; !customer.IsBlank(t) {
				customer.SetAddressMember(&item, member, t)
				given = true
			}
		}
		if !given {
			continue
		}
		if item.Type == "" {
			item.Type = a.defaultType
		}
		if _, err := customer.NormalizeAddress(item); err != nil {
			var v *fault.Validation
			if !errors.As(err, &v) {
				rs.rep.add(label, "", "address:%d: %s", a.index, err)
				ok = false
				continue
			}
			for _, fe := range v.Fields {
				if slot, mapped := a.members[fe.Field]; mapped {
					problem(slot, "%s", fe.Message)
				} else {
					// The type, when no column gives it and there is no
					// default: compile makes sure there is one.
					rs.rep.add(label, "", "address:%d:%s %s", a.index, fe.Field, fe.Message)
					ok = false
				}
			}
			continue
		}
		d.AddAddresses = append(d.AddAddresses, item)
	}
	if ok {
		rs.drafts = append(rs.drafts, d)
	}
	return true
}

// result is the drafts, or the rejection listing every problem found.
func (rs *rows) result() ([]intake.Draft, error) {
	if err := rs.rep.err(); err != nil {
		return nil, err
	}
	if rs.drafts == nil {
		return []intake.Draft{}, nil
	}
	return rs.drafts, nil
}
