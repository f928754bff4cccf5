package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"net/http"
	"strconv"
	"sync/atomic"

	"kirjuri/core/access"
)

// exchange is one request and its response as the middleware sees them. It
// is allocated once per request, travels in the request context, and is the
// response writer every layer below writes through: it remembers the status
// for the access log and metrics, the route the router matched, and the API
// key that authenticated the request.
type exchange struct {
	w         http.ResponseWriter
	status    int
	requestID string
	route     string // the matched path pattern; "" when nothing matched
	key       access.Key
	hasKey    bool
}

type exchangeKey struct{}

func exchangeFrom(ctx context.Context) *exchange {
	ex, _ := ctx.Value(exchangeKey{}).(*exchange)
	return ex
}

// requestIDFrom gives the request id of a request context ("" outside one).
func requestIDFrom(ctx context.Context) string {
	if ex := exchangeFrom(ctx); ex != nil {
		return ex.requestID
	}
	return ""
}

func (ex *exchange) Header() http.Header { return ex.w.Header() }

func (ex *exchange) WriteHeader(code int) {
	if ex.status == 0 {
		ex.status = code
	}
	ex.w.WriteHeader(code)
}

func (ex *exchange) Write(b []byte) (int, error) {
	if ex.status == 0 {
		ex.status = http.StatusOK
	}
	return ex.w.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Huma sets read
// deadlines through it).
func (ex *exchange) Unwrap() http.ResponseWriter { return ex.w }

func (ex *exchange) Flush() {
	if f, ok := ex.w.(http.Flusher); ok {
		if ex.status == 0 {
			ex.status = http.StatusOK
		}
		f.Flush()
	}
}

// wroteHeader reports whether the response has started.
func (ex *exchange) wroteHeader() bool { return ex.status != 0 }

// Request ids: taken from the client when it sends a sane one, otherwise a
// process-unique id made of a random prefix and a counter (no system call
// per request).

const maxRequestIDLen = 128

var (
	requestIDPrefix = newRequestIDPrefix()
	requestIDSeq    atomic.Uint64
)

func newRequestIDPrefix() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

func newRequestID() string {
	return requestIDPrefix + "-" + strconv.FormatUint(requestIDSeq.Add(1), 36)
}

// saneRequestID accepts 1..128 characters of [A-Za-z0-9] and -_.:/+=@, so an
// id can be logged and stored without escaping.
func saneRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}
