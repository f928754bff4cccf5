package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	e.wantPendingRanges("written", [2]int64{c.Number(), c.Number()})
	e.wantFound("unohdettava", false, c)
	erased, err := e.reg.Erase(e.ctx, c.ID(), 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	e.wantFound("unohdettava", true)
	if got := e.exported("unohdettava", true); len(got) != 0 {
		t.Errorf("the export of the erased customer's name gave %v", got)
	}
	e.indexSearch()
	e.wantPendingRanges("copied")
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
	if _, err := e.pool.Exec(e.ctx, `DELETE FROM customer_search_pending_ranges WHERE $1 BETWEEN lo AND hi`, late.Number()); err != nil {
		t.Fatal(err)
	}
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	if _, err := tx.Exec(e.ctx, `INSERT INTO customer_search_pending_ranges (lo, hi) VALUES ($1, $1)`, late.Number()); err != nil {
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

// wantPendingRanges checks what the bulk path left to copy: no customer
// listed one by one, and these ranges of numbers (first, last), in order.
func (e *env) wantPendingRanges(when string, want ...[2]int64) {
	e.t.Helper()
	var listed int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM customer_search_pending`).Scan(&listed); err != nil {
		e.t.Fatal(err)
	}
	rows, err := e.pool.Query(e.ctx, `SELECT lo, hi FROM customer_search_pending_ranges ORDER BY lo, hi`)
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]int64, error) {
		var g [2]int64
		err := r.Scan(&g[0], &g[1])
		return g, err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if listed != 0 || !slices.Equal(got, want) {
		e.t.Errorf("%s: %d customers listed one by one and the ranges %v, want none and %v", when, listed, got, want)
	}
}

// exported lists the numbers an export with q gives.
func (e *env) exported(q string, restricted bool) []int64 {
	e.t.Helper()
	var out []int64
	err := e.store.Export(e.ctx, ports.ExportQuery{CustomerQuery: ports.CustomerQuery{Q: q, IncludeRestricted: restricted}},
		func(ports.ExportShape) error { return nil },
		func(c *customer.Customer) error { out = append(out, c.Number()); return nil })
	if err != nil {
		e.t.Fatalf("Export %q: %v", q, err)
	}
	return out
}

// wantByPhone checks that find's phone filter and CustomersByPhone give
// the customers want for phone.
func (e *env) wantByPhone(when, phone string, want ...*customer.Customer) {
	e.t.Helper()
	nums := numbers(want)
	page, err := e.store.Find(e.ctx, ports.CustomerQuery{Phone: phone})
	if err != nil {
		e.t.Fatalf("%s: Find phone %q: %v", when, phone, err)
	}
	if got := numbers(page.Items); !slices.Equal(got, nums) {
		e.t.Errorf("%s: find phone %q = %v, want %v", when, phone, got, nums)
	}
	norm, err := customer.NormalizePhone(phone)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.store.CustomersByPhone(e.ctx, norm)
	if err != nil {
		e.t.Fatalf("%s: CustomersByPhone %q: %v", when, norm, err)
	}
	if got := numbers(cs); !slices.Equal(got, nums) {
		e.t.Errorf("%s: CustomersByPhone %q = %v, want %v", when, norm, got, nums)
	}
}

func numbers(cs []*customer.Customer) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.Number())
	}
	return out
}

// TestBulkSearchPendingAsRanges: WriteBatch lists the customers it
// creates as one range of their numbers, not one by one; every reader of
// what is pending (find by q, with pages, and by phone, CustomersByPhone,
// the export, PendingSearch) finds them there, and IndexSearch copies
// them and takes the range off.
func TestBulkSearchPendingAsRanges(t *testing.T) {
	e := newEnv(t)
	withPhone := func(first, last, phone string) customer.Patch {
		p := person(first, last)
		p.PhoneNumbers = customer.Set([]string{phone})
		return p
	}
	cs := []*customer.Customer{
		e.build(withPhone("Raili", "Rajala", "040 1111111")),
		e.build(withPhone("Rauno", "Rajala", "040 2222222")),
		e.build(withPhone("Reija", "Reunanen", "040 3333333")),
	}
	if err := e.writeNew(cs); err != nil {
		t.Fatal(err)
	}
	e.wantPendingRanges("written", [2]int64{cs[0].Number(), cs[2].Number()})
	if n := e.pendingSearch(); n != 3 {
		t.Errorf("PendingSearch = %d, want 3", n)
	}
	check := func(when string) {
		t.Helper()
		e.wantFound("rajala", false, cs[0], cs[1])
		e.wantFound("reunanen", false, cs[2])
		e.wantFound("040 3333333", false, cs[2])
		first, err := e.store.Find(e.ctx, ports.CustomerQuery{Q: "rajala", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		next, err := e.store.Find(e.ctx, ports.CustomerQuery{Q: "rajala", Limit: 1, Cursor: first.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		if got := append(numbers(first.Items), numbers(next.Items)...); first.NextCursor == "" || next.NextCursor != "" ||
			!slices.Equal(got, numbers(cs[:2])) {
			t.Errorf("%s: pages of one gave %v (cursors %q, %q), want %v in two pages", when, got, first.NextCursor, next.NextCursor, numbers(cs[:2]))
		}
		if got := e.exported("rajala", false); !slices.Equal(got, numbers(cs[:2])) {
			t.Errorf("%s: export of q rajala = %v, want %v", when, got, numbers(cs[:2]))
		}
		e.wantByPhone(when, "040 2222222", cs[1])
		e.wantByPhone(when, "040 4444444")
		if t.Failed() {
			t.Fatalf("%s: wrong answers", when)
		}
	}
	check("pending as a range")

	if n := e.indexSearch(); n != 3 {
		t.Errorf("IndexSearch took %d customers, want 3", n)
	}
	e.wantPendingRanges("copied")
	if n := e.pendingSearch(); n != 0 {
		t.Errorf("PendingSearch = %d after IndexSearch", n)
	}
	for _, c := range cs {
		want := strings.ToLower(c.Data().LastName)
		if v, text, ok := e.copyOf(c.ID()); !ok || v != c.Version() || !strings.Contains(text, want) {
			t.Errorf("copy of %d: (%d, %q, %v), want version %d with %q", c.Number(), v, text, ok, c.Version(), want)
		}
	}
	check("copied")
}

// TestBulkSearchRangeHoldsOthers: a pending range also holds the
// customers that other writers made with numbers between its batch's
// (here one created through the API, then renamed): they are found once,
// as they are now, and after IndexSearch their copy is still the current
// one.
func TestBulkSearchRangeHoldsOthers(t *testing.T) {
	e := newEnv(t)
	first := e.build(person("Kalle", "Kirjava"))
	api := e.create(person("Anni", "Apila"))
	last := e.build(person("Kaisa", "Kirjava"))
	if err := e.writeNew([]*customer.Customer{first, last}); err != nil {
		t.Fatal(err)
	}
	if !(first.Number() < api.Number() && api.Number() < last.Number()) {
		t.Fatalf("numbers %d, %d, %d: the API's customer is not between the batch's", first.Number(), api.Number(), last.Number())
	}
	e.wantPendingRanges("written", [2]int64{first.Number(), last.Number()})
	renamed, err := e.reg.Update(e.ctx, api.ID(), customer.Patch{LastName: customer.Set("Omena")}, 0, caller)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		e.wantFound("kirjava", false, first, last)
		e.wantFound("omena", false, renamed)
		e.wantFound("apila", false)
		if got := e.exported("omena", false); !slices.Equal(got, numbers([]*customer.Customer{renamed})) {
			t.Errorf("%s: export of q omena = %v, want %d once", when, got, renamed.Number())
		}
		if t.Failed() {
			t.Fatalf("%s: wrong answers", when)
		}
	}
	check("pending")
	if n := e.pendingSearch(); n != 3 {
		t.Errorf("PendingSearch = %d, want 3 (the range holds the API's customer too)", n)
	}
	if n := e.indexSearch(); n != 3 {
		t.Errorf("IndexSearch took %d customers, want 3", n)
	}
	for _, c := range []*customer.Customer{first, renamed, last} {
		want := strings.ToLower(c.Data().LastName)
		if v, text, ok := e.copyOf(c.ID()); !ok || v != c.Version() || !strings.Contains(text, want) {
			t.Errorf("copy of %d: (%d, %q, %v), want version %d with %q", c.Number(), v, text, ok, c.Version(), want)
		}
	}
	check("copied")
}

// TestBulkSearchOverlappingRanges: the ranges of batches written at the
// same time overlap (their numbers interleave); a customer in two is
// still one customer to find (full pages), to count, and to copy.
func TestBulkSearchOverlappingRanges(t *testing.T) {
	e := newEnv(t)
	cs := []*customer.Customer{e.build(person("Olavi", "Limittäinen")), e.build(person("Oona", "Limittäinen")), e.build(person("Otto", "Limittäinen"))}
	if err := e.writeNew(cs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO customer_search_pending_ranges (lo, hi) VALUES ($1, $2), ($1, $1)`,
		cs[0].Number(), cs[1].Number()); err != nil {
		t.Fatal(err)
	}
	page, err := e.store.Find(e.ctx, ports.CustomerQuery{Q: "limittäinen", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := numbers(page.Items); !slices.Equal(got, numbers(cs[:2])) || page.NextCursor == "" {
		t.Errorf("first page of two: %v (cursor %q), want %v and a cursor", got, page.NextCursor, numbers(cs[:2]))
	}
	if n := e.pendingSearch(); n != 3 {
		t.Errorf("PendingSearch = %d, want 3", n)
	}
	if n := e.indexSearch(); n != 3 {
		t.Errorf("IndexSearch took %d customers, want 3", n)
	}
	e.wantPendingRanges("copied")
	e.wantFound("limittäinen", false, cs...)
}

// TestBulkSearchRangesAreBounded: a batch whose numbers leave a wide gap
// (numbers another writer took meanwhile) lists two ranges rather than
// one that holds every customer between; and no range spans more than
// the 2,000 numbers one transaction of IndexSearch copies.
func TestBulkSearchRangesAreBounded(t *testing.T) {
	e := newEnv(t)
	a := e.build(person("Aapo", "Aukko"))
	if _, err := e.store.NextNumbers(e.ctx, 500); err != nil {
		t.Fatal(err)
	}
	b := e.build(person("Bertta", "Aukko"))
	if err := e.writeNew([]*customer.Customer{a, b}); err != nil {
		t.Fatal(err)
	}
	e.wantPendingRanges("a gap of 500", [2]int64{a.Number(), a.Number()}, [2]int64{b.Number(), b.Number()})
	e.wantFound("aukko", false, a, b)
	e.indexSearch()

	// 40 customers 63 numbers apart span 2,458 numbers.
	var cs []*customer.Customer
	for i := range 40 {
		if i > 0 {
			if _, err := e.store.NextNumbers(e.ctx, 62); err != nil {
				t.Fatal(err)
			}
		}
		cs = append(cs, e.build(person("Laura", "Laaja")))
	}
	if err := e.writeNew(cs); err != nil {
		t.Fatal(err)
	}
	// The first 32 (1,954 numbers), then the other 8.
	e.wantPendingRanges("wide", [2]int64{cs[0].Number(), cs[31].Number()}, [2]int64{cs[32].Number(), cs[39].Number()})
	e.wantFound("laaja", false, cs...)
	if n := e.indexSearch(); n != 40 {
		t.Errorf("IndexSearch took %d customers, want 40", n)
	}
	e.wantPendingRanges("copied")
}

// TestBulkSearchStaleWaitsForRangeCopy: a batch that changes the text of
// a customer whose range a job is copying (the job has taken the range
// and written the copy of the old text, not committed yet) waits for the
// job, then deletes that copy: no stale copy is left to match.
func TestBulkSearchStaleWaitsForRangeCopy(t *testing.T) {
	e := newEnv(t)
	c := e.build(person("Veikko", "Vanhanimi"))
	if err := e.writeNew([]*customer.Customer{c}); err != nil {
		t.Fatal(err)
	}
	job, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Rollback(e.ctx)
	if _, err := job.Exec(e.ctx, `DELETE FROM customer_search_pending_ranges WHERE $1 BETWEEN lo AND hi`, c.Number()); err != nil {
		t.Fatal(err)
	}
	if _, err := job.Exec(e.ctx, `INSERT INTO customer_search (customer_id, customer_number, version, search)
		SELECT id, number, version, search FROM customers WHERE id = $1`, c.ID()); err != nil {
		t.Fatal(err)
	}

	after, err := customer.FromStorage(c.Data())
	if err != nil {
		t.Fatal(err)
	}
	events, err := after.Apply(customer.Patch{LastName: customer.Set("Uusinimi")}, bulkChange())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		rej, err := e.store.WriteBatch(e.ctx, ports.Batch{Writes: []ports.BatchWrite{{Customer: after, Before: c, Events: events}}, AllOrNothing: true})
		if err == nil && len(rej) > 0 {
			err = rej[0].Err
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the batch ended (%v) while the job held the range of its customer", err)
	default:
	}
	if err := job.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, text, ok := e.copyOf(c.ID()); ok {
		t.Errorf("the copy of the old text (%d, %q) survived the change", v, text)
	}
	e.wantFound("vanhanimi", false)
	e.wantFound("uusinimi", false, after)
	e.indexSearch()
	if v, text, _ := e.copyOf(c.ID()); v != after.Version() || !strings.Contains(text, "uusinimi") {
		t.Errorf("copy (%d, %q) after IndexSearch, want version %d with the new name", v, text, after.Version())
	}
	e.wantFound("vanhanimi", false)
	e.wantFound("uusinimi", false, after)
}

// TestBulkSearchJobSkipsWhatABatchHolds: a batch that changed the text of
// customers pending in a range and listed one by one holds both until it
// commits; a job that runs meanwhile leaves them (it would copy the state
// before the batch, after the batch deleted the stale copies), and copies
// them once the batch is committed.
func TestBulkSearchJobSkipsWhatABatchHolds(t *testing.T) {
	e := newEnv(t)
	x, y := e.build(person("Ximena", "Entinen")), e.build(person("Yrjö", "Entinen"))
	if err := e.writeNew([]*customer.Customer{x, y}); err != nil {
		t.Fatal(err)
	}
	e.indexSearch()
	// y is listed one by one (its copy is gone), x is in a range again.
	y = e.bulkUpdate(map[*customer.Customer]customer.Patch{y: {LastName: customer.Set("Välinen")}})[y]
	if _, err := e.pool.Exec(e.ctx, `DELETE FROM customer_search WHERE customer_id = $1`, x.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO customer_search_pending_ranges (lo, hi) VALUES ($1, $1)`, x.Number()); err != nil {
		t.Fatal(err)
	}

	var writes []ports.BatchWrite
	var changed []*customer.Customer
	for _, c := range []*customer.Customer{x, y} {
		after, err := customer.FromStorage(c.Data())
		if err != nil {
			t.Fatal(err)
		}
		events, err := after.Apply(customer.Patch{LastName: customer.Set("Viimeinen")}, bulkChange())
		if err != nil {
			t.Fatal(err)
		}
		writes = append(writes, ports.BatchWrite{Customer: after, Before: c, Events: events})
		changed = append(changed, after)
	}
	written, commit := make(chan error, 1), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- e.store.Session(e.ctx, func(ctx context.Context) error {
			rej, err := e.store.WriteBatch(ctx, ports.Batch{Writes: writes, AllOrNothing: true})
			if err == nil && len(rej) > 0 {
				err = rej[0].Err
			}
			written <- err
			<-commit
			return err
		})
	}()
	if err := <-written; err != nil {
		close(commit)
		t.Fatal(err)
	}
	n := e.indexSearch()
	close(commit)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("IndexSearch took %d customers while the batch held them", n)
	}
	e.wantFound("entinen", false)
	e.wantFound("välinen", false)
	e.wantFound("viimeinen", false, changed...)
	e.indexSearch()
	for _, c := range changed {
		if v, text, _ := e.copyOf(c.ID()); v != c.Version() || !strings.Contains(text, "viimeinen") {
			t.Errorf("copy of %d: (%d, %q), want version %d with the last name", c.Number(), v, text, c.Version())
		}
	}
	e.wantFound("viimeinen", false, changed...)
}

// TestSearchJobGivesWayToALongTransaction: a long transaction (an atomic
// import's) that deleted a customer's stale copy and then waits for a
// pending range the job took, while the job waits to copy that customer,
// is not ended by a deadlock: the job gives way within its lock timeout
// (errSearchBusy, which its worker turns into a snooze), the transaction
// goes on and commits, and the job's next run copies the customer's
// current text.
func TestSearchJobGivesWayToALongTransaction(t *testing.T) {
	e := newEnv(t)
	aino := e.build(person("Aino", "Ahonen"))
	if err := e.writeNew([]*customer.Customer{aino}); err != nil {
		t.Fatal(err)
	}
	e.indexSearch() // aino's copy exists; nothing pending
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	// As a batch of the long transaction that made aino's copy stale.
	if _, err := tx.Exec(e.ctx, `DELETE FROM customer_search WHERE customer_id = $1`, aino.ID()); err != nil {
		t.Fatal(err)
	}
	// A later range over aino's number (a range may hold any customer).
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO customer_search_pending_ranges (lo, hi) VALUES ($1, $1)`, aino.Number()); err != nil {
		t.Fatal(err)
	}
	jobErr := make(chan error, 1)
	go func() {
		_, err := e.store.IndexSearch(e.ctx)
		jobErr <- err
	}()
	time.Sleep(200 * time.Millisecond) // the job has taken the range and waits for aino's copy
	// The transaction's next batch lists aino again and waits for the job
	// holding the range, as queueSearch does.
	start := time.Now()
	if _, err := tx.Exec(e.ctx, `SELECT 1 FROM customer_search_pending_ranges r JOIN customers c ON c.number BETWEEN r.lo AND r.hi
		WHERE c.id = $1 FOR SHARE OF r`, aino.ID()); err != nil {
		t.Fatalf("the long transaction's wait for the range ended in %v", err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("the long transaction waited %s for the job: want it to give way within its lock timeout", took)
	}
	if err := <-jobErr; err == nil || !strings.Contains(err.Error(), "try again later") {
		t.Errorf("the job: %v, want it to give way (errSearchBusy)", err)
	}
	// Nothing was lost: the range is still pending, and the next run
	// copies aino.
	if n := e.pendingSearch(); n != 1 {
		t.Errorf("%d pending after the job gave way, want 1 (aino)", n)
	}
	e.indexSearch()
	if v, text, ok := e.copyOf(aino.ID()); !ok || v != aino.Version() || !strings.Contains(text, "aino ahonen") {
		t.Errorf("aino's copy after the next run: (%d, %q, %v)", v, text, ok)
	}
}
