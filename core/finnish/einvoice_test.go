package finnish

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEInvoiceAddress(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		// OVT codes (C.3.1): Apix, with a numeric and an alphanumeric suffix.
		{give: "003723327487", want: "003723327487"},
		{give: "00372332748700001", want: "00372332748700001"},
		{give: "0037233274871a", want: "0037233274871a"},
		{give: "0037 2332 7487", want: "003723327487"},
		{give: "003720774740", want: "003720774740"},
		{give: "003704904840", want: "003704904840"},
		// The invoicenavigator example embeds 2069746-9, whose check digit is wrong.
		{give: "00372069746900001", wantErr: errOVTCheck},
		{give: "003720774741", wantErr: errOVTCheck},
		{give: "003710000080", wantErr: errOVTCheck},
		{give: "003723327487000001", wantErr: errOVTFormat},
		{give: "0037ABCDEFGH", wantErr: errOVTFormat},
		{give: "0037233274A7", wantErr: errOVTFormat},
		{give: "0037233274870000000001", wantErr: errOVTFormat},
		// IBANs (C.3.2).
		{give: "FI2112345600000785", want: "FI2112345600000785"},
		{give: "FI49 5000 9420 0287 30", want: "FI4950009420028730"},
		{give: "fi0799201901261467", want: "FI0799201901261467"},
		{give: "FI07\u00a09920\u00a01901\u00a02614\u00a067", want: "FI0799201901261467"},
		{give: "DE89 3704 0044 0532 0130 00", want: "DE89370400440532013000"},
		{give: "GB82WEST12345698765432", want: "GB82WEST12345698765432"},
		{give: "FI2112345600000786", wantErr: errIBANCheck},
		{give: "DE89370400440532013001", wantErr: errIBANCheck},
		{give: "FI211234560000078", wantErr: errIBANLengthFI},
		{give: "FI21123456000007850", wantErr: errIBANLengthFI},
		{give: "FI21123456000007.5", wantErr: errIBANChars},
		// Operator-specific addresses.
		{give: "TE123456789012345", want: "TE123456789012345"},
		{give: "0216:003712345678", want: "0216:003712345678"},
		{give: "abc", want: "abc"},
		{give: "invoices@example.fi", want: "invoices@example.fi"},
		{give: "ORG_unit-1.2", want: "ORG_unit-1.2"},
		{give: "0037123", want: "0037123"},
		{give: "20774740", want: "20774740"},
		{give: "", wantErr: errEInvoiceEmpty},
		{give: " \t ", wantErr: errEInvoiceEmpty},
		{give: "ab", wantErr: errEInvoiceFormat},
		{give: strings.Repeat("a", 36), wantErr: errEInvoiceFormat},
		{give: "foo/bar", wantErr: errEInvoiceFormat},
		{give: "laskutus#1", wantErr: errEInvoiceFormat},
		{give: "äöå", wantErr: errEInvoiceFormat},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseEInvoiceAddress(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseEInvoiceAddress(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseIntermediator(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		// Known IDs (C.3.3), matched ignoring case.
		{give: "NETBFI99", want: "NETBFI99"},
		{give: "netbfi99", want: "NETBFI99"},
		{give: "INEXCHANGE", want: "INEXCHANGE"},
		{give: "InExchange", want: "INEXCHANGE"},
		{give: "CREDIFLOW", want: "CREDIFLOW"},
		{give: "expsys", want: "EXPSYS"},
		{give: "E204503", want: "E204503"},
		{give: "e204503", want: "E204503"},
		{give: "PAGERO", want: "PAGERO"},
		{give: "Palette", want: "PALETTE"},
		{give: "003721291126", want: "003721291126"},
		{give: "003723327487", want: "003723327487"},
		{give: "885790000000418", want: "885790000000418"},
		{give: "00885060259470028", want: "00885060259470028"},
		{give: " DABAFIHH ", want: "DABAFIHH"},
		// Finnish bank BICs: only the listed intermediators, with or
		// without a branch code.
		{give: "NDEAFIHH", want: "NDEAFIHH"},
		{give: "ndea fi hh", want: "NDEAFIHH"},
		{give: "NDEAFIHHXXX", want: "NDEAFIHHXXX"},
		{give: "OKOYFIHH", want: "OKOYFIHH"},
		{give: "AABAFI22", want: "AABAFI22"},
		{give: "PSPBFIHH", wantErr: errBICFinnish},
		{give: "NDEAFIHX", wantErr: errBICFinnish},
		{give: "SWEDFIHH", wantErr: errBICFinnish},
		{give: "XXXXFIHH", wantErr: errBICFinnish},
		{give: "XXXXFIHHXXX", wantErr: errBICFinnish},
		// Foreign BICs: the country code must be assigned.
		{give: "ESSESESS", want: "ESSESESS"},
		{give: "DEUTDEFF500", want: "DEUTDEFF500"},
		{give: "XXXXXXXX", wantErr: errBICCountry},
		{give: "NONSENSE", wantErr: errBICCountry},
		{give: "ABCDEFGH", wantErr: errBICCountry},
		{give: "AAAAZZ11", wantErr: errBICCountry},
		{give: "DEUTUKFF", wantErr: errBICCountry}, // UK is reserved, GB is assigned
		{give: "DEUTXKFF", wantErr: errBICCountry},
		// 0037 operator codes not in the table.
		{give: "003720774740", want: "003720774740"},
		{give: "003720774741", wantErr: errOVTCheck},
		{give: "003710000080", wantErr: errOVTCheck},
		// Anything else.
		{give: "", wantErr: errEInvoiceEmpty},
		{give: "UNKNOWN", wantErr: errIntermediator},
		{give: "NDEAFIH", wantErr: errIntermediator},
		{give: "NDEAFIHHXX", wantErr: errIntermediator},
		{give: "1234FIHH", wantErr: errIntermediator},
		{give: "NDEA1IHH", wantErr: errIntermediator},
		{give: "0037233274870", wantErr: errIntermediator},
		{give: "00372332748", wantErr: errIntermediator},
		{give: "FI2112345600000785", wantErr: errIntermediator},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseIntermediator(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseIntermediator(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestIntermediatorName(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{give: "NETBFI99", want: "Visma Netvisor", wantOK: true},
		{give: "003721291126", want: "Maventa", wantOK: true},
		{give: "003723327487", want: "Apix Messaging Oy", wantOK: true},
		{give: "ndeafihh", want: "Nordea", wantOK: true},
		{give: "E204503", want: "OpusCapita Solutions Oy", wantOK: true},
		{give: "PSPBFIHH"},
		{give: "003720774740"},
		{give: ""},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, ok := IntermediatorName(tt.give)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("IntermediatorName(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestKnownIntermediators checks that every table entry parses to itself and
// that every 0037 entry carries a valid business ID.
func TestKnownIntermediators(t *testing.T) {
	t.Parallel()

	for id := range intermediators {
		t.Run(id, func(t *testing.T) {
			t.Parallel()

			got, err := ParseIntermediator(id)
			ovtErr := checkOVTOperator(id)
			if got != id || err != nil || ovtErr != nil {
				t.Errorf("ParseIntermediator(%q) = %q, %v; OVT check: %v", id, got, err, ovtErr)
			}
		})
	}
}

// checkOVTOperator verifies the business ID inside a 12-digit 0037 ID and
// accepts everything else.
func checkOVTOperator(id string) error {
	if len(id) != 12 || !strings.HasPrefix(id, "0037") {
		return nil
	}
	return checkBusinessID(id[4:])
}

func FuzzParseEInvoiceAddress(f *testing.F) {
	for _, s := range []string{
		"003723327487", "00372332748700001", "0037233274871a", "0037 2332 7487",
		"00372069746900001", "003723327487000001", "0037ABCDEFGH",
		"FI2112345600000785", "FI49 5000 9420 0287 30", "fi0799201901261467",
		"DE89370400440532013000", "FI2112345600000786", "FI211234560000078",
		"TE123456789012345", "0216:003712345678", "abc", "ab", "", "\u00a0", "\xff",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEInvoiceAddress(s)
		if err != nil {
			return
		}
		again, err := ParseEInvoiceAddress(got)
		if err != nil || again != got {
			t.Fatalf("ParseEInvoiceAddress(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}

func FuzzParseIntermediator(f *testing.F) {
	for _, s := range []string{
		"NETBFI99", "netbfi99", "INEXCHANGE", "E204503", "003721291126", "NDEAFIHHXXX",
		"ndea fi hh", "003720774741", "UNKNOWN", "", "\xff",
		"XXXXXXXX", "NONSENSE", "ABCDEFGH", "AAAAZZ11", "PSPBFIHH", "DEUTDEFF500",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseIntermediator(s)
		if err != nil {
			return
		}
		again, err := ParseIntermediator(got)
		if err != nil || again != got {
			t.Fatalf("ParseIntermediator(%q) = %q, %v; not idempotent", got, again, err)
		}
		// Whatever is not in the table: a BIC with a real country, and
		// a Finnish one only of a listed bank; or a 0037 operator code.
		if _, known := intermediators[got]; !known {
			switch {
			case isBIC(got):
				if _, ok := countries[got[4:6]]; !ok {
					t.Fatalf("ParseIntermediator(%q) = %q: BIC of no country", s, got)
				}
				if _, ok := intermediators[got[:8]]; got[4:6] == "FI" && !ok {
					t.Fatalf("ParseIntermediator(%q) = %q: unknown Finnish BIC", s, got)
				}
			case len(got) != 12 || got[:4] != "0037" || !allDigits(got):
				t.Fatalf("ParseIntermediator(%q) = %q: neither known, a BIC nor a 0037 code", s, got)
			}
		}
	})
}
