package customer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"kirjuri/core/fault"
)

// A customer body in JSON (a create body, or a JSON Merge Patch, RFC 7396)
// is decoded here, by the field table, because a merge patch has three
// states per field that a Go struct cannot hold: an absent member is Keep,
// null is Clear, a value is Set. The body is read member by member and each
// member is decoded strictly:
//   - an unknown member is refused, naming it (and the field it most likely
//     meant), so that a typo never silently drops a change;
//   - a member of the wrong JSON type is refused, naming it;
//   - a member given twice is refused;
//   - the read-only members the caller names are refused with its reason.
// All problems are reported at once as a *fault.Validation with the paths of
// the customer's JSON ("addresses[0].postalCode"). Values are never echoed.
// A create body is read the same way: it is a patch applied to an empty
// customer.

// MaxDecodeProblems bounds the problems DecodeJSON reports: enough to act
// on; a body of junk is not read to its end.
const MaxDecodeProblems = 50

// SyntaxError says a body is not JSON at all.
type SyntaxError struct {
	Reason string // where and why, without the body's text
}

func (e *SyntaxError) Error() string { return "not valid JSON: " + e.Reason }

// DecodeJSON reads a customer body into a patch. readOnly names members of
// a customer that a body cannot change, with the reason to give; they are
// also suggested for near misses. It returns a *SyntaxError for a body that
// is not JSON, and a *fault.Validation for everything else.
func DecodeJSON(body []byte, readOnly map[string]string) (Patch, error) {
	var p Patch
	d := &jsonDecoder{v: &fault.Validation{}}
	members, err := d.object(body, "")
	switch {
	case errors.Is(err, errNotObject):
		return p, fault.Invalid("", "must be a JSON object")
	case err != nil:
		return p, &SyntaxError{Reason: err.Error()}
	}
	var known []string
	for _, m := range members {
		if len(d.v.Fields) >= MaxDecodeProblems {
			break
		}
		if i, ok := byName[m.name]; ok {
			fieldTable[i].decode(d, &p, m.name, m.value)
			continue
		}
		if children, ok := jsonObjects[m.name]; ok {
			d.mergeObject(&p, m.name, m.value, children)
			continue
		}
		if why, ok := readOnly[m.name]; ok {
			d.v.Add(m.name, "%s", why)
			continue
		}
		if known == nil {
			known = topMembers(readOnly)
		}
		d.unknown(m.name, known)
	}
	return p, d.v.Err()
}

// jsonObjects are the objects within a customer that a merge patch merges
// member by member ("eInvoice"), with their fields by member name.
var jsonObjects = func() map[string]map[string]Field {
	out := map[string]map[string]Field{}
	for _, f := range fieldTable {
		if obj, member, ok := strings.Cut(f.Name, "."); ok {
			if out[obj] == nil {
				out[obj] = map[string]Field{}
			}
			out[obj][member] = f
		}
	}
	return out
}()

// topMembers are the members a customer body may name, sorted.
func topMembers(readOnly map[string]string) []string {
	var out []string
	for _, f := range fieldTable {
		if !strings.Contains(f.Name, ".") {
			out = append(out, f.Name)
		}
	}
	for n := range jsonObjects {
		out = append(out, n)
	}
	for n := range readOnly {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

var errNotObject = errors.New("not a JSON object")

type jsonMember struct {
	name  string
	value []byte
}

type jsonDecoder struct {
	v *fault.Validation
}

// object reads raw as one JSON object. A member given twice is recorded as
// a problem of field.name; the later value is ignored.
func (d *jsonDecoder) object(raw []byte, field string) ([]jsonMember, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, errNotObject
	}
	var out []jsonMember
	seen := map[string]struct{}{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, syntaxError(err)
		}
		if _, dup := seen[name]; dup {
			d.v.Add(join(field, name), "is given more than once")
			continue
		}
		seen[name] = struct{}{}
		out = append(out, jsonMember{name: name, value: value})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return out, nil
}

func syntaxError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON input")
	}
	return errors.New("malformed JSON")
}

func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}

func (d *jsonDecoder) unknown(field string, known []string) {
	if len(field) > 200 {
		field = strings.ToValidUTF8(field[:200], "") + "…"
	}
	name := field[strings.LastIndexByte(field, '.')+1:]
	if s, ok := Suggest(name, known); ok {
		d.v.Add(field, "unknown field; did you mean %q?", s)
		return
	}
	d.v.Add(field, "unknown field")
}

func isNull(raw []byte) bool { return string(raw) == "null" }

// text reads a string member: null clears it.
func (d *jsonDecoder) text(field string, raw []byte) Opt[string] {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return Clear[string]()
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		d.v.Add(field, "must be a string or null")
		return Keep[string]()
	}
	return Set(s)
}

// flag reads a boolean member: null clears it (false).
func (d *jsonDecoder) flag(field string, raw []byte) Opt[bool] {
	switch string(bytes.TrimSpace(raw)) {
	case "null":
		return Clear[bool]()
	case "true":
		return Set(true)
	case "false":
		return Set(false)
	}
	d.v.Add(field, "must be true, false or null")
	return Keep[bool]()
}

// integer reads an integer member: null clears it.
func (d *jsonDecoder) integer(field string, raw []byte) Opt[int] {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return Clear[int]()
	}
	n, ok := parseJSONInt(raw)
	if !ok {
		d.v.Add(field, "must be an integer or null")
		return Keep[int]()
	}
	return Set(n)
}

func parseJSONInt(raw []byte) (int, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	return int(n), err == nil
}

// list reads an array member; null is a nil list with ok. The aggregate
// bounds list lengths too; checking here first spares decoding a huge list.
func (d *jsonDecoder) list(field string, raw []byte) (items []json.RawMessage, null, ok bool) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, true, true
	}
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		d.v.Add(field, "must be an array or null")
		return nil, false, false
	}
	if len(items) > MaxListLen {
		d.v.Add(field, "has %d entries; at most %d are allowed", len(items), MaxListLen)
		return nil, false, false
	}
	return items, false, true
}

// textList reads an array of strings.
func (d *jsonDecoder) textList(field string, raw []byte) Opt[[]string] {
	items, null, ok := d.list(field, raw)
	switch {
	case !ok:
		return Keep[[]string]()
	case null:
		return Clear[[]string]()
	}
	out := make([]string, 0, len(items))
	bad := false
	for i, it := range items {
		var s string
		it = bytes.TrimSpace(it)
		if len(it) == 0 || it[0] != '"' || json.Unmarshal(it, &s) != nil {
			d.v.Add(fmt.Sprintf("%s[%d]", field, i), "must be a string")
			bad = true
			continue
		}
		out = append(out, s)
	}
	if bad {
		return Keep[[]string]()
	}
	return Set(out)
}

// plain reads a member of an object inside a list, where null is the same
// as leaving the member out.
func (d *jsonDecoder) plain(field string, raw []byte) string {
	return d.text(field, raw).Value()
}

func (d *jsonDecoder) addresses(field string, raw []byte) Opt[[]Address] {
	return objectList(d, field, raw, addressMemberNames, func(a *Address, name, mf string, v []byte) bool {
		dst, ok := addressMember(a, name)
		if ok {
			*dst = d.plain(mf, v)
		}
		return ok
	})
}

func (d *jsonDecoder) links(field string, raw []byte) Opt[[]ExternalLink] {
	return objectList(d, field, raw, linkMemberNames, func(l *ExternalLink, name, mf string, v []byte) bool {
		switch name {
		case "systemId":
			l.SystemID = SystemID(d.integer(mf, v).Value())
		case "identifier":
			l.Identifier = d.plain(mf, v)
		default:
			return false
		}
		return true
	})
}

// objectList decodes a list of objects (replaced whole, null clears it).
// set fills an item from one member and reports whether it knows the
// member; an unknown one is refused by name. Any problem keeps the list.
func objectList[T any](d *jsonDecoder, field string, raw []byte, known []string, set func(item *T, name, field string, value []byte) bool) Opt[[]T] {
	items, null, ok := d.list(field, raw)
	switch {
	case !ok:
		return Keep[[]T]()
	case null:
		return Clear[[]T]()
	}
	before := len(d.v.Fields)
	out := make([]T, 0, len(items))
	for i, it := range items {
		if len(d.v.Fields) >= MaxDecodeProblems {
			break
		}
		f := fmt.Sprintf("%s[%d]", field, i)
		members, err := d.object(it, f)
		if err != nil {
			d.v.Add(f, "must be an object")
			continue
		}
		var item T
		for _, m := range members {
			mf := f + "." + m.name
			if !set(&item, m.name, mf, m.value) {
				d.unknown(mf, known)
			}
		}
		out = append(out, item)
	}
	if len(d.v.Fields) > before {
		return Keep[[]T]()
	}
	return Set(out)
}

// mergeObject merges an object within the customer ("eInvoice") member by
// member; null clears all of it.
func (d *jsonDecoder) mergeObject(p *Patch, field string, raw []byte, children map[string]Field) {
	if isNull(bytes.TrimSpace(raw)) {
		for _, f := range fieldTable { // in table order, not map order
			if strings.HasPrefix(f.Name, field+".") {
				f.decode(d, p, f.Name, raw)
			}
		}
		return
	}
	members, err := d.object(raw, field)
	if err != nil {
		d.v.Add(field, "must be an object or null")
		return
	}
	var known []string
	for _, m := range members {
		mf := field + "." + m.name
		if f, ok := children[m.name]; ok {
			f.decode(d, p, mf, m.value)
			continue
		}
		if known == nil {
			for n := range children {
				known = append(known, n)
			}
			slices.Sort(known)
		}
		d.unknown(mf, known)
	}
}
