// Package access holds API keys and their scopes. Keys are random secrets
// made outside the core; the core only knows how a key is stored (hashed)
// and what each scope allows.
package access

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Scope is one permission of an API key.
type Scope string

const (
	CustomersRead  Scope = "customers:read"
	CustomersWrite Scope = "customers:write"
	PIIRead        Scope = "pii:read" // see unmasked personal identity codes
	Imports        Scope = "imports"
	AuditRead      Scope = "audit:read"
	Admin          Scope = "admin"
)

// Scopes lists every scope in order.
var Scopes = []Scope{CustomersRead, CustomersWrite, PIIRead, Imports, AuditRead, Admin}

// ParseScopes reads a comma-separated list of scopes.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		sc := Scope(strings.TrimSpace(part))
		if sc == "" {
			continue
		}
		if !slices.Contains(Scopes, sc) {
			return nil, fmt.Errorf("unknown scope %q; known scopes: %s", sc, strings.Join(ScopeNames(), ", "))
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no scopes given; known scopes: %s", strings.Join(ScopeNames(), ", "))
	}
	return out, nil
}

// ScopeNames returns the scopes as strings.
func ScopeNames() []string {
	out := make([]string, len(Scopes))
	for i, s := range Scopes {
		out[i] = string(s)
	}
	return out
}

// Key is a stored API key, without its secret.
type Key struct {
	ID        uuid.UUID
	Name      string
	Scopes    []Scope
	CreatedAt time.Time
	// LastUsedAt is when the key was last looked up to authenticate a
	// request (zero: never). Lookups are cached, so it is exact to within
	// the cache's lifetime.
	LastUsedAt time.Time
	// RevokedAt is when the key was revoked (zero: it is active). A revoked
	// key authenticates nothing.
	RevokedAt time.Time
}

// Revoked reports whether the key has been revoked.
func (k Key) Revoked() bool { return !k.RevokedAt.IsZero() }

// Has reports whether the key carries the scope. The admin scope does not
// imply the others: keys say what they may do.
func (k Key) Has(s Scope) bool { return slices.Contains(k.Scopes, s) }

// Hash is how a secret is stored and looked up. Secrets are long random
// strings, so a fast hash is enough: there is nothing to guess.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// SecretPrefix starts every key, so that a leaked key is easy to recognise.
const SecretPrefix = "kir_"
