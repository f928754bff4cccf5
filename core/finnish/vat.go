package finnish

import (
	"errors"
	"strings"
)

var errVATFormat = errors.New("must be FI followed by the 8 digits of the business ID (FINNNNNNNN)")

// ParseVATNumber validates a Finnish VAT number and returns it in the form
// "FI" + the eight digits of the business ID, for example "FI20774740".
//
// The input must start with "FI" (any case), after which the business ID may
// be written with or without its hyphen and with spaces: "FI20774740",
// "fi20774740", "FI 2077474-0". The eight digits must all be present; the
// check digit is that of the business ID.
func ParseVATNumber(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !hasPrefixFold(s, "FI") {
		return "", errVATFormat
	}
	digits, ok := businessIDDigits(strings.TrimLeft(s[2:], " "), false)
	if !ok {
		return "", errVATFormat
	}
	if err := checkBusinessID(digits); err != nil {
		return "", err
	}
	return "FI" + digits, nil
}

// VATNumberFor returns the Finnish VAT number of a canonical business ID:
// "2077474-0" gives "FI20774740". It does not validate its input.
func VATNumberFor(businessID string) string {
	return "FI" + strings.ReplaceAll(businessID, "-", "")
}
