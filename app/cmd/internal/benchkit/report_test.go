package benchkit

import (
	"strings"
	"testing"
)

func TestThousands(t *testing.T) {
	tests := []struct {
		give float64
		want string
	}{
		{give: 0, want: "0"},
		{give: 999, want: "999"},
		{give: 999.5, want: "1,000"},
		{give: 1000, want: "1,000"},
		{give: 1_234_567.4, want: "1,234,567"},
		{give: -1234, want: "-1,234"},
		{give: -123, want: "-123"},
	}
	for _, tt := range tests {
		if got := Thousands(tt.give); got != tt.want {
			t.Errorf("Thousands(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestWriteTargets(t *testing.T) {
	tests := []struct {
		name string
		give []Target
		want string
	}{
		{
			name: "none",
			want: "## Targets\n\nNo target was measured in this run.\n\n",
		},
		{
			name: "met and missed",
			give: []Target{
				{Name: "rate", Limit: "≥ 1,000/s", Measured: "**1,200/s**", Floor: "2,000/s", Ratio: "0.60", OK: true},
				{Name: "p99", Limit: "≤ 50 ms", Measured: "**80 ms**", Floor: "–", Ratio: "–"},
			},
			want: "## Targets\n\n" +
				"| figure | target | measured | floor | vs floor | |\n" +
				"| --- | --- | --- | --- | --- | --- |\n" +
				"| rate | ≥ 1,000/s | **1,200/s** | 2,000/s | 0.60 | pass |\n" +
				"| p99 | ≤ 50 ms | **80 ms** | – | – | **miss** |\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w strings.Builder
			WriteTargets(&w, tt.give, "vs floor", "**miss**")
			if w.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", w.String(), tt.want)
			}
			if got, want := Missed(tt.give), strings.Count(tt.want, "**miss**"); got != want {
				t.Errorf("Missed = %d, want %d", got, want)
			}
		})
	}
}

func TestFindings(t *testing.T) {
	var f Findings
	f.Check("holds", true, "")
	f.Check("fails", false, "3 lost")
	f.Errorf("import of %d rows: %s", 100, "timeout")
	f.Notef("no %s", "LibreOffice")
	want := []Check{{Name: "holds", OK: true}, {Name: "fails", Detail: "3 lost"}}
	if len(f.Checks) != 2 || f.Checks[0] != want[0] || f.Checks[1] != want[1] {
		t.Errorf("Checks = %+v, want %+v", f.Checks, want)
	}
	if len(f.Errors) != 1 || f.Errors[0] != "import of 100 rows: timeout" {
		t.Errorf("Errors = %q", f.Errors)
	}
	if len(f.Notes) != 1 || f.Notes[0] != "no LibreOffice" {
		t.Errorf("Notes = %q", f.Notes)
	}
}

func TestCheckEnv(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr string
	}{
		{give: nil},
		{give: []string{"KIRJURI_JOBS_WORKERS=4", "EMPTY="}},
		{give: []string{"A=1", "NOEQUALS"}, wantErr: `--service-env "NOEQUALS": want KEY=VALUE`},
		{give: []string{"=1"}, wantErr: `--service-env "=1": want KEY=VALUE`},
	}
	for _, tt := range tests {
		err := CheckEnv(tt.give)
		if got := errText(err); got != tt.wantErr {
			t.Errorf("CheckEnv(%q) = %q, want %q", tt.give, got, tt.wantErr)
		}
	}
}

func TestDatabaseURL(t *testing.T) {
	t.Setenv("KIRJURI_DATABASE_URL", "postgres://env@127.0.0.1/kirjuri")
	if got, err := DatabaseURL("postgres://flag@127.0.0.1/x", "bench:excel"); err != nil || got != "postgres://flag@127.0.0.1/x" {
		t.Errorf("with --database-url: %q, %v", got, err)
	}
	if got, err := DatabaseURL("", "bench:excel"); err != nil || got != "postgres://env@127.0.0.1/kirjuri" {
		t.Errorf("from the environment: %q, %v", got, err)
	}
	t.Setenv("KIRJURI_DATABASE_URL", "")
	_, err := DatabaseURL("", "bench:excel")
	if want := "go tool task bench:excel"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("without either: %v, want an error naming %q", err, want)
	}
}

func TestWithDatabase(t *testing.T) {
	tests := []struct {
		give, want, wantErr string
	}{
		{give: "postgres://kirjuri@127.0.0.1:15432/kirjuri?sslmode=disable", want: "postgres://kirjuri@127.0.0.1:15432/kirjuri_bench?sslmode=disable"},
		{give: "postgresql://u:p@db/other", want: "postgresql://u:p@db/kirjuri_bench"},
		{give: "host=127.0.0.1 dbname=kirjuri", wantErr: "the database URL is not a postgres:// URL"},
		{give: "mysql://127.0.0.1/x", wantErr: "the database URL is not a postgres:// URL"},
	}
	for _, tt := range tests {
		got, err := WithDatabase(tt.give, "kirjuri_bench")
		if got != tt.want || errText(err) != tt.wantErr {
			t.Errorf("WithDatabase(%q) = %q, %q; want %q, %q", tt.give, got, errText(err), tt.want, tt.wantErr)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
