package mycashflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"kirjuri/ports/inbound"
)

// Bounds of what is read from MyCashFlow.
const (
	// MaxAnswer bounds a successful answer: a page of 500 customers is
	// about a megabyte.
	MaxAnswer = 16 << 20
	// maxErrorAnswer bounds what is read of an error answer (only its code
	// is kept).
	maxErrorAnswer = 64 << 10
	// MaxRetryAfter caps a Retry-After: a sync or push that waits longer
	// is better retried by its job's own backoff than parked for days by
	// one header.
	MaxRetryAfter = time.Hour
)

const userAgent = "kirjuri-mycashflow/1"

// call sends one request to the API root + path and returns the body of a
// 2xx answer. what names the request in errors ("GET customers page 3");
// it holds no personal data. Errors: *inbound.RateLimited for 429;
// *inbound.Permanent for a redirect and a 4xx other than 408, 409, 425
// and 429, and for an answer larger than MaxAnswer; any other error (5xx,
// a timeout, a refused connection, a cut answer) is plain, to be retried.
func (c *Connector) call(ctx context.Context, method, path string, query url.Values, body []byte, what string) ([]byte, error) {
	u := c.root + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, &inbound.Permanent{Err: fmt.Errorf("mycashflow: %s: cannot make the request: %w", what, err)}
	}
	req.SetBasicAuth(c.user, c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mycashflow: %s: %w", what, transportError(err))
	}
	defer resp.Body.Close()
	switch s := resp.StatusCode; {
	case s >= 200 && s <= 299:
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
		if err != nil {
			return nil, fmt.Errorf("mycashflow: %s: reading the answer: %w", what, transportError(err))
		}
		if len(b) > MaxAnswer {
			return nil, &inbound.Permanent{Err: fmt.Errorf("mycashflow: %s: the answer is larger than %d MiB (a smaller pageSize makes smaller pages)", what, MaxAnswer>>20)}
		}
		return b, nil
	case s == http.StatusTooManyRequests:
		drain(resp.Body)
		return nil, &inbound.RateLimited{RetryAfter: inbound.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now(), MaxRetryAfter)}
	case s >= 300 && s <= 399:
		drain(resp.Body)
		return nil, &inbound.Permanent{Err: fmt.Errorf("mycashflow: %s: answered %d, a redirect: check store or baseUrl (the API root is https://STORE.mycashflow.fi/api/v1, without a trailing slash)", what, s)}
	case s >= 400 && s <= 499 && s != http.StatusRequestTimeout && s != http.StatusConflict && s != http.StatusTooEarly:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
		return nil, &inbound.Permanent{Err: fmt.Errorf("mycashflow: %s: %s%s%s", what, status(s), errorCode(b), hint(s, method))}
	default:
		drain(resp.Body)
		return nil, fmt.Errorf("mycashflow: %s: %s", what, status(s))
	}
}

// drain reads a little of an unused answer so that the connection can be
// reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, maxErrorAnswer)) }

func status(s int) string {
	if t := http.StatusText(s); t != "" {
		return fmt.Sprintf("%d %s", s, t)
	}
	return strconv.Itoa(s)
}

// hint says what a refusal usually means.
func hint(s int, method string) string {
	switch {
	case s == http.StatusUnauthorized:
		return ": check apiUser and apiKey (the API user's email and key)"
	case s == http.StatusForbidden:
		return ": the API user may not use customers, or the store's plan has no API"
	case s == http.StatusNotFound && method == http.MethodGet:
		return ": check store or baseUrl (the API root is https://STORE.mycashflow.fi/api/v1)"
	case s == http.StatusNotFound:
		return ": the account is not in MyCashFlow (removed there?)"
	}
	return ""
}

// transportError is a client error without the request's URL (Go's
// url.Error repeats it, query and all): the operation names the request
// already.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// codeShape is what an error code looks like; anything else (a message,
// which may repeat the refused values) is not shown.
var codeShape = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)

// fieldShape is what a member name looks like.
var fieldShape = regexp.MustCompile(`^[a-z][a-z0-9_.\[\]]{0,63}$`)

// errorCode shows what of an error answer cannot hold personal data:
// a code (a number, or a short identifier-like word) and the names of the
// members an "errors" object complains about. MyCashFlow's error shape is
// not documented publicly (§2); messages are never shown, since a
// validation message may repeat the value it refuses (an email).
func errorCode(body []byte) string {
	var e struct {
		Code   json.RawMessage            `json:"code"`
		Error  json.RawMessage            `json:"error"`
		Errors map[string]json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var parts []string
	for _, raw := range []json.RawMessage{e.Code, e.Error} {
		if c := code(raw); c != "" {
			parts = append(parts, c)
		}
	}
	var fields []string
	for k := range e.Errors {
		if fieldShape.MatchString(k) {
			fields = append(fields, k)
		}
	}
	sort.Strings(fields)
	if len(fields) > 10 {
		fields = fields[:10]
	}
	out := ""
	if len(parts) > 0 {
		out += " (code " + strings.Join(parts, ", ") + ")"
	}
	if len(fields) > 0 {
		out += " (refused members: " + strings.Join(fields, ", ") + ")"
	}
	return out
}

func code(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := n.Int64(); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && codeShape.MatchString(s) {
		return strconv.Quote(s)
	}
	return ""
}
