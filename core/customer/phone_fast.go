package customer

// The fast path of NormalizePhone for the common Finnish forms: a mobile
// number or a landline with an area code, written nationally ("040
// 1234567", "0401234567", "09 1234567", "040-123 4567") or with the
// country code ("+358 40 123 4567", "+358401234567"; "00358…" is already
// "+358…" here). libphonenumber (the slow path, 30 µs a number) stays the
// authority: the fast path answers only for the inputs where it gives
// provably the same E.164 form and the same validity, and returns ok ==
// false for every other input, which then goes to the library. It never
// says a number is invalid.
//
// Why its answers are the library's, from the library's metadata for
// region FI (phonenumbers v1.8.1, PhoneNumberMetadata.xml; country code
// 358 is shared by FI, the main region, and AX, whose leading digits are
// 18):
//
//   - national prefix "0" (nationalPrefixForParsing "0", no transform
//     rule). No national number of FI's general description starts with
//     0, so a leading 0 is always stripped, and the stripped number (5 to
//     10 digits) is of a possible length (5–12), so it is kept stripped.
//     After "+358" the number must not start with 0 here (the library's
//     handling of "+358 0…" is left to it).
//   - the region: national numbers starting with 2–9 match FI's leading
//     digits "1[03-79]|[2-9]", so they are FI's, never AX's. Numbers
//     starting with 1 go to the library.
//   - mobile: (?:4[0-8]|50)\d{4,8}, possible lengths 6–10 (4946… also
//     mobile is left to the library). fixed line:
//     1[3-7][1-8]\d{3,6}|(?:19[1-8]|[23568][1-8]\d|9(?:00|[1-8]\d))\d{2,6},
//     possible lengths 5–9; the fast path takes [235689][1-8]\d{3,7} of it
//     (the area codes 02…, 03…, 05…, 06…, 08…, 09…; 0900 premium-like
//     numbers and 1x go to the library). Every such number also matches
//     the general description ([1-35689]\d{4}|[1-9]\d{5,8}|(?:[124-7]\d|
//     3[0-46-9])\d{8}), so it is valid (any type but UNKNOWN is valid)
//     and its E.164 form is "+358" and the national number.
//
// The separators taken are single ASCII spaces and hyphens between
// digits; anything else (brackets, dots, slashes, two separators in a
// row, other spaces, a separator next to the "+") goes to the library.
// TestPhoneFastPathMatchesLibrary and FuzzNormalizePhone compare both
// paths.
func fastFinnishPhone(s string) (string, bool) {
	var buf [16]byte
	n := 0
	i := 0
	intl := false
	if len(s) > 0 && s[0] == '+' {
		intl = true
		i = 1
	}
	sep := true // at the start: no separator may come first
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if n == len(buf) {
				return "", false
			}
			buf[n] = c
			n++
			sep = false
		case c == ' ' || c == '-':
			if sep {
				return "", false
			}
			sep = true
		default:
			return "", false
		}
	}
	if sep { // empty, or ends in a separator (cannot after trimming, but be exact)
		return "", false
	}
	d := buf[:n]
	var national []byte
	if intl {
		if n < 4 || d[0] != '3' || d[1] != '5' || d[2] != '8' {
			return "", false
		}
		national = d[3:]
	} else {
		if n < 2 || d[0] != '0' {
			return "", false
		}
		national = d[1:]
	}
	if len(national) < 5 || national[0] < '2' {
		return "", false
	}
	l := len(national)
	second := national[1]
	switch national[0] {
	case '4': // mobile 4[0-8]\d{4,8}
		if second > '8' || l < 6 || l > 10 {
			return "", false
		}
	case '5':
		if second == '0' { // mobile 50\d{4,8}
			if l < 6 || l > 10 {
				return "", false
			}
		} else if second > '8' || l > 9 { // fixed 5[1-8]\d{3,7}
			return "", false
		}
	case '2', '3', '6', '8', '9': // fixed [23689][1-8]\d{3,7}
		if second < '1' || second > '8' || l > 9 {
			return "", false
		}
	default: // 7: service numbers and the like
		return "", false
	}
	out := make([]byte, 0, 4+l)
	out = append(out, "+358"...)
	out = append(out, national...)
	return string(out), true
}
