package maestro

import (
	"errors"
	"strings"
	"time"
)

// errUpdatedAt says which forms an update time may take.
var errUpdatedAt = errors.New("must be a date and time: RFC 3339 (2024-03-01T12:00:00+02:00), or in Finnish time 2024-03-01 12:00, 1.3.2024 12.00 or 1.3.2024")

// localLayouts are the forms of an update time without a zone, read as
// Finnish time: ISO 8601 and the Finnish way (day.month.year, hours and
// minutes with a dot or a colon). Seconds may have a fraction.
var localLayouts = []string{
	"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02",
	"2.1.2006 15.04.05", "2.1.2006 15:04:05", "2.1.2006 15.04", "2.1.2006 15:04", "2.1.2006",
}

// parseUpdatedAt reads a row's update time: RFC 3339 with its offset (also
// with a space for the T), or one of localLayouts in Finnish civil time
// ("klo" between the date and the time is allowed, as Finns write it).
func parseUpdatedAt(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if len(s) > 10 && s[10] == ' ' {
		if t, err := time.Parse(time.RFC3339Nano, s[:10]+"T"+s[11:]); err == nil {
			return t.UTC(), nil
		}
	}
	s = strings.Replace(s, " klo ", " ", 1)
	for _, l := range localLayouts {
		if wall, err := time.Parse(l, s); err == nil {
			return fromFinnishTime(wall), nil
		}
	}
	return time.Time{}, errUpdatedAt
}

// fromFinnishTime is the instant whose Finnish civil time is the wall
// clock wall (given as UTC): EET, UTC+2, and EEST, UTC+3, from 01:00 UTC on
// the last Sunday of March to 01:00 UTC on the last Sunday of October, the
// EU rule core/finnish writes out for the same reasons (no dependence on
// the machine's tz database). In the hour the clocks go back, which
// happens twice, it is the first (summer time); in the hour that does not
// exist in spring, the winter reading.
func fromFinnishTime(wall time.Time) time.Time {
	if u := wall.Add(-3 * time.Hour); summerTime(u) {
		return u
	}
	return wall.Add(-2 * time.Hour)
}

// summerTime reports whether Finland keeps summer time at the instant u.
func summerTime(u time.Time) bool {
	y := u.Year()
	return !u.Before(lastSunday(y, time.March).Add(time.Hour)) && u.Before(lastSunday(y, time.October).Add(time.Hour))
}

// lastSunday is midnight UTC of the last Sunday of month m of year y.
func lastSunday(y int, m time.Month) time.Time {
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC)
	return last.AddDate(0, 0, -int(last.Weekday()))
}
