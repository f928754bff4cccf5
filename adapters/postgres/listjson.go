package postgres

import (
	"unicode/utf8"

	"kirjuri/core/customer"
)

// A fast path for decoding the list columns (addresses, external_systems,
// e_invoice, contacts) as PostgreSQL prints them: flat objects whose
// values are plain strings or small integers. encoding/json's reflection
// cost half of reading a customer (the export reads every one), so the
// common form is read here by hand, the strings cut from one copy of the
// column's text; anything else (an escape, invalid UTF-8, an unknown
// member, another kind of value) falls back to encoding/json, whose
// result is the reference (decodeLists' tests compare both).

// listLexer reads JSON text without allocating; ok turns false at the
// first thing it does not handle.
type listLexer struct {
	s  string
	i  int
	ok bool
}

func (l *listLexer) ws() {
	for l.i < len(l.s) {
		switch l.s[l.i] {
		case ' ', '\t', '\n', '\r':
			l.i++
		default:
			return
		}
	}
}

// peek skips white space and reports whether c comes next.
func (l *listLexer) peek(c byte) bool {
	l.ws()
	return l.i < len(l.s) && l.s[l.i] == c
}

// want consumes c, after white space.
func (l *listLexer) want(c byte) {
	if l.ok && l.peek(c) {
		l.i++
		return
	}
	l.ok = false
}

// str reads a string without escapes.
func (l *listLexer) str() string {
	l.want('"')
	if !l.ok {
		return ""
	}
	start := l.i
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == '"':
			v := l.s[start:l.i]
			l.i++
			if !utf8.ValidString(v) {
				l.ok = false
			}
			return v
		case c == '\\' || c < 0x20:
			l.ok = false
			return ""
		}
		l.i++
	}
	l.ok = false
	return ""
}

// int reads a small non-negative integer.
func (l *listLexer) int() int {
	l.ws()
	n, digits := 0, 0
	for l.i < len(l.s) && l.s[l.i] >= '0' && l.s[l.i] <= '9' && digits < 9 {
		n = n*10 + int(l.s[l.i]-'0')
		l.i++
		digits++
	}
	if digits == 0 || (digits > 1 && l.s[l.i-digits] == '0') || (l.i < len(l.s) && (l.s[l.i] >= '0' && l.s[l.i] <= '9' || l.s[l.i] == '.' || l.s[l.i] == 'e' || l.s[l.i] == 'E')) {
		l.ok = false
	}
	return n
}

// object reads {"key": value, ...}, member reading each value.
func (l *listLexer) object(member func(key string)) {
	l.want('{')
	if l.ok && l.peek('}') {
		l.i++
		return
	}
	for l.ok {
		key := l.str()
		l.want(':')
		if !l.ok {
			return
		}
		member(key)
		if l.ok && l.peek(',') {
			l.i++
			continue
		}
		l.want('}')
		return
	}
}

// array reads [elem, ...].
func (l *listLexer) array(elem func()) {
	l.want('[')
	if l.ok && l.peek(']') {
		l.i++
		return
	}
	for l.ok {
		elem()
		if l.ok && l.peek(',') {
			l.i++
			continue
		}
		l.want(']')
		return
	}
}

// end checks that nothing but white space follows.
func (l *listLexer) end() bool {
	l.ws()
	return l.ok && l.i == len(l.s)
}

func newLexer(b []byte) *listLexer { return &listLexer{s: string(b), ok: true} }

// fastLinks decodes external_systems.
func fastLinks(b []byte) ([]customer.ExternalLink, bool) {
	if string(b) == "[]" {
		return nil, true
	}
	l := newLexer(b)
	var out []customer.ExternalLink
	l.array(func() {
		var e customer.ExternalLink
		l.object(func(key string) {
			switch key {
			case "systemId":
				e.SystemID = customer.SystemID(l.int())
			case "identifier":
				e.Identifier = l.str()
			default:
				l.ok = false
			}
		})
		out = append(out, e)
	})
	return out, l.end()
}

// fastAddresses decodes addresses.
func fastAddresses(b []byte) ([]customer.Address, bool) {
	if string(b) == "[]" {
		return nil, true
	}
	l := newLexer(b)
	out := make([]customer.Address, 0, 2)
	l.array(func() {
		var a customer.Address
		l.object(func(key string) {
			switch key {
			case "type":
				a.Type = customer.AddressType(l.str())
			case "streetAddress1":
				a.StreetAddress1 = l.str()
			case "streetAddress2":
				a.StreetAddress2 = l.str()
			case "postalCode":
				a.PostalCode = l.str()
			case "city":
				a.City = l.str()
			case "country":
				a.Country = l.str()
			default:
				l.ok = false
			}
		})
		out = append(out, a)
	})
	if len(out) == 0 {
		out = nil // as encoding/json's path leaves it
	}
	return out, l.end()
}

// fastEInvoice decodes e_invoice.
func fastEInvoice(b []byte) (customer.EInvoice, bool) {
	var e customer.EInvoice
	if string(b) == "{}" {
		return e, true
	}
	l := newLexer(b)
	l.object(func(key string) {
		switch key {
		case "mode":
			e.Mode = customer.EInvoiceMode(l.str())
		case "broker":
			e.Broker = l.str()
		case "address":
			e.Address = l.str()
		case "email":
			e.Email = l.str()
		default:
			l.ok = false
		}
	})
	return e, l.end()
}

// fastContacts decodes contacts when there are none (a contact's id is a
// UUID: encoding/json reads those).
func fastContacts(b []byte) ([]customer.Contact, bool) {
	return nil, string(b) == "[]"
}
