package finnish

import (
	"testing"
	"time"
	_ "time/tzdata" // the reference for the test only; the package itself needs no tz database
)

func TestFinnishDate(t *testing.T) {
	t.Parallel()

	tests := []struct {
		give string
		want string
	}{
		{give: "2025-03-14T21:59:59Z", want: "2025-03-14"},
		{give: "2025-03-14T22:00:00Z", want: "2025-03-15"},
		// Summer time from 01:00 UTC on 30 March 2025.
		{give: "2025-03-30T00:59:59Z", want: "2025-03-30"},
		{give: "2025-06-30T20:59:59Z", want: "2025-06-30"},
		{give: "2025-06-30T21:00:00Z", want: "2025-07-01"},
		// Winter time again from 01:00 UTC on 26 October 2025.
		{give: "2025-10-25T20:59:59Z", want: "2025-10-25"},
		{give: "2025-10-25T21:00:00Z", want: "2025-10-26"},
		{give: "2025-12-31T21:59:59Z", want: "2025-12-31"},
		{give: "2025-12-31T22:00:00Z", want: "2026-01-01"},
		{give: "2025-12-31T23:00:00-05:00", want: "2026-01-01"},
		{give: "2024-02-28T22:00:00Z", want: "2024-02-29"},
	}

	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()

			at, err := time.Parse(time.RFC3339, tt.give)
			if err != nil {
				t.Fatal(err)
			}
			y, m, d := FinnishDate(at)
			if got := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format(time.DateOnly); got != tt.want {
				t.Errorf("FinnishDate(%s) = %s, want %s", tt.give, got, tt.want)
			}
		})
	}
}

// TestFinnishDateMatchesTZDatabase compares the written-out rule with the tz
// database's Europe/Helsinki at every hour boundary, and one second before
// it, from 1996 to 2040.
func TestFinnishDateMatchesTZDatabase(t *testing.T) {
	t.Parallel()

	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	for at := time.Date(1996, 1, 1, 0, 0, 0, 0, time.UTC); at.Before(end); at = at.Add(time.Hour) {
		for _, u := range []time.Time{at.Add(-time.Second), at} {
			wy, wm, wd := u.In(helsinki).Date()
			if y, m, d := FinnishDate(u); y != wy || m != wm || d != wd {
				t.Fatalf("FinnishDate(%s) = %d-%02d-%02d; Europe/Helsinki says %d-%02d-%02d", u, y, m, d, wy, wm, wd)
			}
		}
	}
}
