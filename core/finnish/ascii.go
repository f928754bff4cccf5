package finnish

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// upperASCII upper-cases ASCII letters only. strings.ToUpper would also map
// some non-ASCII runes onto ASCII letters (ſ to S, ı to I), which would let
// look-alike characters through validation.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// removeSpaces drops every Unicode white-space rune (including the
// no-break space that copy-paste from web pages and spreadsheets brings).
// Invalid UTF-8 bytes are kept as they are, for the caller's character
// checks to reject.
func removeSpaces(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		invalid := r == utf8.RuneError && size == 1
		if invalid || !unicode.IsSpace(r) {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isAlnum(c byte) bool {
	return isDigit(c) || isUpper(c) || ('a' <= c && c <= 'z')
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether s starts with the ASCII prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && upperASCII(s[:len(prefix)]) == prefix
}
