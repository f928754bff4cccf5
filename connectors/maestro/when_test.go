package maestro

import (
	"testing"
	"time"
	_ "time/tzdata" // the reference for the test only; the package needs no tz database
)

// TestFinnishTimeMatchesTZDatabase reads every wall-clock hour and half hour
// from 2000 to 2040 as Finnish time and compares the instant with the tz
// database's Europe/Helsinki. Europe/Helsinki gives the later instant for
// the hour that comes twice in autumn and shifts the hour that does not
// exist in spring, where the connector's own choice (the first instant;
// the winter reading) is checked instead.
func TestFinnishTimeMatchesTZDatabase(t *testing.T) {
	t.Parallel()
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC)
	for wall := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC); wall.Before(end); wall = wall.Add(30 * time.Minute) {
		got := fromFinnishTime(wall)
		y, mo, d := wall.Date()
		h, mi, s := wall.Clock()
		want := time.Date(y, mo, d, h, mi, s, 0, helsinki)
		if want.Hour() != h { // the hour of spring that does not exist
			if got != wall.Add(-2*time.Hour) {
				t.Fatalf("%s (no such Finnish time): %s, want the winter reading", wall.Format(time.DateTime), got)
			}
			continue
		}
		if twice := want.Add(-time.Hour); twice.In(helsinki).Hour() == h && twice.In(helsinki).Minute() == mi {
			want = twice // the hour that comes twice: the first
		}
		if !got.Equal(want) {
			t.Fatalf("%s Finnish time: %s, Europe/Helsinki says %s", wall.Format(time.DateTime), got, want.UTC())
		}
	}
}
