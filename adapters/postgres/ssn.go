package postgres

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// SSNKeySize is the length of the key personal identity codes are protected
// with.
const SSNKeySize = 32

// ssnFormatV1 starts every ciphertext, so that a later key or algorithm can
// be told apart.
const ssnFormatV1 byte = 1

// SSNCipher protects personal identity codes at rest: AES-256-GCM with a
// random nonce for the stored value, HMAC-SHA256 for the lookup and
// uniqueness hash. Both keys are derived from one configured key with
// HKDF-SHA256, so that neither can be used for the other's job.
type SSNCipher struct {
	aead   cipher.AEAD
	macKey []byte
}

// NewSSNCipher builds a cipher from a 32-byte key (KIRJURI_ENCRYPTION_KEY).
func NewSSNCipher(key []byte) (*SSNCipher, error) {
	if len(key) != SSNKeySize {
		return nil, fmt.Errorf("postgres: the identity-code key must be %d bytes, not %d", SSNKeySize, len(key))
	}
	encKey, err := hkdf.Key(sha256.New, key, nil, "kirjuri ssn encryption v1", 32)
	if err != nil {
		return nil, fmt.Errorf("postgres: derive the identity-code encryption key: %w", err)
	}
	macKey, err := hkdf.Key(sha256.New, key, nil, "kirjuri ssn lookup hash v1", 32)
	if err != nil {
		return nil, fmt.Errorf("postgres: derive the identity-code hash key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: identity-code cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("postgres: identity-code cipher: %w", err)
	}
	return &SSNCipher{aead: aead, macKey: macKey}, nil
}

// Hash is the keyed lookup hash of a canonical identity code. Codes that
// differ in any character, the century sign included, hash differently.
func (c *SSNCipher) Hash(ssn string) []byte {
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte(ssn))
	return m.Sum(nil)
}

// Seal encrypts an identity code for the customer with the given id. The id
// is bound to the ciphertext as additional data, so a value copied to
// another customer's row does not decrypt.
func (c *SSNCipher) Seal(owner uuid.UUID, ssn string) ([]byte, error) {
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(ssn)+c.aead.Overhead())
	out[0] = ssnFormatV1
	nonce := out[1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("postgres: identity-code nonce: %w", err)
	}
	return c.aead.Seal(out, nonce, []byte(ssn), owner[:]), nil
}

var errSSNCiphertext = errors.New("postgres: a stored identity code cannot be decrypted (wrong KIRJURI_ENCRYPTION_KEY, or a damaged row)")

// Open decrypts what Seal made for the same owner.
func (c *SSNCipher) Open(owner uuid.UUID, sealed []byte) (string, error) {
	ns := c.aead.NonceSize()
	if len(sealed) < 1+ns+c.aead.Overhead() || sealed[0] != ssnFormatV1 {
		return "", errSSNCiphertext
	}
	plain, err := c.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], owner[:])
	if err != nil {
		return "", errSSNCiphertext
	}
	return string(plain), nil
}
