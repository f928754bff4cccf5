package httpapi

import (
	"context"
	"crypto/sha256"
	"errors"
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
//
// The cache keeps valid keys and unknown ones apart, each bounded, so a
// flood of random keys cannot push a valid key out. Lookups of the same
// hash share one query (single flight), and hashes the cache has never
// seen valid reach the database at most unknownLookupRate times a second
// (a token bucket; beyond it the answer is 503 with Retry-After), so such a
// flood costs the database a bounded number of queries. A valid key whose
// entry expired is checked again without waiting for the bucket. A revoked
// key therefore stops working within keyCacheTTL.

const (
	securityScheme = "bearer"
	// metaScopes is the Operation.Metadata entry holding the scopes an
	// operation needs ([]access.Scope, all of them).
	metaScopes = "kirjuri.scopes"

	// keyCacheTTL is how long a valid key is trusted without asking the
	// store: a revoked key stops working within it.
	keyCacheTTL = 30 * time.Second
	// Unknown keys are remembered briefly, so a client hammering with a bad
	// key does not reach the database on every request, while a key created
	// a moment ago starts working soon.
	keyCacheNegativeTTL = 5 * time.Second
	// keyCacheSize bounds the valid keys kept; keyCacheUnknownSize the
	// unknown ones, separately.
	keyCacheSize        = 1024
	keyCacheUnknownSize = 4096
	// Lookups of hashes not known to be valid: at most unknownLookupBurst
	// at once, refilled at unknownLookupRate a second.
	unknownLookupRate  = 20
	unknownLookupBurst = 40
	maxSecretLen       = 512

	wwwAuthenticate = `Bearer realm="kirjuri"`
)

// errKeyLookupsBusy is returned while unknown keys arrive faster than the
// database is asked about them.
var errKeyLookupsBusy = errors.New("too many requests with API keys that are not known; retry shortly")

type keyHash = [sha256.Size]byte

type keyEntry struct {
	key     access.Key
	expires time.Time
}

// keyFlight is one store lookup that requests for the same hash wait for.
type keyFlight struct {
	done  chan struct{}
	key   access.Key
	found bool
	err   error
}

// keyCache maps key hashes to keys for a short while.
type keyCache struct {
	store ports.KeyStore
	now   func() time.Time

	mu sync.Mutex
	// entries holds valid keys; an expired entry stays until it is
	// checked again, marking the hash as one that was valid.
	entries map[keyHash]keyEntry
	// unknown holds hashes the store did not know, until their expiry.
	unknown map[keyHash]time.Time
	flights map[keyHash]*keyFlight
	// The token bucket of lookups of hashes not known to be valid.
	tokens     float64
	refilledAt time.Time
}

func newKeyCache(store ports.KeyStore, now func() time.Time) *keyCache {
	return &keyCache{
		store:      store,
		now:        now,
		entries:    make(map[keyHash]keyEntry),
		unknown:    make(map[keyHash]time.Time),
		flights:    make(map[keyHash]*keyFlight),
		tokens:     unknownLookupBurst,
		refilledAt: now(),
	}
}

// lookup finds the key of a secret; found is false when there is none. It
// returns errKeyLookupsBusy when the secret is not cached and too many
// unknown keys are being looked up.
func (c *keyCache) lookup(ctx context.Context, secret string) (k access.Key, found bool, err error) {
	var h keyHash
	copy(h[:], access.Hash(secret))
	for {
		c.mu.Lock()
		now := c.now()
		e, wasValid := c.entries[h]
		if wasValid && now.Before(e.expires) {
			c.mu.Unlock()
			return e.key, true, nil
		}
		if exp, ok := c.unknown[h]; ok {
			if now.Before(exp) {
				c.mu.Unlock()
				return access.Key{}, false, nil
			}
			delete(c.unknown, h)
		}
		if f, ok := c.flights[h]; ok {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return access.Key{}, false, ctx.Err()
			}
			if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the leader's request went away; ask again
			}
			return f.key, f.found, f.err
		}
		if !wasValid && !c.takeTokenLocked(now) {
			c.mu.Unlock()
			return access.Key{}, false, errKeyLookupsBusy
		}
		f := &keyFlight{done: make(chan struct{})}
		c.flights[h] = f
		c.mu.Unlock()

		f.key, f.found, f.err = c.fetch(ctx, h)
		c.mu.Lock()
		delete(c.flights, h)
		c.mu.Unlock()
		close(f.done)
		return f.key, f.found, f.err
	}
}

// fetch asks the store and caches the answer.
func (c *keyCache) fetch(ctx context.Context, h keyHash) (access.Key, bool, error) {
	k, err := c.store.KeyByHash(ctx, h[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	switch {
	case err == nil:
		c.putLocked(h, keyEntry{key: k, expires: now.Add(keyCacheTTL)}, now)
		return k, true, nil
	case fault.IsNotFound(err):
		delete(c.entries, h) // revoked
		c.putUnknownLocked(h, now.Add(keyCacheNegativeTTL), now)
		return access.Key{}, false, nil
	default:
		return access.Key{}, false, fmt.Errorf("look up API key: %w", err)
	}
}

// takeTokenLocked takes one token of the bucket, refilled for the time
// passed since the last refill.
func (c *keyCache) takeTokenLocked(now time.Time) bool {
	if d := now.Sub(c.refilledAt); d > 0 {
		c.tokens = min(unknownLookupBurst, c.tokens+d.Seconds()*unknownLookupRate)
		c.refilledAt = now
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *keyCache) putLocked(h keyHash, e keyEntry, now time.Time) {
	if _, ok := c.entries[h]; !ok && len(c.entries) >= keyCacheSize {
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

func (c *keyCache) putUnknownLocked(h keyHash, expires, now time.Time) {
	if len(c.unknown) >= keyCacheUnknownSize {
		for k, exp := range c.unknown {
			if !now.Before(exp) {
				delete(c.unknown, k)
			}
		}
		for k := range c.unknown {
			if len(c.unknown) < keyCacheUnknownSize {
				break
			}
			delete(c.unknown, k)
		}
	}
	c.unknown[h] = expires
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
	if errors.Is(err, errKeyLookupsBusy) {
		ctx.SetHeader("Retry-After", "1")
		a.writeErr(ctx, huma.Error503ServiceUnavailable(err.Error()))
		return
	}
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
	op.Errors = append(op.Errors, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable)
}
