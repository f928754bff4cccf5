package excel

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// fmtKind is what the reader does with a number format.
type fmtKind uint8

const (
	fmtGeneral fmtKind = iota // General: the number as it is stored
	fmtText                   // "@": shown like General, the cell stays a number
	fmtFixed                  // "0", "00000", "0.00": zero padding, fixed decimals
	fmtDate                   // a date or time format: ISO 8601
	fmtOther                  // anything else: shown like General
)

// numFmt is a cell style's number format, classified once per style.
type numFmt struct {
	kind fmtKind
	code string // the format code ("General" for General)
	// fmtFixed: the integer digits to pad to and the decimals to show.
	intDigits, fracDigits int
	// fmtDate: which parts the format shows.
	hasDate, hasTime, elapsed bool
}

var generalFmt = numFmt{kind: fmtGeneral, code: "General"}

// builtInFmt classifies the built-in format ids that a style may use
// without defining them (ECMA-376 part 1, 18.8.30).
func builtInFmt(id int) numFmt {
	switch {
	case id == 0:
		return generalFmt
	case id == 1:
		return numFmt{kind: fmtFixed, code: "0", intDigits: 1}
	case id == 2:
		return numFmt{kind: fmtFixed, code: "0.00", intDigits: 1, fracDigits: 2}
	case id == 49:
		return numFmt{kind: fmtText, code: "@"}
	case id >= 14 && id <= 17, id >= 27 && id <= 31, id >= 50 && id <= 58:
		return numFmt{kind: fmtDate, code: "yyyy-mm-dd", hasDate: true}
	case id == 22:
		return numFmt{kind: fmtDate, code: "yyyy-mm-dd hh:mm:ss", hasDate: true, hasTime: true}
	case id >= 18 && id <= 21, id >= 32 && id <= 36, id == 45, id == 47:
		return numFmt{kind: fmtDate, code: "hh:mm:ss", hasTime: true}
	case id == 46:
		return numFmt{kind: fmtDate, code: "[h]:mm:ss", hasTime: true, elapsed: true}
	}
	return numFmt{kind: fmtOther, code: "#" + strconv.Itoa(id)}
}

// customFmt classifies a format code that a workbook defines.
func customFmt(code string) numFmt {
	nf := numFmt{kind: fmtOther, code: code}
	// The first section is the one for positive numbers (and all numbers
	// when it is the only one).
	sec := firstSection(code)
	switch {
	case strings.EqualFold(sec, "general"):
		return numFmt{kind: fmtGeneral, code: code}
	case sec == "@":
		nf.kind = fmtText
		return nf
	}
	if i, f, ok := zeroPadding(sec); ok && sec == code {
		nf.kind, nf.intDigits, nf.fracDigits = fmtFixed, i, f
		return nf
	}
	var y, m, d, h, s, ampm, elapsed, digits bool
	inQuote := false
	for i := 0; i < len(sec); i++ {
		c := sec[i]
		if inQuote {
			inQuote = c != '"'
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '\\', '_', '*':
			i++ // an escaped literal, a space the width of, a fill character
		case '[':
			j := strings.IndexByte(sec[i:], ']')
			if j < 0 {
				return nf
			}
			if inner := strings.ToLower(sec[i+1 : i+j]); inner != "" && strings.Trim(inner, "hms") == "" {
				elapsed, h = true, true // [h], [mm], [ss]
			}
			i += j
		case 'y', 'Y', 'e':
			y = true
		case 'm', 'M':
			m = true
		case 'd', 'D':
			d = true
		case 'h', 'H':
			h = true
		case 's', 'S':
			s = true
		case 'a', 'A':
			if strings.HasPrefix(strings.ToUpper(sec[i:]), "AM/PM") || strings.HasPrefix(strings.ToUpper(sec[i:]), "A/P") {
				ampm = true
			}
		case '0', '#', '?':
			digits = true
		}
	}
	if digits && !(h || s) || !(y || m || d || h || s || ampm) {
		return nf
	}
	nf.kind = fmtDate
	nf.elapsed = elapsed
	nf.hasTime = h || s || ampm
	// "m" next to h or s is minutes; otherwise a month.
	nf.hasDate = y || d || (m && !nf.hasTime)
	return nf
}

// firstSection returns the format code up to its first ';' outside quotes
// and brackets.
func firstSection(code string) string {
	inQuote, inBracket := false, false
	for i := 0; i < len(code); i++ {
		switch c := code[i]; {
		case inQuote:
			inQuote = c != '"'
		case inBracket:
			inBracket = c != ']'
		case c == '"':
			inQuote = true
		case c == '[':
			inBracket = true
		case c == '\\':
			i++
		case c == ';':
			return code[:i]
		}
	}
	return code
}

// zeroPadding recognises "0", "00000", "0.00" and the like.
func zeroPadding(sec string) (intDigits, fracDigits int, ok bool) {
	i := 0
	for i < len(sec) && sec[i] == '0' {
		i++
	}
	intDigits = i
	if intDigits == 0 {
		return 0, 0, false
	}
	if i == len(sec) {
		return intDigits, 0, true
	}
	if sec[i] != '.' || i+1 == len(sec) {
		return 0, 0, false
	}
	for _, c := range []byte(sec[i+1:]) {
		if c != '0' {
			return 0, 0, false
		}
	}
	return intDigits, len(sec) - i - 1, true
}

// bstr is a byte slice seen as a string without copying, for parsing.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseNumber parses a stored number the way excelize's isNumeric does.
func parseNumber(v []byte) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := bstr(v)
	if strings.IndexByte(s, '_') >= 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// plainInteger reports whether v is an integer of at most 15 digits
// written without a leading zero or sign other than '-': the common case,
// shown as it is stored.
func plainInteger(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 15 || (v[0] == '0' && len(v) > 1) {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// appendGeneral appends a stored number as General shows it: the shortest
// decimal that reads back as the same double, with at most 15 significant
// digits (Excel's precision), so that 0.1+0.2 stored as
// 0.30000000000000004 shows 0.3. This is excelize's rule for cells without
// a style. ok is false when v is not a number.
func appendGeneral(dst, v []byte) ([]byte, bool) {
	if plainInteger(v) {
		if len(v) == 2 && v[0] == '-' && v[1] == '0' {
			return append(dst, '0'), true
		}
		return append(dst, v...), true
	}
	f, ok := parseNumber(v)
	if !ok {
		return dst, false
	}
	return appendGeneralFloat(dst, f, v), true
}

func appendGeneralFloat(dst []byte, f float64, v []byte) []byte {
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	digits := len(dst) - start
	for _, c := range dst[start:] {
		if c == '.' {
			digits--
		}
	}
	if digits > 15 && !withinPrecision(bstr(v)) {
		dst = strconv.AppendFloat(dst[:start], f, 'G', 15, 64)
	}
	return dst
}

// withinPrecision is excelize's isNumWithinPrecision: an integer written
// out with zeros past the 15th significant digit.
func withinPrecision(s string) bool {
	if strings.ContainsAny(s, ".Ee") {
		return false
	}
	s = strings.TrimLeft(s, "+-0")
	return len(strings.TrimRight(s, "0")) <= 15
}

// appendFixed appends f with the format's zero padding and decimals, as
// Excel shows it: to 15 significant digits (Excel's precision), rounded
// half away from zero, so 100 with "00000" is 00100, 2.5 with "0" is 3
// and 2.345 with "0.00" is 2.35.
func appendFixed(dst []byte, f float64, nf *numFmt) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], math.Abs(f), 'e', 14, 64) // d.dddddddddddddde±XX
	var digits [15]byte
	digits[0] = e[0]
	copy(digits[1:], e[2:16])
	exp, _ := strconv.Atoi(string(e[17:]))
	// r becomes the value × 10^fracDigits, rounded, as decimal digits.
	var buf [64]byte
	r := buf[:0]
	if keep := exp + 1 + nf.fracDigits; keep >= 0 {
		for i := 0; i < keep; i++ {
			if i < len(digits) {
				r = append(r, digits[i])
			} else {
				r = append(r, '0')
			}
		}
		if keep < len(digits) && digits[keep] >= '5' {
			i := len(r) - 1
			for ; i >= 0 && r[i] == '9'; i-- {
				r[i] = '0'
			}
			if i >= 0 {
				r[i]++
			} else {
				r = append([]byte{'1'}, r...)
			}
		}
	}
	if pad := nf.fracDigits + 1 - len(r); pad > 0 {
		r = append(make([]byte, pad, pad+len(r)), r...)
		for i := 0; i < pad; i++ {
			r[i] = '0'
		}
	}
	intPart, frac := r[:len(r)-nf.fracDigits], r[len(r)-nf.fracDigits:]
	zero := true
	for _, c := range r {
		if c != '0' {
			zero = false
			break
		}
	}
	if f < 0 && !zero {
		dst = append(dst, '-')
	}
	for i := len(intPart); i < nf.intDigits; i++ {
		dst = append(dst, '0')
	}
	dst = append(dst, intPart...)
	if nf.fracDigits > 0 {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return dst
}

var (
	epoch1900 = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	epoch1904 = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxSerial is 9999-12-31, the last day Excel shows.
const maxSerial = 2958465

// appendDate appends the serial date f in ISO 8601: yyyy-mm-dd for a date
// format, hh:mm:ss for a time format, both (with a space) for a format
// with both. ok is false for a serial Excel cannot show as a date
// (negative or past 9999).
func appendDate(dst []byte, f float64, nf *numFmt, date1904 bool) ([]byte, bool) {
	if f < 0 || f >= maxSerial+1 || math.IsNaN(f) {
		return dst, false
	}
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	if secs >= 86400 {
		days++
		secs -= 86400
	}
	if nf.hasDate || !nf.hasTime {
		var t time.Time
		switch d := int(days); {
		case date1904:
			t = epoch1904.AddDate(0, 0, d)
		case d == 60:
			// Excel's 1900-02-29, kept for Lotus 1-2-3's sake.
			dst = append(dst, "1900-02-29"...)
		case d == 0:
			// A time alone under a date format: Excel's "day zero".
			dst = append(dst, "1900-01-00"...)
		case d < 60:
			t = epoch1900.AddDate(0, 0, d+1)
		default:
			t = epoch1900.AddDate(0, 0, d)
		}
		if !t.IsZero() {
			dst = t.AppendFormat(dst, "2006-01-02")
		}
		if !nf.hasTime {
			return dst, true
		}
		dst = append(dst, ' ')
	}
	s := int(secs)
	h := s / 3600
	if nf.elapsed && !nf.hasDate {
		h += int(days) * 24
	}
	dst = appendPad2(dst, h)
	dst = append(dst, ':')
	dst = appendPad2(dst, s/60%60)
	dst = append(dst, ':')
	return appendPad2(dst, s%60), true
}

func appendPad2(dst []byte, n int) []byte {
	if n < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, int64(n), 10)
}

// isoDate reads the value of a t="d" cell (an ISO 8601 date, time or both)
// and appends it in the reader's form.
func appendISODate(dst, v []byte) ([]byte, bool) {
	s := strings.TrimSpace(bstr(v))
	for _, layout := range []string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02",
	} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.Round(time.Second)
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			return t.AppendFormat(dst, "2006-01-02"), true
		}
		return t.AppendFormat(dst, "2006-01-02 15:04:05"), true
	}
	if t, err := time.Parse("15:04:05.999999999", s); err == nil {
		return t.Round(time.Second).AppendFormat(dst, "15:04:05"), true
	}
	return dst, false
}

// unescapeBstr undoes the _xHHHH_ escapes of ECMA-376's ST_Xstring the
// way excelize does (bstrUnmarshal): _x005F_ is a literal '_', any other
// four hex digits are the UTF-16 code unit they name (a lone surrogate
// vanishes). The result is appended to dst.
func unescapeBstr(dst, s []byte) []byte {
	for {
		i := indexBstr(s)
		if i < 0 {
			return append(dst, s...)
		}
		dst = append(dst, s[:i]...)
		var r rune
		for _, c := range s[i+2 : i+6] {
			r = r<<4 | rune(unhex(c))
		}
		switch {
		case r == 0x5F:
			dst = append(dst, '_')
		case r >= 0xD800 && r <= 0xDFFF:
		default:
			dst = appendRune(dst, r)
		}
		s = s[i+7:]
	}
}

func appendRune(dst []byte, r rune) []byte {
	return append(dst, string(r)...)
}

// indexBstr finds the next _xHHHH_ in s.
func indexBstr(s []byte) int {
	off := 0
	for {
		i := strings.Index(bstr(s[off:]), "_x")
		if i < 0 {
			return -1
		}
		i += off
		if i+7 <= len(s) && s[i+6] == '_' && isHex(s[i+2]) && isHex(s[i+3]) && isHex(s[i+4]) && isHex(s[i+5]) {
			return i
		}
		off = i + 1
	}
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
