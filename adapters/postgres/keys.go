package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/access"
	"kirjuri/core/fault"
)

// CreateKey stores an API key under the hash of its secret. Storing the same
// hash again changes nothing.
func (s *Store) CreateKey(ctx context.Context, k access.Key, hash []byte) error {
	if len(hash) == 0 {
		return fault.Invalid("key", "the key's hash is empty")
	}
	scopes := make([]string, len(k.Scopes))
	for i, sc := range k.Scopes {
		scopes[i] = string(sc)
	}
	var created *time.Time
	if !k.CreatedAt.IsZero() {
		t := k.CreatedAt.UTC()
		created = &t
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (id, name, scopes, hash, created_at)
		VALUES ($1, $2, $3, $4, coalesce($5, now()))
		ON CONFLICT (hash) DO NOTHING`, k.ID, k.Name, scopes, hash, created)
	return wrap("create API key", mapError(err))
}

// KeyByHash finds the key stored under hash.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	var (
		k      access.Key
		scopes []string
	)
	err := s.pool.QueryRow(ctx, `SELECT id, name, scopes, created_at FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.Name, &scopes, &k.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return access.Key{}, &fault.NotFound{What: "API key"}
	}
	if err != nil {
		return access.Key{}, wrap("find API key", err)
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.Scopes = make([]access.Scope, len(scopes))
	for i, sc := range scopes {
		k.Scopes[i] = access.Scope(sc)
	}
	return k, nil
}
