package httpapi

import (
	"context"
	"errors"
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
)

const tagExports = "Exports"

// xlsxMediaType is the media type of an .xlsx workbook.
const xlsxMediaType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// exportWriteTimeout is how long one write of an export may take: the
// deadline moves on after every page of rows, so that an export runs as
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
			"in customer-number order: the column number first, then every field column, then the sections customerCard:1..N, " +
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
					"X-Total-Count": {Description: "How many customers the export holds, counted just before the rows are read " +
						"(customers changed meanwhile can make the file hold a few more or fewer). For progress bars.",
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
	plan, err := a.reg.PlanExport(ctx, q, register.ExportOptions{IncludeSSN: in.IncludeSSN}, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) { a.streamExport(hctx, plan) }}, nil
}

// streamExport writes the workbook page by page. Once the status is sent
// nothing can become a problem response: a failure is logged and the
// connection broken (http.ErrAbortHandler), so that the client sees a
// failed download rather than a truncated file.
func (a *API) streamExport(hctx huma.Context, plan *register.ExportPlan) {
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
	err = a.reg.ExportRows(ctx, plan, func(d customer.Data) error {
		rows++
		return sheet.Write(d)
	}, func() error {
		if err := sheet.Flush(); err != nil {
			return err
		}
		return flush()
	})
	if err != nil {
		fail("rows", err)
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
