package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/postgres/pgtest"
)

// TestImportPreparedAheadAndSearch imports with one row a batch, so that
// the worker prepares every batch while the one before it is written. Row
// 2 gives the stored customer (by number) a new email; row 3, prepared
// before row 2 was written, names the customer's old email, and creates a
// new customer with it, exactly as when the batches run one after the
// other. Row 6 repeats row 5's email in another case: the second of the
// two is rejected naming the first (excel.md), although they are in
// different batches. Free-text search finds the imported customers right
// after the import, while their search text is still waiting for its copy
// (the bulk path defers it), and the same once the service's search.index
// job has made the copies.
func TestImportPreparedAheadAndSearch(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{config: "imports:\n  batchRows: 1\n"})
	old := s.create(map[string]any{"firstName": "Yrjö", "lastName": "Vanhavirta", "email": "ennakko.y@example.fi"})
	header := []string{"number", "email", "firstName", "lastName", "marketingEmail", "marketingSms"}
	job := s.startImport(sheet(t, header, [][]string{
		{strconv.FormatInt(old.customer.Number, 10), "ennakko.z@example.fi", "Yrjö", "Ennakkovirta", "false", "false"},
		{"", "ENNAKKO.y@example.fi", "Aada", "Jälkivirta", "true", "false"},
		{"", "ennakko.b@example.fi", "Bertta", "Ennakkovirta", "false", "true"},
		{"", "ennakko.c@example.fi", "Cecilia", "Ennakkovirta", "false", "false"},
		{"", "Ennakko.C@example.fi", "Cecilia", "Ennakkovirta", "false", "false"},
	}), nil)
	done := s.waitImport(job.ID, time.Minute)
	if done.Status != "succeeded" || done.Created != 3 || done.Updated != 1 || done.Unchanged != 0 || done.Rejected != 1 {
		t.Fatalf("import: %s; want 3 created, 1 updated, 1 rejected", done)
	}
	if e := done.Errors; len(e) != 1 || e[0].Row != 6 || e[0].Column != "email" || !strings.Contains(e[0].Message, "also in row 5") {
		t.Errorf("errors %+v; want row 6's email, also in row 5", e)
	}

	find := func(q string) []string {
		t.Helper()
		r, err := s.send(call{method: http.MethodGet, path: "/v1/customers?q=" + url.QueryEscape(q), key: s.clerk})
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("find %q: %v %v", q, r, err)
		}
		var p struct {
			Items []struct {
				Email     string `json:"email"`
				LastName  string `json:"lastName"`
				Marketing bool   `json:"marketingEmail"`
			} `json:"items"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range p.Items {
			out = append(out, fmt.Sprintf("%s %s %v", strings.ToLower(c.Email), c.LastName, c.Marketing))
		}
		return out
	}
	check := func(when string) {
		t.Helper()
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"ennakkovirta", []string{"ennakko.z@example.fi Ennakkovirta false", "ennakko.b@example.fi Ennakkovirta false", "ennakko.c@example.fi Ennakkovirta false"}},
			{"jälkivirta aada", []string{"ennakko.y@example.fi Jälkivirta true"}},
			{"ENNAKKO.Y@", []string{"ennakko.y@example.fi Jälkivirta true"}},
			{"vanhavirta", nil},
		} {
			if got := find(c.q); !slices.Equal(got, c.want) {
				t.Errorf("%s: q %q found %v, want %v", when, c.q, got, c.want)
			}
		}
	}
	pool := pgtest.NewPool(t, s.dbURL)
	var pending int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM customer_search_pending`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	check(fmt.Sprintf("right after the import (%d customers' search text not copied yet)", pending))
	eventually(t, time.Minute, "the search.index job copies every search text", func() (bool, string) {
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM customer_search_pending`).Scan(&pending); err != nil {
			return false, err.Error()
		}
		return pending == 0, fmt.Sprintf("%d pending", pending)
	})
	check("after the copies")
}

// TestImportFileErrorInALateRow: a file error in a late row (a value under
// a column without a header), with one row a batch and the batches read
// and prepared ahead of their writes, fails the import with nothing
// written.
func TestImportFileErrorInALateRow(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{config: "imports:\n  batchRows: 1\n"})
	header := []string{"email", "firstName", "lastName", ""}
	var rows [][]string
	for i := range 40 {
		rows = append(rows, []string{fmt.Sprintf("myohainen%d@example.fi", i), "Ville", "Myöhäinen", ""})
	}
	rows = append(rows, []string{"viimeinen@example.fi", "Ville", "Myöhäinen", "arvo ilman otsikkoa"})
	job := s.waitImport(s.startImport(sheet(t, header, rows), nil).ID, time.Minute)
	if job.Status != "failed" || len(job.Errors) != 1 || job.Errors[0].Row != 0 || job.Created+job.Updated+job.RowsDone != 0 {
		t.Fatalf("import: %s; want failed with one file error (row 0), nothing written", job)
	}
	pool := pgtest.NewPool(t, s.dbURL)
	var n int
	if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM customers WHERE last_name = 'Myöhäinen'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d customers of the failed file were written", n)
	}
}
