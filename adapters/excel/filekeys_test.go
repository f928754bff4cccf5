package excel

import (
	"testing"
)

// TestFileKeys: the second row with a number or email (by the key, so
// ignoring the email's case) is told the first's number, also when the
// first was done before a resume (rememberKeys), unless the mapper refused
// it; the first row, asked again (its batch prepared again), is told
// none.
func TestFileKeys(t *testing.T) {
	m, err := NewMapper(textRow(1, "number", "email", "firstName"))
	if err != nil {
		t.Fatal(err)
	}
	rows := []Row{
		textRow(2, "", "Kaksi@Example.fi", "A"),
		textRow(3, "10001", "yksi@example.fi", "B"),
		textRow(4, "", "kaksi@example.FI ", "C"),
		textRow(5, " 10001", "kolme@example.fi", "D"),
		textRow(6, "", "ei-osoite", "E"),
		textRow(7, "", "ei-osoite", "F"),
		textRow(8, "x", "nelja@example.fi", "G"), // refused by the mapper
		textRow(9, "", "nelja@example.fi", "H"),
	}
	run := &importRun{mapper: m, reason: -1, keys: newFileKeys()}
	// Resumed after row 5: rows 2 to 5 (and the refused row 8 for the
	// sake of the test) are only remembered.
	for _, r := range rows[:4] {
		run.rememberKeys(r)
	}
	run.rememberKeys(rows[6])
	for _, c := range []struct {
		key  string
		row  int
		want int
	}{
		{"email:kaksi@example.fi", 4, 2},
		{"email:kaksi@example.fi", 2, 0}, // the first row, asked again
		{"number:10001", 5, 3},
		{"email:yksi@example.fi", 3, 0},
		{"email:kolme@example.fi", 5, 0},
		{"email:nelja@example.fi", 9, 0}, // row 8 was refused: row 9 is the first
		{"email:nelja@example.fi", 10, 9},
		{"email:nelja@example.fi", 9, 0}, // asked again
		{"number:10002", 11, 0},
	} {
		if got := run.keys.Earlier(c.key, c.row); got != c.want {
			t.Errorf("Earlier(%q, row %d) = %d, want %d", c.key, c.row, got, c.want)
		}
	}
	if n := len(run.keys.first); n != 6 {
		t.Errorf("%d keys remembered, want 6 (kaksi, yksi, 10001, kolme, nelja, 10002)", n)
	}
}
