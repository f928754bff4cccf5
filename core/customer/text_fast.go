package customer

import "strings"

// Shortcuts of the text rules for the text nearly every field holds:
// printable ASCII. A spreadsheet import runs every cell of a row through
// them, and the general rules (Unicode tables, net/mail) were a tenth of
// its time in the core. Each gives exactly what the general rule gives, or
// leaves the text to it; text_fast_test.go compares both.

// asciiText is cleanText for s of printable ASCII (space to tilde) only;
// false leaves s to cleanTextAny. Such text is valid UTF-8, holds no
// control character, line separator or U+FFFD, and its only white space
// and only blank characters are spaces: trimmed, it is either "" (blank)
// or the text cleanText keeps.
func asciiText(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' {
			return "", false
		}
	}
	return strings.TrimSpace(s), true
}

// asciiSpace is unicode.IsSpace for an ASCII byte.
func asciiSpace(c byte) bool {
	switch c {
	case '\t', '\n', '\v', '\f', '\r', ' ':
		return true
	}
	return false
}

// plainAddress tells whether s, of printable ASCII without spaces, is an
// address that net/mail reads as itself: a dot-atom before its only @
// (RFC 5322 atext and dots, no dot first, last or twice in a row) and a
// dot-atom of letters, digits and hyphens after it. net/mail accepts every
// such address with Address equal to s, so ParseEmail may skip it; false
// leaves s to net/mail, whose verdict and message then stand.
func plainAddress(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	return dotAtom(s[:at], isAtext) && dotAtom(s[at+1:], isHostChar)
}

// dotAtom tells whether s is one or more runs of ok characters joined by
// single dots.
func dotAtom(s string, ok func(byte) bool) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case !ok(c):
			return false
		}
	}
	return true
}

// isAtext is RFC 5322's atext for ASCII: letters, digits and
// !#$%&'*+-/=?^_`{|}~.
func isAtext(c byte) bool {
	return isHostChar(c) || strings.IndexByte("!#$%&'*+/=?^_`{|}~", c) >= 0
}

// isHostChar is a letter, a digit or a hyphen.
func isHostChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}
