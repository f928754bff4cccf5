package excel

import (
	"testing"
)

// TestFileKeys: only keys that the first pass saw more than once are
// remembered by the second, exactly (by the key, not its hash); the
// second row with one is told the first's number, also when the first
// was done before a resume (rememberKeys), unless the mapper refused it.
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
	for _, r := range rows {
		m.rowKeys(r, run.keys.note)
	}
	run.keys.endFirstPass()
	if n := len(run.keys.suspects); n != 3 {
		t.Errorf("%d suspects, want 3 (kaksi, 10001, nelja)", n)
	}
	if j := run.keys.Earlier("email:yksi@example.fi", 3); j != 0 || len(run.keys.first) != 0 {
		t.Errorf("a key seen once: earlier row %d, %d remembered; want 0 and none", j, len(run.keys.first))
	}
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
		{"email:nelja@example.fi", 9, 0}, // row 8 was refused: row 9 is the first
		{"email:nelja@example.fi", 10, 9},
	} {
		if got := run.keys.Earlier(c.key, c.row); got != c.want {
			t.Errorf("Earlier(%q, row %d) = %d, want %d", c.key, c.row, got, c.want)
		}
	}
}
