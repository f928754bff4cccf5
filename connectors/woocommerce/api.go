package woocommerce

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"kirjuri/ports/inbound"
)

// Bounds of what the connector reads from the shop. A page of 100
// customers is some 150 KiB (more with plugins' meta_data); one customer a
// few KiB. An answer over its bound is refused rather than read.
const (
	maxPageBody     = 16 << 20
	maxCustomerBody = 2 << 20
	// maxErrorBody bounds what is read of an error's answer (only its
	// WooCommerce code is used).
	maxErrorBody = 64 << 10
	// maxRetryAfter caps a Retry-After: a shop asking for more is asked
	// again after a day.
	maxRetryAfter = 24 * time.Hour
)

// userAgent names kirjuri to the shop (and to the security plugins in
// front of it, some of which refuse Go's default).
const userAgent = "kirjuri-woocommerce/1"

// apiPath is where the WooCommerce REST API v3 sits under the shop's
// address (pretty permalinks; WooCommerce 3.5 or later).
const apiPath = "/wp-json/wc/v3/"

// api is the shop's REST API as the pull and the push use it. Over https
// it authenticates with HTTP Basic (the consumer key as user, the secret
// as password), as WooCommerce's documentation says for TLS: the keys stay
// out of the URL, so out of the access logs of the shop and its proxies
// (the query-parameter variant exists only for servers that drop the
// Authorization header). Over plain http, allowed only to a loopback
// host, WooCommerce accepts no Basic at all: it wants OAuth 1.0a
// one-legged signatures (WC_REST_Authentication::perform_oauth_authentication),
// which sign the request without sending the secret.
type api struct {
	base     *url.URL
	key      string
	secret   string
	oauth    bool
	pageSize int
	timeout  time.Duration
	client   *http.Client
	now      func() time.Time
	nonce    func() string
}

// String shows where the API is, never the keys.
func (a *api) String() string { return "woocommerce REST API at " + a.base.String() }

// GoString is String: %#v must not show the keys either.
func (a *api) GoString() string { return a.String() }

func newAPI(c Config, client *http.Client) (*api, error) {
	base, err := parseBaseURL(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("baseUrl: %w", err)
	}
	a := &api{
		base:     base,
		key:      c.ConsumerKey,
		secret:   c.ConsumerSecret,
		oauth:    base.Scheme == "http",
		pageSize: c.PageSize,
		timeout:  c.Timeout,
		now:      time.Now,
		nonce:    newNonce,
	}
	if a.pageSize == 0 {
		a.pageSize = DefaultPageSize
	}
	if a.timeout == 0 {
		a.timeout = DefaultTimeout
	}
	// A copy of the client, so that the caller's is not changed: redirects
	// are not followed. A redirect means baseUrl is not where the API is
	// (http to https, a www prefix, a moved shop), and following it would
	// send the keys somewhere baseUrl does not name.
	cl := http.Client{}
	if client != nil {
		cl = *client
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a.client = &cl
	return a, nil
}

// endpoint is the URL of path under the API with the query q.
func (a *api) endpoint(path string, q url.Values) *url.URL {
	u := *a.base
	u.Path = a.base.Path + apiPath + path
	u.RawPath = ""
	u.RawQuery = q.Encode()
	return &u
}

// call is one request to the shop.
type call struct {
	// op names the request in errors: "GET customers page 3".
	op     string
	method string
	url    *url.URL
	body   []byte
	// max bounds the answer; tooLarge is said when it is over.
	max      int64
	tooLarge string
}

// do sends c and returns the answer's headers and body when its status is
// 2xx. Other answers and failures become the errors of inbound.Puller and
// inbound.Pusher: *inbound.RateLimited for 429; *inbound.Permanent for
// what retrying cannot mend (4xx but 408, 409, 425 and 429; a redirect; an
// untrusted certificate; an answer over its bound); a plain error for the
// rest (5xx, 408, 409, timeouts, refused or cut connections), which is
// retried. No error holds a key, a URL's query or a word of the body.
func (a *api) do(ctx context.Context, c call) (http.Header, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", c.op, err)
	}
	rctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	u := c.url
	if a.oauth {
		u = a.signOAuth(c.method, u)
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(rctx, c.method, u.String(), body)
	if err != nil {
		return nil, nil, &inbound.Permanent{Err: fmt.Errorf("%s: cannot make the request: %s", c.op, c.method)}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if !a.oauth {
		req.SetBasicAuth(a.key, a.secret)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, nil, a.failed(ctx, c.op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := readAtMost(resp, maxErrorBody)
		return nil, nil, statusError(c.op, resp, b, a.now())
	}
	b, err := readAtMost(resp, c.max)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, nil, &inbound.Permanent{Err: fmt.Errorf("%s: the answer is larger than %d MiB%s", c.op, c.max>>20, c.tooLarge)}
	case err != nil:
		return nil, nil, a.failed(ctx, c.op, err)
	}
	return resp.Header, b, nil
}

var errTooLarge = errors.New("the answer is too large")

// readAtMost reads the body whole, or errTooLarge when it is over max
// (told by Content-Length before reading, or found reading).
func readAtMost(resp *http.Response, max int64) ([]byte, error) {
	if resp.ContentLength > max {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// failed is the error of a request that got no (whole) answer. The
// url.Error's own text is not used: it holds the URL, whose query carries
// the OAuth parameters over http.
func (a *api) failed(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", op, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%s: no answer from the shop within %s (timeout)", op, a.timeout)
	}
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
	)
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie) {
		return &inbound.Permanent{Err: fmt.Errorf("%s: the shop's TLS certificate is not trusted (%w): check baseUrl and the shop's certificate", op, err)}
	}
	return fmt.Errorf("%s: cannot reach the shop: %w", op, err)
}

// wcError is WooCommerce's (WP_Error's) error answer:
// {"code": "woocommerce_rest_cannot_view", "message": …, "data": {"status": 401}}.
// Only the code is read: the message may repeat the request's data.
type wcError struct {
	Code string `json:"code"`
}

// errorCode is the shape of a WP_Error code; anything else is not shown.
var errorCode = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,79}$`)

func wooCode(body []byte) string {
	var e wcError
	if json.Unmarshal(body, &e) != nil || !errorCode.MatchString(e.Code) {
		return ""
	}
	return e.Code
}

// statusError classifies an answer that is not 2xx.
func statusError(op string, resp *http.Response, body []byte, now time.Time) error {
	status := resp.StatusCode
	if status == http.StatusTooManyRequests {
		return &inbound.RateLimited{RetryAfter: inbound.ParseRetryAfter(resp.Header.Get("Retry-After"), now, maxRetryAfter)}
	}
	code := wooCode(body)
	said := fmt.Sprintf("the shop answered %d %s", status, http.StatusText(status))
	if code != "" {
		said += " (" + code + ")"
	}
	switch {
	case status >= 300 && status <= 399:
		to := ""
		if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.Host != "" && (loc.Scheme == "http" || loc.Scheme == "https") {
			to = " to " + loc.Scheme + "://" + loc.Host
		}
		return &inbound.Permanent{Err: fmt.Errorf("%s: %s: a redirect%s, which is not followed: set baseUrl to the address the shop answers at", op, said, to)}
	case status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooEarly, status >= 500:
		return fmt.Errorf("%s: %s", op, said)
	case status >= 400:
		return &inbound.Permanent{Err: fmt.Errorf("%s: %s%s", op, said, hint(status, code))}
	}
	return fmt.Errorf("%s: %s", op, said)
}

// hint says what an admin can do about a refusal.
func hint(status int, code string) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ": check consumerKey and consumerSecret, and the key's permission in WooCommerce › Settings › Advanced › REST API (Read to pull, Read/Write to push)"
	case status == http.StatusNotFound && code == "woocommerce_rest_invalid_id":
		return ": the shop has no such customer (deleted there?)"
	case status == http.StatusNotFound:
		return ": no WooCommerce REST API at baseUrl: check baseUrl, that WooCommerce 3.5 or later is active, and that WordPress's permalinks are not Plain"
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return ": the shop refuses the request's data"
	}
	return ""
}

// describeType names an answer's media type for an error ("text/html"),
// or "no Content-Type".
func describeType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt == "" || len(mt) > 80 {
		return "no Content-Type"
	}
	return "Content-Type " + mt
}

// signOAuth returns u with the parameters of OAuth 1.0a one-legged, the
// way WC_REST_Authentication::check_oauth_signature checks them: the
// base string is the method, the URL without its query (as the site's
// home URL names it) and the sorted parameters, query and oauth_* alike,
// each key and value percent-encoded by RFC 3986 and the pairs encoded
// again and joined by %26; the key is the consumer secret and "&"; the
// method HMAC-SHA256. The timestamp must be within 15 minutes of the
// shop's clock and the nonce new.
func (a *api) signOAuth(method string, u *url.URL) *url.URL {
	q := u.Query()
	q.Set("oauth_consumer_key", a.key)
	q.Set("oauth_nonce", a.nonce())
	q.Set("oauth_signature_method", "HMAC-SHA256")
	q.Set("oauth_timestamp", strconv.FormatInt(a.now().Unix(), 10))
	q.Set("oauth_signature", oauthSignature(method, u, q, a.secret))
	signed := *u
	signed.RawQuery = q.Encode()
	return &signed
}

// oauthSignature is the signature of method and u (its query not used)
// with params (oauth_signature, when there, left out).
func oauthSignature(method string, u *url.URL, params url.Values, secret string) string {
	host := strings.ToLower(u.Host)
	if (u.Scheme == "http" && strings.HasSuffix(host, ":80")) || (u.Scheme == "https" && strings.HasSuffix(host, ":443")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "oauth_signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		for _, v := range params[k] {
			pairs = append(pairs, rfc3986(rfc3986(k)+"="+rfc3986(v)))
		}
	}
	base := strings.ToUpper(method) + "&" + rfc3986(strings.ToLower(u.Scheme)+"://"+host+u.EscapedPath()) + "&" + strings.Join(pairs, "%26")
	m := hmac.New(sha256.New, []byte(secret+"&"))
	m.Write([]byte(base))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// rfc3986 percent-encodes every byte but the unreserved ones (PHP's
// rawurlencode).
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// newNonce is 26 random letters and digits (crypto/rand.Text, 130
// bits): WooCommerce keeps the nonces of the last 15 minutes and refuses
// one used again.
func newNonce() string { return rand.Text() }
