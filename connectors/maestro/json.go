package maestro

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// wrapper is the member of the object form of a JSON export.
const wrapper = "customers"

// errShape says what a JSON export looks like.
var errShape = errors.New(`the JSON must be an array of customers, or {"customers": [...]}, each customer an object of column names and values`)

// parseJSON reads a JSON export: an array of flat objects, or the same in
// {"customers": [...]}. A member's value is a string, a number (taken as
// written: 0401234567 is not JSON, "0401234567" is), true or false, or
// null (an empty cell). An object or array as a value is refused: the
// mapping names flat columns. Items are named by their index from 0
// ("customers[3]", or "[3]").
func (m *mapping) parseJSON(body []byte) ([]intake.Draft, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("the body is not JSON: %w", delivery.JSONError(err, ""))
	}
	prefix := ""
	switch tok {
	case json.Delim('['):
	case json.Delim('{'):
		key, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("the body is not JSON: %w", delivery.JSONError(err, ""))
		}
		if k, _ := key.(string); k != wrapper {
			if key == json.Delim('}') {
				return nil, errShape
			}
			return nil, fmt.Errorf("unknown member %s: %w", quoteName(fmt.Sprint(key)), errShape)
		}
		if tok, err = dec.Token(); err != nil || tok != json.Delim('[') {
			return nil, fmt.Errorf("%s: must be an array: %w", wrapper, errShape)
		}
		prefix = wrapper
	default:
		return nil, errShape
	}

	rs := m.newRows()
	cells := make([]string, len(m.slots))
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("the body is not JSON: %w", delivery.JSONError(err, ""))
		}
		label := fmt.Sprintf("%s[%d]", prefix, i)
		if !m.jsonItem(&rs.rep, label, raw, cells) {
			continue
		}
		if !rs.add(label, cells) {
			return nil, rs.tooMany()
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ]
		return nil, fmt.Errorf("the body is not JSON: %w", delivery.JSONError(err, ""))
	}
	if prefix != "" {
		tok, err := dec.Token()
		switch {
		case err != nil:
			return nil, fmt.Errorf("the body is not JSON: %w", delivery.JSONError(err, ""))
		case tok != json.Delim('}'):
			return nil, fmt.Errorf("%s must be the object's only member: %w", wrapper, errShape)
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("the body is not JSON: data after the end of the export")
	}
	return rs.result()
}

// jsonItem reads one item into cells (by slot). It reports false, having
// recorded why, when the item cannot be read.
func (m *mapping) jsonItem(rep *report, label string, raw json.RawMessage, cells []string) bool {
	for i := range cells {
		cells[i] = ""
	}
	if len(raw) == 0 || raw[0] != '{' {
		rep.add(label, "", "must be an object of column names and values")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		rep.add(label, "", "is not JSON")
		return false
	}
	ok, badValue := true, false
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		key, isKey := kt.(string)
		if err != nil || !isKey {
			rep.add(label, "", "is not JSON")
			return false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil || len(v) == 0 {
			rep.add(label, key, "is not JSON")
			return false
		}
		k := fold(key)
		if seen[k] {
			rep.add(label, key, "appears twice in the object")
			ok = false
			continue
		}
		seen[k] = true
		var text string
		switch v[0] {
		case '{':
			rep.add(label, key, "is an object: the export is flat, one value per column (give its members columns of their own)")
			ok = false
			continue
		case '[':
			rep.add(label, key, "is an array: the export is flat, one value per column (phoneNumber:1, phoneNumber:2, …)")
			ok = false
			continue
		case '"':
			if !utf8.Valid(v) {
				rep.add(label, key, "is not valid UTF-8")
				ok, badValue = false, true
				continue
			}
			if err := json.Unmarshal(v, &text); err != nil {
				rep.add(label, key, "is not a JSON string")
				ok = false
				continue
			}
		case 'n': // null: an empty cell
		default: // a number as written, true or false
			text = string(v)
		}
		slot, mapped := m.slot[k]
		if !mapped {
			if m.strict {
				rep.add(label, key, "is not mapped (strictColumns): map it in columns, or leave it out of the export")
				ok = false
			}
			continue
		}
		cells[slot] = text
	}
	if !badValue && !utf8.Valid(raw) {
		rep.add(label, "", "a member's name is not valid UTF-8")
		ok = false
	}
	return ok
}
