package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/zap"

	"kirjuri/ports"
)

// Idempotency-Key (api.md: "the same key and body within 24 hours returns
// the first response and changes nothing"). The middleware sits in front of
// the router, on POST, PUT, PATCH and DELETE that carry the header and a
// known API key (without one, the request goes on to fail authentication):
//
//   - scope: the API key's id, the method and the path, so keys of different
//     clients and resources never meet;
//   - fingerprint: SHA-256 of the body (preceded by the query string when
//     there is one, so a changed query is a changed request);
//   - ports.Idempotency.Begin claims the key, or hands back the stored
//     response, which is replayed with Idempotent-Replayed: true; a key used
//     with another body is 422, a key whose first request still runs is 409;
//   - the response is recorded as it is written; 2xx and 4xx are stored
//     (status, Content-Type, ETag, Location, body), anything else releases
//     the claim (Abandon) so the client can retry.

const (
	maxIdempotencyKeyLen = 255
	// maxStoredBody bounds a stored response; a larger one is not stored
	// and the claim is released.
	maxStoredBody = 1 << 20
)

// storedHeaders are the response headers kept with a stored response.
var storedHeaders = []string{"Content-Type", "ETag", "Location"}

func (a *API) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" || !unsafeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if ex := exchangeFrom(ctx); ex != nil {
			ex.route = a.router.routeOf(r)
		}
		if !validIdempotencyKey(key) {
			writeProblem(w, http.StatusBadRequest, "malformed Idempotency-Key",
				&huma.ErrorDetail{Location: "header.Idempotency-Key", Message: fmt.Sprintf("must be 1 to %d printable ASCII characters", maxIdempotencyKeyLen)})
			return
		}
		k, found, err := a.resolveKey(ctx, r.Header.Get("Authorization"))
		if err != nil || !found {
			// Authentication fails below, with its own problem.
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, a.maxBody+1))
		if err != nil {
			writeProblem(w, http.StatusBadRequest, "cannot read the request body")
			return
		}
		if int64(len(body)) > a.maxBody {
			writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than the limit of %d bytes", a.maxBody))
			return
		}
		scope := k.ID.String() + " " + r.Method + " " + r.URL.Path
		stored, err := a.idem.Begin(ctx, scope, key, fingerprint(r.URL.RawQuery, body))
		if err != nil {
			a.idempotencyRefused(w, r, err)
			return
		}
		if stored != nil {
			replay(w, stored)
			return
		}

		r2 := r.WithContext(ctx)
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		rec := &recorder{w: w}
		done := false
		defer func() {
			if !done { // a panic below: release the claim, then let it go on
				a.abandon(ctx, scope, key)
			}
		}()
		next.ServeHTTP(rec, r2)
		done = true

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if status >= http.StatusInternalServerError || status < http.StatusOK || rec.overflow {
			a.abandon(ctx, scope, key)
			return
		}
		resp := ports.StoredResponse{
			Status:  status,
			Header:  map[string]string{},
			Body:    rec.body.Bytes(),
			Created: a.clock.Now().UTC(),
		}
		for _, h := range storedHeaders {
			if v := w.Header().Get(h); v != "" {
				resp.Header[h] = v
			}
		}
		if err := a.idem.Finish(context.WithoutCancel(ctx), scope, key, resp); err != nil {
			a.log.Warn("idempotency: cannot store the response", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
		}
	})
}

func (a *API) abandon(ctx context.Context, scope, key string) {
	if err := a.idem.Abandon(context.WithoutCancel(ctx), scope, key); err != nil {
		a.log.Warn("idempotency: cannot release a claim", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
	}
}

// idempotencyRefused answers a Begin that did not let the request through.
func (a *API) idempotencyRefused(w http.ResponseWriter, r *http.Request, err error) {
	loc := &huma.ErrorDetail{Location: "header.Idempotency-Key"}
	switch {
	case errors.Is(err, ports.ErrIdempotencyMismatch):
		loc.Message = "was used with a different request body; use a new key for a new request"
		writeProblem(w, http.StatusUnprocessableEntity, "Idempotency-Key reused with a different request", loc)
	case errors.Is(err, ports.ErrIdempotencyInFlight):
		loc.Message = "the first request with this key is still being processed; retry later"
		writeProblem(w, http.StatusConflict, "request with this Idempotency-Key in progress", loc)
	default:
		a.log.Error("idempotency: cannot claim a key", zap.String("request_id", requestIDFrom(r.Context())), zap.Error(err))
		writeProblem(w, http.StatusInternalServerError, internalError)
	}
}

func replay(w http.ResponseWriter, s *ports.StoredResponse) {
	h := w.Header()
	for k, v := range s.Header {
		h.Set(k, v)
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(s.Status)
	_, _ = w.Write(s.Body)
}

func fingerprint(query string, body []byte) []byte {
	h := sha256.New()
	if query != "" {
		h.Write([]byte(query))
		h.Write([]byte{0})
	}
	h.Write(body)
	return h.Sum(nil)
}

func unsafeMethod(m string) bool {
	switch m {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func validIdempotencyKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder passes a response through and keeps a copy of it.
type recorder struct {
	w        http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (rec *recorder) Header() http.Header { return rec.w.Header() }

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.w.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if !rec.overflow {
		if rec.body.Len()+len(b) > maxStoredBody {
			rec.overflow = true
			rec.body = bytes.Buffer{}
		} else {
			rec.body.Write(b)
		}
	}
	return rec.w.Write(b)
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.w }

func (rec *recorder) Flush() {
	if f, ok := rec.w.(http.Flusher); ok {
		f.Flush()
	}
}
