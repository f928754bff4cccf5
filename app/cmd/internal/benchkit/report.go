package benchkit

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Findings are what a run found besides its figures: its checks (what
// must hold whatever the figures), its errors and its notes.
type Findings struct {
	Checks []Check
	Errors []string
	Notes  []string
}

// Check is one check of a run.
type Check struct {
	Name, Detail string
	OK           bool
}

// Check records a check, and logs it at once when it failed.
func (f *Findings) Check(name string, ok bool, detail string) {
	f.Checks = append(f.Checks, Check{Name: name, OK: ok, Detail: detail})
	if !ok {
		Logf("CHECK FAILED: %s: %s", name, detail)
	}
}

// Errorf records a problem that kept something from being measured.
func (f *Findings) Errorf(format string, args ...any) {
	f.Errors = append(f.Errors, fmt.Sprintf(format, args...))
}

// Notef records a note for the report.
func (f *Findings) Notef(format string, args ...any) {
	f.Notes = append(f.Notes, fmt.Sprintf(format, args...))
}

// Target is a figure the issue sets a target for, beside its floor.
type Target struct {
	Name, Limit, Measured, Floor, Ratio string
	OK                                  bool
}

// Missed counts the targets missed.
func Missed(ts []Target) int {
	n := 0
	for _, t := range ts {
		if !t.OK {
			n++
		}
	}
	return n
}

// WriteTargets writes the report's table of targets under ratioHeading
// (the column of measured against floor), a target missed marked miss, or
// a line that says none was measured.
func WriteTargets(w io.Writer, ts []Target, ratioHeading, miss string) {
	fmt.Fprint(w, "## Targets\n\n")
	if len(ts) == 0 {
		fmt.Fprint(w, "No target was measured in this run.\n\n")
		return
	}
	fmt.Fprintf(w, "| figure | target | measured | floor | %s | |\n", ratioHeading)
	fmt.Fprint(w, "| --- | --- | --- | --- | --- | --- |\n")
	for _, t := range ts {
		result := "pass"
		if !t.OK {
			result = miss
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", t.Name, t.Limit, t.Measured, t.Floor, t.Ratio, result)
	}
	fmt.Fprint(w, "\n")
}

// OrUnknown is s, or "?" when it is empty.
func OrUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// Thousands formats f rounded to a whole number with commas between the
// thousands: 1,234,567.
func Thousands(f float64) string {
	s := strconv.FormatFloat(f, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
