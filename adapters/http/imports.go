package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/ports"
)

const tagImports = "Imports"

// DefaultMaxUploadBytes is ImportDeps.MaxUploadBytes when 0.
const DefaultMaxUploadBytes = 512 << 20

// uploadIdleTimeout is how long an upload may send nothing: the read
// deadline moves on as the bytes come, so that a large upload on a slow
// line runs as long as it keeps sending (the server's ReadTimeout of 60 s
// for the whole request would cut it), while a client that stops sending
// frees the connection.
const uploadIdleTimeout = time.Minute

// ImportDeps are what the import operations need. Without a Store they
// answer 503.
type ImportDeps struct {
	Store  ports.ImportStore
	Sheets ports.ImportSheets
	// MaxUploadBytes bounds an uploaded file (the whole multipart body);
	// DefaultMaxUploadBytes when 0.
	MaxUploadBytes int64
	// TempDir holds uploads while they are checked; os.TempDir() when "".
	TempDir string
	// Uploads, when set, takes each accepted upload for the worker of
	// this process.
	Uploads ports.ImportUploads
}

// uploadRoute is the one operation whose body streams to disk: the
// idempotency layer, which buffers bodies, leaves it alone (the operation
// keys a retried upload on the file's digest itself).
const uploadRoute = "/v1/imports"

// ImportError is one error of an import's report.
type ImportError struct {
	Row     int    `json:"row" doc:"The row as the spreadsheet shows it (the header is row 1); 0 for a file error, which rejects the whole file."`
	Column  string `json:"column" doc:"The column as the file's header writes it; empty when the problem is not about one column."`
	Message string `json:"message"`
}

// ImportJob is an import: its job's state, progress and report.
type ImportJob struct {
	ID              string        `json:"id" format:"uuid"`
	Status          string        `json:"status" enum:"queued,running,succeeded,failed" doc:"queued until a worker takes it; running; succeeded (every row has its outcome; rows may have been rejected); failed (a file error, or an atomic import with a rejected row: nothing was written)."`
	DryRun          bool          `json:"dryRun" doc:"Every check was made and nothing written."`
	Atomic          bool          `json:"atomic" doc:"All rows or none."`
	Filename        string        `json:"filename"`
	CreatedBy       string        `json:"createdBy" doc:"The API key that uploaded the file."`
	CreatedAt       time.Time     `json:"createdAt"`
	UpdatedAt       time.Time     `json:"updatedAt"`
	RowsTotal       int64         `json:"rowsTotal" doc:"Customer rows in the file (known once a worker has read it)."`
	RowsDone        int64         `json:"rowsDone" doc:"Rows whose outcome is known."`
	Created         int64         `json:"created"`
	Updated         int64         `json:"updated"`
	Unchanged       int64         `json:"unchanged"`
	Rejected        int64         `json:"rejected"`
	Errors          []ImportError `json:"errors" doc:"Row errors in row order, then nothing more after the first 1,000 (errorsTruncated); a file error has row 0. GET .../rejected.xlsx has every rejected row."`
	ErrorsTruncated bool          `json:"errorsTruncated"`
}

func importJob(imp ports.Import) ImportJob {
	p := imp.Progress
	j := ImportJob{
		ID: imp.ID.String(), Status: imp.Status, DryRun: imp.Options.DryRun, Atomic: imp.Options.Atomic,
		Filename: imp.Filename, CreatedBy: strings.TrimPrefix(imp.Actor, "apikey:"),
		CreatedAt: imp.Created, UpdatedAt: imp.Updated,
		RowsTotal: p.RowsTotal, RowsDone: p.RowsDone, Created: p.Created, Updated: p.Updated,
		Unchanged: p.Unchanged, Rejected: p.Rejected, ErrorsTruncated: p.ErrorsTruncated,
		Errors: make([]ImportError, len(p.Errors)),
	}
	for i, e := range p.Errors {
		j.Errors[i] = ImportError(e)
	}
	return j
}

type createImportInput struct {
	DryRun         bool   `query:"dryRun" doc:"Check every row and write nothing. Also accepted as a form field."`
	Atomic         bool   `query:"atomic" doc:"Write every row or none: any rejected row rejects the file, and nothing is visible until all of it commits. Also accepted as a form field."`
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried upload with the same key, file and options returns the first import (202) and stores nothing; the same key with another file is 422."`

	req *http.Request
	rw  http.ResponseWriter
}

func (in *createImportInput) Resolve(ctx huma.Context) []error {
	in.req, in.rw = humago.Unwrap(ctx)
	return nil
}

type importOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     ImportJob
}

type importIDInput struct {
	ID string `path:"id" format:"uuid" doc:"Import id."`
}

type importGetOutput struct {
	Body ImportJob
}

func (a *API) registerImports() {
	op := a.operation(huma.Operation{
		OperationID: "createImport",
		Method:      http.MethodPost,
		Path:        uploadRoute,
		Summary:     "Import customers from a spreadsheet",
		Description: "Uploads an .xlsx workbook (multipart/form-data, the file in the form field `file`) whose first sheet has the " +
			"columns of GET /v1/imports/template.xlsx, and starts an import job. The file is streamed to disk and checked before it " +
			"is accepted: a file that is empty, not an .xlsx (a CSV or PDF renamed, an old .xls), password-protected or damaged, or " +
			"whose header names an unknown column (or one twice, or lacks email), is 422 naming the column, and nothing is stored. " +
			"Then the file is stored with the job and the answer is 202 with the import; follow it at Location. " +
			"Each row means what the same change through PATCH would mean (excel.md); consent changes are recorded with source import " +
			"and the import's id as request id.",
		Tags:          []string{tagImports},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
		RequestBody: &huma.RequestBody{
			Required:    true,
			Description: "The workbook and the options.",
			Content: map[string]*huma.MediaType{
				"multipart/form-data": {
					Encoding: map[string]*huma.Encoding{"file": {ContentType: xlsxMediaType}},
				},
			},
		},
	}, access.Imports)
	handle(a, op, a.createImport)
	// The schema is given to the document only: with a schema Huma would
	// read the body itself (the whole form, parsed before the handler),
	// and the upload must stream to disk as it comes (receiveUpload).
	if reg := findOperation(a.huma.OpenAPI(), http.MethodPost, uploadRoute); reg != nil {
		reg.RequestBody.Content["multipart/form-data"].Schema = &huma.Schema{
			Type:     huma.TypeObject,
			Required: []string{"file"},
			Properties: map[string]*huma.Schema{
				"file":   {Type: huma.TypeString, Format: "binary", Description: "The .xlsx workbook."},
				"dryRun": {Type: huma.TypeString, Enum: []any{"true", "false"}, Description: "As the query parameter dryRun."},
				"atomic": {Type: huma.TypeString, Enum: []any{"true", "false"}, Description: "As the query parameter atomic."},
			},
		}
	}

	handle(a, a.operation(huma.Operation{
		OperationID: "getImportTemplate",
		Method:      http.MethodGet,
		Path:        "/v1/imports/template.xlsx",
		Summary:     "Download the import template",
		Description: "An empty workbook with every column of the import (text columns formatted as text, so that postal codes " +
			"and phone numbers keep their leading zeros) and a second sheet, Columns, explaining each column.",
		Tags:      []string{tagImports},
		Responses: xlsxResponse("The template workbook.", "kirjuri-import-template.xlsx"),
	}, access.Imports), a.importTemplate)

	handle(a, a.operation(huma.Operation{
		OperationID: "getImport",
		Method:      http.MethodGet,
		Path:        "/v1/imports/{id}",
		Summary:     "Follow an import",
		Description: "The import's status and progress (rowsTotal, rowsDone) while it runs, then its report: created, updated, " +
			"unchanged, rejected and the errors. Any key with the imports scope sees every import.",
		Tags:   []string{tagImports},
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.Imports), a.getImport)

	handle(a, a.operation(huma.Operation{
		OperationID: "getImportRejectedRows",
		Method:      http.MethodGet,
		Path:        "/v1/imports/{id}/rejected.xlsx",
		Summary:     "Download the rejected rows of an import",
		Description: "The rows the import rejected, as they were in the file (same header, same cells), with a last column " +
			"reason (\"column: message; …\"). Fix them and import the file again: the reason column is ignored. " +
			"Available once the import has finished (409 before).",
		Tags:      []string{tagImports},
		Errors:    []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
		Responses: xlsxResponse("The rejected rows.", "{filename}.rejected.xlsx"),
	}, access.Imports), a.importRejected)
}

func xlsxResponse(desc, filename string) map[string]*huma.Response {
	return map[string]*huma.Response{"200": {
		Description: desc,
		Content:     map[string]*huma.MediaType{xlsxMediaType: {}},
		Headers: map[string]*huma.Param{
			"Content-Disposition": {Description: `attachment; filename="` + filename + `"`, Schema: &huma.Schema{Type: huma.TypeString}},
		},
	}}
}

func (a *API) importsReady() error {
	if a.imports.Store == nil || a.imports.Sheets == nil {
		return huma.Error503ServiceUnavailable("spreadsheet import is not configured on this server")
	}
	return nil
}

func (a *API) createImport(ctx context.Context, in *createImportInput) (*importOutput, error) {
	if err := a.importsReady(); err != nil {
		return nil, err
	}
	if in.req == nil {
		return nil, huma.Error500InternalServerError("no request")
	}
	up, err := a.receiveUpload(in)
	kept := false // up.path handed to Uploads
	if up != nil {
		defer func() {
			if !kept {
				os.Remove(up.path)
			}
		}()
	}
	if err != nil {
		return nil, err
	}
	opts := ports.ImportOptions{DryRun: in.DryRun || up.dryRun, Atomic: in.Atomic || up.atomic}
	if _, err := a.imports.Sheets.Check(up.path); err != nil {
		var fe *ports.ImportFileError
		if errors.As(err, &fe) {
			details := make([]error, len(fe.Problems))
			for i, p := range fe.Problems {
				msg := p.Message
				if p.Column != "" {
					msg = p.Column + ": " + msg
				}
				details[i] = &huma.ErrorDetail{Location: "body.file", Message: msg}
			}
			return nil, huma.Error422UnprocessableEntity("the file cannot be imported", details...)
		}
		return nil, a.problem(ctx, err, inBody)
	}
	f, err := os.Open(up.path)
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	defer f.Close()
	k := keyOf(ctx)
	now := a.clock.Now().UTC().Truncate(time.Microsecond)
	imp := ports.Import{
		ID: uuid.Must(uuid.NewV7()), Status: ports.ImportQueued, Options: opts,
		Actor: "apikey:" + k.Name, KeyID: k.ID, SeeRestricted: k.Has(access.Admin),
		Created: now, Updated: now, Filename: up.filename, FileSize: up.size, Digest: up.digest,
		IdempotencyKey: in.IdempotencyKey,
	}
	imp.Progress.Errors = []ports.ImportProblem{}
	// Kept before the job is stored, which a worker may take at once.
	if a.imports.Uploads != nil {
		a.imports.Uploads.Keep(imp.ID, up.path)
		kept = true
	}
	stored, existing, err := a.imports.Store.CreateImport(ctx, imp, f, ports.Job{
		Args: ports.ImportJobArgs{ImportID: imp.ID}, Queue: ports.ImportQueue, MaxAttempts: 10,
	})
	if kept && (err != nil || existing) {
		a.imports.Uploads.Drop(imp.ID) // no job of imp.ID will take it
	}
	if errors.Is(err, ports.ErrImportKeyReused) {
		return nil, huma.Error422UnprocessableEntity("Idempotency-Key reused",
			&huma.ErrorDetail{Location: "header.Idempotency-Key", Message: "was used with another file or other options"})
	}
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	if existing {
		if ex := exchangeFrom(ctx); ex != nil {
			ex.w.Header().Set("Idempotent-Replayed", "true")
		}
	} else {
		a.log.Info("import accepted", zap.String("request_id", requestIDFrom(ctx)), zap.String("import", imp.ID.String()),
			zap.Int64("bytes", up.size), zap.Bool("dry_run", opts.DryRun), zap.Bool("atomic", opts.Atomic))
	}
	return &importOutput{Status: http.StatusAccepted, Location: "/v1/imports/" + stored.ID.String(), Body: importJob(stored)}, nil
}

// upload is a spooled upload.
type upload struct {
	path, filename, digest string
	size                   int64
	dryRun, atomic         bool
}

// deadlineReader moves the connection's read deadline on as bytes come.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	last time.Time
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > time.Second {
		d.last = now
		// Not every ResponseWriter supports deadlines (httptest's).
		_ = d.rc.SetReadDeadline(now.Add(uploadIdleTimeout))
	}
	return d.r.Read(p)
}

// receiveUpload reads the multipart body: the file part is streamed to a
// temporary file and hashed on the way; the option fields are small.
func (a *API) receiveUpload(in *createImportInput) (*upload, error) {
	r := in.req
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, huma.NewError(http.StatusUnsupportedMediaType, "unsupported media type",
			&huma.ErrorDetail{Location: "header.Content-Type", Message: "send multipart/form-data with a boundary, the workbook in the field file"})
	}
	limit := a.imports.MaxUploadBytes
	if limit <= 0 {
		limit = DefaultMaxUploadBytes
	}
	tooLarge := func() error {
		return huma.NewError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is larger than the limit of %d bytes (imports.maxUploadBytes)", limit))
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	// The whole body, with the multipart framing, may be a little more
	// than the file.
	body := http.MaxBytesReader(in.rw, r.Body, limit+64<<10)
	mr := multipart.NewReader(&deadlineReader{r: body, rc: http.NewResponseController(in.rw)}, params["boundary"])
	up := &upload{}
	seen := map[string]bool{}
	badForm := func(field, msg string) error {
		return huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "body." + field, Message: msg})
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return up, tooLarge()
		}
		if err != nil {
			return up, huma.Error400BadRequest("the multipart body cannot be read: " + err.Error())
		}
		name := part.FormName()
		if seen[name] {
			return up, badForm(name, "is given more than once")
		}
		seen[name] = true
		switch name {
		case "file":
			if err := a.spool(up, part, limit); err != nil {
				if errors.As(err, &mbe) || errors.Is(err, errUploadTooLarge) {
					return up, tooLarge()
				}
				return up, huma.Error400BadRequest("the upload cannot be read: " + err.Error())
			}
		case "dryRun", "atomic":
			b, err := io.ReadAll(io.LimitReader(part, 16))
			if err != nil {
				return up, huma.Error400BadRequest("the multipart body cannot be read")
			}
			var v bool
			switch strings.TrimSpace(string(b)) {
			case "true":
				v = true
			case "false":
			default:
				return up, badForm(name, "must be true or false")
			}
			if name == "dryRun" {
				up.dryRun = v
			} else {
				up.atomic = v
			}
		default:
			return up, badForm(name, "is not a field of an import: send file, and optionally dryRun and atomic")
		}
	}
	if !seen["file"] {
		return up, badForm("file", "is required: the .xlsx workbook, in the form field file")
	}
	if up.size == 0 {
		return up, huma.Error422UnprocessableEntity("the file cannot be imported", &huma.ErrorDetail{Location: "body.file", Message: "the file is empty"})
	}
	return up, nil
}

var errUploadTooLarge = errors.New("upload too large")

func (a *API) spool(up *upload, part *multipart.Part, limit int64) error {
	f, err := os.CreateTemp(a.imports.TempDir, "kirjuri-upload-*.xlsx")
	if err != nil {
		return err
	}
	up.path = f.Name()
	up.filename = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
	if up.filename == "." || up.filename == "/" || up.filename == "" {
		up.filename = "upload.xlsx"
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(part, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > limit {
		return errUploadTooLarge
	}
	up.size, up.digest = n, hex.EncodeToString(h.Sum(nil))
	return nil
}

func (a *API) importByID(ctx context.Context, id string) (ports.Import, error) {
	if err := a.importsReady(); err != nil {
		return ports.Import{}, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return ports.Import{}, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "path.id", Message: "must be a UUID"})
	}
	imp, err := a.imports.Store.Import(ctx, u)
	if errors.Is(err, ports.ErrImportNotFound) {
		return ports.Import{}, huma.Error404NotFound("no import with this id")
	}
	if err != nil {
		return ports.Import{}, a.problem(ctx, err, inQuery)
	}
	return imp, nil
}

func (a *API) getImport(ctx context.Context, in *importIDInput) (*importGetOutput, error) {
	imp, err := a.importByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &importGetOutput{Body: importJob(imp)}, nil
}

func (a *API) importTemplate(ctx context.Context, _ *struct{}) (*huma.StreamResponse, error) {
	if err := a.importsReady(); err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", xlsxMediaType)
		hctx.SetHeader("Content-Disposition", `attachment; filename="kirjuri-import-template.xlsx"`)
		hctx.SetStatus(http.StatusOK)
		if err := a.imports.Sheets.Template(hctx.BodyWriter()); err != nil {
			a.log.Error("import template", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
	}}, nil
}

func (a *API) importRejected(ctx context.Context, in *importIDInput) (*huma.StreamResponse, error) {
	imp, err := a.importByID(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if imp.Status == ports.ImportQueued || imp.Status == ports.ImportRunning {
		return nil, huma.Error409Conflict("the import has not finished yet: follow it at /v1/imports/" + imp.ID.String())
	}
	name := strings.TrimSuffix(imp.Filename, filepath.Ext(imp.Filename)) + ".rejected.xlsx"
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", xlsxMediaType)
		hctx.SetHeader("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		hctx.SetStatus(http.StatusOK)
		// The rows come from the store through a channel: the writer pulls
		// them one at a time.
		rows := make(chan ports.RejectedRow, 64)
		errc := make(chan error, 1)
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(rows)
			errc <- a.imports.Store.RejectedRows(rctx, imp.ID, func(r ports.RejectedRow) error {
				select {
				case rows <- r:
					return nil
				case <-rctx.Done():
					return rctx.Err()
				}
			})
		}()
		next := func() (ports.RejectedRow, bool, error) {
			r, ok := <-rows
			if !ok {
				if err := <-errc; err != nil {
					return r, false, err
				}
				return r, false, nil
			}
			return r, true, nil
		}
		header := imp.Header
		if err := a.imports.Sheets.WriteRejected(hctx.BodyWriter(), header, next); err != nil {
			a.log.Error("rejected rows", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
			panic(http.ErrAbortHandler)
		}
	}}, nil
}
