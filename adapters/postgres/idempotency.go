package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/core/fault"
	"kirjuri/ports"
)

// IdempotencyTTL is how long a stored response answers for its key. Older
// entries are ignored and replaced.
const IdempotencyTTL = ports.IdempotencyTTL

// idempotencyField names the header in conflicts.
const idempotencyField = "Idempotency-Key"

// Stored responses keep no personal data in plain text: the body is sealed
// with the store's AES-256-GCM key (the identity-code key), with the claim's
// token as additional data, so a body copied to another row does not open.
// Headers (Content-Type, ETag, Location) hold no personal data. The
// customer a response is about is kept beside it, so that an erasure can
// forget its bodies in its own transaction (scrubIdempotency), and Finish
// reads the customer's row under a share lock, so that a response finished
// during an erasure is either forgotten by it or sees it.

// Begin claims (scope, key) for a request whose body hashes to fingerprint
// and returns the claim's token. A finished claim with the same fingerprint
// returns its stored response; another fingerprint, or a claim whose
// request is still running, is a *fault.Conflict. An unfinished claim older
// than ports.IdempotencyLease is taken over with a new token.
func (s *Store) Begin(ctx context.Context, scope, key string, fingerprint []byte) (uuid.UUID, *ports.StoredResponse, error) {
	ttl := IdempotencyTTL.Seconds()
	token := uuid.New()
	// The fingerprint is an unkeyed SHA-256 of the body, and a body can be
	// as small as {"ssn": "..."}: kept as it is, it could be reversed by
	// trying every identity code. Kept is its HMAC under the store's key.
	keyed := s.ssn.Hash(fingerprintDomain + string(fingerprint))
	// The claim may be released (Abandon) between the insert and the read:
	// then try again. Twice is plenty; three times covers a busy client.
	for range 3 {
		var claimed bool
		err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (scope, key, fingerprint, token)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (scope, key) DO UPDATE
				SET fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, finished = false, status = 0,
					headers = '{}', body = NULL, response_at = NULL, created_at = now(),
					customer_id = NULL, customer_version = NULL, erased = false
				WHERE idempotency_keys.created_at < now() - make_interval(secs => $5)
					OR (NOT idempotency_keys.finished AND idempotency_keys.created_at < now() - make_interval(secs => $6))
			RETURNING true`, scope, key, keyed, token, ttl, ports.IdempotencyLease.Seconds()).Scan(&claimed)
		if err == nil {
			return token, nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, nil, wrap("claim idempotency key", err)
		}
		var (
			fp       []byte
			finished bool
			r        ports.StoredResponse
			headers  []byte
			sealed   []byte
			owner    uuid.UUID
			cust     pgtype.UUID
			version  *int64
		)
		err = s.pool.QueryRow(ctx, `SELECT fingerprint, finished, status, headers, body, coalesce(response_at, created_at),
				token, customer_id, customer_version, erased
			FROM idempotency_keys
			WHERE scope = $1 AND key = $2 AND created_at >= now() - make_interval(secs => $3)`,
			scope, key, ttl).Scan(&fp, &finished, &r.Status, &headers, &sealed, &r.Created, &owner, &cust, &version, &r.Erased)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return uuid.Nil, nil, wrap("read idempotency key", err)
		}
		switch {
		case !s.sameFingerprint(fp, keyed, fingerprint):
			return uuid.Nil, nil, ports.ErrIdempotencyMismatch
		case !finished:
			return uuid.Nil, nil, ports.ErrIdempotencyInFlight
		}
		if cust.Valid {
			r.Customer = cust.Bytes
		}
		if version != nil {
			r.Version = *version
		}
		r.Created = r.Created.UTC()
		if r.Erased {
			return uuid.Nil, &r, nil
		}
		if err := json.Unmarshal(headers, &r.Header); err != nil {
			return uuid.Nil, nil, fmt.Errorf("postgres: stored response headers: %w", err)
		}
		if len(r.Header) == 0 {
			r.Header = nil
		}
		if sealed != nil {
			body, err := s.ssn.Open(owner, sealed)
			if err != nil {
				// Sealed under a key no longer configured (dropped within
				// the 24 hours after a rotation) or damaged: the first
				// response is lost, and running the request again could
				// repeat it, so the caller is told, never answered 500.
				return uuid.Nil, nil, errIdempotencyUnreadable
			}
			if body != "" {
				r.Body = []byte(body)
			}
		}
		return uuid.Nil, &r, nil
	}
	return uuid.Nil, nil, &fault.Conflict{Field: idempotencyField, Message: "this idempotency key is being claimed and released by other requests; retry later"}
}

// errIdempotencyUnreadable answers a replay whose stored response cannot be
// opened with the configured keys.
var errIdempotencyUnreadable = &fault.Conflict{Field: idempotencyField, Message: "the response stored for this idempotency key can no longer be read (it was sealed with an encryption key that is no longer configured); the request was not run again: check the customer's state and use a new Idempotency-Key"}

// fingerprintDomain sets the HMAC of fingerprints apart from that of
// identity codes under the same key.
const fingerprintDomain = "kirjuri idempotency fingerprint\x00"

// sameFingerprint tells whether a stored keyed fingerprint is that of
// fingerprint, under the current key or an old one (a key rotated within
// the 24 hours).
func (s *Store) sameFingerprint(stored, keyed, fingerprint []byte) bool {
	if bytes.Equal(stored, keyed) {
		return true
	}
	for _, h := range s.ssn.oldHashes(fingerprintDomain + string(fingerprint)) {
		if bytes.Equal(stored, h) {
			return true
		}
	}
	return false
}

// Finish stores the response of the claim token owns; without the claim it
// is ports.ErrIdempotencyClaimLost and stores nothing. A response about a
// customer that has been erased, showing an older version than the erased
// record, is stored without its headers and body (erased).
func (s *Store) Finish(ctx context.Context, scope, key string, token uuid.UUID, r ports.StoredResponse) error {
	headers := r.Header
	if headers == nil {
		headers = map[string]string{}
	}
	var created *time.Time
	if !r.Created.IsZero() {
		t := r.Created.UTC()
		created = &t
	}
	var customerID, version any // null unless the response is about a customer
	if r.Customer != uuid.Nil {
		customerID = r.Customer
		if r.Version > 0 {
			version = r.Version
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		erased := false
		if r.Customer != uuid.Nil {
			// The share lock waits for an erasure that runs, and holds the
			// next one off until this response is stored, so that the
			// erasure finds it.
			var (
				gone    bool
				current int64
			)
			err := tx.QueryRow(ctx, `SELECT erased_at IS NOT NULL, version FROM customers WHERE id = $1 FOR SHARE`, r.Customer).Scan(&gone, &current)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
			case err != nil:
				return err
			default:
				erased = gone && r.Version < current
			}
		}
		hj, body := []byte("{}"), []byte(nil)
		if !erased {
			var err error
			if hj, err = json.Marshal(headers); err != nil {
				return fmt.Errorf("encode response headers: %w", err)
			}
			if body, err = s.ssn.Seal(token, string(r.Body)); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `UPDATE idempotency_keys
			SET finished = true, status = $4, headers = $5, body = $6, response_at = coalesce($7, now()),
				customer_id = $8, customer_version = $9, erased = $10
			WHERE scope = $1 AND key = $2 AND token = $3 AND NOT finished`,
			scope, key, token, r.Status, string(hj), body, created, customerID, version, erased)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ports.ErrIdempotencyClaimLost
		}
		return nil
	})
	if errors.Is(err, ports.ErrIdempotencyClaimLost) {
		return err
	}
	return wrap("finish idempotency key", err)
}

// Abandon releases the unfinished claim token owns so the client may retry;
// without the claim it is ports.ErrIdempotencyClaimLost and releases
// nothing.
func (s *Store) Abandon(ctx context.Context, scope, key string, token uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND token = $3 AND NOT finished`, scope, key, token)
	if err != nil {
		return wrap("abandon idempotency key", err)
	}
	if tag.RowsAffected() == 0 {
		return ports.ErrIdempotencyClaimLost
	}
	return nil
}

// scrubIdempotency forgets the headers and bodies of the finished responses
// about customer id, in the transaction that erases it. Unfinished ones are
// checked by their Finish.
func scrubIdempotency(ctx context.Context, tx pgx.Tx, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `UPDATE idempotency_keys SET headers = '{}', body = NULL, erased = true
		WHERE customer_id = $1 AND finished AND NOT erased`, id)
	if err != nil {
		return fmt.Errorf("forget the stored responses of an erased customer: %w", err)
	}
	return nil
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
