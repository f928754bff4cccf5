package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
)

// hetu makes a valid identity code born on 1 January 19yy with the given
// individual number (002–899).
func hetu(yy, n int) string {
	const checks = "0123456789ABCDEFHJKLMNPRSTUVWXY"
	return fmt.Sprintf("0101%02d-%03d%c", yy, n, checks[((10100+yy)*1000+n)%31])
}

func TestSSNCipherKeyIDs(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	c1, _ := postgres.NewSSNCipher(k1)
	c2, _ := postgres.NewSSNCipher(k2)
	rotating, err := postgres.NewSSNCipher(k2, k1)
	if err != nil {
		t.Fatal(err)
	}
	owner := uuid.New()
	sealed, err := c1.Seal(owner, "131052-308T")
	if err != nil {
		t.Fatal(err)
	}
	if id := c1.KeyID(); sealed[0] != 2 || !bytes.Equal(sealed[1:5], id[:]) {
		t.Errorf("ciphertext starts % x, want format 2 and the key id %s", sealed[:5], id)
	}
	if c1.KeyID() == c2.KeyID() {
		t.Error("two keys have one id")
	}
	if got, err := rotating.Open(owner, sealed); err != nil || got != "131052-308T" {
		t.Errorf("the old key's ciphertext with the old key configured: %q, %v", got, err)
	}
	if _, err := c2.Open(owner, sealed); err == nil {
		t.Error("opened without the key that sealed it")
	}
	if !c1.Current(sealed) || rotating.Current(sealed) {
		t.Error("Current does not tell the sealing key")
	}
	if !bytes.Equal(rotating.Hash("131052-308T"), c2.Hash("131052-308T")) {
		t.Error("the lookup hash is not the current key's")
	}

	// The first format, without a key id, still opens, with the key as the
	// current one or as an old one.
	v1 := postgres.SealV1(t, k1, owner, "131052-308T")
	for name, c := range map[string]*postgres.SSNCipher{"current": c1, "old": rotating} {
		if got, err := c.Open(owner, v1); err != nil || got != "131052-308T" {
			t.Errorf("v1 with the key as %s: %q, %v", name, got, err)
		}
	}
	if c1.Current(v1) {
		t.Error("a v1 ciphertext counts as current; rekey would leave it")
	}
	if _, err := c2.Open(owner, v1); err == nil {
		t.Error("a v1 ciphertext opened with another key")
	}

	if _, err := postgres.NewSSNCipher(k2, make([]byte, 16)); err == nil {
		t.Error("a short old key was accepted")
	}
}

// Rotation end to end on PostgreSQL: rows of an old key and of the first
// format are read while rotating, a code held under the old key stays
// unique, rekey re-seals everything in batches without touching versions,
// resumes after an interruption, and a second run changes nothing.
func TestRekeySSNs(t *testing.T) {
	e := newEnv(t) // sealed with testKey
	var ids []uuid.UUID
	for i := range 7 {
		p := person("Rotaatio", fmt.Sprint(i))
		p.SSN = customer.Set(hetu(80+i, 100+i))
		ids = append(ids, e.create(p).ID())
	}
	noSSN := e.create(person("Ei", "Tunnusta")).ID()
	// One row in the first format, as written before key ids.
	if _, err := e.pool.Exec(e.ctx, `UPDATE customers SET ssn_enc = $2 WHERE id = $1`, ids[0], postgres.SealV1(t, testKey, ids[0], hetu(80, 100))); err != nil {
		t.Fatal(err)
	}
	versions := e.versions()

	newKey := bytes.Repeat([]byte{42}, postgres.SSNKeySize)
	rotating, err := postgres.NewSSNCipher(newKey, testKey)
	if err != nil {
		t.Fatal(err)
	}
	s2 := postgres.New(e.pool, rotating)
	reg2 := register.New(s2, wallClock{}, v7{})
	for i, id := range ids {
		c, err := s2.Get(e.ctx, id)
		if err != nil || c.Data().SSN != hetu(80+i, 100+i) {
			t.Fatalf("customer %d while rotating: %v, %v", i, c, err)
		}
	}
	// A code that a row still holds under the old key is taken.
	dup := person("Kaksoset", "Toinen")
	dup.SSN = customer.Set(hetu(81, 101))
	var conflict *fault.Conflict
	if _, err := reg2.Create(e.ctx, dup, caller); !errors.As(err, &conflict) || conflict.Field != "ssn" {
		t.Errorf("a code held under the old key: %v, want a conflict on ssn", err)
	}
	if _, err := reg2.Update(e.ctx, noSSN, customer.Patch{SSN: customer.Set(hetu(82, 102))}, 0, caller); !errors.As(err, &conflict) || conflict.Field != "ssn" {
		t.Errorf("setting a code held under the old key: %v, want a conflict on ssn", err)
	}
	// A change of the customer re-seals with the current key.
	if _, err := reg2.Update(e.ctx, ids[6], customer.Patch{FirstName: customer.Set("Muutettu")}, 0, caller); err != nil {
		t.Fatal(err)
	}
	delete(versions, ids[6])
	if n := e.sealedWith(rotating); n != 1 {
		t.Errorf("%d rows sealed with the new key before rekey, want 1", n)
	}

	// Interrupted after the first batch of 2 ...
	ctx, cancel := context.WithCancel(e.ctx)
	var seen []int
	n, err := s2.RekeySSNs(ctx, 2, func(done int) { seen = append(seen, done); cancel() })
	if err == nil || n != 2 || e.sealedWith(rotating) != 3 {
		t.Fatalf("interrupted rekey = %d, %v; %d rows sealed with the new key; want 2, an error, 3", n, err, e.sealedWith(rotating))
	}
	// ... and run again: it finishes the rest.
	seen = nil
	n, err = s2.RekeySSNs(e.ctx, 2, func(done int) { seen = append(seen, done) })
	if err != nil || n != 4 || fmt.Sprint(seen) != "[2 4]" {
		t.Fatalf("rekey = %d, %v, progress %v; want 4 in batches [2 4]", n, err, seen)
	}
	if got := e.sealedWith(rotating); got != 7 {
		t.Errorf("%d rows sealed with the new key after rekey, want 7", got)
	}
	// Again: nothing to do.
	if n, err := s2.RekeySSNs(e.ctx, 2, nil); err != nil || n != 0 {
		t.Errorf("second rekey = %d, %v; want 0", n, err)
	}
	// Versions are untouched, hashes are the new key's, and the new key
	// alone reads every code.
	for id, v := range versions {
		if got := e.versions()[id]; got != v {
			t.Errorf("customer %s: version %d after rekey, was %d", id, got, v)
		}
	}
	onlyNew, _ := postgres.NewSSNCipher(newKey)
	s3 := postgres.New(e.pool, onlyNew)
	for i, id := range ids {
		c, err := s3.Get(e.ctx, id)
		if err != nil || c.Data().SSN != hetu(80+i, 100+i) {
			t.Errorf("customer %d with the new key alone: %v, %v", i, c, err)
			continue
		}
		var hash []byte
		if err := e.pool.QueryRow(e.ctx, `SELECT ssn_hash FROM customers WHERE id = $1`, id).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(hash, onlyNew.Hash(c.Data().SSN)) {
			t.Errorf("customer %d: the lookup hash is not the new key's", i)
		}
	}
	// Uniqueness holds under the new key.
	if _, err := register.New(s3, wallClock{}, v7{}).Create(e.ctx, dup, caller); !errors.As(err, &conflict) || conflict.Field != "ssn" {
		t.Errorf("a duplicate code after rekey: %v, want a conflict on ssn", err)
	}

	// Without the key that sealed a row, rekey stops at it, naming the
	// customer but not the code.
	third, _ := postgres.NewSSNCipher(bytes.Repeat([]byte{43}, postgres.SSNKeySize))
	n, err = postgres.New(e.pool, third).RekeySSNs(e.ctx, 100, nil)
	if err == nil || n != 0 || !strings.Contains(err.Error(), "customer ") || strings.Contains(err.Error(), hetu(80, 100)) {
		t.Errorf("rekey without the old key = %d, %v; want an error naming a customer, not the code", n, err)
	}
}

// versions maps each customer's id to its version.
func (e *env) versions() map[uuid.UUID]int64 {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT id, version FROM customers`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[uuid.UUID]int64{}
	for rows.Next() {
		var id uuid.UUID
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			e.t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

// sealedWith counts the rows whose identity code c's current key sealed.
func (e *env) sealedWith(c *postgres.SSNCipher) int {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT ssn_enc FROM customers WHERE ssn_enc IS NOT NULL`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var enc []byte
		if err := rows.Scan(&enc); err != nil {
			e.t.Fatal(err)
		}
		if c.Current(enc) {
			n++
		}
	}
	return n
}
