package customer

import (
	"fmt"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nyaruka/phonenumbers"

	"kirjuri/core/fault"
	"kirjuri/core/finnish"
)

// Limits on free text, in characters.
const (
	MaxNameLen  = 200
	MaxEmailLen = 254 // RFC 5321 section 4.5.3.1.3: a path of 256 octets, less "<" and ">"
	MaxGroupLen = 100
	MaxListLen  = 100 // addresses, phones, cards, groups, links, contacts
)

// Limits of the parts of an email address: RFC 5321 section 4.5.3.1.1 (local
// part) and RFC 1035 section 2.3.4 (a label of a domain name).
const (
	maxEmailLocalLen = 64
	maxDomainLabel   = 63
)

// apply returns base changed by p, with every value normalised and every
// rule checked. It reports all problems at once.
//
// at is the time of the change: the identity code's birth date must not be
// after its date (in Finland, see finnish.ParseHETU).
func apply(base Data, p Patch, at time.Time) (Data, error) {
	d := cloneData(base)
	v := &fault.Validation{}

	if p.Type.IsSet() {
		if !p.Type.Value().Valid() {
			v.Add("type", "must be person or company")
		}
		d.Type = p.Type.Value()
	} else if p.Type.IsClear() {
		v.Add("type", "cannot be removed: must be person or company")
	}
	setText(v, "firstName", &d.FirstName, p.FirstName, MaxNameLen)
	setText(v, "lastName", &d.LastName, p.LastName, MaxNameLen)
	setText(v, "companyName", &d.CompanyName, p.CompanyName, MaxNameLen)
	setParsed(v, "businessId", &d.BusinessID, p.BusinessID, finnish.ParseBusinessID)
	setParsed(v, "vatNumber", &d.VATNumber, p.VATNumber, finnish.ParseVATNumber)
	switch {
	case p.VATStatus.IsSet() && !p.VATStatus.Value().Valid():
		v.Add("vatStatus", "must be one of 1 (domestic), 2 (construction reverse charge), 3 (EU goods), 4 (EU services), 5 (EU other), 6 (EU triangulation), 7 (outside the EU)")
	case p.VATStatus.IsSet():
		d.VATStatus = p.VATStatus.Value()
	case p.VATStatus.IsClear():
		d.VATStatus = DefaultVATStatus
	}
	setParsed(v, "email", &d.Email, p.Email, ParseEmail)
	switch {
	case p.Language.IsSet() && !p.Language.Value().Valid():
		v.Add("language", "must be fi, sv or en")
	case p.Language.IsSet():
		d.Language = p.Language.Value()
	case p.Language.IsClear():
		d.Language = DefaultLanguage
	}
	// The identity code is personal data: its errors never echo the value.
	setParsed(v, "ssn", &d.SSN, p.SSN, func(s string) (string, error) { return finnish.ParseHETU(s, at) })
	setFlag(&d.MarketingEmail, p.MarketingEmail)
	setFlag(&d.MarketingSMS, p.MarketingSMS)
	setFlag(&d.GDPRRestricted, p.GDPRRestricted)
	setFlag(&d.CreditAllowed, p.CreditAllowed)
	setParsed(v, "externalId", &d.ExternalID, p.ExternalID, parseIdentifier)
	setParsed(v, "netvisorId", &d.NetvisorID, p.NetvisorID, parseIdentifier)

	if !p.ExternalSystems.IsKeep() {
		d.ExternalSystems = normalizeLinks(v, p.ExternalSystems.Value())
	}
	if !p.CustomerCards.IsKeep() {
		d.CustomerCards = normalizeCards(v, p.CustomerCards.Value())
	}
	if !p.Groups.IsKeep() {
		d.Groups = normalizeGroups(v, "groups", p.Groups.Value())
	}
	if len(p.GroupMembership) > 0 {
		d.Groups = applyMembership(v, d.Groups, p.GroupMembership)
	}
	if !p.Addresses.IsKeep() {
		d.Addresses = normalizeAddresses(v, p.Addresses.Value())
	}
	if !p.PhoneNumbers.IsKeep() {
		d.PhoneNumbers = normalizePhones(v, p.PhoneNumbers.Value())
	}

	switch {
	case p.EInvoiceMode.IsSet() && !p.EInvoiceMode.Value().Valid():
		v.Add("eInvoice.mode", `must be "", "Broker" or "Email"`)
	case p.EInvoiceMode.IsSet():
		d.EInvoice.Mode = p.EInvoiceMode.Value()
	case p.EInvoiceMode.IsClear():
		d.EInvoice.Mode = EInvoiceNone
	}
	setParsed(v, "eInvoice.broker", &d.EInvoice.Broker, p.EInvoiceBroker, finnish.ParseIntermediator)
	setParsed(v, "eInvoice.address", &d.EInvoice.Address, p.EInvoiceAddress, finnish.ParseEInvoiceAddress)
	setParsed(v, "eInvoice.email", &d.EInvoice.Email, p.EInvoiceEmail, ParseEmail)

	d = normalizeLists(d)
	emptyEInvoiceCells(v, d.EInvoice.Mode, p.EmptyEInvoice)
	// Rule problems are reported with the field problems, except for a
	// field already reported (a value that did not parse is not also
	// "required").
	if err := validate(d); err != nil {
		reported := map[string]bool{}
		for _, f := range v.Fields {
			reported[f.Field] = true
		}
		for _, f := range err.(*fault.Validation).Fields {
			if !reported[f.Field] {
				v.Fields = append(v.Fields, f)
			}
		}
	}
	if err := v.Err(); err != nil {
		return Data{}, err
	}
	return d, nil
}

// emptyEInvoiceCells reports the empty e-invoice cells of a spreadsheet
// row that the row's e-invoice mode needs (excel.md: "row error if mode is
// Broker", "if mode is Email"); with another mode they changed nothing.
func emptyEInvoiceCells(v *fault.Validation, mode EInvoiceMode, e EmptyEInvoice) {
	switch mode {
	case EInvoiceBroker:
		if e.Broker {
			v.Add("eInvoice.broker", "is empty, and the e-invoice mode is Broker, which needs an operator id; to stop e-invoicing, empty eInvoiceMode too")
		}
		if e.Address {
			v.Add("eInvoice.address", "is empty, and the e-invoice mode is Broker, which needs an e-invoice address; to stop e-invoicing, empty eInvoiceMode too")
		}
	case EInvoiceEmail:
		if e.Email {
			v.Add("eInvoice.email", "is empty, and the e-invoice mode is Email, which needs an address; to stop e-invoicing, empty eInvoiceMode too")
		}
	}
}

// validate checks the rules that tie fields together. It is also run on data
// read from storage.
func validate(d Data) error {
	v := &fault.Validation{}
	switch d.Type {
	case Person:
		if d.FirstName == "" {
			v.Add("firstName", "is required for a person")
		}
		if d.LastName == "" {
			v.Add("lastName", "is required for a person")
		}
		if d.CompanyName != "" {
			v.Add("companyName", "is for company customers only")
		}
		if d.BusinessID != "" {
			v.Add("businessId", "is for company customers only")
		}
		if d.VATNumber != "" {
			v.Add("vatNumber", "is for company customers only")
		}
		if len(d.Contacts) > 0 {
			v.Add("contacts", "contact persons belong to company customers; remove them before making this customer a person")
		}
	case Company:
		if d.CompanyName == "" {
			v.Add("companyName", "is required for a company")
		}
		if d.BusinessID == "" {
			v.Add("businessId", "is required for a company")
		}
		if d.SSN != "" {
			v.Add("ssn", "a personal identity code is for person customers only")
		}
	default:
		v.Add("type", "must be person or company")
	}
	if d.VATNumber != "" && d.BusinessID != "" && d.VATNumber != finnish.VATNumberFor(d.BusinessID) {
		v.Add("vatNumber", "does not match businessId %s (expected %s)", d.BusinessID, finnish.VATNumberFor(d.BusinessID))
	}
	if !d.VATStatus.Valid() {
		v.Add("vatStatus", "must be between 1 and 7")
	} else if d.VATStatus.CompanyOnly() && d.Type != Company {
		v.Add("vatStatus", "value %d is for company customers only", d.VATStatus)
	}
	if !d.Language.Valid() {
		v.Add("language", "must be fi, sv or en")
	}
	switch d.EInvoice.Mode {
	case EInvoiceBroker:
		if d.EInvoice.Broker == "" {
			v.Add("eInvoice.broker", "is required when the e-invoice mode is Broker")
		}
		if d.EInvoice.Address == "" {
			v.Add("eInvoice.address", "is required when the e-invoice mode is Broker")
		}
	case EInvoiceEmail:
		if d.EInvoice.Email == "" {
			v.Add("eInvoice.email", "is required when the e-invoice mode is Email")
		}
	}
	return v.Err()
}

func setFlag(dst *bool, o Opt[bool]) {
	switch {
	case o.IsSet():
		*dst = o.Value()
	case o.IsClear():
		*dst = false
	}
}

func setText(v *fault.Validation, field string, dst *string, o Opt[string], max int) {
	setParsed(v, field, dst, o, func(s string) (string, error) { return ParseText(s, max) })
}

// setParsed applies a text field through the text rule and its parser; a
// blank value (see IsBlank) is the same as clearing it.
func setParsed(v *fault.Validation, field string, dst *string, o Opt[string], parse func(string) (string, error)) {
	switch {
	case o.IsClear():
		*dst = ""
	case o.IsSet():
		s, err := parseWith(o.Value(), parse)
		if err != nil {
			v.AddErr(field, err)
			return
		}
		*dst = s
	}
}

// parseWith applies the text rule every text field obeys (cleanText) and
// then the field's own parser. A blank s gives "" and no error, without
// calling parse.
func parseWith(s string, parse func(string) (string, error)) (string, error) {
	s, err := cleanText(s)
	if err != nil || s == "" {
		return "", err
	}
	return parse(s)
}

// cleanText is the one rule for every text a customer holds, whatever its
// field: names, addresses, identifiers, cards, groups, emails, phones, codes,
// and the evidence of a change. It returns s with white space trimmed from
// both ends, "" when s is blank (see IsBlank), or an error when s is not
// valid UTF-8 or holds, after trimming,
//
//   - a control character (Unicode category Cc: NUL, tab, line feed, DEL,
//     the C1 controls such as U+0085) or a line or paragraph separator
//     (U+2028, U+2029): one-line fields must stay one line, and a control
//     character in a name is never meant;
//   - U+FFFD, the replacement character: it stands where a wrong character
//     encoding has already destroyed a character ("Äkäs" read as Latin-1
//     text decoded as UTF-8 gives "�k�s"), so the text is not what the
//     customer wrote.
//
// Other invisible characters inside text (a zero-width joiner in an emoji,
// a soft hyphen in a long word) are kept: only text that is nothing else is
// blank.
func cleanText(s string) (string, error) {
	if t, ok := asciiText(s); ok {
		return t, nil
	}
	return cleanTextAny(s)
}

// cleanTextAny is cleanText for any text (cleanText takes a shortcut for
// printable ASCII: text_fast.go).
func cleanTextAny(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("is not valid UTF-8 text")
	}
	s = strings.TrimSpace(s)
	if IsBlank(s) {
		return "", nil
	}
	switch i := strings.IndexFunc(s, isBreakOrControl); {
	case i < 0:
		return s, nil
	case strings.HasPrefix(s[i:], "\uFFFD"):
		return "", fmt.Errorf("contains U+FFFD, the replacement character: the text was damaged by a wrong character encoding before it arrived; send the original text as UTF-8")
	}
	return "", fmt.Errorf("must not contain control characters such as line breaks or tabs")
}

// IsBlank reports whether s is empty or holds nothing but white space and
// invisible characters (Unicode's Default_Ignorable_Code_Point: zero-width
// space U+200B, joiners U+200C and U+200D, word joiner U+2060, byte order
// mark U+FEFF, soft hyphen U+00AD, the Hangul fillers, variation selectors
// and other format characters). Such text shows as nothing, so a field
// holding it is treated exactly as an empty one: "\u200b" as a first name is
// as missing as "   ".
func IsBlank(s string) bool {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf { // ASCII: only white space is blank
			if !asciiSpace(c) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) && !isDefaultIgnorable(r) {
			return false
		}
		i += size
	}
	return true
}

// isDefaultIgnorable is Unicode's derived property Default_Ignorable_Code_Point
// (DerivedCoreProperties.txt): Other_Default_Ignorable_Code_Point, format
// characters (Cf) and variation selectors, less white space, the
// interlinear annotation characters U+FFF9–U+FFFB, the Egyptian hieroglyph
// format controls U+13430–U+1345F and the prepended concatenation marks,
// which are visible.
func isDefaultIgnorable(r rune) bool {
	if !unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Cf, unicode.Variation_Selector) {
		return false
	}
	return !unicode.Is(unicode.White_Space, r) &&
		!(0xFFF9 <= r && r <= 0xFFFB) && !(0x13430 <= r && r <= 0x1345F) &&
		!unicode.Is(unicode.Prepended_Concatenation_Mark, r)
}

// ParseText applies the text rule (trimmed; "" when blank; no control
// characters, line separators or U+FFFD; valid UTF-8) and checks the
// length.
func ParseText(s string, max int) (string, error) {
	s, err := cleanText(s)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", fmt.Errorf("is %d characters long; at most %d are allowed", n, max)
	}
	return s, nil
}

func parseIdentifier(s string) (string, error) { return ParseText(s, MaxIdentifierLen) }

// ParseEmail checks a plain email address (no display name) and returns it
// trimmed, with the domain in lower case. Besides the syntax of RFC 5322
// (net/mail) it enforces the limits mail servers do: at most 254 characters
// in all and 64 before the @ (RFC 5321), and a host name for the domain, of
// at least two dot-separated labels of 1 to 63 letters, digits and hyphens
// that neither start nor end with a hyphen, the last not all digits
// (RFC 1035, RFC 1123, RFC 3696). The error texts never contain the
// address.
func ParseEmail(s string) (string, error) { return parseEmail(s, true) }

// parseEmail is ParseEmail; without fast, every address goes through
// net/mail (the differential tests compare both: text_fast_test.go).
func parseEmail(s string, fast bool) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > MaxEmailLen {
		return "", fmt.Errorf("is %d characters long; an email address has at most %d (RFC 5321)", n, MaxEmailLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", fmt.Errorf("is not a valid email address: only ASCII characters are accepted, and no spaces or control characters")
		}
	}
	if !fast || !plainAddress(s) {
		a, err := mail.ParseAddress(s)
		if err != nil || a.Name != "" || a.Address != s {
			return "", fmt.Errorf("is not a valid email address")
		}
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if n := len(local); n > maxEmailLocalLen {
		return "", fmt.Errorf("is not a valid email address: the part before the @ is %d characters long; at most %d are allowed (RFC 5321)", n, maxEmailLocalLen)
	}
	if err := checkDomain(domain); err != nil {
		return "", fmt.Errorf("is not a valid email address: %w", err)
	}
	return local + "@" + domain, nil
}

// checkDomain checks that a lower-cased domain is a host name: two or more
// labels of letters, digits and hyphens, each 1–63 characters long and
// neither starting nor ending with a hyphen; the top-level label is not all
// digits (so no IP address either).
func checkDomain(domain string) error {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return fmt.Errorf("the domain needs a dot, as in name@example.fi")
	}
	for i, l := range labels {
		switch {
		case l == "":
			return fmt.Errorf("the domain has an empty part: a dot at its start or end, or two dots in a row")
		case len(l) > maxDomainLabel:
			return fmt.Errorf("part %d of the domain is %d characters long; at most %d are allowed (RFC 1035)", i+1, len(l), maxDomainLabel)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Errorf("a part of the domain starts or ends with a hyphen")
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' {
				return fmt.Errorf("the domain may hold only letters, digits, hyphens and dots")
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("the domain must end in a name, not a number")
	}
	return nil
}

// NormalizePhone parses a phone number, Finnish when it has no country code,
// and returns it in E.164 form: "040 1234567" becomes "+358401234567".
func NormalizePhone(s string) (string, error) { return normalizePhone(s, true) }

// normalizePhone is NormalizePhone; without fast, every number goes
// through libphonenumber (the differential tests compare both).
func normalizePhone(s string, fast bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("is empty")
	}
	if len(s) > 40 {
		return "", fmt.Errorf("is too long to be a phone number")
	}
	if strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9') && !unicode.IsSpace(r) && !strings.ContainsRune("+-()./", r)
	}) >= 0 {
		return "", fmt.Errorf("may hold only digits, spaces and + - ( ) . / (no text or extension)")
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	if fast {
		if e164, ok := fastFinnishPhone(s); ok {
			return e164, nil
		}
	}
	return libraryPhone(s)
}

// libraryPhone is NormalizePhone's slow path, the authority: s through
// libphonenumber, Finnish when it has no country code.
func libraryPhone(s string) (string, error) {
	n, err := phonenumbers.Parse(s, "FI")
	if err != nil || !phonenumbers.IsValidNumber(n) || n.GetExtension() != "" {
		return "", fmt.Errorf("is not a valid phone number (a Finnish number, or an international one starting with +)")
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

func checkListLen(v *fault.Validation, field string, n int) bool {
	if n > MaxListLen {
		v.Add(field, "has %d entries; at most %d are allowed", n, MaxListLen)
		return false
	}
	return true
}

func normalizeLinks(v *fault.Validation, in []ExternalLink) []ExternalLink {
	if !checkListLen(v, "externalSystems", len(in)) {
		return nil
	}
	out := make([]ExternalLink, 0, len(in))
	for i, l := range in {
		f := fmt.Sprintf("externalSystems[%d]", i)
		id, err := parseIdentifier(l.Identifier)
		switch {
		case l.SystemID == 0 && id == "":
			v.Add(f, "needs systemId and identifier")
			continue
		case l.SystemID == 0:
			v.Add(f+".systemId", "is required when identifier is given; allowed: %s", AllowedSystemIDs())
			continue
		case !l.SystemID.Valid():
			v.Add(f+".systemId", "%d is not a known external system; allowed: %s", l.SystemID, AllowedSystemIDs())
			continue
		case err != nil:
			v.AddErr(f+".identifier", err)
			continue
		case id == "":
			v.Add(f+".identifier", "is required when systemId is given")
			continue
		}
		link := ExternalLink{SystemID: l.SystemID, Identifier: id}
		if slices.Contains(out, link) {
			v.Add(f, "link %s is listed twice", link)
			continue
		}
		out = append(out, link)
	}
	return out
}

func normalizeCards(v *fault.Validation, in []string) []string {
	if !checkListLen(v, "customerCards", len(in)) {
		return nil
	}
	out := make([]string, 0, len(in))
	for i, c := range in {
		f := fmt.Sprintf("customerCards[%d]", i)
		s, err := parseIdentifier(c)
		switch {
		case err != nil:
			v.AddErr(f, err)
		case s == "":
			v.Add(f, "is empty")
		case slices.Contains(out, s):
			v.Add(f, "card is listed twice")
		default:
			out = append(out, s)
		}
	}
	return out
}

// ParseGroupID checks a group's external id.
func ParseGroupID(s string) (string, error) {
	s, err := ParseText(s, MaxGroupLen)
	if err == nil && s == "" {
		err = fmt.Errorf("is empty")
	}
	return s, err
}

func normalizeGroups(v *fault.Validation, field string, in []string) []string {
	if !checkListLen(v, field, len(in)) {
		return nil
	}
	out := make([]string, 0, len(in))
	for i, g := range in {
		s, err := ParseGroupID(g)
		if err != nil {
			v.AddErr(fmt.Sprintf("%s[%d]", field, i), err)
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func applyMembership(v *fault.Validation, groups []string, m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, err := ParseGroupID(k)
		if err != nil {
			v.AddErr("group:"+k, err)
			continue
		}
		has := slices.Contains(groups, g)
		switch {
		case m[k] && !has:
			groups = append(groups, g)
		case !m[k] && has:
			groups = slices.DeleteFunc(slices.Clone(groups), func(x string) bool { return x == g })
		}
	}
	checkListLen(v, "groups", len(groups))
	return groups
}

func normalizeAddresses(v *fault.Validation, in []Address) []Address {
	if !checkListLen(v, "addresses", len(in)) {
		return nil
	}
	out := make([]Address, 0, len(in))
	for i, a := range in {
		n, av := normalizeAddress(a)
		if av.Err() != nil {
			v.Prefixed(fmt.Sprintf("addresses[%d]", i), av)
			continue
		}
		out = append(out, n)
	}
	return out
}

// NormalizeAddress returns a as a patch stores it (trimmed, the country
// code checked, FI when blank, the postal code in the country's form), or
// a *fault.Validation naming its members (type, postalCode, …).
func NormalizeAddress(a Address) (Address, error) {
	n, v := normalizeAddress(a)
	if err := v.Err(); err != nil {
		return Address{}, err
	}
	return n, nil
}

func normalizeAddress(a Address) (Address, *fault.Validation) {
	av := &fault.Validation{}
	n := Address{Type: a.Type}
	if !a.Type.Valid() {
		av.Add("type", "must be Invoice, Delivery or Home")
	}
	setText(av, "streetAddress1", &n.StreetAddress1, Set(a.StreetAddress1), MaxNameLen)
	setText(av, "streetAddress2", &n.StreetAddress2, Set(a.StreetAddress2), MaxNameLen)
	setText(av, "city", &n.City, Set(a.City), MaxNameLen)
	n.Country = "FI"
	if !IsBlank(a.Country) {
		setParsed(av, "country", &n.Country, Set(a.Country), finnish.ParseCountry)
	}
	setParsed(av, "postalCode", &n.PostalCode, Set(a.PostalCode), func(s string) (string, error) {
		return finnish.ParsePostalCode(n.Country, s)
	})
	for _, req := range []struct{ field, value string }{
		{"streetAddress1", a.StreetAddress1}, {"postalCode", a.PostalCode}, {"city", a.City},
	} {
		if IsBlank(req.value) {
			av.Add(req.field, "is required for an address")
		}
	}
	return n, av
}

func normalizePhones(v *fault.Validation, in []string) []string {
	if !checkListLen(v, "phoneNumbers", len(in)) {
		return nil
	}
	out := make([]string, 0, len(in))
	for i, p := range in {
		n, err := parseWith(p, NormalizePhone)
		if err == nil && n == "" {
			err = fmt.Errorf("is empty")
		}
		if err != nil {
			v.AddErr(fmt.Sprintf("phoneNumbers[%d]", i), err)
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func normalizeContact(c Contact) (Contact, *fault.Validation) {
	v := &fault.Validation{}
	n := Contact{ID: c.ID}
	if c.ID == uuid.Nil {
		v.Add("id", "is missing")
	}
	before := len(v.Fields)
	setText(v, "name", &n.Name, Set(c.Name), MaxNameLen)
	if n.Name == "" && len(v.Fields) == before {
		v.Add("name", "is required")
	}
	setText(v, "role", &n.Role, Set(c.Role), MaxNameLen)
	setParsed(v, "email", &n.Email, Set(c.Email), ParseEmail)
	setParsed(v, "phone", &n.Phone, Set(c.Phone), NormalizePhone)
	return n, v
}

// isBreakOrControl is true for control characters, for the Unicode line
// and paragraph separators, which break lines without being controls, and
// for U+FFFD, the mark of text already damaged (see cleanText).
func isBreakOrControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
}
