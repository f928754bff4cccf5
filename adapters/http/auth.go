package httpapi

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// Authentication: "Authorization: Bearer <key>". The key's hash is looked up
// in the key store through a small in-memory cache, so a busy client costs
// one database round trip per keyCacheTTL rather than one per request.

const (
	securityScheme = "bearer"
	// metaScopes is the Operation.Metadata entry holding the scopes an
	// operation needs ([]access.Scope, all of them).
	metaScopes = "kirjuri.scopes"

	keyCacheTTL = 30 * time.Second
	// Unknown keys are remembered briefly, so a client hammering with a bad
	// key does not reach the database on every request, while a key created
	// a moment ago starts working soon.
	keyCacheNegativeTTL = 5 * time.Second
	keyCacheSize        = 1024
	maxSecretLen        = 512

	wwwAuthenticate = `Bearer realm="kirjuri"`
)

type keyEntry struct {
	key     access.Key
	found   bool
	expires time.Time
}

// keyCache maps key hashes to keys for a short while.
type keyCache struct {
	store ports.KeyStore
	now   func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]keyEntry
}

func newKeyCache(store ports.KeyStore, now func() time.Time) *keyCache {
	return &keyCache{store: store, now: now, entries: make(map[[sha256.Size]byte]keyEntry)}
}

// lookup finds the key of a secret; found is false when there is none.
func (c *keyCache) lookup(ctx context.Context, secret string) (k access.Key, found bool, err error) {
	var h [sha256.Size]byte
	copy(h[:], access.Hash(secret))
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[h]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.key, e.found, nil
	}
	k, err = c.store.KeyByHash(ctx, h[:])
	switch {
	case err == nil:
		c.put(h, keyEntry{key: k, found: true, expires: now.Add(keyCacheTTL)})
		return k, true, nil
	case fault.IsNotFound(err):
		c.put(h, keyEntry{expires: now.Add(keyCacheNegativeTTL)})
		return access.Key{}, false, nil
	default:
		return access.Key{}, false, fmt.Errorf("look up API key: %w", err)
	}
}

func (c *keyCache) put(h [sha256.Size]byte, e keyEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= keyCacheSize {
		now := c.now()
		for k, old := range c.entries {
			if !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		// Still full: drop arbitrary entries (map order is random).
		for k := range c.entries {
			if len(c.entries) < keyCacheSize {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[h] = e
}

// bearerSecret takes the secret out of an Authorization header.
func bearerSecret(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	s := strings.TrimSpace(header[len(prefix):])
	if s == "" || len(s) > maxSecretLen || strings.ContainsAny(s, " \t") {
		return "", false
	}
	return s, true
}

// resolveKey authenticates the request of ctx once; later calls reuse the
// result. It returns found false for a missing or unknown key.
func (a *API) resolveKey(ctx context.Context, authorization string) (access.Key, bool, error) {
	ex := exchangeFrom(ctx)
	if ex != nil && ex.hasKey {
		return ex.key, true, nil
	}
	secret, ok := bearerSecret(authorization)
	if !ok {
		return access.Key{}, false, nil
	}
	k, found, err := a.keys.lookup(ctx, secret)
	if err != nil || !found {
		return access.Key{}, false, err
	}
	if ex != nil {
		ex.key, ex.hasKey = k, true
	}
	return k, true, nil
}

// authorize is the Huma middleware that enforces each operation's security:
// 401 without a known key, 403 when the key lacks a scope the operation
// needs. Operations without security (health, documents) pass.
func (a *API) authorize(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if len(op.Security) == 0 {
		next(ctx)
		return
	}
	k, found, err := a.resolveKey(ctx.Context(), ctx.Header("Authorization"))
	if err != nil {
		a.writeErr(ctx, a.problem(ctx.Context(), err, inBody))
		return
	}
	if !found {
		ctx.SetHeader("WWW-Authenticate", wwwAuthenticate)
		msg := "missing API key: send Authorization: Bearer <key>"
		if ctx.Header("Authorization") != "" {
			msg = "unknown API key"
		}
		a.writeErr(ctx, huma.Error401Unauthorized(msg))
		return
	}
	scopes, _ := op.Metadata[metaScopes].([]access.Scope)
	for _, s := range scopes {
		if !k.Has(s) {
			a.writeErr(ctx, huma.Error403Forbidden(fmt.Sprintf("this API key lacks the scope %s", s)))
			return
		}
	}
	next(ctx)
}

// writeErr writes a problem built by this package from inside a Huma
// middleware.
func (a *API) writeErr(ctx huma.Context, err error) {
	se, ok := err.(huma.StatusError)
	if !ok {
		se = huma.Error500InternalServerError(internalError)
	}
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(se.GetStatus())
	_ = a.huma.Marshal(ctx.BodyWriter(), "application/json", se)
}

// keyOf is the authenticated key of a request.
func keyOf(ctx context.Context) access.Key {
	if ex := exchangeFrom(ctx); ex != nil {
		return ex.key
	}
	return access.Key{}
}

// caller is who makes a change: an API key, through the API, with the
// request id and the evidence the client gave.
func caller(ctx context.Context, evidence string) register.Caller {
	ex := exchangeFrom(ctx)
	var k access.Key
	var rid string
	if ex != nil {
		k, rid = ex.key, ex.requestID
	}
	return register.Caller{
		Origin: consent.Origin{
			Source:    consent.SourceAPI,
			Actor:     "apikey:" + k.Name,
			RequestID: rid,
			Evidence:  evidence,
		},
		SeeRestricted: k.Has(access.Admin),
	}
}

// security documents and enforces the scopes of an operation.
func security(op *huma.Operation, scopes ...access.Scope) {
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	op.Security = []map[string][]string{{securityScheme: names}}
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[metaScopes] = scopes
	op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden)
}
