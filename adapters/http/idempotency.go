package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
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
//   - fingerprint: SHA-256 of the body in a canonical form when it is JSON
//     (members of every object sorted by name, whitespace between tokens
//     dropped; strings and numbers exactly as written), so the same JSON
//     with its members in another order is the same request; any other body
//     as its bytes. The query string, when there is one, goes first, so a
//     changed query is a changed request;
//   - ports.Idempotency.Begin claims the key with an owner token, or hands
//     back the stored response, which is replayed with Idempotent-Replayed:
//     true; a key used with another body is 422, a key whose first request
//     still runs is 409;
//   - the response is recorded as it is written; 2xx and 4xx are stored
//     (status, Content-Type, ETag, Location, body, and the customer it is
//     about: the one created, or the one of the path), anything else
//     releases the claim (Abandon) so the client can retry. Finish and
//     Abandon act only with the claim's token: a slow request whose claim
//     was taken over after ports.IdempotencyLease changes nothing, and that
//     is logged (request id and route, nothing personal);
//   - a stored response about a customer erased since (ports.StoredResponse
//     Erased) has lost its body: its replay is 410 Gone, and the request is
//     not run again.

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
		if key == "" || !unsafeMethod(r.Method) || a.router.routeOf(r) == uploadRoute || a.router.routeOf(r) == webhookRoute {
			// An upload streams to disk and keys a retry on the file's
			// digest itself (imports.go): its body is not buffered here.
			// A connector's webhook has no API key and its inbox
			// deduplicates by the sender's delivery key (connectors.go).
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
		token, stored, err := a.idem.Begin(ctx, scope, key, fingerprint(r.URL.RawQuery, body))
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
				a.abandon(ctx, scope, key, token)
			}
		}()
		next.ServeHTTP(rec, r2)
		done = true

		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if status >= http.StatusInternalServerError || status < http.StatusOK || rec.overflow {
			a.abandon(ctx, scope, key, token)
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
		resp.Customer = customerOf(r.URL.Path, resp.Header["Location"])
		if resp.Customer != uuid.Nil {
			resp.Version = versionOf(resp.Header["ETag"])
		}
		err = a.idem.Finish(context.WithoutCancel(ctx), scope, key, token, resp)
		switch {
		case errors.Is(err, ports.ErrIdempotencyClaimLost):
			a.claimLost(ctx, "the response was not stored")
		case err != nil:
			a.log.Warn("idempotency: cannot store the response", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
		}
	})
}

func (a *API) abandon(ctx context.Context, scope, key string, token uuid.UUID) {
	err := a.idem.Abandon(context.WithoutCancel(ctx), scope, key, token)
	switch {
	case errors.Is(err, ports.ErrIdempotencyClaimLost):
		a.claimLost(ctx, "the claim was not released")
	case err != nil:
		a.log.Warn("idempotency: cannot release a claim", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
	}
}

// claimLost logs a Finish or Abandon of a claim that a later request took
// over (after ports.IdempotencyLease): the request id and route only, never
// the key or the body.
func (a *API) claimLost(ctx context.Context, what string) {
	route := ""
	if ex := exchangeFrom(ctx); ex != nil {
		route = ex.route
	}
	a.log.Warn("idempotency: the claim was taken over by a later request with the same key; "+what,
		zap.String("request_id", requestIDFrom(ctx)), zap.String("route", route))
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
	if s.Erased {
		h.Set("Idempotent-Replayed", "true")
		writeProblem(w, http.StatusGone, "the customer this request created or changed has since been erased (GDPR); its response is no longer kept",
			&huma.ErrorDetail{Location: "header.Idempotency-Key", Message: "the first response showed a customer that has been erased; the request was not run again"})
		return
	}
	for k, v := range s.Header {
		h.Set(k, v)
	}
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(s.Status)
	_, _ = w.Write(s.Body)
}

// fingerprint identifies a request for its Idempotency-Key: the query
// string and the body, a JSON body in its canonical form (canonicalJSON).
func fingerprint(query string, body []byte) []byte {
	h := sha256.New()
	if query != "" {
		h.Write([]byte(query))
		h.Write([]byte{0})
	}
	if json.Valid(body) {
		h.Write([]byte{'j'})
		h.Write(canonicalJSON(body))
	} else {
		h.Write([]byte{'b'})
		h.Write(body)
	}
	return h.Sum(nil)
}

// canonicalJSON re-writes a valid JSON text with the members of every
// object sorted by their names as written (stably, so repeated names keep
// their order) and no whitespace between tokens. Strings, names, numbers
// and literals are kept byte for byte, so that "1.0" and "1", or "\u00e4"
// and "ä", stay different requests: only what JSON says is insignificant
// (member order and whitespace) is ignored.
func canonicalJSON(b []byte) []byte {
	c := canonicalizer{b: b}
	return c.value(make([]byte, 0, len(b)))
}

type canonicalizer struct {
	b []byte
	i int
}

type jsonMember struct{ name, value []byte }

// value appends the canonical form of the value at c.i to out. The input is
// valid JSON (json.Valid), whose nesting encoding/json bounds.
func (c *canonicalizer) value(out []byte) []byte {
	c.space()
	switch c.b[c.i] {
	case '{':
		c.i++
		var members []jsonMember
		for {
			c.space()
			if c.b[c.i] == '}' {
				c.i++
				break
			}
			if c.b[c.i] == ',' {
				c.i++
				c.space()
			}
			name := c.str()
			c.space()
			c.i++ // ':'
			members = append(members, jsonMember{name: name, value: c.value(nil)})
		}
		slices.SortStableFunc(members, func(x, y jsonMember) int { return bytes.Compare(x.name, y.name) })
		out = append(out, '{')
		for i, m := range members {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, m.name...)
			out = append(out, ':')
			out = append(out, m.value...)
		}
		return append(out, '}')
	case '[':
		c.i++
		out = append(out, '[')
		for first := true; ; first = false {
			c.space()
			if c.b[c.i] == ']' {
				c.i++
				break
			}
			if c.b[c.i] == ',' {
				c.i++
			}
			if !first {
				out = append(out, ',')
			}
			out = c.value(out)
		}
		return append(out, ']')
	case '"':
		return append(out, c.str()...)
	default: // a number, true, false or null
		start := c.i
		for c.i < len(c.b) && !strings.ContainsRune(" \t\r\n,]}", rune(c.b[c.i])) {
			c.i++
		}
		return append(out, c.b[start:c.i]...)
	}
}

// str returns the string at c.i, quotes and escapes as written.
func (c *canonicalizer) str() []byte {
	start := c.i
	c.i++
	for c.b[c.i] != '"' {
		if c.b[c.i] == '\\' {
			c.i++
		}
		c.i++
	}
	c.i++
	return c.b[start:c.i]
}

func (c *canonicalizer) space() {
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\r', '\n':
			c.i++
		default:
			return
		}
	}
}

// customerOf names the customer a response is about: the one of a
// /v1/customers/{id}/... path, or the one a create made (its Location).
func customerOf(path, location string) uuid.UUID {
	for _, p := range []string{path, location} {
		rest, ok := strings.CutPrefix(p, "/v1/customers/")
		if !ok {
			continue
		}
		seg, _, _ := strings.Cut(rest, "/")
		if id, err := uuid.Parse(seg); err == nil && len(seg) == 36 {
			return id
		}
	}
	return uuid.Nil
}

// versionOf reads the customer version from an ETag ("3"); 0 when there is
// none.
func versionOf(etag string) int64 {
	v, err := strconv.ParseInt(strings.Trim(etag, `"`), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
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
