package postgres_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// TestIdempotencyKeepsNoPlainText: a stored response is sealed, so the raw
// table holds no identity code, email or name of the customer it shows,
// and the token it is sealed with binds it to its row.
func TestIdempotencyKeepsNoPlainText(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	const scope, key = "key:pii POST /v1/customers", "create-1"
	secrets := []string{"131052-308T", "salainen.sahkoposti@example.fi", "Salaisennimi"}
	body := []byte(`{"ssn":"131052-308T","email":"salainen.sahkoposti@example.fi","lastName":"Salaisennimi"}`)
	token, got, err := s.Begin(ctx, scope, key, []byte("fp"))
	if err != nil || got != nil {
		t.Fatalf("Begin = %v, %v", got, err)
	}
	resp := ports.StoredResponse{Status: 201, Header: map[string]string{"Content-Type": "application/json"}, Body: body,
		Created: time.Now().UTC().Truncate(time.Microsecond), Customer: uuid.New(), Version: 1}
	if err := s.Finish(ctx, scope, key, token, resp); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	var raw []byte
	if err := pool.QueryRow(ctx, `SELECT convert_to(t::text, 'UTF8') FROM idempotency_keys t`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var sealed, fp []byte
	if err := pool.QueryRow(ctx, `SELECT body, fingerprint FROM idempotency_keys`).Scan(&sealed, &fp); err != nil {
		t.Fatal(err)
	}
	// The fingerprint (an unkeyed hash of the body) is kept keyed.
	if bytes.Equal(fp, []byte("fp")) {
		t.Error("the fingerprint is kept as given, not keyed")
	}
	for _, secret := range secrets {
		if bytes.Contains(raw, []byte(secret)) || bytes.Contains(sealed, []byte(secret)) {
			t.Errorf("the idempotency table holds %q in plain text", secret)
		}
	}
	_, got, err = s.Begin(ctx, scope, key, []byte("fp"))
	if err != nil || got == nil || !bytes.Equal(got.Body, body) {
		t.Fatalf("replay = %+v, %v; want the body back", got, err)
	}

	// A sealed body moved to another row (another token) does not open, and
	// the caller is told so as a conflict on the key (a 409, not a 500):
	// the same answer as for a body sealed with a key dropped after a
	// rotation.
	if _, err := pool.Exec(ctx, `UPDATE idempotency_keys SET token = $1`, uuid.New()); err != nil {
		t.Fatal(err)
	}
	_, got, err = s.Begin(ctx, scope, key, []byte("fp"))
	var conflict *fault.Conflict
	if !errors.As(err, &conflict) || conflict.Field != "Idempotency-Key" {
		t.Errorf("Begin of an unreadable record = %+v, %v; want a conflict on Idempotency-Key", got, err)
	}
}
