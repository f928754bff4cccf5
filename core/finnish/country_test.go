package finnish

import (
	"errors"
	"testing"
)

func TestParseCountry(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give    string
		want    string
		wantErr error
	}{
		{give: "FI", want: "FI"},
		{give: "fi", want: "FI"},
		{give: " Fi ", want: "FI"},
		{give: "AX", want: "AX"},
		{give: "SE", want: "SE"},
		{give: "EE", want: "EE"},
		{give: "NO", want: "NO"},
		{give: "GB", want: "GB"},
		{give: "AD", want: "AD"},
		{give: "ZW", want: "ZW"},
		{give: "BQ", want: "BQ"},
		{give: "SS", want: "SS"},
		{give: "XX", wantErr: errCountryAssigned},
		{give: "UK", wantErr: errCountryAssigned},
		{give: "EL", wantErr: errCountryAssigned},
		{give: "EU", wantErr: errCountryAssigned},
		{give: "XK", wantErr: errCountryAssigned},
		{give: "AN", wantErr: errCountryAssigned},
		{give: "", wantErr: errCountryFormat},
		{give: "F", wantErr: errCountryFormat},
		{give: "FIN", wantErr: errCountryFormat},
		{give: "F1", wantErr: errCountryFormat},
		{give: "F I", wantErr: errCountryFormat},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			got, err := ParseCountry(tt.give)
			if got != tt.want || !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseCountry(%q) = %q, %v; want %q, %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCountryCount(t *testing.T) {
	t.Parallel()

	if got := len(countries); got != 249 {
		t.Errorf("len(countries) = %d, want the 249 assigned ISO 3166-1 alpha-2 codes", got)
	}
}
