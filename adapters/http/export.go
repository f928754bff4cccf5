package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

const tagExports = "Exports"

// xlsxMediaType is the media type of an .xlsx workbook.
const xlsxMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// exportWriteTimeout is how long one write of an export may take: the
// deadline moves on after every few hundred rows, so that an export runs as
// long as its client keeps reading, while a client that stops reading
// frees the connection. The server's WriteTimeout (120 s for the whole
// response) would cut a long export.
const exportWriteTimeout = 2 * time.Minute

type exportCustomersInput struct {
	CustomerFilters
	IncludeSSN bool `query:"includeSsn" doc:"Write the ssn column (identity codes in full); needs the pii:read scope. Without it the column is left out, so that importing the file again keeps every identity code."`
}

func (a *API) registerExport() {
	op := a.operation(huma.Operation{
		OperationID: "exportCustomers",
		Method:      http.MethodGet,
		Path:        "/v1/exports/customers.xlsx",
		Summary:     "Export customers as a spreadsheet",
		Description: "Streams the customers the filters find (the filters of GET /v1/customers) as an .xlsx workbook in the import format, " +
			"in customer-number order, as one consistent snapshot (a customer changed while the file streams is in it as it was when the export began): the column number first, then every field column, then the sections customerCard:1..N, " +
			"address:1..M:{field} and phoneNumber:1..K (N, M and K the most any exported customer has) and group:{id} for every group " +
			"that exists. Importing the file again changes nothing. Restricted customers only with includeRestricted (admin scope); " +
			"the ssn column only with includeSsn (pii:read scope). " +
			"Problems with the request are answered before the file starts. A failure while the file streams breaks the connection, " +
			"so that the client sees a failed download, never a shorter file that looks whole.",
		Tags:   []string{tagExports},
		Errors: []int{http.StatusUnprocessableEntity},
		Responses: map[string]*huma.Response{
			"200": {
				Description: "The workbook, streamed (chunked): one sheet, Customers, one row a customer after the header.",
				Content: map[string]*huma.MediaType{
					// No schema: the body is the workbook's bytes (OpenAPI 3.1).
					xlsxMediaType: {},
				},
				Headers: map[string]*huma.Param{
					"Content-Disposition": {Description: `attachment; filename="customers.xlsx"`, Schema: &huma.Schema{Type: huma.TypeString}},
					"X-Total-Count": {Description: "How many customers the export holds: exactly the rows of the file, " +
						"counted in the same snapshot. For progress bars.",
						Schema: &huma.Schema{Type: huma.TypeInteger, Format: "int64"}},
				},
			},
		},
	}, access.CustomersRead)
	handle(a, op, a.exportCustomers)
}

func (a *API) exportCustomers(ctx context.Context, in *exportCustomersInput) (*huma.StreamResponse, error) {
	k := keyOf(ctx)
	q, err := in.query(k)
	if err != nil {
		return nil, err
	}
	if in.IncludeSSN && !k.Has(access.PIIRead) {
		return nil, huma.Error403Forbidden("includeSsn needs the pii:read scope")
	}
	if a.sheets == nil {
		return nil, huma.Error503ServiceUnavailable("spreadsheet export is not configured on this server")
	}
	ex := a.startExport(ctx, q, register.ExportOptions{IncludeSSN: in.IncludeSSN}, caller(ctx, ""))
	if err := <-ex.started; err != nil {
		// Refused or failed before the plan: nothing is sent yet, so it
		// is still a problem response.
		ex.cancel()
		return nil, a.problem(ctx, err, inQuery)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) { a.streamExport(hctx, ex) }}, nil
}

// exportBatch is how many customers the reading goroutine hands the
// writing one at a time, and exportQueue how many batches may wait: the
// rows in memory are bounded by their product, whatever the set's size.
const (
	exportBatch = 128
	exportQueue = 4
	// exportFlushRows is how many rows are written between flushes (each
	// also moves the write deadline on).
	exportFlushRows = 512
)

// exportRun is an export under way: the register reads the snapshot on one
// goroutine (the query, decoding the rows, rebuilding the customers) and
// hands the rows over in batches through a bounded queue, while the
// response's goroutine writes the sheet (cells, compression, network), so
// that both run at once.
type exportRun struct {
	plan *register.ExportPlan
	// started receives one value: nil once plan is set, or the error that
	// ended the export before there was a plan. One channel, not a
	// "planned" and a "done" to choose from: a small export is often read
	// whole before the handler waits, and a choice between the two, both
	// ready, took it for a failure now and then (200 with no body).
	started chan error
	rows    chan []customer.Data
	done    chan struct{} // closed once err is set and rows closed
	err     error
	cancel  context.CancelFunc
}

func (a *API) startExport(ctx context.Context, q ports.CustomerQuery, opts register.ExportOptions, c register.Caller) *exportRun {
	ctx, cancel := context.WithCancel(ctx)
	ex := &exportRun{
		started: make(chan error, 1),
		rows:    make(chan []customer.Data, exportQueue),
		done:    make(chan struct{}),
		cancel:  cancel,
	}
	send := func(b []customer.Data) error {
		select {
		case ex.rows <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	go func() {
		batch := make([]customer.Data, 0, exportBatch)
		err := a.reg.Export(ctx, q, opts, c, func(p *register.ExportPlan) error {
			if ex.plan != nil {
				return errors.New("export: planned twice")
			}
			ex.plan = p
			ex.started <- nil
			return nil
		}, func(d customer.Data) error {
			batch = append(batch, d)
			if len(batch) < exportBatch {
				return nil
			}
			if err := send(batch); err != nil {
				return err
			}
			batch = make([]customer.Data, 0, exportBatch)
			return nil
		})
		if err == nil && len(batch) > 0 {
			err = send(batch)
		}
		if ex.plan == nil {
			if err == nil {
				err = errors.New("export: ended without a plan")
			}
			ex.started <- err
		}
		ex.err = err
		close(ex.rows)
		close(ex.done)
	}()
	return ex
}

// streamExport writes the workbook as the rows arrive. Once the status is
// sent nothing can become a problem response: a failure is logged and the
// connection broken (http.ErrAbortHandler), so that the client sees a
// failed download rather than a truncated file.
func (a *API) streamExport(hctx huma.Context, ex *exportRun) {
	defer ex.cancel() // stops the reading goroutine when writing fails
	plan := ex.plan
	ctx := hctx.Context()
	_, rw := humago.Unwrap(hctx)
	rc := http.NewResponseController(rw)
	extend := func() {
		// Not every ResponseWriter supports deadlines (httptest's
		// recorder): then there is none to move.
		_ = rc.SetWriteDeadline(time.Now().Add(exportWriteTimeout))
	}
	extend()
	hctx.SetHeader("Content-Type", xlsxMediaType)
	hctx.SetHeader("Content-Disposition", `attachment; filename="customers.xlsx"`)
	hctx.SetHeader("Cache-Control", "no-store")
	hctx.SetHeader("X-Total-Count", strconv.FormatInt(plan.Customers, 10))
	hctx.SetStatus(http.StatusOK)

	out := &countingWriter{w: hctx.BodyWriter()}
	start := time.Now()
	rows := 0
	fail := func(stage string, err error) {
		ex.cancel()
		level := zap.ErrorLevel
		if ctx.Err() != nil {
			level = zap.WarnLevel // the client went away
		}
		a.log.Log(level, "export aborted: the connection is broken so that the client sees a failed download",
			zap.String("request_id", requestIDFrom(ctx)), zap.String("stage", stage),
			zap.Int("rows", rows), zap.Int64("bytes", out.n), zap.Error(err))
		panic(http.ErrAbortHandler)
	}
	flush := func() error {
		err := rc.Flush()
		if errors.Is(err, http.ErrNotSupported) {
			err = nil
		}
		extend()
		return err
	}

	sheet, err := a.sheets.NewCustomerSheet(out, plan.Columns)
	if err != nil {
		fail("header", err)
	}
	if err := sheet.Flush(); err != nil {
		fail("header", err)
	}
	if err := flush(); err != nil {
		fail("header", err)
	}
	unflushed := 0
	for batch := range ex.rows {
		for i := range batch {
			if err := sheet.Write(batch[i]); err != nil {
				fail("rows", err)
			}
			rows++
		}
		if unflushed += len(batch); unflushed >= exportFlushRows {
			unflushed = 0
			if err := sheet.Flush(); err != nil {
				fail("rows", err)
			}
			if err := flush(); err != nil {
				fail("rows", err)
			}
		}
	}
	<-ex.done
	if ex.err != nil {
		fail("rows", ex.err)
	}
	if int64(rows) != plan.Customers {
		// The snapshot makes this impossible; a file that disagrees with
		// its X-Total-Count must not look whole.
		fail("rows", fmt.Errorf("wrote %d rows of the %d planned", rows, plan.Customers))
	}
	if err := sheet.Close(); err != nil {
		fail("close", err)
	}
	if err := flush(); err != nil {
		fail("close", err)
	}
	a.log.Info("export written", zap.String("request_id", requestIDFrom(ctx)),
		zap.Int("rows", rows), zap.Int64("bytes", out.n), zap.Duration("duration", time.Since(start)))
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
