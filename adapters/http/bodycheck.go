package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// checkBody is the one gate every request body passes before Huma or a
// handler decodes it (a Huma middleware, after authorize, so bodies of
// callers without a key are not read). For an operation that takes a body,
// a non-empty body must be
//
//   - labelled: a Content-Type is required, and its media type (compared
//     without regard to case, RFC 9110 8.3.1) must be one the operation
//     documents (application/json; PATCH of a customer also
//     application/merge-patch+json), with no charset other than UTF-8;
//     anything else is 415 naming header.Content-Type;
//   - UTF-8 (RFC 8259 8.1): invalid bytes (also overlong forms and encoded
//     surrogates) and \u escapes of lone UTF-16 surrogates are 400, naming
//     the member that holds them. Go's JSON decoder would otherwise store
//     them as U+FFFD without a word.
//
// The bodies Huma validates against their schema (consents, restriction,
// contacts, groups) are held to what the customer bodies' own decoder
// (mergepatch.go) does: a member given twice and a null where the schema
// does not allow one are 422 naming the member. Huma alone would take the
// last of two members and treat null as absent, so that
// {"marketingEmail": null} would silently keep a consent.
func (a *API) checkBody(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op.RequestBody == nil || len(op.RequestBody.Content) == 0 {
		next(ctx)
		return
	}
	r, _ := humago.Unwrap(ctx)
	if r == nil || r.Body == nil || r.Body == http.NoBody {
		next(ctx)
		return
	}
	limit := op.MaxBodyBytes // one more than the operation's limit (API.operation)
	if limit <= 0 {
		limit = a.maxBody + 1
	}
	ct := ctx.Header("Content-Type")
	// An empty body is left to Huma (400 when the body is required), so the
	// body is peeked at before its label is judged.
	var first [1]byte
	n, err := io.ReadFull(r.Body, first[:])
	if n == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			a.writeErr(ctx, huma.Error400BadRequest("cannot read the request body"))
			return
		}
		r.Body = http.NoBody
		next(ctx)
		return
	}
	rest := io.MultiReader(bytes.NewReader(first[:]), r.Body)
	mt, perr := acceptedMediaType(op, ct)
	if perr != nil {
		a.writeErr(ctx, perr)
		return
	}
	if !jsonMediaType(mt) {
		// A non-JSON body (a future multipart upload) is the operation's
		// own to read.
		r.Body = readCloser{Reader: rest, Closer: r.Body}
		next(ctx)
		return
	}
	body, err := io.ReadAll(io.LimitReader(rest, limit))
	if err != nil {
		a.writeErr(ctx, huma.Error400BadRequest("cannot read the request body"))
		return
	}
	if int64(len(body)) >= limit {
		// Over the limit: Huma answers 413 as it reads on.
		r.Body = readCloser{Reader: io.MultiReader(bytes.NewReader(body), rest), Closer: r.Body}
		next(ctx)
		return
	}
	r.Body = readCloser{Reader: bytes.NewReader(body), Closer: r.Body}
	r.ContentLength = int64(len(body))
	// Huma picks its decoder by the exact media type.
	r.Header.Set("Content-Type", mt)

	var schema *huma.Schema
	if !op.SkipValidateBody {
		if c := op.RequestBody.Content[mt]; c != nil {
			schema = a.resolveSchema(c.Schema)
		}
	}
	if problem := a.inspectJSON(body, schema, !op.SkipValidateBody); problem != nil {
		a.writeErr(ctx, problem)
		return
	}
	next(ctx)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// acceptedMediaType checks a Content-Type against the media types the
// operation documents and returns the media type in lower case.
func acceptedMediaType(op *huma.Operation, contentType string) (string, error) {
	accepted := make([]string, 0, len(op.RequestBody.Content))
	for mt := range op.RequestBody.Content {
		accepted = append(accepted, mt)
	}
	slices.Sort(accepted)
	// application/json first: it is what a client should send.
	if i := slices.Index(accepted, "application/json"); i > 0 {
		accepted = slices.Insert(slices.Delete(accepted, i, i+1), 0, "application/json")
	}
	send := "send " + strings.Join(accepted, " or ")
	refuse := func(msg string) error {
		return huma.NewError(http.StatusUnsupportedMediaType, "unsupported media type",
			&huma.ErrorDetail{Location: "header.Content-Type", Message: msg})
	}
	if strings.TrimSpace(contentType) == "" {
		return "", refuse("is missing; a request body needs a Content-Type: " + send)
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", refuse("is not a media type; " + send)
	}
	if !slices.Contains(accepted, mt) {
		return "", refuse(fmt.Sprintf("%s is not accepted here; %s", quoteShort(mt), send))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", refuse(fmt.Sprintf("charset %s is not accepted: send the body in UTF-8 (charset=utf-8, or no charset)", quoteShort(cs)))
	}
	return mt, nil
}

func jsonMediaType(mt string) bool {
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// quoteShort quotes a client's text for a message, cut to a sane length.
func quoteShort(s string) string {
	if len(s) > 100 {
		s = strings.ToValidUTF8(s[:100], "") + "…"
	}
	return strconv.Quote(s)
}

// resolveSchema follows a $ref to the schema of the document.
func (a *API) resolveSchema(s *huma.Schema) *huma.Schema {
	for i := 0; s != nil && s.Ref != "" && i < 10; i++ {
		s = a.huma.OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
	}
	return s
}

// nullable reports whether a schema admits null.
func nullable(s *huma.Schema) bool {
	if s == nil {
		return false
	}
	if s.Nullable || s.Type == "null" {
		return true
	}
	for _, alt := range append(slices.Clone(s.OneOf), s.AnyOf...) {
		if alt != nil && (alt.Nullable || alt.Type == "null") {
			return true
		}
	}
	return false
}

// inspectJSON finds the first encoding problem of a JSON body, and (when
// strict) the members given twice and the nulls the schema does not allow.
// A body that is not JSON at all is left to the decoder that reads it next,
// which says where its syntax breaks.
func (a *API) inspectJSON(body []byte, schema *huma.Schema, strict bool) error {
	bad, why := encodingProblem(body)
	if bad < 0 && !strict {
		return nil
	}
	var details []error
	w := jsonWalker{api: a, body: body, bad: bad, strict: strict && bad < 0}
	loc, ok := w.walk(schema, func(d *huma.ErrorDetail) {
		if len(details) < maxDetails {
			details = append(details, d)
		}
	})
	if bad >= 0 {
		if !ok {
			loc = "body"
		}
		return huma.Error400BadRequest("request body is not valid UTF-8 JSON",
			&huma.ErrorDetail{Location: loc, Message: fmt.Sprintf("%s (at byte %d of the body)", why, bad)})
	}
	if len(details) > 0 {
		return huma.Error422UnprocessableEntity("validation failed", details...)
	}
	return nil
}

// encodingProblem finds the first byte that is not UTF-8, or the first \u
// escape of a lone UTF-16 surrogate inside a JSON string; -1 when there is
// none.
func encodingProblem(b []byte) (offset int, why string) {
	inString := false
	for i := 0; i < len(b); {
		c := b[i]
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(b[i:]); r == utf8.RuneError && size == 1 {
				return i, "is not valid UTF-8"
			} else {
				i += size
			}
			continue
		}
		switch {
		case !inString:
			if c == '"' {
				inString = true
			}
			i++
		case c == '"':
			inString = false
			i++
		case c == '\\' && i+1 < len(b) && b[i+1] == 'u':
			r, ok := hex4(b[i+2:])
			switch {
			case !ok:
				i += 2 // a syntax error; the decoder reports it
			case r >= 0xD800 && r < 0xDC00:
				if i+12 <= len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hex4(b[i+8:]); ok && lo >= 0xDC00 && lo < 0xE000 {
						i += 12
						continue
					}
				}
				return i, `has a \u escape of a lone UTF-16 surrogate, which is no character`
			case r >= 0xDC00 && r < 0xE000:
				return i, `has a \u escape of a lone UTF-16 surrogate, which is no character`
			default:
				i += 6
			}
		case c == '\\':
			i += 2
		default:
			i++
		}
	}
	return -1, ""
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// jsonWalker reads a JSON body token by token, keeping the path of each
// value ("addresses[0].city"), to name where a problem lies.
type jsonWalker struct {
	api    *API
	body   []byte
	bad    int  // offset of an encoding problem to locate; -1 for none
	strict bool // report members given twice and nulls the schema refuses
}

type jsonFrame struct {
	object    bool
	path      string
	schema    *huma.Schema
	expectKey bool
	key       string
	index     int
	seen      map[string]struct{}
}

// walk reads the body. When bad is set it returns the location of the token
// that holds the bad offset (ok false when the body broke off before it);
// when strict it reports problems through report.
func (w *jsonWalker) walk(root *huma.Schema, report func(*huma.ErrorDetail)) (loc string, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(w.body))
	dec.UseNumber()
	var stack []*jsonFrame
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false // the end, or a syntax error the decoder reports later
		}
		end := dec.InputOffset()
		holdsBad := w.bad >= 0 && int64(w.bad) >= start && int64(w.bad) < end
		var top *jsonFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}

		if top != nil && top.object && top.expectKey {
			if d, isDelim := tok.(json.Delim); isDelim && d == '}' {
				stack = stack[:len(stack)-1]
				afterValue(stack)
				continue
			}
			name, _ := tok.(string)
			if holdsBad {
				return inBody(top.path), true // the member's name itself
			}
			top.expectKey, top.key = false, name
			if w.strict {
				if _, dup := top.seen[name]; dup {
					report(&huma.ErrorDetail{Location: inBody(join(top.path, name)), Message: "is given more than once"})
				}
				top.seen[name] = struct{}{}
			}
			continue
		}
		if d, isDelim := tok.(json.Delim); isDelim && d == ']' {
			stack = stack[:len(stack)-1]
			afterValue(stack)
			continue
		}

		path, schema := childOf(top, w.api)
		if top == nil {
			schema = w.api.resolveSchema(root)
		}
		if holdsBad {
			return inBody(path), true
		}
		switch tok := tok.(type) {
		case json.Delim: // '{' or '['
			stack = append(stack, &jsonFrame{object: tok == '{', path: path, schema: schema, expectKey: tok == '{', seen: map[string]struct{}{}})
			continue
		case nil:
			if w.strict && top != nil && !nullable(schema) {
				report(&huma.ErrorDetail{Location: inBody(path), Message: nullMessage(schema)})
			}
		}
		afterValue(stack)
	}
}

// childOf gives the path and schema of the next value in a container.
func childOf(top *jsonFrame, a *API) (string, *huma.Schema) {
	if top == nil {
		return "", nil
	}
	if top.object {
		var s *huma.Schema
		if top.schema != nil {
			s = a.resolveSchema(top.schema.Properties[top.key])
		}
		return join(top.path, top.key), s
	}
	var s *huma.Schema
	if top.schema != nil {
		s = a.resolveSchema(top.schema.Items)
	}
	return fmt.Sprintf("%s[%d]", top.path, top.index), s
}

func afterValue(stack []*jsonFrame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	if top.object {
		top.expectKey = true
	} else {
		top.index++
	}
}

func nullMessage(s *huma.Schema) string {
	what := "a value"
	if s != nil {
		switch s.Type {
		case huma.TypeBoolean:
			what = "true or false"
		case huma.TypeString:
			what = "a string"
		case huma.TypeInteger:
			what = "an integer"
		case huma.TypeNumber:
			what = "a number"
		case huma.TypeObject:
			what = "an object"
		case huma.TypeArray:
			what = "an array"
		}
	}
	return "must be " + what + ", not null; leave the member out to keep it as it is"
}

// documentError adds an error status to an operation's responses in the
// OpenAPI document, as Huma documents the ones listed in Operation.Errors.
func documentError(op *huma.Operation, status int) {
	key := strconv.Itoa(status)
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	if op.Responses[key] != nil {
		return
	}
	var content map[string]*huma.MediaType
	for code, r := range op.Responses {
		if len(code) == 3 && code[0] == '4' && r != nil && r.Content != nil {
			content = r.Content
			break
		}
	}
	if content == nil {
		content = map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}
	}
	op.Responses[key] = &huma.Response{Description: http.StatusText(status), Content: content}
}
