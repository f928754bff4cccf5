package memstore

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// DefaultLimit is the page size of a find that names none.
const DefaultLimit = 50

// MaxLimit is the largest page.
const MaxLimit = 500

// Find lists the customers matching q in number order, one page at a time.
func (s *Store) Find(ctx context.Context, q ports.CustomerQuery) (ports.Page, error) {
	if err := ctx.Err(); err != nil {
		return ports.Page{}, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0 || limit > MaxLimit:
		return ports.Page{}, fault.Invalid("limit", "must be between 1 and %d", MaxLimit)
	}
	var after int64
	if q.Cursor != "" {
		n, err := decodeCursor(q.Cursor)
		if err != nil {
			return ports.Page{}, err
		}
		after = n
	}

	s.mu.Lock()
	var found []customer.Data
	for _, d := range s.customers {
		if d.Number > after && matches(d, q) {
			found = append(found, clone(d))
		}
	}
	s.mu.Unlock()

	slices.SortFunc(found, func(a, b customer.Data) int {
		switch {
		case a.Number < b.Number:
			return -1
		case a.Number > b.Number:
			return 1
		}
		return 0
	})
	var page ports.Page
	if len(found) > limit {
		found = found[:limit]
		page.NextCursor = encodeCursor(found[limit-1].Number)
	}
	page.Items = make([]*customer.Customer, 0, len(found))
	for _, d := range found {
		c, err := rebuild(d)
		if err != nil {
			return ports.Page{}, err
		}
		page.Items = append(page.Items, c)
	}
	return page, nil
}

const cursorPrefix = "after:"

// encodeCursor makes the opaque cursor that continues after a number.
func encodeCursor(number int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(number, 10)))
}

func decodeCursor(s string) (int64, error) {
	invalid := fault.Invalid("cursor", "is not a cursor from a previous page; start again without one")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, invalid
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, invalid
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 0 {
		return 0, invalid
	}
	return n, nil
}

// matches applies every filter of q. Erased customers never match;
// restricted ones only with IncludeRestricted.
func matches(d customer.Data, q ports.CustomerQuery) bool {
	switch {
	case d.ErasedAt != nil:
		return false
	case d.GDPRRestricted && !q.IncludeRestricted:
		return false
	case q.Email != "" && !strings.EqualFold(d.Email, q.Email):
		return false
	case q.Phone != "" && !slices.Contains(d.PhoneNumbers, q.Phone):
		return false
	case q.Number != 0 && d.Number != q.Number:
		return false
	case q.BusinessID != "" && d.BusinessID != q.BusinessID:
		return false
	case q.Group != "" && !slices.Contains(d.Groups, q.Group):
		return false
	case q.Type != "" && d.Type != q.Type:
		return false
	case !q.UpdatedSince.IsZero() && d.UpdatedAt.Before(q.UpdatedSince):
		return false
	case (q.SystemID != 0 || q.Identifier != "") && !hasLink(d.ExternalSystems, q.SystemID, q.Identifier):
		return false
	case strings.TrimSpace(q.Q) != "" && !matchText(d, strings.TrimSpace(q.Q)):
		return false
	}
	return true
}

// hasLink reports whether one of the links is to system (any, when 0) with
// identifier (any, when empty).
func hasLink(links []customer.ExternalLink, system customer.SystemID, identifier string) bool {
	return slices.ContainsFunc(links, func(l customer.ExternalLink) bool {
		return (system == 0 || l.SystemID == system) && (identifier == "" || l.Identifier == identifier)
	})
}

// matchText is the free-text search: a case-insensitive substring of a
// name, the company name, the email or a phone number; the digits of a
// phone-like query within a phone's digits (a leading 0 read as the Finnish
// country code, so that 0401234567 finds +358401234567); or exactly the
// customer number.
func matchText(d customer.Data, q string) bool {
	lq := strings.ToLower(q)
	for _, s := range []string{d.FirstName, d.LastName, d.CompanyName, d.Email} {
		if strings.Contains(strings.ToLower(s), lq) {
			return true
		}
	}
	for _, p := range d.PhoneNumbers {
		if strings.Contains(p, q) {
			return true
		}
	}
	if digits, ok := phoneDigits(q); ok {
		for _, p := range d.PhoneNumbers {
			if pd, _ := phoneDigits(p); strings.Contains(pd, digits) {
				return true
			}
		}
	}
	if n, err := strconv.ParseInt(q, 10, 64); err == nil && n == d.Number {
		return true
	}
	return false
}

// phoneDigits returns the digits of a query that looks like a phone number
// (digits and + - ( ) . and spaces only, at least one digit), in the
// international form without +: "00" and a leading "0" are replaced.
func phoneDigits(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case strings.ContainsRune("+-(). ", r):
		default:
			return "", false
		}
	}
	digits := b.String()
	if digits == "" {
		return "", false
	}
	if !strings.HasPrefix(strings.TrimSpace(s), "+") {
		switch {
		case strings.HasPrefix(digits, "00"):
			digits = digits[2:]
		case strings.HasPrefix(digits, "0"):
			digits = "358" + digits[1:]
		}
	}
	return digits, digits != ""
}
