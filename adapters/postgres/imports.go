package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/ports"
)

var _ ports.ImportStore = (*Store)(nil)

// importChunk is the size of the chunks an import's file is stored in.
const importChunk = 1 << 20

// CreateImport stores the import, its file in chunks of 1 MiB and its job
// in one transaction. A retried upload (the same key id and
// Idempotency-Key) finds the import there is; the advisory lock on the key
// makes two retries at once wait for each other.
func (s *Store) CreateImport(ctx context.Context, imp ports.Import, file io.Reader, job ports.Job) (ports.Import, bool, error) {
	var (
		out      ports.Import
		existing bool
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		keyID := imp.KeyID
		if imp.IdempotencyKey != "" {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
				"import:"+keyID.String()+":"+imp.IdempotencyKey); err != nil {
				return err
			}
			var id uuid.UUID
			err := tx.QueryRow(ctx, `SELECT id FROM imports WHERE key_id = $1 AND idempotency_key = $2`, keyID, imp.IdempotencyKey).Scan(&id)
			if err == nil {
				prev, err := readImport(ctx, tx, id)
				if err != nil {
					return err
				}
				if prev.Digest != imp.Digest || prev.Options != imp.Options {
					return ports.ErrImportKeyReused
				}
				out, existing = prev, true
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		var key any
		if imp.IdempotencyKey != "" {
			key = imp.IdempotencyKey
		}
		if _, err := tx.Exec(ctx, `INSERT INTO imports (id, status, dry_run, atomic, actor, see_restricted, key_id, idempotency_key,
				filename, file_size, digest, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)`,
			imp.ID, imp.Status, imp.Options.DryRun, imp.Options.Atomic, imp.Actor, imp.SeeRestricted, keyID, key,
			imp.Filename, imp.FileSize, imp.Digest, imp.Created); err != nil {
			return err
		}
		buf := make([]byte, importChunk)
		for seq := 0; ; seq++ {
			n, err := io.ReadFull(file, buf)
			if n > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO import_files (import_id, seq, data) VALUES ($1, $2, $3)`, imp.ID, seq, buf[:n]); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("read the upload: %w", err)
			}
		}
		if _, err := insertJob(ctx, tx, job); err != nil {
			return err
		}
		out = imp
		return nil
	})
	if errors.Is(err, ports.ErrImportKeyReused) {
		return ports.Import{}, false, err
	}
	return out, existing, wrap("create import", err)
}

const importColumns = `id, status, dry_run, atomic, actor, see_restricted, COALESCE(idempotency_key, ''), filename, file_size, digest,
	COALESCE(header, 'null'), progress, created_at, updated_at`

func readImport(ctx context.Context, q querier, id uuid.UUID) (ports.Import, error) {
	var (
		imp              ports.Import
		header, progress []byte
	)
	err := q.QueryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE id = $1`, id).Scan(
		&imp.ID, &imp.Status, &imp.Options.DryRun, &imp.Options.Atomic, &imp.Actor, &imp.SeeRestricted, &imp.IdempotencyKey,
		&imp.Filename, &imp.FileSize, &imp.Digest, &header, &progress, &imp.Created, &imp.Updated)
	if errors.Is(err, pgx.ErrNoRows) {
		return ports.Import{}, ports.ErrImportNotFound
	}
	if err != nil {
		return ports.Import{}, err
	}
	if err := json.Unmarshal(header, &imp.Header); err != nil {
		return ports.Import{}, fmt.Errorf("import %s: header: %w", id, err)
	}
	if err := json.Unmarshal(progress, &imp.Progress); err != nil {
		return ports.Import{}, fmt.Errorf("import %s: progress: %w", id, err)
	}
	if imp.Progress.Errors == nil {
		imp.Progress.Errors = []ports.ImportProblem{}
	}
	imp.Created, imp.Updated = imp.Created.UTC(), imp.Updated.UTC()
	return imp, nil
}

// Import reads one import.
func (s *Store) Import(ctx context.Context, id uuid.UUID) (ports.Import, error) {
	imp, err := readImport(ctx, s.db(ctx), id)
	if errors.Is(err, ports.ErrImportNotFound) {
		return imp, err
	}
	return imp, wrap("read import", err)
}

// ImportFile writes the stored file to w, a chunk at a time.
func (s *Store) ImportFile(ctx context.Context, id uuid.UUID, w io.Writer) error {
	var n int
	if err := s.db(ctx).QueryRow(ctx, `SELECT count(*) FROM import_files WHERE import_id = $1`, id).Scan(&n); err != nil {
		return wrap("read import file", err)
	}
	for seq := range n {
		var data []byte
		if err := s.db(ctx).QueryRow(ctx, `SELECT data FROM import_files WHERE import_id = $1 AND seq = $2`, id, seq).Scan(&data); err != nil {
			return wrap("read import file", err)
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}

// SetImportStatus sets the status, and the header and progress when given.
func (s *Store) SetImportStatus(ctx context.Context, id uuid.UUID, status string, header []string, p *ports.ImportProgress) error {
	var h, prog any
	if header != nil {
		b, err := json.Marshal(header)
		if err != nil {
			return err
		}
		h = b
	}
	if p != nil {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		prog = b
	}
	tag, err := s.db(ctx).Exec(ctx, `UPDATE imports SET status = $2, header = COALESCE($3::jsonb, header),
		progress = COALESCE($4::jsonb, progress), updated_at = now() WHERE id = $1`, id, status, h, prog)
	if err != nil {
		return wrap("set import status", err)
	}
	if tag.RowsAffected() == 0 {
		return ports.ErrImportNotFound
	}
	return nil
}

// SaveImportProgress stores the progress and the rejected rows (in the
// session's transaction when there is one).
func (s *Store) SaveImportProgress(ctx context.Context, id uuid.UUID, p ports.ImportProgress, rejected []ports.RejectedRow) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	q := s.db(ctx)
	if _, err := q.Exec(ctx, `UPDATE imports SET progress = $2, updated_at = now() WHERE id = $1`, id, b); err != nil {
		return wrap("save import progress", err)
	}
	if len(rejected) == 0 {
		return nil
	}
	rows := make([]int32, len(rejected))
	cells := make([]string, len(rejected))
	reasons := make([]string, len(rejected))
	for i, r := range rejected {
		rows[i], cells[i], reasons[i] = int32(r.Row), string(r.Cells), r.Reason
	}
	_, err = q.Exec(ctx, `INSERT INTO import_rejected_rows (import_id, row_num, cells, reason)
		SELECT $1, r, c::jsonb, m FROM unnest($2::int[], $3::text[], $4::text[]) AS u(r, c, m)
		ON CONFLICT DO NOTHING`, id, rows, cells, reasons)
	return wrap("save rejected rows", err)
}

// ResetImport clears the progress and the rejected rows.
func (s *Store) ResetImport(ctx context.Context, id uuid.UUID) error {
	return wrap("reset import", pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM import_rejected_rows WHERE import_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE imports SET progress = jsonb_build_object('rowsTotal', progress->'rowsTotal'), updated_at = now() WHERE id = $1`, id)
		return err
	}))
}

// RejectedRows reads the rejected rows in row order.
func (s *Store) RejectedRows(ctx context.Context, id uuid.UUID, fn func(ports.RejectedRow) error) error {
	rows, err := s.db(ctx).Query(ctx, `SELECT row_num, cells::text, reason FROM import_rejected_rows WHERE import_id = $1 ORDER BY row_num`, id)
	if err != nil {
		return wrap("read rejected rows", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r     ports.RejectedRow
			n     int32
			cells string
		)
		if err := rows.Scan(&n, &cells, &r.Reason); err != nil {
			return wrap("read rejected rows", err)
		}
		r.Row, r.Cells = int(n), []byte(cells)
		if err := fn(r); err != nil {
			return err
		}
	}
	return wrap("read rejected rows", rows.Err())
}
