package customer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
)

// isBlankByRune is IsBlank as the rule says it, rune by rune: the oracle
// of its ASCII shortcut.
func isBlankByRune(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !isDefaultIgnorable(r) {
			return false
		}
	}
	return true
}

// sameText fails t unless the shortcuts give what the general rules give
// for s: cleanText and cleanTextAny, IsBlank and isBlankByRune, and
// ParseEmail with and without its fast path (value and message).
func sameText(t testing.TB, s string) {
	t.Helper()
	got, gotErr := cleanText(s)
	want, wantErr := cleanTextAny(s)
	if got != want || errText(gotErr) != errText(wantErr) {
		t.Errorf("cleanText(%q) = %q, %v; the general rule gives %q, %v", s, got, gotErr, want, wantErr)
	}
	if got, want := IsBlank(s), isBlankByRune(s); got != want {
		t.Errorf("IsBlank(%q) = %v, want %v", s, got, want)
	}
	got, gotErr = parseEmail(s, true)
	want, wantErr = parseEmail(s, false)
	if got != want || errText(gotErr) != errText(wantErr) {
		t.Errorf("ParseEmail(%q) = %q, %v; through net/mail %q, %v", s, got, gotErr, want, wantErr)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var textSeeds = []string{
	"", " ", "  \t ", "Aino", " Aino Virtanen ", "Äkäs", "a\tb", "a\x7fb", "\x00", "\u200b", " \u200b\u00a0",
	"a\u2028b", "\ufffd", "\xff", "~", "Mannerheimintie 1 A 2", "00100",
	"aino@example.fi", "Aino.Virtanen@Example.FI", " aino@example.fi ", "a@b", "a@b.c", "a@b.123", "a@-b.fi",
	"a@b-.fi", "a..b@c.fi", ".a@c.fi", "a.@c.fi", "a@c..fi", "a@.c.fi", "a@c.fi.", "a@@c.fi", "a@b@c.fi",
	`"a b"@c.fi`, `"a"@c.fi`, "a+tag@c.fi", "a!#$%&'*/=?^_`{|}~-@c.fi", "a(comment)@c.fi", "<a@c.fi>",
	"Aino <a@c.fi>", "a@[127.0.0.1]", "a@c_d.fi", "a@c.f_i", "a,b@c.fi", "a;b@c.fi", "a:b@c.fi", "a\\b@c.fi",
	"a@c.fi,", "@c.fi", "a@", "a", strings.Repeat("a", 65) + "@c.fi", "a@" + strings.Repeat("b", 64) + ".fi",
	strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 95) + "fi", "ä@c.fi", "a@ä.fi", "a @c.fi",
}

// TestTextShortcutsAgree: on the seeds, on every one- and two-byte text,
// and on 200,000 random texts and addresses from characters that matter
// to the rules, the shortcuts agree with the general rules.
func TestTextShortcutsAgree(t *testing.T) {
	for _, s := range textSeeds {
		sameText(t, s)
	}
	for a := range 256 {
		sameText(t, string(rune(a)))
		sameText(t, string([]byte{byte(a)}))
		for b := range 128 {
			sameText(t, string([]byte{byte(a), byte(b)}))
		}
	}
	const alphabet = "aZ9.@-_+!\"(),:;<>[]\\ \t~\x7f\x00\u00e4\u200b"
	runes := []rune(alphabet)
	rng := rand.New(rand.NewPCG(7, 11))
	for range 200_000 {
		var b strings.Builder
		for range rng.IntN(14) {
			b.WriteRune(runes[rng.IntN(len(runes))])
		}
		sameText(t, b.String())
		// Mostly well-formed addresses, with one character changed.
		addr := []rune("aino.virtanen+x@mail.example.fi")
		addr[rng.IntN(len(addr))] = runes[rng.IntN(len(runes))]
		sameText(t, string(addr))
		if t.Failed() {
			return
		}
	}
}

// FuzzTextShortcuts: the shortcuts agree with the general rules on any
// text (go test -fuzz FuzzTextShortcuts ./core/customer).
func FuzzTextShortcuts(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameText(t, s) })
}
