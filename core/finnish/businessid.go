package finnish

import (
	"errors"
	"strings"
)

var (
	errBusinessIDFormat = errors.New("must be a business ID of 7 digits, a hyphen and a check digit (NNNNNNN-C)")
	errBusinessIDNever  = errors.New("no check digit exists for this number: such business IDs are never issued")
	errBusinessIDCheck  = errors.New("check digit does not match")
)

// businessIDWeights are applied left to right to the seven digits.
var businessIDWeights = [7]int{7, 9, 10, 5, 8, 4, 2}

// ParseBusinessID validates a Finnish business ID (Y-tunnus) and returns it
// in the canonical form NNNNNNN-C.
//
// Accepted input, after trimming: an optional "FI" prefix (any case, as in
// a VAT number) followed by
//
//	2077474-0   canonical
//	2077474 0   space instead of the hyphen (spaces around it are allowed too)
//	20774740    no separator
//	490484-0    an old six-digit ID without its leading zero: 0490484-0
//	490484 0    the same with a space
//
// Seven digits with no separator are refused, although they could be an old
// ID whose leading zero a spreadsheet dropped (4904840): they are as likely
// to be a current ID whose check digit was cut off (2077474 of 2077474-0),
// and reading them as 0207747-4 would silently name another company whenever
// the padded number happens to check (about one time in ten). With a
// separator the check digit is unambiguous, so 490484-0 is still accepted.
//
// The check digit uses weights 7, 9, 10, 5, 8, 4, 2: r = sum mod 11; r = 0
// gives 0; r = 1 means the number is never issued; otherwise 11 − r.
func ParseBusinessID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if hasPrefixFold(s, "FI") {
		s = strings.TrimLeft(s[2:], " ")
	}
	digits, ok := businessIDDigits(s, true)
	if !ok {
		return "", errBusinessIDFormat
	}
	if err := checkBusinessID(digits); err != nil {
		return "", err
	}
	return digits[:7] + "-" + digits[7:], nil
}

// businessIDDigits returns the eight digits of a business ID written as
// digits, an optional separator (spaces and at most one hyphen) and the check
// digit. With allowShort, six digits before a separator are padded with a
// leading zero; seven digits with no separator never are (see
// ParseBusinessID).
func businessIDDigits(s string, allowShort bool) (string, bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	body, rest := s[:i], s[i:]
	if rest == "" {
		if len(body) == 8 {
			return body, true
		}
		return "", false
	}
	sep := strings.Trim(rest[:len(rest)-1], " ")
	last := rest[len(rest)-1]
	if !isDigit(last) || strings.Trim(rest[:len(rest)-1], " -") != "" || len(sep) > 1 {
		return "", false
	}
	switch {
	case len(body) == 7:
		return body + string(last), true
	case len(body) == 6 && allowShort:
		return "0" + body + string(last), true
	}
	return "", false
}

// businessIDCheckDigit returns the check digit of seven ASCII digits, or
// false if no check digit exists (sum mod 11 == 1).
func businessIDCheckDigit(seven string) (byte, bool) {
	sum := 0
	for i, w := range businessIDWeights {
		sum += int(seven[i]-'0') * w
	}
	switch r := sum % 11; r {
	case 0:
		return '0', true
	case 1:
		return 0, false
	default:
		return byte('0' + 11 - r), true
	}
}

// checkBusinessID verifies the check digit of eight ASCII digits.
func checkBusinessID(eight string) error {
	want, ok := businessIDCheckDigit(eight[:7])
	if !ok {
		return errBusinessIDNever
	}
	if eight[7] != want {
		return errBusinessIDCheck
	}
	return nil
}
