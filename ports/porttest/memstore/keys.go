package memstore

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"kirjuri/core/access"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// CreateKey stores a key under its hash; a hash already stored is left as
// it is.
func (s *Store) CreateKey(ctx context.Context, k access.Key, hash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(hash) == 0 {
		return fmt.Errorf("create key %q: empty hash", k.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[string(hash)]; ok {
		return nil
	}
	k.Scopes = slices.Clone(k.Scopes)
	s.keys[string(hash)] = k
	return nil
}

// KeyByHash finds a key by the hash of its secret.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	if err := ctx.Err(); err != nil {
		return access.Key{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[string(hash)]
	if !ok {
		return access.Key{}, &fault.NotFound{What: "API key"}
	}
	k.Scopes = slices.Clone(k.Scopes)
	return k, nil
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

type idemKey struct{ scope, key string }

// claim is one idempotency key: running until resp is set.
type claim struct {
	fingerprint []byte
	since       time.Time
	resp        *ports.StoredResponse
}

// Begin claims (scope, key), or returns the response stored for it.
func (s *Store) Begin(ctx context.Context, scope, key string, fingerprint []byte) (*ports.StoredResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey{scope, key}
	c, ok := s.idem[k]
	if ok && time.Since(c.since) > IdempotencyTTL {
		delete(s.idem, k)
		ok = false
	}
	switch {
	case !ok:
		s.idem[k] = &claim{fingerprint: bytes.Clone(fingerprint), since: time.Now()}
		return nil, nil
	case !bytes.Equal(c.fingerprint, fingerprint):
		return nil, ports.ErrIdempotencyMismatch
	case c.resp == nil && time.Since(c.since) > ports.IdempotencyLease:
		// The first request's process died: take the claim over.
		s.idem[k] = &claim{fingerprint: bytes.Clone(fingerprint), since: time.Now()}
		return nil, nil
	case c.resp == nil:
		return nil, ports.ErrIdempotencyInFlight
	}
	r := cloneResponse(*c.resp)
	return &r, nil
}

// Finish stores the response of a claimed key.
func (s *Store) Finish(ctx context.Context, scope, key string, r ports.StoredResponse) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.idem[idemKey{scope, key}]
	if !ok {
		return fmt.Errorf("finish idempotency key %q: it was not claimed", key)
	}
	r = cloneResponse(r)
	c.resp = &r
	return nil
}

// Abandon releases a claim that has no response, so that the client may
// retry; a finished key stays.
func (s *Store) Abandon(ctx context.Context, scope, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey{scope, key}
	if c, ok := s.idem[k]; ok && c.resp == nil {
		delete(s.idem, k)
	}
	return nil
}

func cloneResponse(r ports.StoredResponse) ports.StoredResponse {
	r.Header = maps.Clone(r.Header)
	r.Body = bytes.Clone(r.Body)
	return r
}
