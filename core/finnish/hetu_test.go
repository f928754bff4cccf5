package finnish

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// hetuNow is the clock of the identity-code tests: every valid test vector
// was born before it.
var hetuNow = time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)

func TestParseHETU(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		// C.1.6 valid, normal range; the pair differing only in the sign
		// stays two different canonical strings.
		{give: "131052-308T", want: "131052-308T"},
		{give: "100190-999P", want: "100190-999P"},
		{give: "100190Y999P", want: "100190Y999P"},
		// C.1.6 DVV fictitious test persons (temporary numbers 9xx).
		{give: "010594Y9032", want: "010594Y9032"},
		{give: "010594Y9021", want: "010594Y9021"},
		{give: "020594X903P", want: "020594X903P"},
		{give: "020594X902N", want: "020594X902N"},
		{give: "030594W903B", want: "030594W903B"},
		{give: "030694W9024", want: "030694W9024"},
		{give: "040594V9030", want: "040594V9030"},
		{give: "040594V902Y", want: "040594V902Y"},
		{give: "050594U903M", want: "050594U903M"},
		{give: "050594U902L", want: "050594U902L"},
		{give: "311280-999J", want: "311280-999J"},
		{give: "010516B903X", want: "010516B903X"},
		{give: "010516B902W", want: "010516B902W"},
		{give: "020516C903K", want: "020516C903K"},
		{give: "020516C902J", want: "020516C902J"},
		{give: "030516D9037", want: "030516D9037"},
		{give: "030516D9026", want: "030516D9026"},
		{give: "010501E9032", want: "010501E9032"},
		{give: "020502E902X", want: "020502E902X"},
		{give: "020503F9037", want: "020503F9037"},
		{give: "020504A902E", want: "020504A902E"},
		{give: "020504B904H", want: "020504B904H"},
		// Computed: boundaries of the individual number, the 1800s, leap days.
		{give: "010190-002R", want: "010190-002R"},
		{give: "311299-8997", want: "311299-8997"},
		{give: "010150+002D", want: "010150+002D"},
		{give: "290200A002C", want: "290200A002C"}, // 2000 is a leap year
		{give: "290296-1232", want: "290296-1232"}, // 1996 is a leap year
		// Normalisation: trimmed, upper-cased, sign kept.
		{give: "131052-308t", want: "131052-308T"},
		{give: " 010594y9032\t", want: "010594Y9032"},
		{give: "020516c903k", want: "020516C903K"},

		// C.1.6 negatives.
		{give: "131052-308U", wantErr: errHETUCheck},
		{give: "310252-308Y", wantErr: errHETUDate},
		{give: "010190-999K", wantErr: errHETUCheck},
		{give: "010190Y999K", wantErr: errHETUCheck},
		// Individual numbers 000 and 001 with their correct check characters.
		{give: "010190-000N", wantErr: errHETUNumUnused},
		{give: "010190-001P", wantErr: errHETUNumUnused},
		// 29 February outside leap years (1900 is not one), bad months/days.
		{give: "290200-002C", wantErr: errHETUDate},
		{give: "290297-123A", wantErr: errHETUDate},
		{give: "290201A123J", wantErr: errHETUDate},
		{give: "011352-3080", wantErr: errHETUDate},
		{give: "001052-3080", wantErr: errHETUDate},
		{give: "310452-3080", wantErr: errHETUDate},
		// Wrong length.
		{give: "", wantErr: errHETULength},
		{give: "131052-308", wantErr: errHETULength},
		{give: "131052-308TT", wantErr: errHETULength},
		{give: "1310523308T", wantErr: errHETUSign},
		{give: "131052-308ſ", wantErr: errHETULength}, // non-ASCII look-alike of S
		// Letters where digits belong.
		{give: "13105A-308T", wantErr: errHETUDateDigits},
		{give: "131052-3O8T", wantErr: errHETUNumDigits},
		// Invalid century signs and check characters.
		{give: "131052G308T", wantErr: errHETUSign},
		{give: "131052Z308T", wantErr: errHETUSign},
		{give: "131052 308T", wantErr: errHETUSign},
		{give: "131052-308G", wantErr: errHETUCheckChar},
		{give: "131052-308I", wantErr: errHETUCheckChar},
		{give: "131052-308O", wantErr: errHETUCheckChar},
		{give: "131052-308Q", wantErr: errHETUCheckChar},
		{give: "131052-308Z", wantErr: errHETUCheckChar},
		{give: "131052-308-", wantErr: errHETUCheckChar},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseHETU(tt.give, hetuNow)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseHETU(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestParseHETUFuture: a code whose birth date is after today, in Finnish
// time, is not a real person's code.
func TestParseHETUFuture(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		give    string
		now     time.Time
		want    string
		wantErr error
	}{
		{name: "2099", give: "010199A234J", now: hetuNow, wantErr: errHETUFuture},
		{name: "2050", give: "010150F236Y", now: hetuNow, wantErr: errHETUFuture},
		{name: "31.12.2099", give: "311299A0029", now: hetuNow, wantErr: errHETUFuture},
		{name: "next year", give: "010126A0027", now: hetuNow, wantErr: errHETUFuture},
		{name: "born today", give: "140325A002Y", now: hetuNow, want: "140325A002Y"},
		{name: "temporary number born today", give: "140325B9031", now: hetuNow, want: "140325B9031"},
		{name: "born tomorrow", give: "150325A002L", now: hetuNow, wantErr: errHETUFuture},
		// 22:30 UTC on 14 March is 00:30 on the 15th in Helsinki (UTC+2).
		{name: "born after midnight in Helsinki, UTC still the day before", give: "150325A002L",
			now: time.Date(2025, 3, 14, 22, 30, 0, 0, time.UTC), want: "150325A002L"},
		{name: "one second before midnight in Helsinki", give: "150325A002L",
			now: time.Date(2025, 3, 14, 21, 59, 59, 0, time.UTC), wantErr: errHETUFuture},
		// Summer time: 21:00 UTC on 30 June is 00:00 on 1 July (UTC+3).
		{name: "summer midnight", give: "010725A002T",
			now: time.Date(2025, 6, 30, 21, 0, 0, 0, time.UTC), want: "010725A002T"},
		{name: "summer, one second before midnight", give: "010725A002T",
			now: time.Date(2025, 6, 30, 20, 59, 59, 0, time.UTC), wantErr: errHETUFuture},
		{name: "the zone of now does not matter", give: "150325A002L",
			now: time.Date(2025, 3, 14, 17, 30, 0, 0, time.FixedZone("EST", -5*3600)), want: "150325A002L"},
		{name: "no clock", give: "131052-308T", now: time.Time{}, wantErr: errHETUFuture},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got, err := ParseHETU(tt.give, tt.now)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseHETU(%q, %s) = %q, %v; want %q, %v", tt.give, tt.now, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseHETUSignIsIdentity(t *testing.T) {
	t.Parallel()

	a, errA := ParseHETU("100190-999P", hetuNow)
	b, errB := ParseHETU("100190Y999P", hetuNow)
	if errA != nil || errB != nil || a == b {
		t.Errorf("got %q, %v and %q, %v; want two different valid codes", a, errA, b, errB)
	}
}

// TestHETUErrorTexts pins the messages other layers show to users.
func TestHETUErrorTexts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give error
		want string
	}{
		{give: errHETULength, want: "must be 11 characters: DDMMYY, century sign, individual number and check character"},
		{give: errHETUDate, want: "birth date is not a real date"},
		{give: errHETUNumUnused, want: "individual number 000 and 001 are not used"},
		{give: errHETUCheck, want: "check character does not match"},
	}

	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()

			if got := tt.give.Error(); got != tt.want {
				t.Errorf("error text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHETUBirthDate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give                         string
		wantYear, wantMonth, wantDay int
	}{
		{give: "131052-308T", wantYear: 1952, wantMonth: 10, wantDay: 13},
		{give: "100190Y999P", wantYear: 1990, wantMonth: 1, wantDay: 10},
		{give: "020516C903K", wantYear: 2016, wantMonth: 5, wantDay: 2},
		{give: "290200A002C", wantYear: 2000, wantMonth: 2, wantDay: 29},
		{give: "010150+002D", wantYear: 1850, wantMonth: 1, wantDay: 1},
		// Not a valid code: zeros, no panic.
		{give: ""},
		{give: "131052G308T"},
		{give: "1310x2-308T"},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			y, m, d := HETUBirthDate(tt.give)
			if y != tt.wantYear || m != tt.wantMonth || d != tt.wantDay {
				t.Errorf("HETUBirthDate(%q) = %d-%d-%d, want %d-%d-%d",
					tt.give, y, m, d, tt.wantYear, tt.wantMonth, tt.wantDay)
			}
		})
	}
}

// hetuErrors is every error ParseHETU may return. Their texts are fixed, so
// they cannot carry the input.
var hetuErrors = []error{
	errHETULength, errHETUDateDigits, errHETUSign, errHETUNumDigits,
	errHETUCheckChar, errHETUDate, errHETUNumUnused, errHETUCheck, errHETUFuture,
}

func isHETUError(err error) bool {
	for _, e := range hetuErrors {
		if err == e {
			return true
		}
	}
	return false
}

func FuzzParseHETU(f *testing.F) {
	for _, s := range []string{
		"131052-308T", "100190-999P", "100190Y999P", "010594Y9032", "020516C903K",
		"311280-999J", "010150+002D", "290200A002C", "290200-002C", "010190-000N",
		"131052-308U", "310252-308Y", "010190Y999K", "131052G308T", "131052-308t",
		" 131052-308T ", "", "131052-308ſ", "\xff\xfe",
		"010199A234J", "010150F236Y", "140325A002Y", "150325A002L",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseHETU(s, hetuNow)
		if err != nil {
			if !isHETUError(err) {
				t.Fatalf("unexpected error %v", err)
			}
			// An input shaped like a code must never show up in the text.
			trimmed := strings.TrimSpace(s)
			if len(trimmed) == 11 && (strings.Contains(err.Error(), trimmed) ||
				strings.Contains(err.Error(), upperASCII(trimmed))) {
				t.Fatalf("error %q contains the input", err)
			}
			return
		}
		again, err := ParseHETU(got, hetuNow)
		if err != nil || again != got {
			t.Fatalf("ParseHETU(%q) = %q, %v; not idempotent", got, again, err)
		}
		y, m, d := HETUBirthDate(got)
		if y < 1800 || y > 2099 || m < 1 || m > 12 || d < 1 || d > 31 {
			t.Fatalf("HETUBirthDate(%q) = %d-%d-%d", got, y, m, d)
		}
		// Never born after today, in Finland.
		if born := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); born.After(time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("ParseHETU(%q) accepted a birth date after %s", got, hetuNow)
		}
	})
}
