package finnish

import (
	"errors"
	"strings"
)

var (
	errPostalFI    = errors.New("must be a Finnish postal code of exactly 5 digits")
	errPostalAX    = errors.New("must be an Åland postal code: 22 followed by 3 digits")
	errPostalOther = errors.New("must be 1 to 12 letters, digits, spaces or hyphens")
)

// ParsePostalCode validates a postal code for a country, an ISO 3166-1
// alpha-2 code that the caller has already validated (see ParseCountry).
//
//	FI  exactly 5 digits, leading zeros kept ("00100"); an optional "FI-"
//	    prefix is removed. Åland codes (22xxx) are Finnish codes too.
//	AX  22 and 3 digits (Åland); an optional "AX-" prefix is removed.
//	any other country: after trimming, 1 to 12 ASCII letters, digits,
//	    spaces or hyphens, at least one of them a letter or digit; returned
//	    trimmed, otherwise unchanged.
//
// The prefixes are matched ignoring case.
func ParsePostalCode(country, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch upperASCII(strings.TrimSpace(country)) {
	case "FI":
		if hasPrefixFold(s, "FI-") {
			s = s[3:]
		}
		if len(s) != 5 || !allDigits(s) {
			return "", errPostalFI
		}
		return s, nil
	case "AX":
		if hasPrefixFold(s, "AX-") {
			s = s[3:]
		}
		if len(s) != 5 || !allDigits(s) || s[:2] != "22" {
			return "", errPostalAX
		}
		return s, nil
	}
	if len(s) < 1 || len(s) > 12 {
		return "", errPostalOther
	}
	alnum := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c):
			alnum = true
		case c == ' ' || c == '-':
		default:
			return "", errPostalOther
		}
	}
	if !alnum {
		return "", errPostalOther
	}
	return s, nil
}
