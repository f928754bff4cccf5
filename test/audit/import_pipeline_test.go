package audit

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/postgres"
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
	// The store's count of pending customers: those listed one by one and
	// those in the ranges of numbers the batches listed.
	store := postgres.New(pgtest.NewPool(t, s.dbURL), nil)
	pending, err := store.PendingSearch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	check(fmt.Sprintf("right after the import (%d customers' search text not copied yet)", pending))
	eventually(t, time.Minute, "the search.index job copies every search text", func() (bool, string) {
		if pending, err = store.PendingSearch(t.Context()); err != nil {
			return false, err.Error()
		}
		return pending == 0, fmt.Sprintf("%d pending", pending)
	})
	check("after the copies")
}

// TestImportFileErrorInALateRow: a file error in a late row (a value under
// a column without a header) fails the import with nothing written, though
// the batches are read, prepared and written while the first pass that
// finds it still reads: with one row a batch, and with 20,000 rows in
// batches of 100, where many batches are written before the first pass
// reaches the last row (without the wait for it, they commit).
func TestImportFileErrorInALateRow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ rows, batch int }{{40, 1}, {20000, 100}} {
		t.Run(fmt.Sprintf("%d rows in batches of %d", c.rows, c.batch), func(t *testing.T) {
			t.Parallel()
			s := startServer(t, serverOptions{config: fmt.Sprintf("imports:\n  batchRows: %d\n", c.batch)})
			header := []string{"email", "firstName", "lastName", ""}
			var rows [][]string
			for i := range c.rows {
				rows = append(rows, []string{fmt.Sprintf("myohainen%d@example.fi", i), "Ville", "Myöhäinen", ""})
			}
			rows = append(rows, []string{"viimeinen@example.fi", "Ville", "Myöhäinen", "arvo ilman otsikkoa"})
			job := s.waitImport(s.startImport(sheet(t, header, rows), nil).ID, 2*time.Minute)
			if job.Status != "failed" || len(job.Errors) != 1 || job.Errors[0].Row != 0 || job.Created+job.Updated+job.RowsDone != 0 {
				t.Fatalf("import: %s; want failed with one file error (row 0), nothing written", job)
			}
			if e := job.Errors[0]; e.Column != "(column D)" || !strings.Contains(e.Message, fmt.Sprintf("row %d", c.rows+2)) {
				t.Errorf("file error %+v, want one naming column D and row %d", e, c.rows+2)
			}
			pool := pgtest.NewPool(t, s.dbURL)
			var n int
			if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM customers WHERE last_name = 'Myöhäinen'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d customers of the failed file were written", n)
			}
		})
	}
}

// TestImportNewGroupsDoNotHoldBackTheBatches: every row of the file adds its
// customer to two groups that do not exist yet. The first batch creates
// them, and the batches prepared before it has committed count on them
// (register.BatchOptions.PromisedGroups) instead of creating them too: so
// every batch is written beside the others as prepared, none waits for
// the one before it to end and runs again. Before, each batch prepared
// while the first was still open (the first pass still reading) shared
// its footprint (the groups to create) and ran after it.
func TestImportNewGroupsDoNotHoldBackTheBatches(t *testing.T) {
	t.Parallel()
	const rows, batch = 60, 3
	s := startServer(t, serverOptions{config: fmt.Sprintf("imports:\n  batchRows: %d\n  batchWriters: 2\n", batch)})
	header := []string{"email", "firstName", "lastName", "group:uusi-a", "group:uusi-b"}
	var file [][]string
	for i := range rows {
		file = append(file, []string{fmt.Sprintf("ryhmaton%d@example.fi", i), "Ryhmä", fmt.Sprintf("Jäsen%d", i), "true", "true"})
	}
	job := s.waitImport(s.startImport(sheet(t, header, file), nil).ID, 2*time.Minute)
	if job.Status != "succeeded" || job.Created != rows || job.Rejected != 0 {
		t.Fatalf("import: %s; want %d created", job, rows)
	}
	pool := pgtest.NewPool(t, s.dbURL)
	var members, groups int
	if err := pool.QueryRow(t.Context(), `SELECT
			(SELECT count(*) FROM customers WHERE groups @> ARRAY['uusi-a', 'uusi-b']),
			(SELECT count(*) FROM customer_groups WHERE external_id IN ('uusi-a', 'uusi-b') AND name = external_id)`).Scan(&members, &groups); err != nil {
		t.Fatal(err)
	}
	if members != rows || groups != 2 {
		t.Errorf("%d customers in both groups, %d of the groups created; want %d and 2", members, groups, rows)
	}
	var done struct {
		Beside int `json:"batches_beside"`
		After  int `json:"batches_after"`
		Again  int `json:"batches_again"`
		// The worker read the upload the HTTP operation kept.
		UploadKept bool `json:"upload_kept"`
	}
	found := false
	log, err := os.ReadFile(filepath.Join(s.dir, "serve-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(log), "\n") {
		if strings.Contains(line, `"msg":"import finished"`) {
			if err := json.Unmarshal([]byte(line), &done); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("no \"import finished\" line in the service's log")
	}
	if !done.UploadKept {
		t.Error("the worker restored the file from the store, though this process had the upload (excel.KeptUploads)")
	}
	if left, err := os.ReadDir(s.tmpDir()); err != nil || len(left) != 0 {
		t.Errorf("left in the server's TMPDIR after the import: %v (%v)", left, err)
	}
	if done.Beside != rows/batch || done.After != 0 || done.Again != 0 {
		t.Errorf("batches written beside the others %d, after the one before %d, again %d; want %d, 0, 0",
			done.Beside, done.After, done.Again, rows/batch)
	}
}

// TestImportParallelWritersMatchOneWriter imports the same file, whose
// rows meet each other across batches in every way the register knows
// (the same email twice, a card or an external id another row takes, a
// stored customer reached by number in one batch and by its old email in
// a later one, groups created by several batches), with batches of 3 rows
// written one at a time and written two and four at once. The outcomes
// must be the same: counts, every row's error, and every customer as
// stored with its cards and groups.
func TestImportParallelWritersMatchOneWriter(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(7, 11))
	header := []string{"number", "email", "firstName", "lastName", "externalId", "customerCard:1", "group:vip", "group:g2"}
	const stored = 6
	// First, batch after batch: three rows give stored customers new
	// emails, then three rows name them by their old emails with nothing
	// else to change. Prepared while the first three are written, these
	// match the stored customers and change nothing; one after the other,
	// they are new customers whose external id a stored customer holds.
	var rows [][]string
	for _, half := range [][]int{{0, 1, 2}, {3, 4, 5}} {
		for _, i := range half {
			rows = append(rows, []string{"<" + strconv.Itoa(i) + ">", fmt.Sprintf("uusi%d@example.fi", i), "Vanha", fmt.Sprintf("Asiakas%d", i), fmt.Sprintf("EXT-%d", 20+i), "", "", ""})
		}
		for _, i := range half {
			rows = append(rows, []string{"", fmt.Sprintf("vanha%d@example.fi", i), "Vanha", fmt.Sprintf("Asiakas%d", i), fmt.Sprintf("EXT-%d", 20+i), "", "", ""})
		}
	}
	pick := func(prefix string, n int) string {
		if rnd.IntN(3) == 0 {
			return ""
		}
		return fmt.Sprintf("%s%d", prefix, rnd.IntN(n))
	}
	for i := range 90 {
		number := ""
		email := fmt.Sprintf("rinn%d@example.fi", rnd.IntN(200))
		if rnd.IntN(12) == 0 {
			// A stored customer by number, given a new email (freeing
			// its old one for a later row) or keeping it.
			number = "<" + strconv.Itoa(rnd.IntN(stored)) + ">"
			if rnd.IntN(2) == 0 {
				email = fmt.Sprintf("siirretty%d@example.fi", i)
			} else {
				email = ""
			}
		} else if rnd.IntN(20) == 0 {
			email = fmt.Sprintf("vanha%d@example.fi", rnd.IntN(stored))
		}
		rows = append(rows, []string{number, email, "Rinnakkais", fmt.Sprintf("Kirjoittaja%d", i),
			pick("EXT-", 90), pick("KORTTI-", 90), []string{"true", "false", ""}[rnd.IntN(3)], []string{"true", ""}[rnd.IntN(2)]})
	}

	type outcome struct {
		counts    string
		errors    []string
		customers []string
	}
	run := func(writers int) outcome {
		s := startServer(t, serverOptions{config: fmt.Sprintf("imports:\n  batchRows: 3\n  batchWriters: %d\n", writers)})
		numbers := make([]string, stored)
		for i := range stored {
			c := s.create(map[string]any{"firstName": "Vanha", "lastName": fmt.Sprintf("Asiakas%d", i),
				"email": fmt.Sprintf("vanha%d@example.fi", i), "externalId": fmt.Sprintf("EXT-%d", 20+i)})
			numbers[i] = strconv.FormatInt(c.customer.Number, 10)
		}
		file := make([][]string, len(rows))
		for i, r := range rows {
			file[i] = slices.Clone(r)
			if n := r[0]; n != "" {
				k, _ := strconv.Atoi(strings.Trim(n, "<>"))
				file[i][0] = numbers[k]
			}
		}
		job := s.waitImport(s.startImport(sheet(t, header, file), nil).ID, 2*time.Minute)
		if job.Status != "succeeded" {
			t.Fatalf("%d writers: import %s", writers, job)
		}
		var o outcome
		o.counts = fmt.Sprintf("created %d, updated %d, unchanged %d, rejected %d", job.Created, job.Updated, job.Unchanged, job.Rejected)
		for _, e := range job.Errors {
			o.errors = append(o.errors, fmt.Sprintf("row %d %s: %s", e.Row, e.Column, e.Message))
		}
		pool := pgtest.NewPool(t, s.dbURL)
		rs, err := pool.Query(t.Context(), `SELECT coalesce(lower(c.email), '-'), c.last_name, coalesce(c.external_id, '-'),
				coalesce((SELECT string_agg(card, ',' ORDER BY card) FROM customer_cards k WHERE k.customer_id = c.id), '-'),
				array_to_string(ARRAY(SELECT unnest(c.groups) ORDER BY 1), ',')
			FROM customers c ORDER BY 1, 2`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var email, last, ext, cards, groups string
			if err := rs.Scan(&email, &last, &ext, &cards, &groups); err != nil {
				t.Fatal(err)
			}
			o.customers = append(o.customers, strings.Join([]string{email, last, ext, cards, groups}, " "))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		return o
	}
	one := run(1)
	if one.counts == "" || len(one.errors) < 10 || len(one.errors) > 50 || len(one.customers) < 40 {
		t.Fatalf("the file meant to make rows meet made %s, %d errors, %d customers:\n%s", one.counts, len(one.errors), len(one.customers), strings.Join(one.errors, "\n"))
	}
	for _, writers := range []int{2, 4} {
		got := run(writers)
		if got.counts != one.counts {
			t.Errorf("%d writers: %s; one writer: %s", writers, got.counts, one.counts)
		}
		if !slices.Equal(got.errors, one.errors) {
			t.Errorf("%d writers: errors differ from one writer's:\n%s\nwant\n%s", writers, strings.Join(got.errors, "\n"), strings.Join(one.errors, "\n"))
		}
		if !slices.Equal(got.customers, one.customers) {
			t.Errorf("%d writers: customers differ from one writer's:\n%s\nwant\n%s", writers, strings.Join(got.customers, "\n"), strings.Join(one.customers, "\n"))
		}
	}
	t.Logf("one writer: %s, %d errors, %d customers", one.counts, len(one.errors), len(one.customers))
}
