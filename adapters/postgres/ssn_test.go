package postgres_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
)

func TestSSNNeverStoredInPlaintext(t *testing.T) {
	e := newEnv(t)
	const code = "131052-308T"
	p := person("Matti", "Meikäläinen")
	p.SSN = customer.Set(code)
	c := e.create(p)

	var enc, hash []byte
	var whole string
	err := e.pool.QueryRow(e.ctx, `SELECT ssn_enc, ssn_hash, row_to_json(c)::text FROM customers c WHERE id = $1`, c.ID()).Scan(&enc, &hash, &whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) == 0 || len(hash) != 32 {
		t.Fatalf("ssn_enc is %d bytes, ssn_hash %d: want a ciphertext and a 32-byte HMAC", len(enc), len(hash))
	}
	for _, needle := range []string{code, "131052", "308T"} {
		if bytes.Contains(enc, []byte(needle)) || bytes.Contains(hash, []byte(needle)) || strings.Contains(whole, needle) {
			t.Errorf("the stored row contains %q in the clear", needle)
		}
	}
	// The same code is sealed with a fresh nonce each time.
	c2, err := e.store.Update(e.ctx, c.ID(), func(c *customer.Customer) ([]consent.Event, error) {
		return c.Apply(customer.Patch{FirstName: customer.Set("Matias")}, customer.Change{At: time.Now(), Origin: caller.Origin, NewID: v7{}.New})
	})
	if err != nil {
		t.Fatal(err)
	}
	var enc2 []byte
	if err := e.pool.QueryRow(e.ctx, `SELECT ssn_enc FROM customers WHERE id = $1`, c.ID()).Scan(&enc2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(enc, enc2) {
		t.Error("re-saving the customer produced the same ciphertext: the nonce is not random")
	}
	if got, _ := e.store.Get(e.ctx, c.ID()); got.Data().SSN != code || c2.Data().SSN != code {
		t.Errorf("read back %q, want the code", got.Data().SSN)
	}

	// A ciphertext copied to another customer's row does not decrypt there.
	other := e.create(person("Maija", "Mallikas"))
	if _, err := e.pool.Exec(e.ctx, `UPDATE customers SET ssn_enc = $1, ssn_hash = $2 WHERE id = $3`, enc2, []byte("x"), other.ID()); err != nil {
		t.Fatal(err)
	}
	_, err = e.store.Get(e.ctx, other.ID())
	if err == nil || strings.Contains(err.Error(), code) {
		t.Errorf("reading a moved ciphertext: got %v, want an error without the code", err)
	}

	// A store with another key cannot read it.
	otherKey, _ := postgres.NewSSNCipher(bytes.Repeat([]byte{8}, postgres.SSNKeySize))
	if _, err := postgres.New(e.pool, otherKey).Get(e.ctx, c.ID()); err == nil {
		t.Error("a store with another key read the customer")
	}
}

func TestSSNCipher(t *testing.T) {
	c, err := postgres.NewSSNCipher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	// The century sign is part of the identity: another sign, another hash.
	if bytes.Equal(c.Hash("100190-999P"), c.Hash("100190Y999P")) {
		t.Error("100190-999P and 100190Y999P hash the same")
	}
	if !bytes.Equal(c.Hash("100190-999P"), c.Hash("100190-999P")) {
		t.Error("the hash is not deterministic")
	}
	other, _ := postgres.NewSSNCipher(bytes.Repeat([]byte{9}, postgres.SSNKeySize))
	if bytes.Equal(c.Hash("100190-999P"), other.Hash("100190-999P")) {
		t.Error("the hash does not depend on the key")
	}
	id := uuid.New()
	sealed, err := c.Seal(id, "100190-999P")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Open(id, sealed); err != nil || got != "100190-999P" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := c.Open(uuid.New(), sealed); err == nil {
		t.Error("a ciphertext opened for another owner")
	}
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := postgres.NewSSNCipher(make([]byte, n)); err == nil {
			t.Errorf("NewSSNCipher accepted a %d-byte key", n)
		}
	}
}

func TestCenturySignsAreDifferentPeople(t *testing.T) {
	e := newEnv(t)
	a := person("Aapo", "Aaltonen")
	a.SSN = customer.Set("100190-999P")
	b := person("Bertta", "Aaltonen")
	b.SSN = customer.Set("100190Y999P")
	e.create(a)
	e.create(b) // no conflict: another person

	var hashes int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(DISTINCT ssn_hash) FROM customers`).Scan(&hashes); err != nil {
		t.Fatal(err)
	}
	if hashes != 2 {
		t.Errorf("%d distinct hashes stored, want 2", hashes)
	}

	dup := person("Cecilia", "Aaltonen")
	dup.SSN = customer.Set("100190y999p")
	_, err := e.reg.Create(e.ctx, dup, caller)
	var c *fault.Conflict
	if !errors.As(err, &c) || c.Field != "ssn" {
		t.Fatalf("a duplicate code: got %v, want a conflict on ssn", err)
	}
	if strings.Contains(strings.ToUpper(err.Error()), "100190Y999P") || strings.Contains(err.Error(), "999") {
		t.Errorf("the conflict shows the code: %v", err)
	}
}
