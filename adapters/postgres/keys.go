package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/access"
	"kirjuri/core/fault"
)

// apiKeysLock is the transaction advisory lock that serialises changes of
// API keys, so that two instances replacing the bootstrap key, or two
// creations of one name, cannot both pass their checks. Key changes are
// rare; lookups do not take it.
const apiKeysLock int64 = 0x6b69726a_6b657973 // "kirjkeys"

const keyColumns = `id, name, scopes, created_at, last_used_at, revoked_at`

// CreateKey stores an API key under the hash of its secret. Storing the same
// hash again changes nothing; a name an active key already has is a
// conflict.
func (s *Store) CreateKey(ctx context.Context, k access.Key, hash []byte) error {
	if len(hash) == 0 {
		return fault.Invalid("key", "the key's hash is empty")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, apiKeysLock); err != nil {
			return err
		}
		var exists, nameTaken bool
		if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM api_keys WHERE hash = $1),
				EXISTS (SELECT 1 FROM api_keys WHERE name = $2 AND revoked_at IS NULL)`, hash, k.Name).
			Scan(&exists, &nameTaken); err != nil {
			return err
		}
		switch {
		case exists:
			return nil
		case nameTaken:
			return &fault.Conflict{Field: "name", Message: fmt.Sprintf("an active API key is already named %q; revoke it first or choose another name", k.Name)}
		}
		return insertKey(ctx, tx, k, hash)
	})
	return wrap("create API key", err)
}

func insertKey(ctx context.Context, tx pgx.Tx, k access.Key, hash []byte) error {
	scopes := make([]string, len(k.Scopes))
	for i, sc := range k.Scopes {
		scopes[i] = string(sc)
	}
	var created *time.Time
	if !k.CreatedAt.IsZero() {
		t := k.CreatedAt.UTC()
		created = &t
	}
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (id, name, scopes, hash, created_at)
		VALUES ($1, $2, $3, $4, coalesce($5, now()))`, k.ID, k.Name, scopes, hash, created)
	return mapError(err)
}

// KeyByHash finds the active key stored under hash and records its use.
func (s *Store) KeyByHash(ctx context.Context, hash []byte) (access.Key, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `UPDATE api_keys SET last_used_at = now()
		WHERE hash = $1 AND revoked_at IS NULL RETURNING `+keyColumns, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return access.Key{}, &fault.NotFound{What: "API key"}
	}
	if err != nil {
		return access.Key{}, wrap("find API key", err)
	}
	return k, nil
}

// ListKeys returns every key, revoked ones too, by name and creation.
func (s *Store) ListKeys(ctx context.Context) ([]access.Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY name, created_at, id`)
	if err != nil {
		return nil, wrap("list API keys", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (access.Key, error) { return scanKey(r) })
	return keys, wrap("list API keys", err)
}

// RevokeKeys revokes the active keys named name.
func (s *Store) RevokeKeys(ctx context.Context, name string, at time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce($2, now())
		WHERE name = $1 AND revoked_at IS NULL`, name, optionalTime(at))
	if err != nil {
		return 0, wrap("revoke API keys", err)
	}
	return int(tag.RowsAffected()), nil
}

// ReplaceKey makes k, under hash, the one active key of its name.
func (s *Store) ReplaceKey(ctx context.Context, k access.Key, hash []byte) error {
	if len(hash) == 0 {
		return fault.Invalid("key", "the key's hash is empty")
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, apiKeysLock); err != nil {
			return err
		}
		var (
			name    string
			revoked *time.Time
		)
		err := tx.QueryRow(ctx, `SELECT name, revoked_at FROM api_keys WHERE hash = $1`, hash).Scan(&name, &revoked)
		exists := err == nil
		switch {
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		case exists && revoked != nil:
			return &fault.Conflict{Field: "key", Message: fmt.Sprintf("this secret belongs to the key %q, which was revoked; configure a new secret", name)}
		case exists && name != k.Name:
			return &fault.Conflict{Field: "key", Message: fmt.Sprintf("this secret belongs to the key %q, not %q", name, k.Name)}
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce($3, now())
			WHERE name = $1 AND hash <> $2 AND revoked_at IS NULL`, k.Name, hash, optionalTime(k.CreatedAt)); err != nil {
			return err
		}
		if exists {
			return nil
		}
		return insertKey(ctx, tx, k, hash)
	})
	return wrap("replace API key", err)
}

func scanKey(row pgx.Row) (access.Key, error) {
	var (
		k             access.Key
		scopes        []string
		used, revoked *time.Time
	)
	if err := row.Scan(&k.ID, &k.Name, &scopes, &k.CreatedAt, &used, &revoked); err != nil {
		return access.Key{}, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if used != nil {
		k.LastUsedAt = used.UTC()
	}
	if revoked != nil {
		k.RevokedAt = revoked.UTC()
	}
	k.Scopes = make([]access.Scope, len(scopes))
	for i, sc := range scopes {
		k.Scopes[i] = access.Scope(sc)
	}
	return k, nil
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
