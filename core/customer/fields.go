package customer

import (
	"slices"
	"strconv"
	"strings"

	"kirjuri/core/fault"
)

// The customer's fields, written down once. Every door uses this table: the
// JSON merge-patch decoder (DecodeJSON), the spreadsheet's column mapper
// (ParseColumn, Field.ParseText, Column.ParseText) and the export
// (Field.Show, Column.Show). A field's external name is the same in JSON
// and as a spreadsheet column (camelCase), except where the JSON nests an
// object ("eInvoice.mode" is the column eInvoiceMode) and for the lists,
// which a spreadsheet writes as sections of numbered columns.
//
// The table says how a JSON value or a cell's text becomes a patch value
// and how a customer's value is shown as text; it decides nothing about
// what a value may be. Those rules stay in New and Apply, so that a row of
// a spreadsheet means exactly what the same change through the API means.

// Kind is the shape of a field's value.
type Kind uint8

const (
	KindText Kind = iota + 1 // free text, an identifier, an email or a code
	KindBool                 // a flag; the consents
	KindEnum                 // one of a few words (type, language, e-invoice mode)
	KindInt                  // a number (vatStatus)
	KindList                 // a list replaced whole; a section of columns in a spreadsheet
)

func (k Kind) String() string {
	switch k {
	case KindText:
		return "text"
	case KindBool:
		return "bool"
	case KindEnum:
		return "enum"
	case KindInt:
		return "int"
	case KindList:
		return "list"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Field is one field of a customer that a patch can change.
type Field struct {
	// Name is the field's path in JSON: a member of the customer object
	// ("firstName") or of an object within it ("eInvoice.mode"). Problems
	// are reported under it.
	Name string
	// Column is the spreadsheet column. For a list it is the pattern of
	// its section ("address:{index}:{field}", "group:{id}"); "" when the
	// field has no column (externalSystems). Headers are matched
	// case-insensitively (see ParseColumn).
	Column string
	Kind   Kind
	// Values are the words an enum field knows, as JSON and cells write
	// them. Only for showing the choices (the template); the aggregate
	// decides what is valid.
	Values []string
	// EmptyKeeps says an empty cell keeps the customer's value; otherwise
	// an empty cell clears it (see Clear for what that means per field).
	EmptyKeeps bool
	// Members are the members of an item of a list of objects, in JSON
	// and as the {field} of its column pattern.
	Members []string

	decode func(d *jsonDecoder, p *Patch, path string, raw []byte)
	parse  func(p *Patch, text string) (string, bool) // a problem message, or ok
	// empty records an empty cell of an EmptyKeeps field whose emptiness
	// still matters to the rules (the e-invoice fields); nil for most.
	empty func(p *Patch)
	show  func(d Data) string
}

// ParseText sets the field in p from a cell's text. Call it only for a
// column that the file has: a missing column keeps every field (for a new
// customer, New's defaults). A blank text is an empty cell: it clears the
// field, or keeps it where EmptyKeeps. A text that cannot be read as the
// field's kind is a *fault.Validation naming the column; the value is not
// echoed. Lists have no single column: use Column.ParseText for group:{id}
// and assemble the other sections from their cells.
func (f Field) ParseText(p *Patch, text string) error {
	if f.parse == nil {
		return fault.Invalid(f.Column, "is a section of numbered columns, not one column")
	}
	if IsBlank(text) && f.EmptyKeeps {
		if f.empty != nil {
			f.empty(p)
		}
		return nil
	}
	if why, ok := f.parse(p, text); !ok {
		return fault.Invalid(f.Column, "%s", why)
	}
	return nil
}

// Show is the customer's value as a cell's text: ParseText of it sets the
// value the customer has. Lists show "" (see Column.Show for their cells).
func (f Field) Show(d Data) string {
	if f.show == nil {
		return ""
	}
	return f.show(d)
}

// Fields returns the table, in the order of Patch.
func Fields() []Field { return slices.Clone(fieldTable) }

// FieldByName finds a field by its JSON path ("eInvoice.mode").
func FieldByName(name string) (Field, bool) {
	i, ok := byName[name]
	if !ok {
		return Field{}, false
	}
	return fieldTable[i], true
}

var fieldTable = []Field{
	enumField("type", "type", Types, func(p *Patch) *Opt[Type] { return &p.Type },
		func(d Data) Type { return d.Type }, true),
	textField("firstName", "firstName", func(p *Patch) *Opt[string] { return &p.FirstName },
		func(d Data) string { return d.FirstName }, false),
	textField("lastName", "lastName", func(p *Patch) *Opt[string] { return &p.LastName },
		func(d Data) string { return d.LastName }, false),
	textField("companyName", "companyName", func(p *Patch) *Opt[string] { return &p.CompanyName },
		func(d Data) string { return d.CompanyName }, false),
	textField("businessId", "businessId", func(p *Patch) *Opt[string] { return &p.BusinessID },
		func(d Data) string { return d.BusinessID }, false),
	textField("vatNumber", "vatNumber", func(p *Patch) *Opt[string] { return &p.VATNumber },
		func(d Data) string { return d.VATNumber }, false),
	intField("vatStatus", "vatStatus", func(p *Patch) *Opt[VATStatus] { return &p.VATStatus },
		func(d Data) VATStatus { return d.VATStatus }),
	textField("email", "email", func(p *Patch) *Opt[string] { return &p.Email },
		func(d Data) string { return d.Email }, false),
	enumField("language", "language", Languages, func(p *Patch) *Opt[Language] { return &p.Language },
		func(d Data) Language { return d.Language }, false),
	textField("ssn", "ssn", func(p *Patch) *Opt[string] { return &p.SSN },
		func(d Data) string { return d.SSN }, false),
	boolField("marketingEmail", "marketingEmail", func(p *Patch) *Opt[bool] { return &p.MarketingEmail },
		func(d Data) bool { return d.MarketingEmail }),
	boolField("marketingSms", "marketingSms", func(p *Patch) *Opt[bool] { return &p.MarketingSMS },
		func(d Data) bool { return d.MarketingSMS }),
	boolField("gdprRestricted", "gdprRestricted", func(p *Patch) *Opt[bool] { return &p.GDPRRestricted },
		func(d Data) bool { return d.GDPRRestricted }),
	boolField("creditAllowed", "creditAllowed", func(p *Patch) *Opt[bool] { return &p.CreditAllowed },
		func(d Data) bool { return d.CreditAllowed }),
	textField("externalId", "externalId", func(p *Patch) *Opt[string] { return &p.ExternalID },
		func(d Data) string { return d.ExternalID }, false),
	textField("netvisorId", "netvisorId", func(p *Patch) *Opt[string] { return &p.NetvisorID },
		func(d Data) string { return d.NetvisorID }, false),
	{
		Name: "externalSystems", Kind: KindList, Members: linkMemberNames,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { p.ExternalSystems = d.links(path, raw) },
	},
	{
		Name: "customerCards", Column: "customerCard:{index}", Kind: KindList,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { p.CustomerCards = d.textList(path, raw) },
	},
	{
		// The JSON replaces the whole list; a spreadsheet's group:{id}
		// columns add or remove single groups (Patch.GroupMembership).
		Name: "groups", Column: "group:{id}", Kind: KindList,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { p.Groups = d.textList(path, raw) },
	},
	{
		Name: "addresses", Column: "address:{index}:{field}", Kind: KindList, Members: addressMemberNames,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { p.Addresses = d.addresses(path, raw) },
	},
	{
		Name: "phoneNumbers", Column: "phoneNumber:{index}", Kind: KindList,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { p.PhoneNumbers = d.textList(path, raw) },
	},
	// The e-invoice settings are one object in JSON, merged member by
	// member (null clears all of it), and four columns in a spreadsheet.
	// An empty broker, address or email cell changes nothing: excel.md
	// makes it a row error only where the mode needs the value, which the
	// aggregate's e-invoice rule reports when nothing is stored either.
	enumField("eInvoice.mode", "eInvoiceMode", EInvoiceModes, func(p *Patch) *Opt[EInvoiceMode] { return &p.EInvoiceMode },
		func(d Data) EInvoiceMode { return d.EInvoice.Mode }, false),
	withEmpty(textField("eInvoice.broker", "eInvoiceBroker", func(p *Patch) *Opt[string] { return &p.EInvoiceBroker },
		func(d Data) string { return d.EInvoice.Broker }, true), func(p *Patch) { p.EmptyEInvoice.Broker = true }),
	withEmpty(textField("eInvoice.address", "eInvoiceAddress", func(p *Patch) *Opt[string] { return &p.EInvoiceAddress },
		func(d Data) string { return d.EInvoice.Address }, true), func(p *Patch) { p.EmptyEInvoice.Address = true }),
	withEmpty(textField("eInvoice.email", "einvoiceEmail", func(p *Patch) *Opt[string] { return &p.EInvoiceEmail },
		func(d Data) string { return d.EInvoice.Email }, true), func(p *Patch) { p.EmptyEInvoice.Email = true }),
}

var byName = func() map[string]int {
	m := make(map[string]int, len(fieldTable))
	for i, f := range fieldTable {
		m[f.Name] = i
	}
	return m
}()

// withEmpty gives an EmptyKeeps field a record of its empty cells.
func withEmpty(f Field, empty func(p *Patch)) Field {
	f.empty = empty
	return f
}

func textField(name, column string, opt func(*Patch) *Opt[string], show func(Data) string, emptyKeeps bool) Field {
	return Field{
		Name: name, Column: column, Kind: KindText, EmptyKeeps: emptyKeeps,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { *opt(p) = d.text(path, raw) },
		parse: func(p *Patch, text string) (string, bool) {
			if IsBlank(text) {
				*opt(p) = Clear[string]()
			} else {
				*opt(p) = Set(strings.TrimSpace(text))
			}
			return "", true
		},
		show: show,
	}
}

func boolField(name, column string, opt func(*Patch) *Opt[bool], show func(Data) bool) Field {
	return Field{
		Name: name, Column: column, Kind: KindBool,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) { *opt(p) = d.flag(path, raw) },
		parse: func(p *Patch, text string) (string, bool) {
			if IsBlank(text) {
				*opt(p) = Clear[bool]()
				return "", true
			}
			b, ok := ParseBool(text)
			if !ok {
				return boolProblem, false
			}
			*opt(p) = Set(b)
			return "", true
		},
		show: func(d Data) string { return strconv.FormatBool(show(d)) },
	}
}

func enumField[T ~string](name, column string, values []T, opt func(*Patch) *Opt[T], show func(Data) T, emptyKeeps bool) Field {
	words := make([]string, len(values))
	for i, v := range values {
		words[i] = string(v)
	}
	return Field{
		Name: name, Column: column, Kind: KindEnum, Values: words, EmptyKeeps: emptyKeeps,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) {
			*opt(p) = convert(d.text(path, raw), func(s string) T { return T(s) })
		},
		parse: func(p *Patch, text string) (string, bool) {
			if IsBlank(text) {
				*opt(p) = Clear[T]()
			} else {
				*opt(p) = Set(T(canonicalWord(words, text)))
			}
			return "", true
		},
		show: func(d Data) string { return string(show(d)) },
	}
}

func intField[T ~int](name, column string, opt func(*Patch) *Opt[T], show func(Data) T) Field {
	return Field{
		Name: name, Column: column, Kind: KindInt,
		decode: func(d *jsonDecoder, p *Patch, path string, raw []byte) {
			*opt(p) = convert(d.integer(path, raw), func(n int) T { return T(n) })
		},
		parse: func(p *Patch, text string) (string, bool) {
			if IsBlank(text) {
				*opt(p) = Clear[T]()
				return "", true
			}
			n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 32)
			if err != nil {
				return "must be a whole number", false
			}
			*opt(p) = Set(T(n))
			return "", true
		},
		show: func(d Data) string { return strconv.Itoa(int(show(d))) },
	}
}

// canonicalWord is the known word that text spells in any case, or the
// trimmed text itself (for the aggregate to refuse).
func canonicalWord(words []string, text string) string {
	text = strings.TrimSpace(text)
	for _, w := range words {
		if strings.EqualFold(w, text) {
			return w
		}
	}
	return text
}

func convert[U, T any](o Opt[U], f func(U) T) Opt[T] {
	switch {
	case o.IsSet():
		return Set(f(o.Value()))
	case o.IsClear():
		return Clear[T]()
	}
	return Keep[T]()
}

const boolProblem = "must be true or false (or 1/0, yes/no, kyllä/ei)"

// ParseBool reads a spreadsheet's boolean: true, false, 1, 0, yes, no,
// kyllä, ei, in any case, with white space around.
func ParseBool(text string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "true", "1", "yes", "kyllä":
		return true, true
	case "false", "0", "no", "ei":
		return false, true
	}
	return false, false
}

// The members of an address, in JSON and as the {field} of
// address:{index}:{field}, sorted.
var addressMemberNames = []string{"city", "country", "postalCode", "streetAddress1", "streetAddress2", "type"}

// addressMember gives access to one member of an address by name.
func addressMember(a *Address, name string) (*string, bool) {
	switch name {
	case "type":
		return (*string)(&a.Type), true
	case "streetAddress1":
		return &a.StreetAddress1, true
	case "streetAddress2":
		return &a.StreetAddress2, true
	case "postalCode":
		return &a.PostalCode, true
	case "city":
		return &a.City, true
	case "country":
		return &a.Country, true
	}
	return nil, false
}

// SetAddressMember sets one member of an address from a cell's text
// (trimmed; an address type in any case becomes its canonical word). It
// reports false for a member an address does not have.
func SetAddressMember(a *Address, member, text string) bool {
	dst, ok := addressMember(a, member)
	if !ok {
		return false
	}
	text = strings.TrimSpace(text)
	if member == "type" {
		text = canonicalWord(addressTypeWords, text)
	}
	*dst = text
	return true
}

var addressTypeWords = []string{string(Invoice), string(Delivery), string(Home)}

// The members of an external link in JSON, sorted.
var linkMemberNames = []string{"identifier", "systemId"}

// Spreadsheet columns.

// NumberColumn is the customer number's column: read-only, the key that
// matches a row to a customer, written first by the export.
const NumberColumn = "number"

// Column is one column of a spreadsheet: the number, a field's own column,
// or one column of a section.
type Column struct {
	// Number is true for the number column; Field is then the zero Field.
	Number bool
	Field  Field
	// Index is the item of customerCard:{index}, phoneNumber:{index} and
	// address:{index}:{field}, from 1.
	Index int
	// Member is the {field} of address:{index}:{field}, as JSON spells it.
	Member string
	// Group is the {id} of group:{id}, as written.
	Group string
}

// Name is the column's header as the export writes it.
func (c Column) Name() string {
	switch {
	case c.Number:
		return NumberColumn
	case c.Field.Name == "groups":
		return "group:" + c.Group
	case c.Field.Name == "customerCards":
		return "customerCard:" + strconv.Itoa(c.Index)
	case c.Field.Name == "phoneNumbers":
		return "phoneNumber:" + strconv.Itoa(c.Index)
	case c.Field.Name == "addresses":
		return "address:" + strconv.Itoa(c.Index) + ":" + c.Member
	}
	return c.Field.Column
}

// Show is the customer's value in this column as the export writes it;
// "" where the customer has no such item. A group column shows whether the
// customer is in the group.
func (c Column) Show(d Data) string {
	item := func(list []string) string {
		if c.Index < 1 || c.Index > len(list) {
			return ""
		}
		return list[c.Index-1]
	}
	switch {
	case c.Number:
		return strconv.FormatInt(d.Number, 10)
	case c.Field.Name == "groups":
		return strconv.FormatBool(slices.Contains(d.Groups, c.Group))
	case c.Field.Name == "customerCards":
		return item(d.CustomerCards)
	case c.Field.Name == "phoneNumbers":
		return item(d.PhoneNumbers)
	case c.Field.Name == "addresses":
		if c.Index < 1 || c.Index > len(d.Addresses) {
			return ""
		}
		a := d.Addresses[c.Index-1]
		s, _ := addressMember(&a, c.Member)
		return *s
	}
	return c.Field.Show(d)
}

// ParseText sets p from a cell of this column, for the columns that stand
// alone: a field's own column (see Field.ParseText) and group:{id} (true
// adds the customer to the group, false or an empty cell removes it). The
// items of the other sections are assembled from all their cells by the
// caller (SetAddressMember helps); the number is the caller's key.
func (c Column) ParseText(p *Patch, text string) error {
	switch {
	case c.Number:
		return fault.Invalid(NumberColumn, "is the customer number, not a field a row can change")
	case c.Field.Name == "groups":
		in := false
		if !IsBlank(text) {
			b, ok := ParseBool(text)
			if !ok {
				return fault.Invalid(c.Name(), "%s", boolProblem)
			}
			in = b
		}
		if p.GroupMembership == nil {
			p.GroupMembership = map[string]bool{}
		}
		p.GroupMembership[c.Group] = in
		return nil
	case c.Index > 0:
		return fault.Invalid(c.Name(), "is a cell of a section: a section's items are assembled from all its cells")
	}
	return c.Field.ParseText(p, text)
}

// sections are the list fields with a column pattern, by the pattern's
// prefix (before the first colon).
var sections = map[string]string{
	"customercard": "customerCards",
	"phonenumber":  "phoneNumbers",
	"address":      "addresses",
	"group":        "groups",
}

// columnNames are the fixed columns and the section prefixes, for
// suggestions.
var columnNames = func() []string {
	out := []string{NumberColumn}
	for _, f := range fieldTable {
		if f.Column != "" && !strings.Contains(f.Column, ":") {
			out = append(out, f.Column)
		}
	}
	slices.Sort(out)
	return out
}()

var sectionPrefixes = []string{"address", "customerCard", "group", "phoneNumber"}

// ParseColumn reads a spreadsheet header: surrounding white space is
// trimmed and names are matched case-insensitively ("einvoiceEmail" and
// "eInvoiceEmail" are the same column); the section patterns are
// customerCard:{index}, phoneNumber:{index}, address:{index}:{field} (index
// a positive integer) and group:{id}. A header that is none of these is a
// *fault.Validation naming it, with the column it most likely meant.
func ParseColumn(header string) (Column, error) {
	h := strings.TrimSpace(header)
	lower := strings.ToLower(h)
	if lower == NumberColumn {
		return Column{Number: true}, nil
	}
	prefix, rest, isSection := strings.Cut(h, ":")
	if !isSection {
		for _, f := range fieldTable {
			if f.Column != "" && f.parse != nil && strings.EqualFold(f.Column, h) {
				return Column{Field: f}, nil
			}
		}
		return Column{}, unknownColumn(header)
	}
	name, ok := sections[strings.ToLower(prefix)]
	if !ok {
		return Column{}, unknownColumn(header)
	}
	f, _ := FieldByName(name)
	c := Column{Field: f}
	switch name {
	case "groups":
		c.Group = strings.TrimSpace(rest)
		if c.Group == "" {
			return Column{}, fault.Invalid(header, "needs a group id after group:, as in group:vip")
		}
		return c, nil
	case "addresses":
		idx, member, ok := strings.Cut(rest, ":")
		if !ok {
			return Column{}, fault.Invalid(header, "must be address:{index}:{field}, as in address:1:city")
		}
		for _, m := range addressMemberNames {
			if strings.EqualFold(m, strings.TrimSpace(member)) {
				c.Member = m
			}
		}
		if c.Member == "" {
			if s, ok := Suggest(strings.TrimSpace(member), addressMemberNames); ok {
				return Column{}, fault.Invalid(header, "unknown address field; did you mean %q?", s)
			}
			return Column{}, fault.Invalid(header, "unknown address field; an address has %s", strings.Join(addressMemberNames, ", "))
		}
		rest = idx
	}
	n, ok := parseIndex(rest)
	if !ok {
		return Column{}, fault.Invalid(header, "the index must be a positive whole number, as in %s", strings.ReplaceAll(strings.ReplaceAll(f.Column, "{index}", "1"), "{field}", "city"))
	}
	c.Index = n
	return c, nil
}

// parseIndex reads a section's index: digits only, from 1 to 9999.
func parseIndex(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 4 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n > 0
}

func unknownColumn(header string) error {
	if s, ok := SuggestColumn(header); ok {
		return fault.Invalid(header, "unknown column; did you mean %q?", s)
	}
	return fault.Invalid(header, "unknown column")
}

// SuggestColumn finds the column an unknown header most likely meant: a
// fixed column, or a section pattern with its prefix (and an address's
// member) corrected ("adress:1:city" gives "address:1:city").
func SuggestColumn(header string) (string, bool) {
	h := strings.TrimSpace(header)
	prefix, rest, isSection := strings.Cut(h, ":")
	if !isSection {
		return Suggest(h, columnNames)
	}
	p, ok := Suggest(prefix, sectionPrefixes)
	if !ok {
		return "", false
	}
	if p == "address" {
		idx, member, _ := strings.Cut(rest, ":")
		if m, ok := Suggest(strings.TrimSpace(member), addressMemberNames); ok {
			rest = idx + ":" + m
		}
	}
	s := p + ":" + rest
	return s, !strings.EqualFold(s, h)
}

// Suggest finds the known name closest to an unknown one, ignoring case and
// at most two edits away: the "did you mean" of the API's unknown members
// and the spreadsheet's unknown headers. Ties go to the first in known.
func Suggest(name string, known []string) (string, bool) {
	best, bestDist := "", 3
	lower := strings.ToLower(name)
	if len(lower) > 64 {
		return "", false
	}
	for _, k := range known {
		if dist := editDistance(lower, strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best, best != ""
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
