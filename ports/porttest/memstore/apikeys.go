package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"kirjuri/core/access"
	"kirjuri/core/fault"
)

// ListKeys returns every key, revoked ones too, by name and creation.
func (s *Store) ListKeys(ctx context.Context) ([]access.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]access.Key, 0, len(s.keys))
	for _, k := range s.keys {
		k.Scopes = slices.Clone(k.Scopes)
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b access.Key) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	return out, nil
}

// RevokeKeys revokes the active keys named name.
func (s *Store) RevokeKeys(ctx context.Context, name string, at time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokeLocked(name, nil, at), nil
}

// ReplaceKey makes k the one active key of its name.
func (s *Store) ReplaceKey(ctx context.Context, k access.Key, hash []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(hash) == 0 {
		return fmt.Errorf("replace key %q: empty hash", k.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[string(hash)]; ok {
		switch {
		case old.Revoked():
			return &fault.Conflict{Field: "key", Message: fmt.Sprintf("this secret belongs to the key %q, which was revoked; configure a new secret", old.Name)}
		case old.Name != k.Name:
			return &fault.Conflict{Field: "key", Message: fmt.Sprintf("this secret belongs to the key %q, not %q", old.Name, k.Name)}
		}
	}
	s.revokeLocked(k.Name, hash, k.CreatedAt)
	if _, ok := s.keys[string(hash)]; !ok {
		k.Scopes = slices.Clone(k.Scopes)
		k.LastUsedAt, k.RevokedAt = time.Time{}, time.Time{}
		s.keys[string(hash)] = k
	}
	return nil
}

// revokeLocked revokes the active keys named name, except the one under
// keep.
func (s *Store) revokeLocked(name string, keep []byte, at time.Time) int {
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	n := 0
	for h, k := range s.keys {
		if k.Name != name || k.Revoked() || h == string(keep) {
			continue
		}
		k.RevokedAt = at
		s.keys[h] = k
		n++
	}
	return n
}

func (s *Store) activeKeyNamedLocked(name string) bool {
	for _, k := range s.keys {
		if k.Name == name && !k.Revoked() {
			return true
		}
	}
	return false
}

func keyNameInUse(name string) error {
	return &fault.Conflict{Field: "name", Message: fmt.Sprintf("an active API key is already named %q; revoke it first or choose another name", name)}
}
