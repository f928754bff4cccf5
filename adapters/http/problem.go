package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/zap"

	"kirjuri/core/fault"
)

// Problem details (RFC 9457) are Huma's ErrorModel: type, title, status,
// detail, instance and errors[{location, message, value}], sent as
// application/problem+json.

// maxDetails bounds the errors[] list of one problem.
const maxDetails = 50

// internalError is the only thing a client learns about a server fault.
const internalError = "internal error"

var overrideOnce sync.Once

// overrideHumaErrors installs the error constructor Huma uses for every error
// it writes itself (validation, body limits, unreadable bodies). It is a
// package-level variable of Huma, so it is set once per process. It makes
// sure that
//   - a 5xx never carries an error text (Huma puts a body read error's text
//     into the problem otherwise);
//   - no problem echoes a whole request body or an identity code;
//   - the body limit is reported in plain words.
func overrideHumaErrors() {
	overrideOnce.Do(func() {
		huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
			if status == http.StatusInternalServerError && msg == "cannot read request body" {
				// A broken or truncated upload (bad chunked encoding, a
				// client gone mid-body) is the client's doing, not ours.
				return huma.NewError(http.StatusBadRequest, "cannot read the request body")
			}
			if status == http.StatusRequestEntityTooLarge && ctx != nil && ctx.Operation() != nil {
				// Operations are registered with one byte more than the limit,
				// because Huma refuses a body that reaches MaxBodyBytes.
				msg = fmt.Sprintf("request body is larger than the limit of %d bytes", ctx.Operation().MaxBodyBytes-1)
			}
			return huma.NewError(status, msg, errs...)
		}
		huma.NewError = newProblem
	})
}

// newProblem builds the problem for a status, a detail message and the
// individual errors.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	if status >= http.StatusInternalServerError {
		// Never a raw error text: Huma passes e.g. network errors here.
		if status == http.StatusInternalServerError {
			msg = internalError
		}
		return &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}
	}
	details := make([]*huma.ErrorDetail, 0, min(len(errs), maxDetails))
	for _, err := range errs {
		if err == nil {
			continue
		}
		if len(details) == maxDetails {
			break
		}
		var d *huma.ErrorDetail
		var ed huma.ErrorDetailer
		if errors.As(err, &ed) {
			c := *ed.ErrorDetail()
			d = &c
		} else {
			d = &huma.ErrorDetail{Message: err.Error()}
		}
		d.Location = requiredLocation(d)
		if !echoable(d.Location) || !scalar(d.Value) {
			d.Value = nil
		}
		details = append(details, d)
	}
	if len(details) == 0 {
		details = nil
	}
	return &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg, Errors: details}
}

// echoable reports whether the value at a location may be shown back: never
// a whole body (Huma echoes unparsable bodies) and never an identity code.
func echoable(location string) bool {
	return location != "body" && !strings.Contains(strings.ToLower(location), "ssn")
}

// scalar reports whether a value is small enough to echo: Huma echoes the
// whole enclosing object for an unexpected property.
func scalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// fieldLocation turns a core field path into a problem location.
type fieldLocation func(field string) string

// inBody places core field paths in the request body: "addresses[0].city"
// becomes "body.addresses[0].city".
func inBody(field string) string {
	if field == "" {
		return "body"
	}
	return "body." + field
}

// inQuery places core field paths among the query parameters.
func inQuery(field string) string { return "query." + field }

// inPath places core field paths among the path parameters.
func inPath(field string) string { return "path." + field }

// problem is the one function that turns an error of the core or a port into
// a problem for the client. Typed core errors keep their meaning and the
// field they name; anything else is logged once, without personal data, and
// answered with a generic 500.
func (a *API) problem(ctx context.Context, err error, loc fieldLocation) error {
	var (
		v      *fault.Validation
		nf     *fault.NotFound
		c      *fault.Conflict
		stale  *fault.Stale
		status huma.StatusError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &v):
		details := make([]error, 0, len(v.Fields))
		for _, f := range v.Fields {
			d := &huma.ErrorDetail{Location: loc(f.Field), Message: f.Message}
			if f.Value != nil && echoable(f.Field) {
				d.Value = f.Value
			}
			details = append(details, d)
		}
		return huma.Error422UnprocessableEntity("validation failed", details...)
	case errors.As(err, &nf):
		return huma.Error404NotFound(nf.Error())
	case errors.As(err, &c):
		if c.Field == "" {
			return huma.Error409Conflict(c.Message)
		}
		return huma.Error409Conflict("conflict", &huma.ErrorDetail{Location: loc(c.Field), Message: c.Message})
	case errors.As(err, &stale):
		return huma.Error412PreconditionFailed(stale.Error(), &huma.ErrorDetail{Location: "header.If-Match", Message: "does not match the current version"})
	case errors.As(err, &status):
		// Already a problem built by this package.
		return err
	case fault.IsUnavailable(err):
		// A dependency is down (the audit log's ClickHouse): the request
		// may work later. Not a fault of ours to page anyone about.
		a.log.Warn("dependency unavailable", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("the consent audit log is unavailable right now; retry later"),
			http.Header{"Retry-After": []string{"5"}})
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		// The client went away or the request ran out of time: nothing to
		// log as a fault of ours.
		return huma.Error503ServiceUnavailable("request cancelled")
	default:
		// Handle once: log here, and give the client nothing it could
		// misread. Error texts of the ports name ids, never personal data.
		a.log.Error("request failed", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
		return huma.Error500InternalServerError(internalError)
	}
}

// writeProblem answers with a problem outside Huma's operations (routing,
// middleware).
func writeProblem(w http.ResponseWriter, status int, detail string, details ...*huma.ErrorDetail) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(&huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: detail, Errors: details})
}

// requiredLocation names the missing member: Huma reports a missing
// required property at the object ("body") with the name only in the
// message.
func requiredLocation(d *huma.ErrorDetail) string {
	const pre, post = "expected required property ", " to be present"
	if name, ok := strings.CutPrefix(d.Message, pre); ok && strings.HasSuffix(name, post) {
		name = strings.TrimSuffix(name, post)
		if d.Location == "" {
			return name
		}
		return d.Location + "." + name
	}
	return d.Location
}
