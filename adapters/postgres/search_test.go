package postgres_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

// copyOf is a customer's row in customer_search: its version and text, or
// ok false when it has none.
func (e *env) copyOf(id uuid.UUID) (version int64, text string, ok bool) {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT version, search FROM customer_search WHERE customer_id = $1`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&version, &text); err != nil {
			e.t.Fatal(err)
		}
		ok = true
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return version, text, ok
}

func (e *env) pendingSearch() int64 {
	e.t.Helper()
	n, err := e.store.PendingSearch(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) searchJobs() int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM river_job WHERE kind = 'search.index'`).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// found lists the numbers a find with q gives.
func (e *env) found(q string, restricted bool) []int64 {
	e.t.Helper()
	page, err := e.store.Find(e.ctx, ports.CustomerQuery{Q: q, IncludeRestricted: restricted})
	if err != nil {
		e.t.Fatalf("Find %q: %v", q, err)
	}
	var out []int64
	for _, c := range page.Items {
		out = append(out, c.Number())
	}
	return out
}

func (e *env) wantFound(q string, restricted bool, want ...*customer.Customer) {
	e.t.Helper()
	var nums []int64
	for _, c := range want {
		nums = append(nums, c.Number())
	}
	if got := e.found(q, restricted); !slices.Equal(got, nums) {
		e.t.Errorf("q %q (restricted %v): found %v, want %v", q, restricted, got, nums)
	}
}

// bulkUpdate changes stored customers with WriteBatch and returns them as
// changed.
func (e *env) bulkUpdate(ps map[*customer.Customer]customer.Patch) map[*customer.Customer]*customer.Customer {
	e.t.Helper()
	var writes []ports.BatchWrite
	out := map[*customer.Customer]*customer.Customer{}
	for before, p := range ps {
		after, err := customer.FromStorage(before.Data())
		if err != nil {
			e.t.Fatal(err)
		}
		events, err := after.Apply(p, bulkChange())
		if err != nil {
			e.t.Fatal(err)
		}
		writes = append(writes, ports.BatchWrite{Customer: after, Before: before, Events: events})
		out[before] = after
	}
	rej, err := e.store.WriteBatch(e.ctx, ports.Batch{Writes: writes, AllOrNothing: true})
	if err != nil || len(rej) > 0 {
		e.t.Fatalf("WriteBatch: %v, %v", err, rej)
	}
	return out
}

func (e *env) indexSearch() int {
	e.t.Helper()
	n, err := e.store.IndexSearch(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestSearchCopyFollowsEachWrite: a write outside the bulk path (the API,
// connectors) keeps the customer's search copy current in its own
// transaction; an erasure leaves nothing of the text.
func TestSearchCopyFollowsEachWrite(t *testing.T) {
	e := newEnv(t)
	c := e.create(person("Aino", "Virtanen"))
	if v, text, ok := e.copyOf(c.ID()); !ok || v != c.Version() || !strings.Contains(text, "aino virtanen") {
		t.Fatalf("after Create: copy (%d, %q, %v), want version %d with the names", v, text, ok, c.Version())
	}
	e.wantFound("virtanen", false, c)

	renamed, err := e.reg.Update(e.ctx, c.ID(), customer.Patch{LastName: customer.Set("Korhonen")}, 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	if v, text, _ := e.copyOf(c.ID()); v != renamed.Version() || !strings.Contains(text, "korhonen") || strings.Contains(text, "virtanen") {
		t.Errorf("after a rename: copy (%d, %q), want version %d with the new name only", v, text, renamed.Version())
	}
	e.wantFound("virtanen", false)
	e.wantFound("korhonen", false, renamed)

	consented, err := e.reg.SetConsents(e.ctx, c.ID(), customer.Set(true), customer.Opt[bool]{}, 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := e.copyOf(c.ID()); v != renamed.Version() || consented.Version() == renamed.Version() {
		t.Errorf("a change that keeps the text rewrote the copy: version %d, want %d", v, renamed.Version())
	}

	erased, err := e.reg.Erase(e.ctx, c.ID(), 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	if v, text, ok := e.copyOf(c.ID()); !ok || v != erased.Version() || text != "" {
		t.Errorf("after the erasure: copy (%d, %q, %v), want an empty text at version %d", v, text, ok, erased.Version())
	}
	e.wantFound("korhonen", true)
	if e.pendingSearch() != 0 || e.searchJobs() != 0 {
		t.Errorf("writes outside the bulk path left %d pending and %d jobs", e.pendingSearch(), e.searchJobs())
	}
}

// TestBulkSearchIsDeferred: WriteBatch leaves the copies to the job and
// find answers as if they were there all along, before and after.
func TestBulkSearchIsDeferred(t *testing.T) {
	e := newEnv(t)
	secret := person("Salla", "Salainen")
	secret.GDPRRestricted = customer.Set(true)
	aino, eino, restricted := e.build(person("Aino", "Ahonen")), e.build(person("Eino", "Ahonen")), e.build(secret)
	if err := e.writeNew([]*customer.Customer{aino, eino, restricted}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := e.copyOf(aino.ID()); ok {
		t.Error("WriteBatch copied the search text itself")
	}
	if n := e.pendingSearch(); n != 3 {
		t.Errorf("%d customers pending, want 3", n)
	}
	check := func(when string, aino, eino *customer.Customer) {
		t.Helper()
		e.wantFound("ahonen", false, aino, eino)
		e.wantFound("aino ahonen", false, aino)
		e.wantFound("salainen", false)
		e.wantFound("salainen", true, restricted)
		e.wantFound(strings.TrimPrefix(strings.ToLower(aino.Data().LastName), "a"), false, aino, eino)
		if t.Failed() {
			t.Fatalf("%s: wrong answers", when)
		}
	}
	check("pending", aino, eino)

	// A second batch stores no second job: the one waiting will see it.
	other := e.build(person("Olli", "Muu"))
	if err := e.writeNew([]*customer.Customer{other}); err != nil {
		t.Fatal(err)
	}
	if n := e.searchJobs(); n != 1 {
		t.Errorf("%d search.index jobs, want 1", n)
	}

	if n := e.indexSearch(); n != 4 {
		t.Errorf("IndexSearch took %d customers, want 4", n)
	}
	if n := e.pendingSearch(); n != 0 {
		t.Errorf("%d still pending", n)
	}
	if v, text, ok := e.copyOf(aino.ID()); !ok || v != aino.Version() || !strings.Contains(text, "aino ahonen") {
		t.Errorf("copy (%d, %q, %v) after IndexSearch", v, text, ok)
	}
	check("copied", aino, eino)

	// A rename in bulk drops the copy it made stale and lists the customer
	// again; a change that keeps the text keeps the copy.
	changed := e.bulkUpdate(map[*customer.Customer]customer.Patch{
		aino: {LastName: customer.Set("Aaltonen")},
		eino: {MarketingEmail: customer.Set(true)},
	})
	if _, _, ok := e.copyOf(aino.ID()); ok {
		t.Error("the stale copy of a renamed customer is still there")
	}
	if v, _, ok := e.copyOf(eino.ID()); !ok || v != eino.Version() {
		t.Errorf("the copy of a customer whose text stayed: (%d, %v), want version %d", v, ok, eino.Version())
	}
	if n := e.pendingSearch(); n != 1 {
		t.Errorf("%d pending after the rename, want 1", n)
	}
	e.wantFound("ahonen", false, changed[eino])
	e.wantFound("aaltonen", false, changed[aino])
	e.indexSearch()
	e.wantFound("ahonen", false, changed[eino])
	e.wantFound("aaltonen", false, changed[aino])
	if v, text, _ := e.copyOf(aino.ID()); v != changed[aino].Version() || !strings.Contains(text, "aaltonen") {
		t.Errorf("copy (%d, %q) after the rename was copied", v, text)
	}
}

// TestBulkSearchErasedBeforeCopied: a customer written in bulk and erased
// before its text was copied keeps no text anywhere, and the job does not
// bring it back.
func TestBulkSearchErasedBeforeCopied(t *testing.T) {
	e := newEnv(t)
	c := e.build(person("Unto", "Unohdettava"))
	if err := e.writeNew([]*customer.Customer{c}); err != nil {
		t.Fatal(err)
	}
	e.wantFound("unohdettava", false, c)
	erased, err := e.reg.Erase(e.ctx, c.ID(), 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	e.wantFound("unohdettava", true)
	e.indexSearch()
	e.wantFound("unohdettava", true)
	if v, text, ok := e.copyOf(c.ID()); !ok || text != "" || v != erased.Version() {
		t.Errorf("copy (%d, %q, %v), want an empty text at the erasure's version %d", v, text, ok, erased.Version())
	}
	var n int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM customer_search WHERE search LIKE '%unohdettava%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d copies hold the erased customer's name", n)
	}
}

// TestIndexSearchKeepsNewerCopies: a copy is never replaced by one taken
// from an earlier version (the job read the customer before a change made
// through the API committed), and ids of customers that are gone are
// dropped.
func TestIndexSearchKeepsNewerCopies(t *testing.T) {
	e := newEnv(t)
	c := e.create(person("Ville", "Uusi"))
	if _, err := e.pool.Exec(e.ctx, `UPDATE customer_search SET version = 1000, search = 'newer' WHERE customer_id = $1`, c.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO customer_search_pending (customer_id) VALUES ($1), ($2)`, c.ID(), uuid.New()); err != nil {
		t.Fatal(err)
	}
	if n := e.indexSearch(); n != 2 {
		t.Errorf("IndexSearch took %d, want 2", n)
	}
	if v, text, _ := e.copyOf(c.ID()); v != 1000 || text != "newer" {
		t.Errorf("copy (%d, %q), want the newer one kept", v, text)
	}
	if n := e.pendingSearch(); n != 0 {
		t.Errorf("%d pending", n)
	}
}

// TestBulkSearchCopiesAsCreate: once copied, the bulk path's copies are
// those Create makes.
func TestBulkSearchCopiesAsCreate(t *testing.T) {
	one, many := newEnv(t), newEnv(t)
	batch := bulkWorld(many)
	one.groups("vip", "b2c", "b2b")
	for _, c := range batch {
		if err := one.store.Create(one.ctx, c, nil); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if err := many.writeNew(batch); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	many.indexSearch()
	const q = `SELECT to_jsonb(s) FROM customer_search s ORDER BY customer_id`
	a, b := rowsJSON(t, one, q), rowsJSON(t, many, q)
	if len(a) != len(batch) || !slices.Equal(a, b) {
		t.Errorf("Create copied %v\nWriteBatch and IndexSearch %v", a, b)
	}
}

// TestSearchIndexWorker: the job waits while bulk writes keep coming (but
// not past its longest lag), copies what is pending, and before it ends
// waits for the transactions that were in progress, so that a batch that
// committed after it looked (and stored no job of its own) is copied too.
func TestSearchIndexWorker(t *testing.T) {
	e := newEnv(t)
	c := e.build(person("Tyyne", "Työntekijä"))
	if err := e.writeNew([]*customer.Customer{c}); err != nil {
		t.Fatal(err)
	}
	busy := postgres.NewSearchIndexWorkerWith(e.store, time.Hour, time.Hour, time.Second)
	var snoozed *ports.JobSnoozed
	if err := busy.Work(e.ctx, ports.RunningJob{}); !errors.As(err, &snoozed) {
		t.Fatalf("Work while writes arrive: %v, want a snooze", err)
	}
	if e.pendingSearch() != 1 {
		t.Fatal("a snoozed job copied")
	}
	lagging := postgres.NewSearchIndexWorkerWith(e.store, time.Hour, 0, time.Second)
	if err := lagging.Work(e.ctx, ports.RunningJob{}); err != nil {
		t.Fatalf("Work past the longest lag: %v", err)
	}
	if _, _, ok := e.copyOf(c.ID()); !ok || e.pendingSearch() != 0 {
		t.Fatal("Work past the longest lag did not copy")
	}

	// A batch in progress while the job runs: its customer is stored, its
	// listing not committed yet.
	late := e.build(person("Lauri", "Myöhäinen"))
	if err := e.writeNew([]*customer.Customer{late}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, `DELETE FROM customer_search_pending WHERE customer_id = $1`, late.ID()); err != nil {
		t.Fatal(err)
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if _, err := tx.Exec(e.ctx, `INSERT INTO customer_search_pending (customer_id) VALUES ($1)`, late.ID()); err != nil {
		t.Fatal(err)
	}
	quiet := postgres.NewSearchIndexWorkerWith(e.store, 0, time.Hour, 10*time.Second)
	done := make(chan error, 1)
	go func() { done <- quiet.Work(e.ctx, ports.RunningJob{}) }()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Work ended (%v) while a batch was in progress", err)
	default:
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, ok := e.copyOf(late.ID()); !ok {
		t.Error("the batch that committed while the job waited was not copied")
	}
}

// TestPhoneLookupFollowsTheSearchText: with no index of their own, the
// lookups by phone number (find's phone filter, CustomersByPhone) find
// their candidates through the search text: a customer written in bulk
// (copy not made yet), after its copy is made, after its number changes
// in bulk (stale copy dropped) and one by one (copy rewritten), and never
// by a number it gave up or that only contains the one asked for.
func TestPhoneLookupFollowsTheSearchText(t *testing.T) {
	e := newEnv(t)
	phones := func(ps ...string) customer.Patch {
		p := person("Pirjo", "Puhelin")
		p.PhoneNumbers = customer.Set(ps)
		return p
	}
	pirjo, other := e.build(phones("040 1234567", "+46 70 123 45 67")), e.build(phones("040 12345678"))
	if err := e.writeNew([]*customer.Customer{pirjo, other}); err != nil {
		t.Fatal(err)
	}
	check := func(when, phone string, want ...*customer.Customer) {
		t.Helper()
		var nums []int64
		for _, c := range want {
			nums = append(nums, c.Number())
		}
		page, err := e.store.Find(e.ctx, ports.CustomerQuery{Phone: phone})
		if err != nil {
			t.Fatalf("%s: Find phone %q: %v", when, phone, err)
		}
		var found []int64
		for _, c := range page.Items {
			found = append(found, c.Number())
		}
		if !slices.Equal(found, nums) {
			t.Errorf("%s: find phone %q = %v, want %v", when, phone, found, nums)
		}
		norm, err := customer.NormalizePhone(phone)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := e.store.CustomersByPhone(e.ctx, norm)
		if err != nil {
			t.Fatalf("%s: CustomersByPhone %q: %v", when, norm, err)
		}
		found = found[:0]
		for _, c := range cs {
			found = append(found, c.Number())
		}
		if !slices.Equal(found, nums) {
			t.Errorf("%s: CustomersByPhone %q = %v, want %v", when, norm, found, nums)
		}
	}
	all := func(when string, pirjo *customer.Customer) {
		t.Helper()
		check(when, "0401234567", pirjo)
		check(when, "+46701234567", pirjo)
		check(when, "040 12345678", other)
		check(when, "0501234567")
	}
	if e.pendingSearch() != 2 {
		t.Fatalf("%d pending, want 2", e.pendingSearch())
	}
	all("pending", pirjo)
	e.indexSearch()
	all("copied", pirjo)

	changed := e.bulkUpdate(map[*customer.Customer]customer.Patch{pirjo: {PhoneNumbers: customer.Set([]string{"050 1234567"})}})[pirjo]
	check("changed in bulk", "0401234567")
	check("changed in bulk", "0501234567", changed)
	e.indexSearch()
	check("changed in bulk, copied", "0401234567")
	check("changed in bulk, copied", "0501234567", changed)

	again, err := e.reg.Update(e.ctx, pirjo.ID(), customer.Patch{PhoneNumbers: customer.Set([]string{"044 7654321"})}, 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	check("changed by Update", "0501234567")
	check("changed by Update", "0447654321", again)
}
