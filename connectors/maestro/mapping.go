package maestro

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
)

// mapping is a validated configuration: which source column feeds what.
// Every source column the mapping reads has a slot; a row is read into a
// slice of cells by slot, "" where the row has no such column.
type mapping struct {
	trust   intake.Trust
	maxRows int
	strict  bool

	slots []string       // the source columns as configured, by slot
	slot  map[string]int // by fold(name)

	id, updated int // slots; updated is -1 without an updatedAtColumn
	fields      []fieldTarget
	phones      []phoneTarget   // by index
	addrs       []addressTarget // by index
}

// fieldTarget is a source column mapped to a field of its own.
type fieldTarget struct {
	slot int
	col  customer.Column
}

// phoneTarget is a source column mapped to phoneNumber:{index}.
type phoneTarget struct {
	index, slot int
}

// addressTarget is the source columns of address:{index}, by member, and
// the type of the address when none is given.
type addressTarget struct {
	index       int
	members     map[string]int // member → slot
	order       []string       // the members, sorted
	defaultType customer.AddressType
}

// fold is how source columns are matched: ignoring case and surrounding
// white space ("Sähköposti " is "sähköposti").
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// addressRequired are the members an address needs besides its type (the
// spreadsheet door asks the same of a file's address columns).
var addressRequired = []string{"streetAddress1", "postalCode", "city"}

func compileMapping(c *Config) (*mapping, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	m := &mapping{maxRows: c.MaxRows, strict: c.StrictColumns, slot: map[string]int{}, updated: -1}

	switch strings.ToLower(strings.TrimSpace(c.Trust)) {
	case TrustAuthoritative:
		m.trust = intake.Authoritative
	case TrustObservation:
		m.trust = intake.Observation
	default:
		bad("trust: must be %q or %q, not %q", TrustAuthoritative, TrustObservation, c.Trust)
	}

	// slotOf gives a source column its slot; the same column may feed the
	// id and a field (Maestro's id as externalId too).
	slotOf := func(name string) int {
		k := fold(name)
		if i, ok := m.slot[k]; ok {
			return i
		}
		m.slots = append(m.slots, strings.TrimSpace(name))
		m.slot[k] = len(m.slots) - 1
		return len(m.slots) - 1
	}
	if customer.IsBlank(c.IDColumn) {
		bad("idColumn is required: the source column with Maestro's customer id (the customer's link 1/<id>)")
	} else {
		m.id = slotOf(c.IDColumn)
	}
	if !customer.IsBlank(c.UpdatedAtColumn) {
		m.updated = slotOf(c.UpdatedAtColumn)
	}

	if len(c.Columns) == 0 {
		bad("columns: map at least one source column to a field, as in columns: {Etunimi: firstName}")
	}
	// Sources in a stable order, so that errors and slots do not depend on
	// the map's order; two sources that differ only in case are one column.
	sources := slices.Sorted(maps.Keys(c.Columns))
	seenSource := map[string]string{}
	targetFrom := map[string]string{} // fold(target) → source
	addrs := map[int]*addressTarget{}
	for _, src := range sources {
		target := c.Columns[src]
		if customer.IsBlank(src) {
			bad("columns: a source column name is empty")
			continue
		}
		if other, dup := seenSource[fold(src)]; dup {
			bad("columns.%s: is the same source column as %q (names are matched ignoring case)", src, other)
			continue
		}
		seenSource[fold(src)] = src
		col, err := parseTarget(target)
		if err != nil {
			bad("columns.%s: %w", src, err)
			continue
		}
		if other, dup := targetFrom[fold(col.Name())]; dup {
			bad("columns.%s: %s is also the target of %q: map one source column to it", src, col.Name(), other)
			continue
		}
		targetFrom[fold(col.Name())] = src
		slot := slotOf(src)
		switch col.Field.Name {
		case "phoneNumbers":
			m.phones = append(m.phones, phoneTarget{index: col.Index, slot: slot})
		case "addresses":
			a := addrs[col.Index]
			if a == nil {
				a = &addressTarget{index: col.Index, members: map[string]int{}}
				addrs[col.Index] = a
			}
			a.members[col.Member] = slot
		default:
			m.fields = append(m.fields, fieldTarget{slot: slot, col: col})
		}
	}
	slices.SortFunc(m.phones, func(a, b phoneTarget) int { return a.index - b.index })

	for i, t := range c.AddressTypes {
		n := i + 1
		switch a := addrs[n]; {
		case customer.IsBlank(t):
		case a == nil:
			bad("addressTypes[%d]: no source column is mapped to address:%d", i, n)
		default:
			w, ok := addressType(t)
			if !ok {
				bad("addressTypes[%d]: must be Invoice, Delivery or Home, not %q", i, t)
			}
			a.defaultType = w
		}
	}
	for _, n := range slices.Sorted(maps.Keys(addrs)) {
		a := addrs[n]
		var missing []string
		for _, req := range addressRequired {
			if _, ok := a.members[req]; !ok {
				missing = append(missing, fmt.Sprintf("address:%d:%s", n, req))
			}
		}
		if len(missing) > 0 {
			bad("columns: address %d has columns but none for %s: an address needs streetAddress1, postalCode and city", n, strings.Join(missing, ", "))
		}
		if _, ok := a.members["type"]; !ok && a.defaultType == "" {
			bad("columns: address %d has no type: map a source column to address:%d:type, or give addressTypes[%d] (Invoice, Delivery or Home)", n, n, n-1)
		}
		a.order = slices.Sorted(maps.Keys(a.members))
		m.addrs = append(m.addrs, *a)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// parseTarget reads a mapping's target, a spreadsheet column name, and
// refuses what a connector may not set.
func parseTarget(target string) (customer.Column, error) {
	if customer.IsBlank(target) {
		return customer.Column{}, errors.New("the target is empty: name the register's column, as in firstName or address:1:city")
	}
	col, err := customer.ParseColumn(target)
	if err != nil {
		if f, ok := customer.FieldByName(strings.TrimSpace(target)); ok && f.Column != "" && !strings.Contains(f.Column, "{") {
			return customer.Column{}, fmt.Errorf("%q is the field's JSON name; did you mean the column %q?", target, f.Column)
		}
		if strings.ContainsAny(target, "[.") {
			return customer.Column{}, fmt.Errorf("%q: name the register's column as a spreadsheet does: address:{index}:{field} (as in address:1:city) or phoneNumber:{index}, counted from 1", target)
		}
		return customer.Column{}, fmt.Errorf("%q: %s", target, problems(err))
	}
	switch {
	case col.Number:
		return customer.Column{}, fmt.Errorf("%q is kirjuri's own customer number, which a connector does not set; Maestro's id is idColumn (map it to externalId too to show it)", target)
	case col.Field.Name == "marketingEmail" || col.Field.Name == "marketingSms":
		return customer.Column{}, fmt.Errorf("%q is a consent: a connector sets consents only with the evidence of how they were captured, which a column does not carry", target)
	case col.Field.Name == "gdprRestricted":
		return customer.Column{}, fmt.Errorf("%q (restriction of processing) is set only by the data subject's request through the API", target)
	case col.Field.Name == "groups" || col.Field.Name == "customerCards":
		return customer.Column{}, fmt.Errorf("%q: a connector adds only phones and addresses to a customer's lists; groups and customer cards are set through the API or a spreadsheet", target)
	}
	return col, nil
}

// addressType is the address type a word names, in any case.
func addressType(s string) (customer.AddressType, bool) {
	var a customer.Address
	customer.SetAddressMember(&a, "type", s)
	return a.Type, a.Type.Valid()
}

// problems is the messages of a core error without its field names (the
// caller names the source column instead), or its text.
func problems(err error) string {
	var v *fault.Validation
	if !errors.As(err, &v) || len(v.Fields) == 0 {
		return err.Error()
	}
	msgs := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		msgs[i] = f.Message
	}
	return strings.Join(msgs, "; ")
}
