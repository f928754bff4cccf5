package ports

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
)

// Spreadsheet imports (POST /v1/imports): the upload is stored with its
// import record and its job in one transaction, and a worker on any
// instance runs it in batches through register.ImportBatch, committing
// each batch's progress in the batch's own transaction (BulkStore.Session).

// Import statuses.
const (
	ImportQueued    = "queued"
	ImportRunning   = "running"
	ImportSucceeded = "succeeded"
	ImportFailed    = "failed"
)

// ImportJobKind is the kind of an import's job; ImportQueue its queue.
const (
	ImportJobKind = "import"
	ImportQueue   = "imports"
)

// ImportJobArgs are the args of an import's job: the import's id only.
type ImportJobArgs struct {
	ImportID uuid.UUID `json:"importId"`
}

// Kind is ImportJobKind.
func (ImportJobArgs) Kind() string { return ImportJobKind }

// ImportOptions are what the caller asked for.
type ImportOptions struct {
	DryRun bool `json:"dryRun"`
	Atomic bool `json:"atomic"`
}

// ImportProblem is one error of an import's report: a row error (Row as the
// spreadsheet shows it) or a file error (Row 0).
type ImportProblem struct {
	Row     int    `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// ImportProgress is an import's progress and report, stored as one record.
type ImportProgress struct {
	// LastRow is the sheet's row number of the last row whose outcome is
	// committed (0 before any): a resumed import starts after it.
	LastRow   int   `json:"lastRow"`
	RowsTotal int64 `json:"rowsTotal"`
	RowsDone  int64 `json:"rowsDone"`
	Created   int64 `json:"created"`
	Updated   int64 `json:"updated"`
	Unchanged int64 `json:"unchanged"`
	Rejected  int64 `json:"rejected"`
	// Errors are the first MaxImportErrors problems; ErrorsTruncated tells
	// that there were more (the rejected rows file has every rejected row).
	Errors          []ImportProblem `json:"errors"`
	ErrorsTruncated bool            `json:"errorsTruncated"`
}

// MaxImportErrors bounds the errors an import's record keeps.
const MaxImportErrors = 1000

// Import is one import.
type Import struct {
	ID      uuid.UUID
	Status  string
	Options ImportOptions
	Actor   string    // the caller's key name
	KeyID   uuid.UUID // the caller's key id
	// SeeRestricted: the caller could see restricted customers (admin).
	SeeRestricted bool
	Created       time.Time
	Updated       time.Time
	Filename      string
	FileSize      int64
	// Digest is the SHA-256 of the uploaded file (hex); with Actor and
	// IdempotencyKey it finds a retried upload.
	Digest         string
	IdempotencyKey string
	// Header is the file's header row, as written (for the rejected rows
	// file).
	Header   []string
	Progress ImportProgress
}

// RejectedRow is a rejected row as it was: its cells encoded by the
// spreadsheet adapter, and the reason.
type RejectedRow struct {
	Row    int
	Cells  []byte // opaque (JSON)
	Reason string
}

// ErrImportNotFound: no import has the id.
var ErrImportNotFound = errors.New("no import with this id")

// ErrImportKeyReused: the idempotency key was used for another file or
// other options.
var ErrImportKeyReused = errors.New("this Idempotency-Key was used for another upload")

// ImportStore keeps imports, their files and their rejected rows.
type ImportStore interface {
	// CreateImport stores imp, its file (read to the end) and job, in one
	// transaction. With imp.IdempotencyKey set and an import of the same
	// actor and key already there, it stores nothing and returns that
	// import (existing true), or ErrImportKeyReused when its digest or
	// options differ.
	CreateImport(ctx context.Context, imp Import, file io.Reader, job Job) (stored Import, existing bool, err error)
	// Import reads one import, or ErrImportNotFound.
	Import(ctx context.Context, id uuid.UUID) (Import, error)
	// ImportFile writes the stored file of an import to w.
	ImportFile(ctx context.Context, id uuid.UUID, w io.Writer) error
	// SetImportStatus sets the status (and header, when not nil) of an
	// import, and its progress when p is not nil.
	SetImportStatus(ctx context.Context, id uuid.UUID, status string, header []string, p *ImportProgress) error
	// SaveImportProgress stores an import's progress and adds the rejected
	// rows of the rows it covers. Within a BulkStore.Session it is part of
	// the session's transaction: the progress is committed exactly with
	// the batch's writes. Rejected rows already stored (by row) are kept.
	SaveImportProgress(ctx context.Context, id uuid.UUID, p ImportProgress, rejected []RejectedRow) error
	// ResetImport clears the progress and rejected rows of an import that
	// starts again from its first row (an atomic import after a restart).
	ResetImport(ctx context.Context, id uuid.UUID) error
	// RejectedRows calls fn with the rejected rows of an import, in row
	// order.
	RejectedRows(ctx context.Context, id uuid.UUID, fn func(RejectedRow) error) error
}

// ImportUploads hands an import's spooled upload to the worker of the same
// process, so that it need not read the file back from the store. The
// store keeps the file all the same (for a worker of another process, or
// after a restart).
type ImportUploads interface {
	// Keep takes the file at path as the upload of import id: the caller
	// no longer removes it.
	Keep(id uuid.UUID, path string)
	// Drop removes the file kept for id, if any (the import was not made).
	Drop(id uuid.UUID)
}

// ImportSheets reads and writes the workbooks of imports (the spreadsheet
// adapter implements it): the HTTP adapter checks an upload with it and
// serves the template and the rejected rows.
type ImportSheets interface {
	// Check opens the workbook at path and reads its header row: a file
	// the import would reject at once is an *ImportFileError.
	Check(path string) (header []string, err error)
	// Template writes an empty workbook with every column and a second
	// sheet explaining each.
	Template(w io.Writer) error
	// WriteRejected writes a workbook of rejected rows: the header as the
	// file had it plus a reason column, then each row's cells as they were
	// and its reason. next returns false when there are no more rows.
	WriteRejected(w io.Writer, header []string, next func() (RejectedRow, bool, error)) error
}

// ImportFileError is a file error: the whole file is rejected, and the
// problems say why (row 0; Column names the column, if any).
type ImportFileError struct {
	Problems []ImportProblem
}

func (e *ImportFileError) Error() string {
	s := "the file cannot be imported"
	for i, p := range e.Problems {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		if p.Column != "" {
			s += p.Column + ": "
		}
		s += p.Message
	}
	return s
}
