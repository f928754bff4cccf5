package finnish

import (
	"errors"
	"strings"
)

var (
	errCountryFormat   = errors.New("must be a two-letter ISO 3166-1 alpha-2 country code")
	errCountryAssigned = errors.New("is not an assigned ISO 3166-1 alpha-2 country code")
)

// countryCodes holds the 249 officially assigned ISO 3166-1 alpha-2 codes
// (ISO/TC 46 N1108, 2023-04-05), space-separated and sorted. Reserved codes
// (UK, EL, EU, …) and user-assigned ones (XK and the rest of X*, AA, QM–QZ,
// ZZ) are not assigned and are not in it.
const countryCodes = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE " +
	"BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD " +
	"CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM " +
	"DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF " +
	"GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN " +
	"KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME " +
	"MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA " +
	"NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM " +
	"PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI " +
	"SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK " +
	"TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI " +
	"VN VU WF WS YE YT ZA ZM ZW"

// countries is countryCodes as a set.
var countries = func() map[string]struct{} {
	m := make(map[string]struct{}, 249)
	for _, c := range strings.Fields(countryCodes) {
		m[c] = struct{}{}
	}
	return m
}()

// ParseCountry trims and upper-cases s and returns it if it is an assigned
// ISO 3166-1 alpha-2 code: "fi" gives "FI"; "AX" (Åland) is a code of its
// own; "XX" and "UK" are rejected.
func ParseCountry(s string) (string, error) {
	s = upperASCII(strings.TrimSpace(s))
	if len(s) != 2 || !isUpper(s[0]) || !isUpper(s[1]) {
		return "", errCountryFormat
	}
	if _, ok := countries[s]; !ok {
		return "", errCountryAssigned
	}
	return s, nil
}
