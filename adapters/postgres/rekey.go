package postgres

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Key rotation of personal identity codes. The current key seals every
// code written; old keys (KIRJURI_ENCRYPTION_OLD_KEYS) still open what they
// sealed. RekeySSNs re-seals the rest with the current key, after which the
// old keys can be dropped from the configuration.

// checkSSNUnderOldKeys refuses a new or changed identity code that another
// customer holds under an old key: until rekey has run, such a row carries
// the old key's lookup hash, which the unique index cannot compare with the
// current key's.
func (s *Store) checkSSNUnderOldKeys(ctx context.Context, q querier, id uuid.UUID, before, after string) error {
	if after == "" || after == before || len(s.ssn.old) == 0 {
		return nil
	}
	var taken bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM customers WHERE ssn_hash IS NOT NULL AND ssn_hash = ANY($1) AND id <> $2)`,
		s.ssn.oldHashes(after), id).Scan(&taken); err != nil {
		return err
	}
	if taken {
		c := conflicts["customers_ssn_hash_key"]
		return &c
	}
	return nil
}

// RekeySSNs re-seals with the current key every stored identity code that
// it did not seal (an old key's, or the first format without a key id) and
// recomputes its lookup hash, batchSize customers per transaction. Each
// batch commits on its own, so an interrupted run keeps what it did, and a
// second run picks up what is left (it looks only at codes not sealed by
// the current key); a run with nothing left changes nothing. progress, when
// not nil, is told the running total after each batch. Customers' versions
// and update times are left alone: their data does not change.
func (s *Store) RekeySSNs(ctx context.Context, batchSize int, progress func(done int)) (int, error) {
	if batchSize <= 0 {
		return 0, fmt.Errorf("postgres: rekey: the batch size must be positive, not %d", batchSize)
	}
	prefix := s.ssn.currentPrefix()
	var after uuid.UUID
	done := 0
	for {
		n, last, err := s.rekeyBatch(ctx, after, batchSize, prefix)
		done += n
		if err != nil {
			return done, err
		}
		if n > 0 && progress != nil {
			progress(done)
		}
		if n < batchSize {
			return done, nil
		}
		after = last
	}
}

// rekeyBatch re-seals up to limit codes of customers with ids above after
// and returns how many and the last id.
func (s *Store) rekeyBatch(ctx context.Context, after uuid.UUID, limit int, prefix []byte) (int, uuid.UUID, error) {
	var (
		n    int
		last uuid.UUID
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Rows are locked, so a concurrent change of the customer waits;
		// a row that such a change re-sealed meanwhile is skipped.
		rows, err := tx.Query(ctx, `SELECT id, ssn_enc FROM customers
			WHERE id > $1 AND ssn_enc IS NOT NULL AND substring(ssn_enc FROM 1 FOR $2) <> $3
			ORDER BY id LIMIT $4 FOR UPDATE`, after, len(prefix), prefix, limit)
		if err != nil {
			return err
		}
		type sealedRow struct {
			id  uuid.UUID
			enc []byte
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sealedRow, error) {
			var sr sealedRow
			return sr, r.Scan(&sr.id, &sr.enc)
		})
		if err != nil {
			return err
		}
		var b pgx.Batch
		for _, r := range got {
			plain, err := s.ssn.Open(r.id, r.enc)
			if err != nil {
				return fmt.Errorf("customer %s: %w", r.id, err)
			}
			enc, err := s.ssn.Seal(r.id, plain)
			if err != nil {
				return err
			}
			b.Queue(`UPDATE customers SET ssn_enc = $2, ssn_hash = $3 WHERE id = $1`, r.id, enc, s.ssn.Hash(plain))
		}
		res := tx.SendBatch(ctx, &b)
		for _, r := range got {
			if _, err := res.Exec(); err != nil {
				_ = res.Close()
				return fmt.Errorf("customer %s: %w", r.id, mapError(err))
			}
		}
		if err := res.Close(); err != nil {
			return err
		}
		n = len(got)
		if n > 0 {
			last = got[n-1].id
		}
		return nil
	})
	if err != nil {
		return 0, uuid.UUID{}, wrap("rekey identity codes", err)
	}
	return n, last, nil
}
