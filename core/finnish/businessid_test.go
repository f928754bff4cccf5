package finnish

import (
	"errors"
	"strings"
	"testing"
)

func TestParseBusinessID(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		// C.2.4 valid.
		{give: "2077474-0", want: "2077474-0"},
		{give: "0490484-0", want: "0490484-0"},
		{give: "2332748-7", want: "2332748-7"},
		{give: "1967543-8", want: "1967543-8"},
		{give: "2721922-1", want: "2721922-1"},
		{give: "3291802-7", want: "3291802-7"},
		{give: "3615084-4", want: "3615084-4"},
		{give: "2291638-6", want: "2291638-6"},
		{give: "1234567-1", want: "1234567-1"},
		{give: "0201124-8", want: "0201124-8"},
		{give: "2082259-7", want: "2082259-7"},
		{give: "0737546-2", want: "0737546-2"},
		// Accepted input forms.
		{give: "FI20774740", want: "2077474-0"},
		{give: "fi20774740", want: "2077474-0"},
		{give: "Fi 2077474-0", want: "2077474-0"},
		{give: "2077474 0", want: "2077474-0"},
		{give: "2077474 - 0", want: "2077474-0"},
		{give: "20774740", want: "2077474-0"},
		{give: " 2077474-0 ", want: "2077474-0"},
		{give: "490484-0", want: "0490484-0"},
		{give: "490484 0", want: "0490484-0"},
		{give: "FI04904840", want: "0490484-0"},
		{give: "FI 490484-0", want: "0490484-0"},

		// C.2.4 invalid: wrong check digit.
		{give: "2069746-9", wantErr: errBusinessIDCheck},
		{give: "1478523-8", wantErr: errBusinessIDCheck},
		{give: "1234567-8", wantErr: errBusinessIDCheck},
		{give: "2077474-1", wantErr: errBusinessIDCheck},
		{give: "FI20774741", wantErr: errBusinessIDCheck},
		// 1000008: 7·1 + 2·8 = 23, 23 mod 11 = 1: never issued, whatever the digit.
		{give: "1000008-0", wantErr: errBusinessIDNever},
		{give: "1000008-1", wantErr: errBusinessIDNever},
		{give: "1000008-9", wantErr: errBusinessIDNever},
		// Malformed.
		{give: "", wantErr: errBusinessIDFormat},
		{give: "FI", wantErr: errBusinessIDFormat},
		{give: "2077474-", wantErr: errBusinessIDFormat},
		{give: "2077474--0", wantErr: errBusinessIDFormat},
		{give: "207747-40", wantErr: errBusinessIDFormat},
		{give: "12-345678", wantErr: errBusinessIDFormat},
		{give: "207747400", wantErr: errBusinessIDFormat},
		{give: "20774-0", wantErr: errBusinessIDFormat},
		{give: "A077474-0", wantErr: errBusinessIDFormat},
		{give: "2077474-0X", wantErr: errBusinessIDFormat},
		{give: "2077474-X", wantErr: errBusinessIDFormat},
		{give: "FI-2077474-0", wantErr: errBusinessIDFormat},
		{give: "SE20774740", wantErr: errBusinessIDFormat},
		// Seven digits with no separator: a current ID with its check digit
		// cut off is not read as an old one with its zero dropped
		// (2077474 would become 0207747-4, another company).
		{give: "2077474", wantErr: errBusinessIDFormat},
		{give: "FI2077474", wantErr: errBusinessIDFormat},
		{give: "fi 2077474", wantErr: errBusinessIDFormat},
		{give: " 2077474 ", wantErr: errBusinessIDFormat},
		{give: "4904840", wantErr: errBusinessIDFormat},
		{give: "490484", wantErr: errBusinessIDFormat},
		{give: "２077474-0", wantErr: errBusinessIDFormat}, // full-width digit
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseBusinessID(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseBusinessID(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseVATNumber(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		{give: "FI20774740", want: "FI20774740"},
		{give: "fi20774740", want: "FI20774740"},
		{give: "FI 2077474-0", want: "FI20774740"},
		{give: "FI2077474-0", want: "FI20774740"},
		{give: "FI 20774740", want: "FI20774740"},
		{give: " FI04904840 ", want: "FI04904840"},
		{give: "FI23327487", want: "FI23327487"},

		{give: "20774740", wantErr: errVATFormat},
		{give: "2077474-0", wantErr: errVATFormat},
		{give: "SE20774740", wantErr: errVATFormat},
		{give: "FI2077474", wantErr: errVATFormat},
		{give: "FI 2077474", wantErr: errVATFormat},
		{give: "fi2077474", wantErr: errVATFormat},
		{give: "FI4904840", wantErr: errVATFormat},
		{give: "FI 490484-0", wantErr: errVATFormat},
		{give: "FI207747401", wantErr: errVATFormat},
		{give: "FI", wantErr: errVATFormat},
		{give: "", wantErr: errVATFormat},
		{give: "FI20774741", wantErr: errBusinessIDCheck},
		{give: "FI12345678", wantErr: errBusinessIDCheck},
		{give: "FI10000080", wantErr: errBusinessIDNever},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseVATNumber(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseVATNumber(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestVATNumberFor(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give string
		want string
	}{
		{give: "2077474-0", want: "FI20774740"},
		{give: "0490484-0", want: "FI04904840"},
		{give: "2332748-7", want: "FI23327487"},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			if got := VATNumberFor(tt.give); got != tt.want {
				t.Errorf("VATNumberFor(%q) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

func FuzzParseBusinessID(f *testing.F) {
	for _, s := range []string{
		"2077474-0", "0490484-0", "2332748-7", "1234567-1", "FI20774740", "fi 2077474-0",
		"2077474 0", "20774740", "490484-0", "4904840", "2069746-9", "1000008-0",
		"2077474--0", "12-345678", "", "FI", "\xff",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseBusinessID(s)
		if err != nil {
			return
		}
		// The check digit is always given: eight digits, or a separator
		// before the last one. No digit is ever made up but a leading zero
		// before six.
		bare := strings.TrimSpace(s)
		if hasPrefixFold(bare, "FI") {
			bare = strings.TrimLeft(bare[2:], " ")
		}
		if allDigits(bare) && len(bare) != 8 {
			t.Fatalf("ParseBusinessID(%q) = %q; only eight bare digits carry their check digit", s, got)
		}
		again, err := ParseBusinessID(got)
		if err != nil || again != got {
			t.Fatalf("ParseBusinessID(%q) = %q, %v; not idempotent", got, again, err)
		}
		vat := VATNumberFor(got)
		if v, err := ParseVATNumber(vat); err != nil || v != vat {
			t.Fatalf("ParseVATNumber(%q) = %q, %v", vat, v, err)
		}
		if b, err := ParseBusinessID(vat); err != nil || b != got {
			t.Fatalf("ParseBusinessID(%q) = %q, %v; want %q", vat, b, err, got)
		}
	})
}
