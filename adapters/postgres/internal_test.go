package postgres

import (
	"context"
	"errors"
	"testing"
)

// SessionExec runs sql on the transaction of the session ctx carries (for
// the external tests: a statement that fails inside a session).
func SessionExec(ctx context.Context, sql string) error {
	tx := sessionTx(ctx)
	if tx == nil {
		return errors.New("no session")
	}
	_, err := tx.Exec(ctx, sql)
	return err
}

// ConflictConstraints lists the constraints mapError knows, for the
// external tests.
func ConflictConstraints() map[string]string {
	out := map[string]string{}
	for name, c := range conflicts {
		out[name] = c.Field
	}
	return out
}

func TestPhoneDigits(t *testing.T) {
	tests := []struct {
		give   string
		want   string
		wantOK bool
	}{
		{"0401234567", "358401234567", true},
		{"040 123-4567", "358401234567", true},
		{"+358 40 1234567", "358401234567", true},
		{"00358401234567", "358401234567", true},
		{"(09) 123 4567", "35891234567", true},
		{"10001", "10001", true},
		{"matti", "", false},
		{"40+1", "", false},
		{"-", "", false},
	}
	for _, tt := range tests {
		got, ok := phoneDigits(tt.give)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("phoneDigits(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 10000, 1 << 62} {
		got, err := decodeCursor(encodeCursor(n))
		if err != nil || got != n {
			t.Errorf("cursor of %d read back as %d, %v", n, got, err)
		}
	}
}

// SearchText is searchText, for the external tests that load data in bulk.
var SearchText = searchText

// CursorFor is the cursor continuing after a number.
var CursorFor = encodeCursor

// SealV1 seals an identity code in the first ciphertext format, without a
// key id (0x01 | nonce | ciphertext), as stores before key ids wrote it.
func SealV1(t testing.TB, key []byte, owner [16]byte, ssn string) []byte {
	t.Helper()
	k, err := newSSNKey(key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	out := append([]byte{ssnFormatV1}, nonce...)
	return k.aead.Seal(out, nonce, []byte(ssn), owner[:])
}
