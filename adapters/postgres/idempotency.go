package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/core/fault"
	"kirjuri/ports"
)

// IdempotencyTTL is how long a stored response answers for its key. Older
// entries are ignored and replaced.
const IdempotencyTTL = ports.IdempotencyTTL

// idempotencyField names the header in conflicts.
const idempotencyField = "Idempotency-Key"

// Begin claims (scope, key) for a request whose body hashes to fingerprint.
// A new claim returns (nil, nil). A finished claim with the same fingerprint
// returns its stored response; another fingerprint, or a claim whose request
// is still running, is a *fault.Conflict.
func (s *Store) Begin(ctx context.Context, scope, key string, fingerprint []byte) (*ports.StoredResponse, error) {
	ttl := IdempotencyTTL.Seconds()
	// The claim may be released (Abandon) between the insert and the read:
	// then try again. Twice is plenty; three times covers a busy client.
	for range 3 {
		var claimed bool
		err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint)
			VALUES ($1, $2, $3)
			ON CONFLICT (scope, key) DO UPDATE
				SET fingerprint = EXCLUDED.fingerprint, finished = false, status = 0,
					headers = '{}', body = NULL, response_at = NULL, created_at = now()
				WHERE idempotency_keys.created_at < now() - make_interval(secs => $4)
					OR (NOT idempotency_keys.finished AND idempotency_keys.created_at < now() - make_interval(secs => $5))
			RETURNING true`, scope, key, fingerprint, ttl, ports.IdempotencyLease.Seconds()).Scan(&claimed)
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, wrap("claim idempotency key", err)
		}
		var (
			fp       []byte
			finished bool
			r        ports.StoredResponse
			headers  []byte
		)
		err = s.pool.QueryRow(ctx, `SELECT fingerprint, finished, status, headers, body, coalesce(response_at, created_at)
			FROM idempotency_keys
			WHERE scope = $1 AND key = $2 AND created_at >= now() - make_interval(secs => $3)`,
			scope, key, ttl).Scan(&fp, &finished, &r.Status, &headers, &r.Body, &r.Created)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, wrap("read idempotency key", err)
		}
		switch {
		case !bytes.Equal(fp, fingerprint):
			return nil, ports.ErrIdempotencyMismatch
		case !finished:
			return nil, ports.ErrIdempotencyInFlight
		}
		if err := json.Unmarshal(headers, &r.Header); err != nil {
			return nil, fmt.Errorf("postgres: stored response headers: %w", err)
		}
		r.Created = r.Created.UTC()
		return &r, nil
	}
	return nil, &fault.Conflict{Field: idempotencyField, Message: "this idempotency key is being claimed and released by other requests; retry later"}
}

// Finish stores the response of a claimed key.
func (s *Store) Finish(ctx context.Context, scope, key string, r ports.StoredResponse) error {
	headers := r.Header
	if headers == nil {
		headers = map[string]string{}
	}
	hj, err := json.Marshal(headers)
	if err != nil {
		return fmt.Errorf("postgres: encode response headers: %w", err)
	}
	body := r.Body
	if body == nil {
		body = []byte{}
	}
	var created *time.Time
	if !r.Created.IsZero() {
		t := r.Created.UTC()
		created = &t
	}
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys
		SET finished = true, status = $3, headers = $4, body = $5, response_at = coalesce($6, now())
		WHERE scope = $1 AND key = $2 AND NOT finished`, scope, key, r.Status, string(hj), body, created)
	if err != nil {
		return wrap("finish idempotency key", err)
	}
	if tag.RowsAffected() == 0 {
		return &fault.NotFound{What: "idempotency key claim", Key: key}
	}
	return nil
}

// Abandon releases an unfinished claim so the client may retry. Releasing
// what is not claimed does nothing.
func (s *Store) Abandon(ctx context.Context, scope, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND NOT finished`, scope, key)
	return wrap("abandon idempotency key", err)
}

// PurgeIdempotency deletes entries older than IdempotencyTTL and returns how
// many it deleted.
func (s *Store) PurgeIdempotency(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`, IdempotencyTTL.Seconds())
	if err != nil {
		return 0, wrap("purge idempotency keys", err)
	}
	return tag.RowsAffected(), nil
}
