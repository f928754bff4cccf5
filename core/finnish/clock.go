package finnish

import "time"

// FinnishDate returns the calendar date of the instant t in Finnish civil
// time: Eastern European Time, UTC+2, and Eastern European Summer Time,
// UTC+3, from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
// Sunday of October (the EU summer-time rule, Directive 2000/84/EC, which
// Finland has followed since 1996).
//
// The rule is written out rather than read from the tz database
// (Europe/Helsinki), so that the core gives the same answer on every machine
// and cannot fail on a missing or stale zoneinfo; a test checks it against
// the tz database hour by hour. Should Finland stop changing its clocks, this
// function changes with it.
func FinnishDate(t time.Time) (year int, month time.Month, day int) {
	u := t.UTC()
	offset := 2 * time.Hour
	if y := u.Year(); !u.Before(summerTimeStart(y)) && u.Before(summerTimeEnd(y)) {
		offset = 3 * time.Hour
	}
	return u.Add(offset).Date()
}

// summerTimeStart is 01:00 UTC on the last Sunday of March of year y.
func summerTimeStart(y int) time.Time { return lastSunday(y, time.March).Add(time.Hour) }

// summerTimeEnd is 01:00 UTC on the last Sunday of October of year y.
func summerTimeEnd(y int) time.Time { return lastSunday(y, time.October).Add(time.Hour) }

// lastSunday is midnight UTC of the last Sunday of month m of year y.
func lastSunday(y int, m time.Month) time.Time {
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC) // day 0 of the next month
	return last.AddDate(0, 0, -int(last.Weekday()))
}
