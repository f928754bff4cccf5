package postgres

import (
	"bytes"
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

// Ciphertext formats. Every ciphertext starts with its format byte.
//
//	v1: 0x01 | nonce (12) | AES-GCM ciphertext and tag
//	v2: 0x02 | key id (4) | nonce (12) | AES-GCM ciphertext and tag
//
// v2 names the key that sealed it, so that keys can be rotated: the current
// key seals, old keys still open, and `kirjuri rekey` re-seals what an old
// key made. v1 (written before key ids) is still opened, by trying each
// configured key; rekey turns it into v2.
const (
	ssnFormatV1 byte = 1
	ssnFormatV2 byte = 2
	ssnKeyIDLen      = 4
)

// SSNKeyID names a key in v2 ciphertexts. It is derived from the key itself
// (HKDF), so nothing has to be configured beside the key, and it reveals
// nothing about the key.
type SSNKeyID [ssnKeyIDLen]byte

func (id SSNKeyID) String() string { return fmt.Sprintf("%x", id[:]) }

// ssnKey is one key with what is derived from it.
type ssnKey struct {
	id     SSNKeyID
	aead   cipher.AEAD
	macKey []byte
}

// SSNCipher protects personal identity codes at rest: AES-256-GCM with a
// random nonce for the stored value, HMAC-SHA256 for the lookup and
// uniqueness hash. Both keys are derived from one configured key with
// HKDF-SHA256, so that neither can be used for the other's job. It seals
// with the current key and opens with the current or any old key.
type SSNCipher struct {
	current *ssnKey
	old     []*ssnKey
}

// NewSSNCipher builds a cipher from the current 32-byte key
// (KIRJURI_ENCRYPTION_KEY) and any old keys that may still have sealed
// stored values (KIRJURI_ENCRYPTION_OLD_KEYS). An old key equal to the
// current one is ignored.
func NewSSNCipher(key []byte, old ...[]byte) (*SSNCipher, error) {
	cur, err := newSSNKey(key)
	if err != nil {
		return nil, err
	}
	c := &SSNCipher{current: cur}
	seen := map[SSNKeyID][]byte{cur.id: key}
	for i, o := range old {
		k, err := newSSNKey(o)
		if err != nil {
			return nil, fmt.Errorf("old key %d: %w", i+1, err)
		}
		if prev, ok := seen[k.id]; ok {
			if bytes.Equal(prev, o) {
				continue // the same key twice
			}
			return nil, fmt.Errorf("postgres: old key %d has the same key id (%s) as another key; generate another key", i+1, k.id)
		}
		seen[k.id] = o
		c.old = append(c.old, k)
	}
	return c, nil
}

func newSSNKey(key []byte) (*ssnKey, error) {
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
	idBytes, err := hkdf.Key(sha256.New, key, nil, "kirjuri ssn key id v1", ssnKeyIDLen)
	if err != nil {
		return nil, fmt.Errorf("postgres: derive the identity-code key id: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: identity-code cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("postgres: identity-code cipher: %w", err)
	}
	k := &ssnKey{aead: aead, macKey: macKey}
	copy(k.id[:], idBytes)
	return k, nil
}

// KeyID is the id of the current key, which every new ciphertext carries.
func (c *SSNCipher) KeyID() SSNKeyID { return c.current.id }

// Hash is the keyed lookup hash of a canonical identity code under the
// current key. Codes that differ in any character, the century sign
// included, hash differently.
func (c *SSNCipher) Hash(ssn string) []byte { return c.current.hash(ssn) }

// oldHashes are the hashes of ssn under the old keys: rows not yet rekeyed
// carry those.
func (c *SSNCipher) oldHashes(ssn string) [][]byte {
	out := make([][]byte, len(c.old))
	for i, k := range c.old {
		out[i] = k.hash(ssn)
	}
	return out
}

func (k *ssnKey) hash(ssn string) []byte {
	m := hmac.New(sha256.New, k.macKey)
	m.Write([]byte(ssn))
	return m.Sum(nil)
}

// Seal encrypts an identity code for the customer with the given id, under
// the current key. The id is bound to the ciphertext as additional data, so
// a value copied to another customer's row does not decrypt.
func (c *SSNCipher) Seal(owner uuid.UUID, ssn string) ([]byte, error) {
	k := c.current
	ns := k.aead.NonceSize()
	head := 1 + ssnKeyIDLen + ns
	out := make([]byte, head, head+len(ssn)+k.aead.Overhead())
	out[0] = ssnFormatV2
	copy(out[1:], k.id[:])
	nonce := out[1+ssnKeyIDLen:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("postgres: identity-code nonce: %w", err)
	}
	return k.aead.Seal(out, nonce, []byte(ssn), owner[:]), nil
}

var errSSNCiphertext = errors.New("postgres: a stored identity code cannot be decrypted (wrong KIRJURI_ENCRYPTION_KEY or missing KIRJURI_ENCRYPTION_OLD_KEYS, or a damaged row)")

// Open decrypts what Seal made for the same owner, with whichever
// configured key sealed it.
func (c *SSNCipher) Open(owner uuid.UUID, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", errSSNCiphertext
	}
	switch sealed[0] {
	case ssnFormatV2:
		if len(sealed) < 1+ssnKeyIDLen {
			return "", errSSNCiphertext
		}
		var id SSNKeyID
		copy(id[:], sealed[1:])
		for _, k := range c.keys() {
			if k.id == id {
				return k.open(owner, sealed[1+ssnKeyIDLen:])
			}
		}
		return "", errSSNCiphertext
	case ssnFormatV1:
		for _, k := range c.keys() {
			if s, err := k.open(owner, sealed[1:]); err == nil {
				return s, nil
			}
		}
	}
	return "", errSSNCiphertext
}

// Current reports whether sealed was made by Seal with the current key;
// anything else is for rekey to re-seal.
func (c *SSNCipher) Current(sealed []byte) bool {
	return len(sealed) > 1+ssnKeyIDLen && sealed[0] == ssnFormatV2 && bytes.Equal(sealed[1:1+ssnKeyIDLen], c.current.id[:])
}

// currentPrefix is how every ciphertext of the current key starts.
func (c *SSNCipher) currentPrefix() []byte {
	return append([]byte{ssnFormatV2}, c.current.id[:]...)
}

func (c *SSNCipher) keys() []*ssnKey { return append([]*ssnKey{c.current}, c.old...) }

// open decrypts nonce | ciphertext.
func (k *ssnKey) open(owner uuid.UUID, body []byte) (string, error) {
	ns := k.aead.NonceSize()
	if len(body) < ns+k.aead.Overhead() {
		return "", errSSNCiphertext
	}
	plain, err := k.aead.Open(nil, body[:ns], body[ns:], owner[:])
	if err != nil {
		return "", errSSNCiphertext
	}
	return string(plain), nil
}
