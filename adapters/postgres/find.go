package postgres

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/finnish"
	"kirjuri/ports"
)

// Page sizes of Find.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Find lists customers matching q in customer-number order (keyset
// pagination on number). Erased customers are never listed, restricted ones
// only with q.IncludeRestricted.
func (s *Store) Find(ctx context.Context, q ports.CustomerQuery) (ports.Page, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultPageSize
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	// The free text is matched by sql below, branch by branch.
	text := strings.TrimSpace(q.Q)
	base := q
	base.Q = ""
	w, err := findWhere(base)
	if err != nil {
		return ports.Page{}, err
	}
	// A phone number belongs to a customer or two, but PostgreSQL has no
	// statistics for unique array elements and guesses thousands of
	// matches; it would then walk the number index through every row. With
	// a phone filter, sort the few matches instead (number + 0 is not
	// ordered by the index).
	orderBy := "number"
	if strings.TrimSpace(q.Phone) != "" {
		orderBy = "number + 0"
	}
	if !q.UpdatedSince.IsZero() && orderBy == "number" {
		// Recently updated customers are mostly recent customers, at the
		// far end of the number index, which the planner assumes evenly
		// spread: walking it from the start would pass most of the table.
		// When few customers changed since, sort them instead.
		few, err := s.fewUpdatedSince(ctx, q.UpdatedSince.UTC())
		if err != nil {
			return ports.Page{}, wrap("find customers", err)
		}
		if few {
			orderBy = "number + 0"
		}
	}

	after := int64(-1)
	if q.Cursor != "" {
		after, _ = decodeCursor(q.Cursor) // findWhere checked it
	}
	sql := findSQL(w, text, orderBy, limit+1, after)
	// Plan every find for its own arguments: a generic plan cannot tell a
	// rare search term from a common one. CacheDescribe executes through the
	// unnamed statement, which PostgreSQL plans with the actual values.
	rows, err := s.db(ctx).Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, w.args...)...)
	if err != nil {
		return ports.Page{}, wrap("find customers", err)
	}
	items := make([]*customer.Customer, 0, min(limit+1, 64))
	for rows.Next() {
		c, err := s.scanCustomer(rows)
		if err != nil {
			rows.Close()
			return ports.Page{}, wrap("find customers", err)
		}
		items = append(items, c)
	}
	if err := rows.Err(); err != nil {
		return ports.Page{}, wrap("find customers", err)
	}
	var page ports.Page
	if len(items) > limit {
		items = items[:limit]
		page.NextCursor = encodeCursor(items[limit-1].Number())
	}
	page.Items = items
	return page, nil
}

// findSQL is the query of a page of a find: w's customers in orderBy's
// order (number, or number + 0 to keep PostgreSQL from walking the number
// index), after the number after (-1: from the first), at most limit; and
// with text (when not "") those whose search text matches it.
//
// The search text is matched in two branches, each ordered and limited on
// its own, then merged:
//
//   - the customers whose copy in customer_search matches: PostgreSQL
//     either starts from the trigram index (few match) or, when many
//     match, walks the copies in number order, matching each on its own
//     narrow row, and reads the customer only for those that match (as it
//     walked the customers themselves when their row had the index);
//   - the customers the bulk path updated whose copy is not made yet
//     (customer_search_pending: few, or none, so the branch starts from
//     that list whatever the statistics say), matched on their own
//     search column;
//   - the customers in the ranges of numbers the bulk path created whose
//     copies are not made yet (customer_search_pending_ranges), matched
//     on their own search column too: the branch starts from the few
//     ranges (merged, so that none meets a customer twice) and reads each
//     through the number index, ordered and limited in it (LATERAL: the
//     customers cannot be the outer side, so PostgreSQL never walks them
//     all looking for the ranges, even when there are none).
//
// A customer in two (its copy was made meanwhile, and holds the same
// text) is listed once. An all-digit text is also a customer number: a
// fourth branch.
func findSQL(w *where, text, orderBy string, limit int, after int64) string {
	lim := " LIMIT " + strconv.Itoa(limit)
	if text == "" {
		return "SELECT " + readColumns + " FROM customers WHERE " + w.sql() + " ORDER BY " + orderBy + lim
	}
	like := searchLike(w, text)
	_, number := searchTerms(text)
	branch := func(from, cond, order string) string {
		return "(SELECT " + qualifiedReadColumns + " FROM " + from + " WHERE " + w.sql() + " AND " + cond + " ORDER BY " + order + lim + ")"
	}
	// The copies' walk is on their own number: the cursor bounds it there.
	copies := like("s.search")
	if after >= 0 {
		copies += " AND s.customer_number > " + w.arg(after)
	}
	branches := []string{
		branch("customer_search s JOIN customers ON customers.id = s.customer_id", copies,
			strings.Replace(orderBy, "number", "s.customer_number", 1)),
		branch("customers", like("customers.search")+" AND customers.id = ANY(ARRAY(SELECT customer_id FROM customer_search_pending))", orderBy),
		"(SELECT f.* FROM " + pendingSpans("r") + " CROSS JOIN LATERAL (SELECT " + readColumns + " FROM customers WHERE " + w.sql() +
			" AND " + like("customers.search") + " AND " + spanHolds("customers.number", "r") + " ORDER BY " + orderBy + lim + ") f" +
			" ORDER BY f.number" + lim + ")",
	}
	if number > 0 {
		branches = append(branches, branch("customers", "customers.number = "+w.arg(number), orderBy))
	}
	return "SELECT DISTINCT ON (number) * FROM (" + strings.Join(branches, " UNION ALL ") + ") f ORDER BY number" + lim
}

// qualifiedReadColumns are readColumns of the table customers, for a query
// that joins another table with columns of the same names.
var qualifiedReadColumns = func() string {
	cols := strings.Split(readColumns, ",")
	for i, c := range cols {
		cols[i] = "customers." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

// findWhere is the condition of a find: q's filters, erased customers
// never, restricted ones only with q.IncludeRestricted, and the numbers
// after q.Cursor.
func findWhere(q ports.CustomerQuery) (*where, error) {
	w := &where{}
	w.add("erased_at IS NULL")
	if !q.IncludeRestricted {
		w.add("NOT gdpr_restricted")
	}
	if q.Cursor != "" {
		after, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		w.add("number > ?", after)
	}
	if e := strings.TrimSpace(q.Email); e != "" {
		w.add("lower(email) = lower(?)", e)
	}
	if p := strings.TrimSpace(q.Phone); p != "" {
		w.add(phoneCond(w, normalizePhone(p)))
	}
	if q.Number != 0 {
		w.add("number = ?", q.Number)
	}
	if b := strings.TrimSpace(q.BusinessID); b != "" {
		if canon, err := finnish.ParseBusinessID(b); err == nil {
			b = canon
		}
		// business_id <> '' names the partial index (migration 00013).
		w.add("business_id <> '' AND business_id = ?", b)
	}
	if g := strings.TrimSpace(q.Group); g != "" {
		w.add("groups @> ?::text[]", []string{g})
	}
	switch q.Type {
	case "":
	case customer.Company:
		// Literally, so that the partial index of the companies' numbers
		// is used with a generic plan too (migration 00013).
		w.add("type = 'company'")
	default:
		w.add("type = ?", string(q.Type))
	}
	switch {
	case q.Identifier != "" && q.SystemID == 0:
		return nil, fault.Invalid("systemId", "is required when identifier is given")
	case q.Identifier != "":
		w.add("id = (SELECT customer_id FROM customer_links WHERE system_id = ? AND identifier = ?)", int32(q.SystemID), q.Identifier)
	case q.SystemID != 0:
		w.add("EXISTS (SELECT 1 FROM customer_links l WHERE l.customer_id = customers.id AND l.system_id = ?)", int32(q.SystemID))
	}
	if !q.UpdatedSince.IsZero() {
		w.add("updated_at >= ?", q.UpdatedSince.UTC())
	}
	if text := strings.TrimSpace(q.Q); text != "" {
		addSearch(w, text)
	}
	return w, nil
}

// sortableUpdates is how many customers changed since a moment Find sorts
// by number itself rather than walk the number index.
const sortableUpdates = 20000

// fewUpdatedSince reports whether fewer than sortableUpdates customers
// changed since a moment. It reads only the updated_at index.
func (s *Store) fewUpdatedSince(ctx context.Context, since time.Time) (bool, error) {
	var n int
	err := s.db(ctx).QueryRow(ctx, `SELECT count(*) FROM (
		SELECT 1 FROM customers WHERE updated_at >= $1 LIMIT $2) s`, since, sortableUpdates).Scan(&n)
	return n < sortableUpdates, err
}

// addSearch adds the free-text condition. Text that looks like a phone
// number is matched as one, with a leading 0 read as Finland's 358; every
// other word must appear in the search text; an all-digit query also
// matches that customer number exactly.
//
// The search text is matched in its copies under the trigram index
// (customer_search), and, for the customers the bulk path wrote whose copy
// is not made yet (customer_search_pending and the ranges of numbers in
// customer_search_pending_ranges, which have no copy or a stale one
// deleted), in their own search column: the answer is that of the
// customers' search column as of the query's snapshot either way. The
// customer's own filters (erased, restricted, …) apply as to any find.
//
// This is the condition as one predicate, for a query of every match (the
// export): the matching customers are collected from both places at once.
// Find's pages use findSQL, which PostgreSQL can also answer by walking
// the number index.
func addSearch(w *where, text string) {
	like := searchLike(w, text)
	_, number := searchTerms(text)
	cond := "id IN (SELECT customer_id FROM customer_search WHERE " + like("search") +
		" UNION ALL SELECT p.customer_id FROM customer_search_pending p JOIN customers c ON c.id = p.customer_id WHERE " +
		like("c.search") +
		" UNION ALL " + pendingCustomers("id", like("customers.search"))
	if number > 0 {
		cond += " UNION ALL SELECT id FROM customers WHERE number = " + w.arg(number)
	}
	w.add(cond + ")")
}

// searchLike adds text's patterns to w's arguments and returns a function
// that writes the condition that a column matches every one of them.
func searchLike(w *where, text string) func(col string) string {
	patterns, _ := searchTerms(text)
	ph := make([]string, len(patterns))
	for i, p := range patterns {
		ph[i] = w.arg(p)
	}
	return func(col string) string {
		conds := make([]string, len(ph))
		for i, p := range ph {
			conds[i] = col + " LIKE " + p
		}
		return strings.Join(conds, " AND ")
	}
}

// searchTerms are the LIKE patterns free text stands for (all must
// match), and the customer number it also names (0: none).
func searchTerms(text string) (patterns []string, number int64) {
	text = strings.ToLower(text)
	if digits, ok := phoneDigits(text); ok {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil && n > 0 && text[0] != '0' {
			number = n
		}
		return []string{likeContains(digits)}, number
	}
	for _, word := range strings.Fields(text) {
		patterns = append(patterns, likeContains(word))
	}
	return patterns, 0
}

// phoneDigits reads text made only of digits and phone punctuation
// ("040 123-4567", "+358 40 1234567", "(09) 123 4567") as the digits of an
// international number without the +: a leading 00 is dropped and a single
// leading 0 becomes 358.
func phoneDigits(text string) (string, bool) {
	var b strings.Builder
	for i, r := range text {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.', r == '/':
		default:
			return "", false
		}
	}
	d := b.String()
	if d == "" {
		return "", false
	}
	switch {
	case strings.HasPrefix(text, "+"):
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = "358" + d[1:]
	}
	return d, d != ""
}

// phoneCond is the condition that a customer has the phone number p (as
// stored: E.164) among its numbers. No index of its own serves it
// (migration 00015 dropped the GIN index on phone_numbers, a tenth of a
// bulk write's time): the customer's search text holds each of its phone
// numbers, so the candidates are the customers whose copy of that text
// (customer_search, trigram index) contains p, and those whose copy is
// not made yet (customer_search_pending and the customers in the ranges of
// customer_search_pending_ranges), as for free text; the array
// holds them first (ARRAY: PostgreSQL cannot misjudge how many), and
// phone_numbers decides.
func phoneCond(w *where, p string) string {
	arr, like := w.arg([]string{p}), w.arg(likeContains(strings.ToLower(p)))
	return "phone_numbers @> " + arr + "::text[] AND id = ANY(ARRAY(SELECT customer_id FROM customer_search WHERE search LIKE " + like +
		" UNION ALL SELECT pp.customer_id FROM customer_search_pending pp JOIN customers pc ON pc.id = pp.customer_id WHERE pc.phone_numbers @> " + arr + "::text[]" +
		" UNION ALL " + pendingCustomers("id", "customers.phone_numbers @> "+arr+"::text[]") + "))"
}

// normalizePhone reads a phone filter the way the core stores numbers,
// falling back to the same digit rules as free text for numbers the core
// would not accept (they then simply match nothing).
func normalizePhone(p string) string {
	if n, err := customer.NormalizePhone(p); err == nil {
		return n
	}
	if d, ok := phoneDigits(p); ok {
		return "+" + d
	}
	return p
}

// likeContains is a LIKE pattern matching s anywhere.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// where builds a conjunction with numbered placeholders; "?" in a condition
// stands for the next argument.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	for _, a := range args {
		i := strings.IndexByte(cond, '?')
		w.args = append(w.args, a)
		b.WriteString(cond[:i])
		b.WriteString("$" + strconv.Itoa(len(w.args)))
		cond = cond[i+1:]
	}
	b.WriteString(cond)
	w.conds = append(w.conds, b.String())
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

// arg adds an argument without a condition and returns its placeholder,
// for conditions written elsewhere (a placeholder may be used more than
// once).
func (w *where) arg(a any) string {
	w.args = append(w.args, a)
	return "$" + strconv.Itoa(len(w.args))
}

const cursorPrefix = "n1:"

// encodeCursor makes the opaque cursor that continues after a number.
func encodeCursor(after int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(after, 10)))
}

func decodeCursor(c string) (int64, error) {
	bad := fault.Invalid("cursor", "is not a cursor returned by a previous page of this listing")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, bad
	}
	s, ok := strings.CutPrefix(string(raw), cursorPrefix)
	if !ok {
		return 0, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, bad
	}
	return n, nil
}
