package customer_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/core/finnish"
)

// email254 is an address of exactly 254 characters: a local part of 64 and
// a domain of 189 in labels of at most 63.
var email254 = repeat("l", 64) + "@" + repeat("a", 63) + "." + repeat("b", 63) + "." + repeat("c", 58) + ".fi"

// TestNewRefusesIssue6 covers the identifier and text defects of issue 6
// (items 4 to 8): each value was accepted before, and each is refused now
// with an error naming its field.
func TestNewRefusesIssue6(t *testing.T) {
	t.Parallel()

	addr := func(mods ...func(*customer.Address)) customer.Patch {
		a := customer.Address{Type: customer.Home, StreetAddress1: "Katu 1", PostalCode: "00100", City: "Helsinki"}
		for _, m := range mods {
			m(&a)
		}
		return person(func(p *customer.Patch) { p.Addresses = customer.Set([]customer.Address{a}) })
	}

	tests := []struct {
		name string
		give customer.Patch
		want []string
	}{
		// Item 4: seven bare digits are a business id with its check digit
		// cut off, not an old one with its zero dropped.
		{name: "businessId of seven digits", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("2077474") }), want: []string{"businessId"}},
		{name: "businessId FI and seven digits", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("FI2077474") }), want: []string{"businessId"}},
		{name: "businessId old form without zero or hyphen", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("4904840") }), want: []string{"businessId"}},
		{name: "vatNumber FI and seven digits", give: company(func(p *customer.Patch) { p.VATNumber = customer.Set("FI2077474") }), want: []string{"vatNumber"}},

		// Item 5: identity codes born after today (t0 is 1 March 2025).
		{name: "ssn born 2099", give: person(func(p *customer.Patch) { p.SSN = customer.Set("010199A234J") }), want: []string{"ssn"}},
		{name: "ssn born 2050", give: person(func(p *customer.Patch) { p.SSN = customer.Set("010150F236Y") }), want: []string{"ssn"}},
		{name: "ssn born tomorrow", give: person(func(p *customer.Patch) { p.SSN = customer.Set("020325A0027") }), want: []string{"ssn"}},

		// Item 6: RFC 5321 and RFC 1035 limits.
		{name: "email local part of 65", give: person(func(p *customer.Patch) { p.Email = customer.Set(repeat("l", 65) + "@example.fi") }), want: []string{"email"}},
		{name: "email domain label of 64", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@" + repeat("a", 64) + ".fi") }), want: []string{"email"}},
		{name: "email domain label starting with a hyphen", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@-example.fi") }), want: []string{"email"}},
		{name: "email domain label ending with a hyphen", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@example-.fi") }), want: []string{"email"}},
		{name: "email top-level label with a hyphen at the end", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@example.fi-") }), want: []string{"email"}},
		{name: "email of 255 characters", give: person(func(p *customer.Patch) { p.Email = customer.Set("x" + email254) }), want: []string{"email"}},
		{name: "email with underscore in the domain", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@ex_ample.fi") }), want: []string{"email"}},
		{name: "email with an IP address", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@127.0.0.1") }), want: []string{"email"}},
		{name: "email with a domain literal", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@[127.0.0.1]") }), want: []string{"email"}},
		{name: "e-invoice email domain label starting with a hyphen", give: company(func(p *customer.Patch) {
			p.EInvoiceEmail = customer.Set("laskut@-kirjuri.fi")
		}), want: []string{"eInvoice.email"}},
		{name: "e-invoice email local part of 65", give: company(func(p *customer.Patch) {
			p.EInvoiceEmail = customer.Set(repeat("l", 65) + "@kirjuri.fi")
		}), want: []string{"eInvoice.email"}},

		// Item 7: invisible text is blank, as white space is.
		{name: "firstName zero-width space", give: person(func(p *customer.Patch) { p.FirstName = customer.Set("\u200b") }), want: []string{"firstName"}},
		{name: "lastName joiners", give: person(func(p *customer.Patch) { p.LastName = customer.Set("\u200c\u200d") }), want: []string{"lastName"}},
		{name: "firstName word joiner and soft hyphen", give: person(func(p *customer.Patch) { p.FirstName = customer.Set(" \u2060\u00ad ") }), want: []string{"firstName"}},
		{name: "lastName byte order mark", give: person(func(p *customer.Patch) { p.LastName = customer.Set("\ufeff") }), want: []string{"lastName"}},
		{name: "firstName Hangul filler", give: person(func(p *customer.Patch) { p.FirstName = customer.Set("\u3164") }), want: []string{"firstName"}},
		{name: "companyName zero-width space", give: company(func(p *customer.Patch) { p.CompanyName = customer.Set("\u200b\u200b") }), want: []string{"companyName"}},
		{name: "businessId zero-width space", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("\u200b") }), want: []string{"businessId"}},
		{name: "streetAddress1 zero-width space", give: addr(func(a *customer.Address) { a.StreetAddress1 = "\u200b" }), want: []string{"addresses[0].streetAddress1"}},
		{name: "city byte order mark", give: addr(func(a *customer.Address) { a.City = "\ufeff" }), want: []string{"addresses[0].city"}},
		{name: "postalCode zero-width space", give: addr(func(a *customer.Address) { a.PostalCode = "\u200b" }), want: []string{"addresses[0].postalCode"}},
		{name: "card zero-width space", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"\u200b"}) }), want: []string{"customerCards[0]"}},
		{name: "group zero-width space", give: person(func(p *customer.Patch) { p.Groups = customer.Set([]string{"vip", "\u200b"}) }), want: []string{"groups[1]"}},
		{name: "link identifier zero-width space", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "\u2060"}})
		}), want: []string{"externalSystems[0].identifier"}},
		{name: "phone zero-width space", give: person(func(p *customer.Patch) { p.PhoneNumbers = customer.Set([]string{"\u200b"}) }), want: []string{"phoneNumbers[0]"}},

		// Item 7: control characters and U+FFFD, in every text field.
		{name: "city with NUL", give: addr(func(a *customer.Address) { a.City = "Hel\x00sinki" }), want: []string{"addresses[0].city"}},
		{name: "streetAddress2 with unit separator", give: addr(func(a *customer.Address) { a.StreetAddress2 = "B\x1f4" }), want: []string{"addresses[0].streetAddress2"}},
		{name: "externalId with a C1 control", give: person(func(p *customer.Patch) { p.ExternalID = customer.Set("ext\u009f1") }), want: []string{"externalId"}},
		{name: "card with bell", give: person(func(p *customer.Patch) { p.CustomerCards = customer.Set([]string{"CARD\a1"}) }), want: []string{"customerCards[0]"}},
		{name: "group with escape", give: person(func(p *customer.Patch) { p.Groups = customer.Set([]string{"v\x1bip"}) }), want: []string{"groups[0]"}},
		{name: "email with NUL", give: person(func(p *customer.Patch) { p.Email = customer.Set("m\x00@example.fi") }), want: []string{"email"}},
		{name: "e-invoice address with a control character", give: company(func(p *customer.Patch) { p.EInvoiceAddress = customer.Set("0037\x0020774740") }), want: []string{"eInvoice.address"}},
		{name: "firstName damaged by a wrong encoding", give: person(func(p *customer.Patch) { p.FirstName = customer.Set("\ufffdk\ufffds") }), want: []string{"firstName"}},
		{name: "lone replacement character", give: person(func(p *customer.Patch) { p.LastName = customer.Set("\ufffd") }), want: []string{"lastName"}},
		{name: "city with a replacement character", give: addr(func(a *customer.Address) { a.City = "H\ufffdmeenlinna" }), want: []string{"addresses[0].city"}},
		{name: "link identifier with a replacement character", give: person(func(p *customer.Patch) {
			p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-\ufffd"}})
		}), want: []string{"externalSystems[0].identifier"}},

		// Item 8: BIC-shaped operator ids must name a country, and a Finnish
		// BIC must be a bank that relays e-invoices.
		{name: "broker XXXXXXXX", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("XXXXXXXX") }), want: []string{"eInvoice.broker"}},
		{name: "broker NONSENSE", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("NONSENSE") }), want: []string{"eInvoice.broker"}},
		{name: "broker ABCDEFGH", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("ABCDEFGH") }), want: []string{"eInvoice.broker"}},
		{name: "broker AAAAZZ11", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("AAAAZZ11") }), want: []string{"eInvoice.broker"}},
		{name: "broker unknown Finnish BIC", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("NDEAFIHX") }), want: []string{"eInvoice.broker"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, events, err := customer.New(testID, testNumber, tt.give, change(t0))
			if c != nil || events != nil {
				t.Fatalf("New = %+v, %v; want no customer", c, events)
			}
			if got := fields(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %v, want %v (%s)", got, tt.want, messages(t, err))
			}
		})
	}
}

// TestNewAcceptsIssue6 shows where the stricter rules stop: the values next
// to each refused one are still accepted, in their canonical form.
func TestNewAcceptsIssue6(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Patch
		want customer.Data
	}{
		{name: "businessId old form with its hyphen", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("490484-0") }),
			want: companyData(func(d *customer.Data) { d.BusinessID = "0490484-0" })},
		{name: "businessId old form with a space", give: company(func(p *customer.Patch) { p.BusinessID = customer.Set("490484 0") }),
			want: companyData(func(d *customer.Data) { d.BusinessID = "0490484-0" })},
		{name: "ssn born today", give: person(func(p *customer.Patch) { p.SSN = customer.Set("010325A002K") }),
			want: personData(func(d *customer.Data) { d.SSN = "010325A002K" })},
		{name: "email of 254 characters", give: person(func(p *customer.Patch) { p.Email = customer.Set(email254) }),
			want: personData(func(d *customer.Data) { d.Email = email254 })},
		{name: "email with hyphens inside labels and a digit label", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@x-1.a-b.3.fi") }),
			want: personData(func(d *customer.Data) { d.Email = "m@x-1.a-b.3.fi" })},
		{name: "email with a punycode domain", give: person(func(p *customer.Patch) { p.Email = customer.Set("m@xn--esimerkki-5za.fi") }),
			want: personData(func(d *customer.Data) { d.Email = "m@xn--esimerkki-5za.fi" })},
		{name: "invisible characters inside text are kept", give: person(func(p *customer.Patch) {
			p.LastName = customer.Set("Meikä\u00adläinen")
			p.FirstName = customer.Set("👩\u200d💻")
		}), want: personData(func(d *customer.Data) { d.LastName = "Meikä\u00adläinen"; d.FirstName = "👩\u200d💻" })},
		{name: "invisible optional text is cleared", give: person(func(p *customer.Patch) {
			p.ExternalID = customer.Set("\u200b")
			p.Email = customer.Set("\ufeff")
		}), want: personData()},
		{name: "Finnish bank BIC with a branch code", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("okoyfihhxxx") }),
			want: companyData(func(d *customer.Data) { d.EInvoice.Broker = "OKOYFIHHXXX" })},
		{name: "foreign BIC", give: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("ESSESESS") }),
			want: companyData(func(d *customer.Data) { d.EInvoice.Broker = "ESSESESS" })},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c, _, err := customer.New(testID, testNumber, tt.give, change(t0))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestApplyIdentityCodeUsesTheChangeTime: the birth date is compared with
// the date of the change, in Finland, not with any other clock.
func TestApplyIdentityCodeUsesTheChangeTime(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give string // the time of the change, UTC
		want []string
	}{
		{name: "the day before", give: "2025-03-01T21:59:59Z", want: []string{"ssn"}},
		{name: "midnight in Helsinki, still 1 March in UTC", give: "2025-03-01T22:00:00Z"},
		{name: "the day after", give: "2025-03-03T09:00:00Z"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, person())
			_, err := c.Apply(customer.Patch{SSN: customer.Set("020325A0027")}, change(mustTime(t, tt.give)))
			if got := errFields(err); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestContactRefusesIssue6: the contact person of a company obeys the same
// text and email rules.
func TestContactRefusesIssue6(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Contact
		want []string
	}{
		{name: "invisible name", give: customer.Contact{Name: "\u200b\u2060"}, want: []string{"name"}},
		{name: "role with a C1 control", give: customer.Contact{Name: "Liisa", Role: "C\u0085FO"}, want: []string{"role"}},
		{name: "name with a replacement character", give: customer.Contact{Name: "Liisa \ufffd"}, want: []string{"name"}},
		{name: "email domain starting with a hyphen", give: customer.Contact{Name: "Liisa", Email: "liisa@-kirjuri.fi"}, want: []string{"email"}},
		{name: "email local part of 65", give: customer.Contact{Name: "Liisa", Email: repeat("l", 65) + "@kirjuri.fi"}, want: []string{"email"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, company())
			tt.give.ID = uuid.UUID{15: 1}
			if got := errFields(c.AddContact(tt.give, change(t1))); !slices.Equal(got, tt.want) {
				t.Errorf("fields = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsBlank(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give string
		want bool
	}{
		{give: "", want: true},
		{give: "   ", want: true},
		{give: "\t\n\u00a0\u3000", want: true},
		{give: "\u200b", want: true},
		{give: "\u200c\u200d\u2060\ufeff\u00ad", want: true},
		{give: "\u180e\u034f\ufe0f\u3164\uffa0\u115f", want: true},
		{give: "\U000e0041", want: true}, // a tag character
		{give: "x", want: false},
		{give: "\u200bx", want: false},
		{give: "\u0600", want: false},     // Arabic number sign: a visible format character
		{give: "\ufffd", want: false},     // refused, but not blank
		{give: "\x00", want: false},       // refused, but not blank
		{give: "\u0301", want: false},     // a combining mark shows
		{give: "\U00013430", want: false}, // Egyptian hieroglyph format control
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			if got := customer.IsBlank(tt.give); got != tt.want {
				t.Errorf("IsBlank(%+q) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

func TestParseText(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr bool
	}{
		{give: " Matti ", want: "Matti"},
		{give: "Matti\n", want: "Matti"}, // white space at the ends is trimmed
		{give: "\u200b", want: ""},
		{give: " \ufeff\u200d ", want: ""},
		{give: "Ma\u200btti", want: "Ma\u200btti"},
		{give: "Äkäs", want: "Äkäs"},
		{give: "\ufffdk\ufffds", wantErr: true},
		{give: "\ufffd", wantErr: true},
		{give: "a\x00", wantErr: true},
		{give: "\x00", wantErr: true},
		{give: "a\u0085b", wantErr: true},
		{give: "a\u2028b", wantErr: true},
		{give: "a\x7f", wantErr: true},
		{give: "\xff", wantErr: true},
		{give: "x" + repeat("\u200b", 10), wantErr: true}, // 11 characters
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := customer.ParseText(tt.give, 10)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseText(%+q) = %+q, %v; want %+q, error %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// checkStoredText fails the test when a customer holds text that the text
// rule refuses, text that is blank but not empty, or an email beyond the
// RFC 5321 and RFC 1035 limits.
func checkStoredText(t *testing.T, name string, d customer.Data) {
	t.Helper()
	var texts []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			texts = append(texts, v.String())
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		}
	}
	walk(reflect.ValueOf(d))
	for _, s := range texts {
		bad := strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError })
		if !utf8.ValidString(s) || bad || (s != "" && customer.IsBlank(s)) {
			t.Fatalf("%s: the customer holds %+q", name, s)
		}
	}
	emails := []string{d.Email, d.EInvoice.Email}
	for _, c := range d.Contacts {
		emails = append(emails, c.Email)
	}
	for _, e := range emails {
		if e == "" {
			continue
		}
		at := strings.LastIndexByte(e, '@')
		if len(e) > customer.MaxEmailLen || at < 1 || at > 64 {
			t.Fatalf("%s: email %q is too long", name, e)
		}
		for _, l := range strings.Split(e[at+1:], ".") {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				t.Fatalf("%s: email %q has a bad domain label %q", name, e, l)
			}
		}
	}
}

// mustTime parses an RFC 3339 time or fails the test.
func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// checkStoredBirthDate fails the test when the customer's identity code was
// born after the Finnish date of at.
func checkStoredBirthDate(t *testing.T, name string, d customer.Data, at time.Time) {
	t.Helper()
	if d.SSN == "" {
		return
	}
	y, m, day := finnish.HETUBirthDate(d.SSN)
	ty, tm, td := finnish.FinnishDate(at)
	if time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC).After(time.Date(ty, tm, td, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("%s: identity code born %d-%02d-%02d accepted on %s", name, y, m, day, at)
	}
}
