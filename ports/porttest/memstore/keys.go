package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"kirjuri/core/access"
	"kirjuri/core/fault"
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
	if s.activeKeyNamedLocked(k.Name) {
		return keyNameInUse(k.Name)
	}
	k.Scopes = slices.Clone(k.Scopes)
	k.LastUsedAt, k.RevokedAt = time.Time{}, time.Time{}
	s.keys[string(hash)] = k
	return nil
}

// KeyByHash finds an active key by the hash of its secret and records
// that it was used.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	if err := ctx.Err(); err != nil {
		return access.Key{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[string(hash)]
	if !ok || k.Revoked() {
		return access.Key{}, &fault.NotFound{What: "API key"}
	}
	k.LastUsedAt = time.Now().UTC()
	s.keys[string(hash)] = k
	k.Scopes = slices.Clone(k.Scopes)
	return k, nil
}
