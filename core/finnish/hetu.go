package finnish

import (
	"errors"
	"strings"
	"time"
)

// hetuAlphabet maps DDMMYYZZZ mod 31 to the check character. It has no G, I,
// O, Q or Z.
const hetuAlphabet = "0123456789ABCDEFHJKLMNPRSTUVWXY"

// HETU errors. Their texts never contain the input: a personal identity code
// is personal data and error texts end up in responses and logs.
var (
	errHETULength     = errors.New("must be 11 characters: DDMMYY, century sign, individual number and check character")
	errHETUDateDigits = errors.New("birth date must be six digits DDMMYY")
	errHETUSign       = errors.New("century sign must be one of + - Y X W V U A B C D E F")
	errHETUNumDigits  = errors.New("individual number must be three digits")
	errHETUCheckChar  = errors.New("check character must be a digit or one of ABCDEFHJKLMNPRSTUVWXY")
	errHETUDate       = errors.New("birth date is not a real date")
	errHETUNumUnused  = errors.New("individual number 000 and 001 are not used")
	errHETUCheck      = errors.New("check character does not match")
	errHETUFuture     = errors.New("birth date is in the future")
)

// hetuCentury returns the century a century sign stands for, or 0 if the
// byte is not a century sign.
//
//   - 1800s
//   - Y X W V U     1900s (Y…U in use since 2023)
//     A B C D E F     2000s (B…F in use since 2023)
func hetuCentury(sign byte) int {
	switch sign {
	case '+':
		return 1800
	case '-', 'Y', 'X', 'W', 'V', 'U':
		return 1900
	case 'A', 'B', 'C', 'D', 'E', 'F':
		return 2000
	}
	return 0
}

// ParseHETU trims and upper-cases s, validates it as a Finnish personal
// identity code (henkilötunnus) and returns the canonical 11-character form
// DDMMYYCZZZQ.
//
// The code must match ^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-FHJ-NPR-Y])$,
// DDMMYY in the century of the sign must be a real calendar date that is not
// after today, the individual number must not be 000 or 001, and the check
// character must be "0123456789ABCDEFHJKLMNPRSTUVWXY"[DDMMYYZZZ mod 31].
//
// now is the current instant, passed in because this package reads no
// clock. "Today" is its date in Finnish civil time (see FinnishDate), the
// time a Finnish code's birth date is written in: a child born just after
// midnight in Helsinki has today's date while it is still yesterday in UTC.
// A zero now puts every code in the future, so a caller that forgets the
// clock fails loudly.
//
// Individual numbers 900–999 (temporary codes, and all of DVV's fictitious
// test persons) are accepted. The century sign is part of the identity and
// is never rewritten: 100190-999P and 100190Y999P are different people.
// Gender is not derived and parity is not checked.
//
// The error texts are specific but never contain s.
func ParseHETU(s string, now time.Time) (string, error) {
	s = upperASCII(strings.TrimSpace(s))
	if len(s) != 11 {
		return "", errHETULength
	}
	if !allDigits(s[0:6]) {
		return "", errHETUDateDigits
	}
	century := hetuCentury(s[6])
	if century == 0 {
		return "", errHETUSign
	}
	if !allDigits(s[7:10]) {
		return "", errHETUNumDigits
	}
	check := s[10]
	if check == 'G' || check == 'I' || check == 'O' || check == 'Q' || check == 'Z' ||
		!(isDigit(check) || isUpper(check)) {
		return "", errHETUCheckChar
	}

	day, month := atoi(s[0:2]), atoi(s[2:4])
	year := century + atoi(s[4:6])
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return "", errHETUDate
	}
	if atoi(s[7:10]) < 2 {
		return "", errHETUNumUnused
	}
	if hetuAlphabet[atoi(s[0:6]+s[7:10])%31] != check {
		return "", errHETUCheck
	}
	if ty, tm, td := FinnishDate(now); year*10000+month*100+day > ty*10000+int(tm)*100+td {
		return "", errHETUFuture
	}
	return s, nil
}

// HETUBirthDate returns the birth date encoded in a code that ParseHETU has
// already accepted. For anything else it returns zeros; it never panics.
func HETUBirthDate(canonical string) (year int, month int, day int) {
	if len(canonical) != 11 || !allDigits(canonical[0:6]) {
		return 0, 0, 0
	}
	century := hetuCentury(canonical[6])
	if century == 0 {
		return 0, 0, 0
	}
	return century + atoi(canonical[4:6]), atoi(canonical[2:4]), atoi(canonical[0:2])
}

// MaskedHETU is what a caller who may not read identity codes sees of one:
// nothing but that there is one. Not even the century sign is shown, since
// it tells the birth century (whether the person was born in 2000 or later,
// a minor perhaps), and the birth date is personal data.
const MaskedHETU = "***********"

// atoi converts a string of ASCII digits that the caller has already
// checked. It cannot overflow for the at most 9 digits used here.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isLeap(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if isLeap(year) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
