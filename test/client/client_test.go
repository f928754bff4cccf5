package client

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kirjuri/test/internal/e2e"
)

// generator is the pinned oapi-codegen, run with go run so that the
// service's go.mod holds none of its dependencies (only the runtime library
// the generated code imports).
const generator = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"

var (
	binary string
	update = flag.Bool("update", false, "rewrite kirjuri.gen.go from the served document")
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(e2e.Main(m, &binary))
}

// TestGeneratedClientIsUpToDate generates the client from the document the
// running server serves and fails when it differs from kirjuri.gen.go, the
// client the lifecycle test drives: a change of the API that is not in the
// committed client shows up here.
func TestGeneratedClientIsUpToDate(t *testing.T) {
	s := e2e.Start(t, binary)
	doc := fetch(t, s.Base+"/openapi.json")
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.json")
	if err := os.WriteFile(spec, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "kirjuri.gen.go")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", generator, "-config", "oapi-codegen.yaml", "-o", out, spec)
	cmd.Env = append(os.Environ(), "GOFLAGS=") // the generator's own module, as pinned
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run %s: %v\n%s", generator, err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("kirjuri.gen.go", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("kirjuri.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the client generated from /openapi.json differs from kirjuri.gen.go; if the API change is meant, run\n\tgo test ./test/client/ -run TestGeneratedClientIsUpToDate -update\nand review the diff")
	}
}

// TestCustomerLifecycleThroughTheGeneratedClient drives one customer
// through its life with the generated client against the real server
// (PostgreSQL and ClickHouse): create, read, merge-patch, consents, find,
// by-number, by-external, erasure and consent history. Every response must
// have a status the document lists for its operation, and every body must
// decode into its generated type with no unknown member and no required
// member missing.
func TestCustomerLifecycleThroughTheGeneratedClient(t *testing.T) {
	s := e2e.Start(t, binary)
	checker := newDocumentedStatuses(t, fetch(t, s.Base+"/openapi.json"))
	c, err := NewClientWithResponses(s.Base,
		WithHTTPClient(checker.client(t)),
		WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+s.Key)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ext := fmt.Sprintf("wc-%d", time.Now().UnixNano())

	// Create: an address without streetAddress2 and country, as the
	// document allows.
	created, err := c.CreateCustomerWithResponse(ctx, &CreateCustomerParams{IdempotencyKey: ptr("create-" + ext)}, CustomerWrite{
		FirstName:       ptr("Aino"),
		LastName:        ptr("Virtanen"),
		Email:           ptr("aino.virtanen@example.fi"),
		PhoneNumbers:    &[]string{"040 1234567"},
		MarketingEmail:  ptr(true),
		Addresses:       &[]AddressWrite{{Type: AddressWriteTypeHome, StreetAddress1: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki"}},
		ExternalSystems: &[]ExternalLink{{SystemId: ExternalLinkSystemId(6), Identifier: ext}},
	})
	must(t, "create", err)
	cust := strict[Customer](t, "create", created.HTTPResponse, created.Body, http.StatusCreated)
	if !reflect.DeepEqual(created.JSON201, &cust) {
		t.Errorf("create: the generated parser read %+v, want %+v", created.JSON201, cust)
	}
	if got, want := created.HTTPResponse.Header.Get("Location"), "/v1/customers/"+cust.Id.String(); got != want {
		t.Errorf("create: Location %q, want %q", got, want)
	}
	if cust.Version != 1 || cust.MarketingEmail != true || cust.Email != "aino.virtanen@example.fi" {
		t.Errorf("create: %+v", cust)
	}
	if want := []Address{{Type: AddressTypeHome, StreetAddress1: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}}; !reflect.DeepEqual(cust.Addresses, want) {
		t.Errorf("create: addresses %+v, want %+v", cust.Addresses, want)
	}
	if want := []string{"+358401234567"}; !reflect.DeepEqual(cust.PhoneNumbers, want) {
		t.Errorf("create: phone numbers %v, want %v", cust.PhoneNumbers, want)
	}
	etag := created.HTTPResponse.Header.Get("ETag")

	// Read.
	read, err := c.GetCustomerWithResponse(ctx, cust.Id, &GetCustomerParams{})
	must(t, "read", err)
	if got := strict[Customer](t, "read", read.HTTPResponse, read.Body, http.StatusOK); !reflect.DeepEqual(got, cust) {
		t.Errorf("read: %+v\nwant what create answered: %+v", got, cust)
	}

	// Merge patch, as application/merge-patch+json, at the version read.
	patched, err := c.UpdateCustomerWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, cust.Id,
		&UpdateCustomerParams{IfMatch: &etag},
		CustomerPatch{Email: ptr("aino@example.fi"), Language: ptr(CustomerPatchLanguage("sv"))})
	must(t, "patch", err)
	cust = strict[Customer](t, "patch", patched.HTTPResponse, patched.Body, http.StatusOK)
	if cust.Email != "aino@example.fi" || cust.Language != CustomerLanguage("sv") || cust.Version != 2 || cust.FirstName != "Aino" {
		t.Errorf("patch: %+v", cust)
	}
	// A stale version is refused, as documented.
	stale, err := c.UpdateCustomerWithApplicationMergePatchPlusJSONBodyWithResponse(ctx, cust.Id,
		&UpdateCustomerParams{IfMatch: &etag}, CustomerPatch{Email: ptr("x@example.fi")})
	must(t, "stale patch", err)
	strict[ErrorModel](t, "stale patch", stale.HTTPResponse, stale.Body, http.StatusPreconditionFailed)

	// Consents.
	const evidence = "ticked the SMS box at the till, store 12"
	consents, err := c.SetConsentsWithResponse(ctx, cust.Id, &SetConsentsParams{}, ConsentsBody{
		MarketingSms: ptr(true), Evidence: ptr(evidence),
	})
	must(t, "consents", err)
	cust = strict[Customer](t, "consents", consents.HTTPResponse, consents.Body, http.StatusOK)
	if !cust.MarketingSms || !cust.MarketingEmail {
		t.Errorf("consents: marketingSms %v, marketingEmail %v; want both true", cust.MarketingSms, cust.MarketingEmail)
	}

	// Find by email.
	found, err := c.FindCustomersWithResponse(ctx, &FindCustomersParams{Email: ptr("aino@example.fi")})
	must(t, "find", err)
	page := strict[CustomerPage](t, "find", found.HTTPResponse, found.Body, http.StatusOK)
	if len(page.Items) != 1 || page.Items[0].Id != cust.Id || page.NextCursor != "" {
		t.Errorf("find: %+v, want the one customer %s", page, cust.Id)
	}

	// By number and by external link.
	byNumber, err := c.GetCustomerByNumberWithResponse(ctx, cust.Number, &GetCustomerByNumberParams{})
	must(t, "by-number", err)
	if got := strict[Customer](t, "by-number", byNumber.HTTPResponse, byNumber.Body, http.StatusOK); !reflect.DeepEqual(got, cust) {
		t.Errorf("by-number: %+v\nwant %+v", got, cust)
	}
	byExternal, err := c.GetCustomerByExternalWithResponse(ctx, GetCustomerByExternalParamsSystemId(6), ext, &GetCustomerByExternalParams{})
	must(t, "by-external", err)
	if got := strict[Customer](t, "by-external", byExternal.HTTPResponse, byExternal.Body, http.StatusOK); !reflect.DeepEqual(got, cust) {
		t.Errorf("by-external: %+v\nwant %+v", got, cust)
	}

	// Erasure.
	erased, err := c.EraseCustomerWithResponse(ctx, cust.Id, &EraseCustomerParams{})
	must(t, "erase", err)
	gone := strict[Customer](t, "erase", erased.HTTPResponse, erased.Body, http.StatusOK)
	if gone.ErasedAt == nil || gone.FirstName != "" || gone.Email != "" || gone.MarketingEmail || gone.MarketingSms || gone.Number != cust.Number {
		t.Errorf("erase: %+v", gone)
	}
	after, err := c.GetCustomerByExternalWithResponse(ctx, GetCustomerByExternalParamsSystemId(6), ext, &GetCustomerByExternalParams{})
	must(t, "by-external after erasure", err)
	strict[ErrorModel](t, "by-external after erasure", after.HTTPResponse, after.Body, http.StatusNotFound)

	// Consent history: the relay carries the events to ClickHouse shortly.
	type change struct {
		consent  ConsentEventConsent
		newValue bool
	}
	want := []change{ // newest first
		{"gdprRestricted", true}, {"erased", true}, {"marketingSms", false}, {"marketingEmail", false},
		{"marketingSms", true}, {"marketingEmail", true},
	}
	var got []change
	deadline := time.Now().Add(30 * time.Second)
	for {
		hist, err := c.ConsentHistoryWithResponse(ctx, cust.Id, &ConsentHistoryParams{})
		must(t, "consent history", err)
		events := strict[ConsentEventPage](t, "consent history", hist.HTTPResponse, hist.Body, http.StatusOK)
		got = got[:0]
		for _, e := range events.Items {
			if e.CustomerId != cust.Id || e.CustomerNumber != cust.Number {
				t.Fatalf("consent history: an event of another customer: %+v", e)
			}
			got = append(got, change{e.Consent, e.NewValue})
		}
		if len(got) >= len(want) || time.Now().After(deadline) {
			for _, e := range events.Items {
				if e.Consent == "marketingSms" && e.NewValue && (e.Evidence == nil || *e.Evidence != evidence) {
					t.Errorf("consent history: the SMS grant has evidence %v, want %q", e.Evidence, evidence)
				}
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !sameChanges(got, want) {
		t.Errorf("consent history %v, want (in any order of equal times) %v", got, want)
	}
	checker.report(t)
}

// sameChanges compares the events as multisets: events of one request share
// their time, so their order among themselves is not fixed.
func sameChanges[T comparable](got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	left := slices.Clone(want)
	for _, g := range got {
		i := slices.Index(left, g)
		if i < 0 {
			return false
		}
		left = slices.Delete(left, i, i+1)
	}
	return true
}

// strict checks one response: the status is the one expected, and the body
// decodes into the generated type T with no unknown member (at any depth)
// and encodes back to the same JSON, so that no member the type requires
// was missing.
func strict[T any](t *testing.T, what string, r *http.Response, body []byte, status int) T {
	t.Helper()
	var v T
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, r.StatusCode, status, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: the body does not decode strictly into %T: %v\n%s", what, v, err, body)
	}
	back, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(body, &a)
	_ = json.Unmarshal(back, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%s: the body and its %T differ (a member missing or of another form)\n body: %s\n type: %s", what, v, body, back)
	}
	return v
}

// documentedStatuses fails a test on any response whose status the
// document does not list for its operation.
type documentedStatuses struct {
	ops []documentedOp
	mu  sync.Mutex
	bad []string
}

type documentedOp struct {
	method   string
	path     *regexp.Regexp
	template string
	statuses map[string]bool
}

func newDocumentedStatuses(t *testing.T, doc []byte) *documentedStatuses {
	t.Helper()
	var d struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}/]+\}`)
	out := &documentedStatuses{}
	for tmpl, item := range d.Paths {
		re := regexp.MustCompile("^" + param.ReplaceAllString(tmpl, "[^/]+") + "$")
		for method, op := range item {
			st := map[string]bool{}
			for code := range op.Responses {
				st[code] = true
			}
			out.ops = append(out.ops, documentedOp{strings.ToUpper(method), re, tmpl, st})
		}
	}
	// Literal paths win over templates, as in the server's router.
	slices.SortFunc(out.ops, func(a, b documentedOp) int { return strings.Count(a.template, "{") - strings.Count(b.template, "{") })
	return out
}

func (d *documentedStatuses) client(t *testing.T) HttpRequestDoer {
	return doerFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return nil, err
		}
		d.check(r.Method, r.URL.Path, resp.StatusCode)
		return resp, nil
	})
}

func (d *documentedStatuses) check(method, path string, status int) {
	for _, op := range d.ops {
		if op.method != method || !op.path.MatchString(path) {
			continue
		}
		if !op.statuses[fmt.Sprint(status)] && !op.statuses["default"] {
			d.mu.Lock()
			d.bad = append(d.bad, fmt.Sprintf("%s %s answered %d, which the document does not list for %s", method, path, status, op.template))
			d.mu.Unlock()
		}
		return
	}
	d.mu.Lock()
	d.bad = append(d.bad, fmt.Sprintf("%s %s is in no operation of the document", method, path))
	d.mu.Unlock()
}

func (d *documentedStatuses) report(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range d.bad {
		t.Error(b)
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %s", url, err, resp.Status)
	}
	return b
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }
