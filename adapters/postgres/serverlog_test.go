package postgres_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

// The database server's own log holds no personal data: a unique violation
// on an email is logged without its DETAIL line (which names the email) and
// without the failing statement. scripts/servers.sh configures this; a
// production database should set the same (README, "Local servers").
func TestServerLogHoldsNoPersonalData(t *testing.T) {
	e := newEnv(t)
	want := map[string]string{
		"log_error_verbosity":     "terse",
		"log_min_error_statement": "panic",
		"log_statement":           "none",
	}
	for name, value := range want {
		var got string
		if err := e.pool.QueryRow(e.ctx, `SELECT setting FROM pg_settings WHERE name = $1`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != value {
			t.Errorf("the test server has %s = %s, want %s (scripts/servers.sh up applies it)", name, got, value)
		}
	}

	// The log file of a server that scripts/servers.sh runs sits beside its
	// data folder; pg_ctl -l writes it.
	var dataDir string
	if err := e.pool.QueryRow(e.ctx, `SHOW data_directory`).Scan(&dataDir); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(filepath.Dir(dataDir), "postgres.log")
	start := int64(-1)
	if fi, err := os.Stat(logPath); err == nil {
		start = fi.Size()
	} else {
		t.Logf("no server log at %s (not a server of scripts/servers.sh): only the settings are checked", logPath)
	}

	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	local := "loki-" + hex.EncodeToString(rnd[:])
	email := local + "@example.fi"
	p := person("Loki", "Tiedosto")
	p.Email = customer.Set(email)
	e.create(p)
	p2 := person("Toinen", "Tiedosto")
	p2.Email = customer.Set(strings.ToUpper(local) + "@example.fi")
	var conflict *fault.Conflict
	if _, err := e.reg.Create(e.ctx, p2, caller); !errors.As(err, &conflict) || conflict.Field != "email" {
		t.Fatalf("a duplicate email: %v, want a conflict on email", err)
	}
	if start < 0 {
		return
	}
	// A marker after the violation: once it is in the log, so is whatever
	// the violation wrote.
	marker := "kirjuri-log-marker-" + hex.EncodeToString(rnd[:])
	if _, err := e.pool.Exec(e.ctx, `DO $$ BEGIN RAISE LOG '`+marker+`'; END $$`); err != nil {
		t.Fatal(err)
	}
	var written string
	for deadline := time.Now().Add(5 * time.Second); ; {
		f, err := os.Open(logPath)
		if err != nil {
			t.Fatal(err)
		}
		b, err := readFrom(f, start)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		written = string(b)
		if strings.Contains(written, marker) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(written, marker) {
		t.Fatalf("the marker did not reach %s within 5 s", logPath)
	}
	if !strings.Contains(written, "customers_email_key") {
		t.Errorf("the unique violation was not logged at all; the check proves nothing")
	}
	if strings.Contains(strings.ToLower(written), local) {
		t.Errorf("the server log holds the email:\n%s", linesWith(written, local))
	}
}

func readFrom(f *os.File, offset int64) ([]byte, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

func linesWith(s, needle string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), needle) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
