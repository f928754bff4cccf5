package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// The customer bodies (create and JSON Merge Patch, RFC 7396) are decoded
// here rather than by Huma, because a merge patch has three states per field
// that a Go struct cannot hold: an absent field is customer.Keep, null is
// customer.Clear, a value is customer.Set. The body is read member by member
// as json.RawMessage and each member is decoded strictly:
//   - an unknown member is refused, naming it (and the field it most likely
//     meant), so that a typo never silently drops a change;
//   - a member of the wrong JSON type is refused, naming it;
//   - a member given twice is refused;
//   - read-only members (id, number, version, ...) are refused.
// All problems are reported at once as a *fault.Validation with the paths of
// the customer's JSON ("addresses[0].postalCode"); the problem mapper places
// them in the body. Values are never echoed back.
//
// A create body is read the same way: it is a patch applied to an empty
// customer.

// decodeCustomerPatch reads a create or merge-patch body.
func decodeCustomerPatch(body []byte) (customer.Patch, error) {
	var p customer.Patch
	d := &patchDecoder{v: &fault.Validation{}}
	members, err := d.object(body, "")
	switch {
	case errors.Is(err, errNotObject):
		return p, fault.Invalid("", "must be a JSON object")
	case err != nil:
		return p, huma.Error400BadRequest("request body is not valid JSON", &huma.ErrorDetail{Location: "body", Message: err.Error()})
	}
	for _, m := range members {
		if len(d.v.Fields) >= maxDetails {
			break // enough to act on; a body of junk is not read to its end
		}
		if set, ok := customerMembers[m.name]; ok {
			set(d, &p, m.value)
			continue
		}
		if why, ok := readOnlyMembers[m.name]; ok {
			d.v.Add(m.name, "%s", why)
			continue
		}
		d.unknown(m.name, customerMemberNames)
	}
	return p, d.v.Err()
}

var errNotObject = errors.New("not a JSON object")

type member struct {
	name  string
	value json.RawMessage
}

type patchDecoder struct {
	v *fault.Validation
}

// object reads raw as one JSON object. A member given twice is recorded as
// a problem of field.name; the later value is ignored.
func (d *patchDecoder) object(raw []byte, field string) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return nil, errNotObject
	}
	var out []member
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
		out = append(out, member{name: name, value: value})
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

func (d *patchDecoder) unknown(field string, known []string) {
	if len(field) > 200 {
		field = strings.ToValidUTF8(field[:200], "") + "…"
	}
	name := field[strings.LastIndexByte(field, '.')+1:]
	if s := suggest(name, known); s != "" {
		d.v.Add(field, "unknown field; did you mean %q?", s)
		return
	}
	d.v.Add(field, "unknown field")
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// text reads a string member: null clears it.
func (d *patchDecoder) text(field string, raw json.RawMessage) customer.Opt[string] {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return customer.Clear[string]()
	}
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		d.v.Add(field, "must be a string or null")
		return customer.Keep[string]()
	}
	return customer.Set(s)
}

// flag reads a boolean member: null clears it (false).
func (d *patchDecoder) flag(field string, raw json.RawMessage) customer.Opt[bool] {
	switch string(bytes.TrimSpace(raw)) {
	case "null":
		return customer.Clear[bool]()
	case "true":
		return customer.Set(true)
	case "false":
		return customer.Set(false)
	}
	d.v.Add(field, "must be true, false or null")
	return customer.Keep[bool]()
}

// integer reads an integer member: null clears it.
func (d *patchDecoder) integer(field string, raw json.RawMessage) customer.Opt[int] {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return customer.Clear[int]()
	}
	n, ok := parseInt(raw)
	if !ok {
		d.v.Add(field, "must be an integer or null")
		return customer.Keep[int]()
	}
	return customer.Set(n)
}

func parseInt(raw json.RawMessage) (int, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	return int(n), err == nil
}

// list reads an array member; null is a nil list with ok. The core bounds
// list lengths too; checking here first spares decoding a huge list.
func (d *patchDecoder) list(field string, raw json.RawMessage) (items []json.RawMessage, null, ok bool) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, true, true
	}
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		d.v.Add(field, "must be an array or null")
		return nil, false, false
	}
	if len(items) > customer.MaxListLen {
		d.v.Add(field, "has %d entries; at most %d are allowed", len(items), customer.MaxListLen)
		return nil, false, false
	}
	return items, false, true
}

// textList reads an array of strings.
func (d *patchDecoder) textList(field string, raw json.RawMessage) customer.Opt[[]string] {
	items, null, ok := d.list(field, raw)
	switch {
	case !ok:
		return customer.Keep[[]string]()
	case null:
		return customer.Clear[[]string]()
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
		return customer.Keep[[]string]()
	}
	return customer.Set(out)
}

// plain reads a member of an object inside a list, where null is the same
// as leaving the member out.
func (d *patchDecoder) plain(field string, raw json.RawMessage) string {
	o := d.text(field, raw)
	return o.Value()
}

func (d *patchDecoder) addresses(field string, raw json.RawMessage) customer.Opt[[]customer.Address] {
	return objectList(d, field, raw, addressMemberNames, func(a *customer.Address, name, mf string, v json.RawMessage) bool {
		switch name {
		case "type":
			a.Type = customer.AddressType(d.plain(mf, v))
		case "streetAddress1":
			a.StreetAddress1 = d.plain(mf, v)
		case "streetAddress2":
			a.StreetAddress2 = d.plain(mf, v)
		case "postalCode":
			a.PostalCode = d.plain(mf, v)
		case "city":
			a.City = d.plain(mf, v)
		case "country":
			a.Country = d.plain(mf, v)
		default:
			return false
		}
		return true
	})
}

func (d *patchDecoder) links(field string, raw json.RawMessage) customer.Opt[[]customer.ExternalLink] {
	return objectList(d, field, raw, linkMemberNames, func(l *customer.ExternalLink, name, mf string, v json.RawMessage) bool {
		switch name {
		case "systemId":
			l.SystemID = customer.SystemID(d.integer(mf, v).Value())
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
func objectList[T any](d *patchDecoder, field string, raw json.RawMessage, known []string, set func(item *T, name, field string, value json.RawMessage) bool) customer.Opt[[]T] {
	items, null, ok := d.list(field, raw)
	switch {
	case !ok:
		return customer.Keep[[]T]()
	case null:
		return customer.Clear[[]T]()
	}
	before := len(d.v.Fields)
	out := make([]T, 0, len(items))
	for i, it := range items {
		if len(d.v.Fields) >= maxDetails {
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
		return customer.Keep[[]T]()
	}
	return customer.Set(out)
}

// eInvoice merges the e-invoice object field by field; null clears all of
// it.
func (d *patchDecoder) eInvoice(p *customer.Patch, raw json.RawMessage) {
	const field = "eInvoice"
	if isNull(bytes.TrimSpace(raw)) {
		p.EInvoiceMode = customer.Clear[customer.EInvoiceMode]()
		p.EInvoiceBroker = customer.Clear[string]()
		p.EInvoiceAddress = customer.Clear[string]()
		p.EInvoiceEmail = customer.Clear[string]()
		return
	}
	members, err := d.object(raw, field)
	if err != nil {
		d.v.Add(field, "must be an object or null")
		return
	}
	for _, m := range members {
		mf := field + "." + m.name
		switch m.name {
		case "mode":
			p.EInvoiceMode = convertText[customer.EInvoiceMode](d.text(mf, m.value))
		case "broker":
			p.EInvoiceBroker = d.text(mf, m.value)
		case "address":
			p.EInvoiceAddress = d.text(mf, m.value)
		case "email":
			p.EInvoiceEmail = d.text(mf, m.value)
		default:
			d.unknown(mf, eInvoiceMemberNames)
		}
	}
}

// convertText and convertInt change the value type of an Opt.
func convertText[T ~string](o customer.Opt[string]) customer.Opt[T] {
	return convert(o, func(v string) T { return T(v) })
}

func convertInt[T ~int](o customer.Opt[int]) customer.Opt[T] {
	return convert(o, func(v int) T { return T(v) })
}

func convert[U, T any](o customer.Opt[U], f func(U) T) customer.Opt[T] {
	switch {
	case o.IsSet():
		return customer.Set(f(o.Value()))
	case o.IsClear():
		return customer.Clear[T]()
	}
	return customer.Keep[T]()
}

type memberDecoder func(d *patchDecoder, p *customer.Patch, raw json.RawMessage)

// customerMembers are the writable members of a customer body.
var customerMembers = map[string]memberDecoder{
	"type": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.Type = convertText[customer.Type](d.text("type", raw))
	},
	"firstName": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.FirstName = d.text("firstName", raw) },
	"lastName":  func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.LastName = d.text("lastName", raw) },
	"companyName": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.CompanyName = d.text("companyName", raw)
	},
	"businessId": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.BusinessID = d.text("businessId", raw)
	},
	"vatNumber": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.VATNumber = d.text("vatNumber", raw) },
	"vatStatus": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.VATStatus = convertInt[customer.VATStatus](d.integer("vatStatus", raw))
	},
	"email": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.Email = d.text("email", raw) },
	"language": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.Language = convertText[customer.Language](d.text("language", raw))
	},
	"ssn": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.SSN = d.text("ssn", raw) },
	"marketingEmail": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.MarketingEmail = d.flag("marketingEmail", raw)
	},
	"marketingSms": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.MarketingSMS = d.flag("marketingSms", raw)
	},
	"gdprRestricted": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.GDPRRestricted = d.flag("gdprRestricted", raw)
	},
	"creditAllowed": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.CreditAllowed = d.flag("creditAllowed", raw)
	},
	"externalId": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.ExternalID = d.text("externalId", raw)
	},
	"netvisorId": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.NetvisorID = d.text("netvisorId", raw)
	},
	"externalSystems": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.ExternalSystems = d.links("externalSystems", raw)
	},
	"customerCards": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.CustomerCards = d.textList("customerCards", raw)
	},
	"groups": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { p.Groups = d.textList("groups", raw) },
	"phoneNumbers": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.PhoneNumbers = d.textList("phoneNumbers", raw)
	},
	"addresses": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) {
		p.Addresses = d.addresses("addresses", raw)
	},
	"eInvoice": func(d *patchDecoder, p *customer.Patch, raw json.RawMessage) { d.eInvoice(p, raw) },
}

// readOnlyMembers are members of a customer that a body cannot change.
var readOnlyMembers = map[string]string{
	"id":        "is read-only",
	"number":    "is read-only: kirjuri assigns customer numbers",
	"createdAt": "is read-only",
	"updatedAt": "is read-only",
	"version":   "is read-only: send the version in If-Match instead",
	"erasedAt":  "is read-only: erase a customer with DELETE /v1/customers/{id}",
	"contacts":  "is changed through /v1/customers/{id}/contacts",
}

var (
	customerMemberNames = func() []string {
		var out []string
		for n := range customerMembers {
			out = append(out, n)
		}
		for n := range readOnlyMembers {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}()
	addressMemberNames  = []string{"city", "country", "postalCode", "streetAddress1", "streetAddress2", "type"}
	linkMemberNames     = []string{"identifier", "systemId"}
	eInvoiceMemberNames = []string{"address", "broker", "email", "mode"}
)

// suggest finds the known name closest to an unknown one (ignoring case,
// and at most two edits away).
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	lower := strings.ToLower(name)
	if len(lower) > 64 {
		return ""
	}
	for _, k := range known {
		if dist := editDistance(lower, strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance of two short strings, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
