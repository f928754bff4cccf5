package memstore

import (
	"bytes"
	"context"
	"maps"
	"time"

	"github.com/google/uuid"

	"kirjuri/ports"
)

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = ports.IdempotencyTTL

type idemKey struct{ scope, key string }

// claim is one idempotency key: running until resp is set.
type claim struct {
	fingerprint []byte
	token       uuid.UUID
	since       time.Time
	resp        *ports.StoredResponse
}

// Begin claims (scope, key), or returns the response stored for it.
func (s *Store) Begin(ctx context.Context, scope, key string, fingerprint []byte) (uuid.UUID, *ports.StoredResponse, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, nil, err
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
	case !ok, c.resp == nil && time.Since(c.since) > ports.IdempotencyLease:
		// A new key, or the first request's process died: take the claim
		// (over), with a token of its own.
		t := uuid.New()
		s.idem[k] = &claim{fingerprint: bytes.Clone(fingerprint), token: t, since: time.Now()}
		return t, nil, nil
	case !bytes.Equal(c.fingerprint, fingerprint):
		return uuid.Nil, nil, ports.ErrIdempotencyMismatch
	case c.resp == nil:
		return uuid.Nil, nil, ports.ErrIdempotencyInFlight
	}
	r := cloneResponse(*c.resp)
	return uuid.Nil, &r, nil
}

// Finish stores the response of the claim token owns. A response about a
// customer erased since, showing a version older than the erased one, is
// stored without its header and body.
func (s *Store) Finish(ctx context.Context, scope, key string, token uuid.UUID, r ports.StoredResponse) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.idem[idemKey{scope, key}]
	if !ok || c.resp != nil || c.token != token {
		return ports.ErrIdempotencyClaimLost
	}
	r = cloneResponse(r)
	r.Erased = false
	if r.Customer != uuid.Nil {
		if d, ok := s.customers[r.Customer]; ok && d.ErasedAt != nil && r.Version < d.Version {
			r = scrubbed(r)
		}
	}
	c.resp = &r
	return nil
}

// Abandon releases the unfinished claim token owns, so that the client may
// retry.
func (s *Store) Abandon(ctx context.Context, scope, key string, token uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey{scope, key}
	c, ok := s.idem[k]
	if !ok || c.resp != nil || c.token != token {
		return ports.ErrIdempotencyClaimLost
	}
	delete(s.idem, k)
	return nil
}

// ExpireIdempotencyClaim makes the claim of (scope, key) older than
// ports.IdempotencyLease, as if its process had died, so that tests can
// take it over without waiting. It reports whether there was a claim.
func (s *Store) ExpireIdempotencyClaim(scope, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.idem[idemKey{scope, key}]
	if ok {
		c.since = c.since.Add(-ports.IdempotencyLease - time.Second)
	}
	return ok
}

// scrubIdempotency forgets the header and body of every finished response
// about the customer id. It runs under s.mu, in the erasure's commit.
func (s *Store) scrubIdempotency(id uuid.UUID) {
	for _, c := range s.idem {
		if c.resp != nil && c.resp.Customer == id && !c.resp.Erased {
			r := scrubbed(*c.resp)
			c.resp = &r
		}
	}
}

func scrubbed(r ports.StoredResponse) ports.StoredResponse {
	r.Header, r.Body, r.Erased = nil, nil, true
	return r
}

func cloneResponse(r ports.StoredResponse) ports.StoredResponse {
	r.Header = maps.Clone(r.Header)
	r.Body = bytes.Clone(r.Body)
	return r
}
