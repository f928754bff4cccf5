package finnish

import (
	"errors"
	"testing"
)

func TestParsePostalCode(t *testing.T) {
	t.Parallel()

	tests := []struct {
		country string
		give    string
		want    string
		wantErr error
	}{
		{country: "FI", give: "00100", want: "00100"},
		{country: "FI", give: " 00100 ", want: "00100"},
		{country: "FI", give: "FI-00100", want: "00100"},
		{country: "FI", give: "fi-00100", want: "00100"},
		{country: "FI", give: "99999", want: "99999"},
		{country: "FI", give: "22100", want: "22100"}, // Åland codes are Finnish codes too
		{country: "fi", give: "00100", want: "00100"},
		{country: "FI", give: "100", wantErr: errPostalFI},
		{country: "FI", give: "2210", wantErr: errPostalFI},
		{country: "FI", give: "001000", wantErr: errPostalFI},
		{country: "FI", give: "0010A", wantErr: errPostalFI},
		{country: "FI", give: "00 100", wantErr: errPostalFI},
		{country: "FI", give: "FI 00100", wantErr: errPostalFI},
		{country: "FI", give: "AX-22100", wantErr: errPostalFI},
		{country: "FI", give: "", wantErr: errPostalFI},

		{country: "AX", give: "AX-22100", want: "22100"},
		{country: "AX", give: "ax-22100", want: "22100"},
		{country: "AX", give: "22100", want: "22100"},
		{country: "AX", give: "22999", want: "22999"},
		{country: "AX", give: "2210", wantErr: errPostalAX},
		{country: "AX", give: "AX-2210", wantErr: errPostalAX},
		{country: "AX", give: "23100", wantErr: errPostalAX},
		{country: "AX", give: "00100", wantErr: errPostalAX},
		{country: "AX", give: "FI-22100", wantErr: errPostalAX},

		{country: "SE", give: "114 55", want: "114 55"},
		{country: "GB", give: " SW1A 1AA ", want: "SW1A 1AA"},
		{country: "DE", give: "10115", want: "10115"},
		{country: "LV", give: "LV-1050", want: "LV-1050"},
		{country: "EE", give: "1", want: "1"},
		{country: "US", give: "12345-6789", want: "12345-6789"},
		{country: "SE", give: "", wantErr: errPostalOther},
		{country: "SE", give: "-", wantErr: errPostalOther},
		{country: "SE", give: "1234567890123", wantErr: errPostalOther},
		{country: "SE", give: "12_34", wantErr: errPostalOther},
		{country: "SE", give: "11455ö", wantErr: errPostalOther},
	}

	for _, tt := range tests {
		t.Run(tt.country+"/"+tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParsePostalCode(tt.country, tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParsePostalCode(%q, %q) = %q, %v; want %q, %v",
					tt.country, tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
