package mycashflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/connectors/mycashflow"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/inbound"
)

const (
	apiUser = "api-user@kauppa.example.fi"
	apiKey  = "d73a9e6d78c3fdd13f48a85ebb0de9e751e47c5c"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeMCF plays MyCashFlow's API under /api/v1: it refuses a request
// without the right HTTP Basic credentials as MyCashFlow does (401), and
// records what it was asked.
type fakeMCF struct {
	t      *testing.T
	srv    *httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, body []byte)

	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	method, path, query, contentType string
	body                             []byte
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeMCF {
	t.Helper()
	f := &fakeMCF{t: t, handle: handle}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), body})
		f.mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != apiUser || p != apiKey {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write(fixture(t, "error_401.json"))
			return
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q, want application/json", r.Header.Get("Accept"))
		}
		f.handle(w, r, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeMCF) seen() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeMCF) config() mycashflow.Config {
	c := mycashflow.Config{BaseURL: f.srv.URL + "/api/v1", APIUser: apiUser, APIKey: apiKey}
	mycashflow.Defaults(&c)
	return c
}

func build(t *testing.T, c mycashflow.Config) inbound.Connector {
	t.Helper()
	conn, err := mycashflow.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func puller(t *testing.T, c mycashflow.Config) inbound.Puller {
	t.Helper()
	p, ok := build(t, c).(inbound.Puller)
	if !ok {
		t.Fatal("the connector is not a Puller")
	}
	return p
}

func pusher(t *testing.T, c mycashflow.Config) inbound.Pusher {
	t.Helper()
	c.Push = true
	p, ok := build(t, c).(inbound.Pusher)
	if !ok {
		t.Fatal("the connector with push is not a Pusher")
	}
	return p
}

// pages serves the three fixture pages by their page parameter.
func pages(t *testing.T) func(w http.ResponseWriter, r *http.Request, _ []byte) {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if r.Method != http.MethodGet || r.URL.Path != "/api/v1/customers" {
			t.Errorf("%s %s, want GET /api/v1/customers", r.Method, r.URL.Path)
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, "customers_page"+r.URL.Query().Get("page")+".json"))
	}
}

func TestPullThreePages(t *testing.T) {
	f := newFake(t, pages(t))
	cfg := f.config()
	cfg.PageSize = 2
	p := puller(t, cfg)

	var (
		cursors []string
		ids     []string
	)
	cursor := ""
	for range 10 {
		page, err := p.Pull(context.Background(), cursor)
		if err != nil {
			t.Fatalf("pull %q: %v", cursor, err)
		}
		if page.Total != 5 {
			t.Errorf("page %q: total %d, want meta.item_count 5", cursor, page.Total)
		}
		for _, d := range page.Drafts {
			ids = append(ids, d.Link.String())
		}
		cursors = append(cursors, cursor)
		if page.Done {
			if page.Next != "" {
				t.Errorf("the last page's Next is %q, want \"\" (a catch-up starts over)", page.Next)
			}
			break
		}
		cursor = page.Next
	}
	if want := []string{"", "2", "3"}; !reflect.DeepEqual(cursors, want) {
		t.Errorf("cursors %q, want %q", cursors, want)
	}
	if want := []string{"5/1234", "5/1240", "5/1251", "5/1262", "5/1270"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("links %v, want %v", ids, want)
	}
	var queries []string
	for _, r := range f.seen() {
		queries = append(queries, r.query)
	}
	want := []string{"page=1&page_size=2&sort=id-asc", "page=2&page_size=2&sort=id-asc", "page=3&page_size=2&sort=id-asc"}
	if !reflect.DeepEqual(queries, want) {
		t.Errorf("queries %q, want %q", queries, want)
	}

	// A sync stopped after page 2 resumes from its stored cursor.
	page, err := p.Pull(context.Background(), "3")
	if err != nil || !page.Done || len(page.Drafts) != 1 || page.Drafts[0].Link.Identifier != "1270" {
		t.Errorf("resuming at page 3: %+v, %v", page, err)
	}
}

func TestPullWrongCredentials(t *testing.T) {
	f := newFake(t, pages(t))
	cfg := f.config()
	cfg.APIKey = "another-key-of-forty-characters-0000000"
	_, err := puller(t, cfg).Pull(context.Background(), "")
	if !inbound.IsPermanent(err) {
		t.Fatalf("401: %v, want *inbound.Permanent", err)
	}
	msg := err.Error()
	for _, want := range []string{"401", `"unauthorized"`, "apiUser and apiKey"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	for _, never := range []string{"@", "Invalid credentials", cfg.APIKey} {
		if strings.Contains(msg, never) {
			t.Errorf("%q shows %q", msg, never)
		}
	}
}

// checkString checks one field of a patch.
func checkString(t *testing.T, name string, o customer.Opt[string], want string) {
	t.Helper()
	if want == "" {
		if !o.IsKeep() {
			t.Errorf("%s: %+v, want Keep", name, o)
		}
		return
	}
	if !o.IsSet() || o.Value() != want {
		t.Errorf("%s: %+v, want Set(%q)", name, o, want)
	}
}

func pulled(t *testing.T, page string) []intake.Draft {
	t.Helper()
	f := newFake(t, pages(t))
	p, err := puller(t, f.config()).Pull(context.Background(), page)
	if err != nil {
		t.Fatal(err)
	}
	return p.Drafts
}

func TestPullDraft(t *testing.T) {
	d := pulled(t, "")[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "1234"}) {
		t.Errorf("link %v, want 5/1234", d.Link)
	}
	if d.Trust != intake.Authoritative {
		t.Errorf("trust %v, want Authoritative", d.Trust)
	}
	if want := time.Date(2024, 3, 1, 10, 30, 0, 0, time.UTC); !d.SourceUpdatedAt.Equal(want) {
		t.Errorf("source updated at %v, want updated_at %v", d.SourceUpdatedAt, want)
	}
	// The whole patch: names and email set, everything else Keep (no type,
	// no company, no consents, no lists, no groups).
	var want customer.Patch
	want.FirstName = customer.Set("Maija")
	want.LastName = customer.Set("Meikäläinen")
	want.Email = customer.Set("maija@example.fi")
	if !reflect.DeepEqual(d.Patch, want) {
		t.Errorf("patch %+v, want %+v", d.Patch, want)
	}
	if want := []string{"+358401234567"}; !reflect.DeepEqual(d.AddPhones, want) {
		t.Errorf("phones %q, want %q", d.AddPhones, want)
	}
	wantAddr := []customer.Address{{Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}}
	if !reflect.DeepEqual(d.AddAddresses, wantAddr) {
		t.Errorf("addresses %+v, want %+v", d.AddAddresses, wantAddr)
	}
	if d.MarketingEmail != nil || d.MarketingSMS != nil {
		t.Errorf("consent claims %+v %+v, want none (MyCashFlow has no verified consent field)", d.MarketingEmail, d.MarketingSMS)
	}
	mustBeValid(t, d)
}

// mustBeValid checks that the core takes the draft as a new customer.
func mustBeValid(t *testing.T, d intake.Draft) {
	t.Helper()
	p := d.Patch
	p.PhoneNumbers = customer.Set(d.AddPhones)
	p.Addresses = customer.Set(d.AddAddresses)
	p.ExternalSystems = customer.Set([]customer.ExternalLink{d.Link})
	if _, _, err := customer.New(uuid.New(), 1, p, change()); err != nil {
		t.Errorf("the core refuses the draft of %v: %v", d.Link, err)
	}
}

func change() customer.Change {
	return customer.Change{
		At:     time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC),
		Origin: consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(customer.MyCashFlow), Actor: "connector:mycashflow"},
		NewID:  uuid.New,
	}
}

func TestPullDraftCompanies(t *testing.T) {
	all := append(pulled(t, ""), pulled(t, "2")...)
	all = append(all, pulled(t, "3")...)
	byID := map[string]intake.Draft{}
	for _, d := range all {
		byID[d.Link.Identifier] = d
	}

	// A company with a valid Finnish VAT number: a company customer with
	// the business ID it is made of.
	c := byID["1240"]
	if !c.Patch.Type.IsSet() || c.Patch.Type.Value() != customer.Company {
		t.Errorf("1240 type %+v, want Set(company)", c.Patch.Type)
	}
	checkString(t, "1240 companyName", c.Patch.CompanyName, "Esimerkki Oy")
	checkString(t, "1240 businessId", c.Patch.BusinessID, "2077474-0")
	checkString(t, "1240 vatNumber", c.Patch.VATNumber, "FI20774740")
	checkString(t, "1240 firstName", c.Patch.FirstName, "Erkki")
	if want := []string{"0312345678"}; !reflect.DeepEqual(c.AddPhones, want) {
		t.Errorf("1240 phones %q, want %q (normalised by the register)", c.AddPhones, want)
	}
	mustBeValid(t, c)

	// A company name without a VAT code, and a foreign VAT code: not a
	// company the register can hold; the company is left out.
	for _, id := range []string{"1251", "1262"} {
		d := byID[id]
		if !d.Patch.Type.IsKeep() || !d.Patch.CompanyName.IsKeep() || !d.Patch.BusinessID.IsKeep() || !d.Patch.VATNumber.IsKeep() {
			t.Errorf("%s: type %+v company %+v businessId %+v vat %+v, want all Keep", id, d.Patch.Type, d.Patch.CompanyName, d.Patch.BusinessID, d.Patch.VATNumber)
		}
		mustBeValid(t, d)
	}
	if got := byID["1251"].AddAddresses; len(got) != 1 || got[0].Country != "FI" || got[0].City != "Jyväskylä" {
		t.Errorf("1251 addresses %+v, want one in Jyväskylä, country FI", got)
	}
	if got := byID["1262"].AddAddresses; len(got) != 1 || got[0].Country != "SE" {
		t.Errorf("1262 addresses %+v, want one in SE", got)
	}

	// A new account: updated_at null gives created_at; null company and
	// empty address and phone add nothing.
	n := byID["1270"]
	if want := time.Date(2024, 5, 6, 11, 0, 0, 0, time.UTC); !n.SourceUpdatedAt.Equal(want) {
		t.Errorf("1270 source updated at %v, want created_at %v", n.SourceUpdatedAt, want)
	}
	if n.AddPhones != nil || n.AddAddresses != nil {
		t.Errorf("1270 phones %q addresses %+v, want none", n.AddPhones, n.AddAddresses)
	}
	mustBeValid(t, n)
}

func TestPullRateLimited(t *testing.T) {
	tests := []struct {
		name     string
		give     func() string
		min, max time.Duration
	}{
		{"seconds", func() string { return "120" }, 120 * time.Second, 120 * time.Second},
		{"HTTP date", func() string { return time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat) }, 85 * time.Second, 90 * time.Second},
		{"not said", func() string { return "" }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if v := tt.give(); v != "" {
					w.Header().Set("Retry-After", v)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			})
			_, err := puller(t, f.config()).Pull(context.Background(), "")
			var rl *inbound.RateLimited
			if !errors.As(err, &rl) {
				t.Fatalf("429: %v, want *inbound.RateLimited", err)
			}
			if rl.RetryAfter < tt.min || rl.RetryAfter > tt.max {
				t.Errorf("retry after %s, want %s…%s", rl.RetryAfter, tt.min, tt.max)
			}
			if inbound.IsPermanent(err) {
				t.Error("a 429 is not permanent")
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		give string
		want time.Duration
	}{
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"Fri, 01 Mar 2024 10:02:00 GMT", 2 * time.Minute},
		{"Friday, 01-Mar-24 10:00:45 GMT", 45 * time.Second}, // RFC 850, which RFC 9110 still accepts
		{"Fri, 01 Mar 2024 09:00:00 GMT", 0},                 // past
		{"0", 0},
		{"-3", 0},
		{"soon", 0},
		{"", 0},
		{"86400", mycashflow.MaxRetryAfter},
		{"Sat, 02 Mar 2024 10:00:00 GMT", mycashflow.MaxRetryAfter},
	}
	for _, tt := range tests {
		if got := inbound.ParseRetryAfter(tt.give, now, mycashflow.MaxRetryAfter); got != tt.want {
			t.Errorf("RetryAfter(%q) = %s, want %s", tt.give, got, tt.want)
		}
	}
}

func TestPullRetryable(t *testing.T) {
	for _, status := range []int{500, 502, 503, 408} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.WriteHeader(status)
				w.Write([]byte(`{"message": "maija@example.fi broke it"}`))
			})
			_, err := puller(t, f.config()).Pull(context.Background(), "")
			var rl *inbound.RateLimited
			if err == nil || inbound.IsPermanent(err) || errors.As(err, &rl) {
				t.Fatalf("%d: %v, want a plain (retryable) error", status, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(status)) || strings.Contains(err.Error(), "@") {
				t.Errorf("%q: want the status and no body", err)
			}
		})
	}
}

func TestPullTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	cfg := f.config()
	cfg.Timeout = 150 * time.Millisecond
	start := time.Now()
	_, err := puller(t, cfg).Pull(context.Background(), "")
	if err == nil || inbound.IsPermanent(err) {
		t.Fatalf("a timeout: %v, want a plain (retryable) error", err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("%q does not say it timed out", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the pull took %s with a 150 ms timeout", d)
	}
}

func TestPullConnectionRefused(t *testing.T) {
	f := newFake(t, pages(t))
	cfg := f.config()
	f.srv.Close()
	_, err := puller(t, cfg).Pull(context.Background(), "")
	if err == nil || inbound.IsPermanent(err) {
		t.Fatalf("a refused connection: %v, want a plain (retryable) error", err)
	}
}

func TestPullMalformed(t *testing.T) {
	tests := []struct {
		name, give, want string
	}{
		{"cut", `{"data": [{"id": 1`, "ends early"},
		{"not JSON", `<html>Huoltokatko</html>`, "invalid JSON"},
		{"data an object", `{"data": {"id": 1}, "meta": {}}`, "data"},
		{"no data", `{"meta": {"page": 1}}`, `"data"`},
		{"data null", `{"data": null}`, `"data"`},
		{"a wrong type", `{"data": [{"id": 1, "first_name": 5}]}`, "first_name"},
		{"trailing data", `{"data": []} {"data": []}`, "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(tt.give))
			})
			_, err := puller(t, f.config()).Pull(context.Background(), "")
			if !inbound.IsPermanent(err) {
				t.Fatalf("%v, want *inbound.Permanent", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q does not say %q", err, tt.want)
			}
		})
	}
}

func TestPullAnswerTooLarge(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Write([]byte(`{"data": [`))
		chunk := []byte(strings.Repeat(`{"id": 1},`, 1000))
		for n := 0; n <= mycashflow.MaxAnswer; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	_, err := puller(t, f.config()).Pull(context.Background(), "")
	if !inbound.IsPermanent(err) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("%v, want a permanent error saying the answer is too large", err)
	}
}

// Paging is read from meta as MyCashFlow's clients read it, and tolerates
// its absence.
func TestPullPaging(t *testing.T) {
	one := `{"id": 1, "email": "a@example.fi"}`
	tests := []struct {
		name     string
		give     string
		wantDone bool
		wantNext string
		total    int
	}{
		{"next present", `{"data": [` + one + `], "meta": {"next": "https://x.mycashflow.fi/api/v1/customers?page=3"}}`, false, "3", -1},
		{"next null", `{"data": [` + one + `], "meta": {"next": null}}`, true, "", -1},
		{"next empty", `{"data": [` + one + `], "meta": {"next": ""}}`, true, "", -1},
		{"page_count more", `{"data": [` + one + `], "meta": {"page": 2, "page_count": 3, "item_count": 7}}`, false, "3", 7},
		{"page_count last", `{"data": [` + one + `], "meta": {"page": 2, "page_count": 2, "item_count": 7}}`, true, "", 7},
		{"page_count as text", `{"data": [` + one + `], "meta": {"page": "2", "page_count": "5"}}`, false, "3", -1},
		{"no meta, short page", `{"data": [` + one + `]}`, true, "", -1},
		{"no meta, full page", `{"data": [` + one + `,` + one + `]}`, false, "3", -1},
		{"meta not an object", `{"data": [` + one + `], "meta": "?"}`, true, "", -1},
		{"empty page with next", `{"data": [], "meta": {"next": "https://x"}}`, true, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Write([]byte(tt.give))
			})
			cfg := f.config()
			cfg.PageSize = 2
			p, err := puller(t, cfg).Pull(context.Background(), "2")
			if err != nil {
				t.Fatal(err)
			}
			if p.Done != tt.wantDone || p.Next != tt.wantNext || p.Total != tt.total {
				t.Errorf("done %t next %q total %d, want %t %q %d", p.Done, p.Next, p.Total, tt.wantDone, tt.wantNext, tt.total)
			}
		})
	}
}

// An account the register would refuse is still a draft: the register
// says why, and the sync counts it.
func TestPullOddAccountIsADraft(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Write([]byte(`{"data": [{"id": {"x": 1}, "email": "not an email", "phone": "12"}, {"id": "77", "updated_at": "yesterday"}], "meta": {}}`))
	})
	p, err := puller(t, f.config()).Pull(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Drafts) != 2 {
		t.Fatalf("%d drafts, want 2", len(p.Drafts))
	}
	if p.Drafts[0].Link.Identifier != "" {
		t.Errorf("an id that is not one: %q, want \"\" (the register refuses it)", p.Drafts[0].Link.Identifier)
	}
	checkString(t, "email", p.Drafts[0].Patch.Email, "not an email")
	if d := p.Drafts[1]; d.Link.Identifier != "77" || !d.SourceUpdatedAt.IsZero() {
		t.Errorf("id %q, source time %v, want 77 and zero (unknown)", d.Link.Identifier, d.SourceUpdatedAt)
	}
}

func TestPullBadCursor(t *testing.T) {
	f := newFake(t, pages(t))
	p := puller(t, f.config())
	for _, c := range []string{"abc", "0", "-1", "02", "1.5", strings.Repeat("9", 30)} {
		if _, err := p.Pull(context.Background(), c); !inbound.IsPermanent(err) {
			t.Errorf("cursor %q: %v, want *inbound.Permanent", c, err)
		}
	}
	if n := len(f.seen()); n != 0 {
		t.Errorf("%d requests for bad cursors, want none", n)
	}
}

// A redirect is not followed: the credentials stay with the API root.
func TestPullRedirectNotFollowed(t *testing.T) {
	other := newFake(t, pages(t))
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Redirect(w, r, other.srv.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	})
	_, err := puller(t, f.config()).Pull(context.Background(), "")
	if !inbound.IsPermanent(err) || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("%v, want a permanent error naming the redirect", err)
	}
	if n := len(other.seen()); n != 0 {
		t.Errorf("the redirect was followed (%d requests)", n)
	}
}

// maija is the register's customer of account 1234, as a pull of page 1
// made it.
func maija(t *testing.T, mod func(p *customer.Patch)) *customer.Customer {
	t.Helper()
	var p customer.Patch
	p.FirstName = customer.Set("Maija")
	p.LastName = customer.Set("Meikäläinen")
	p.Email = customer.Set("maija@example.fi")
	p.PhoneNumbers = customer.Set([]string{"+358401234567"})
	p.Addresses = customer.Set([]customer.Address{{Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1", PostalCode: "00100", City: "Helsinki"}})
	p.ExternalSystems = customer.Set([]customer.ExternalLink{link1234})
	if mod != nil {
		mod(&p)
	}
	c, _, err := customer.New(uuid.New(), 1, p, change())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var link1234 = customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "1234"}

func TestPush(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(fixture(t, "customer_1234.json"))
	})
	res, err := pusher(t, f.config()).Push(context.Background(), maija(t, nil), link1234)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.seen()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPatch || r.path != "/api/v1/customers/1234" || r.query != "" {
		t.Errorf("%s %s?%s, want PATCH /api/v1/customers/1234", r.method, r.path, r.query)
	}
	if r.contentType != "application/json" {
		t.Errorf("content type %q, want application/json", r.contentType)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("the body is not JSON: %v", err)
	}
	want := map[string]any{
		"first_name": "Maija", "last_name": "Meikäläinen", "email": "maija@example.fi",
		"phone":          "+358401234567",
		"street_address": "Esimerkkikatu 1", "postal_code": "00100", "city": "Helsinki", "country": "FI",
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body %v, want %v", body, want)
	}

	// The echo is the draft a pull of the same account makes.
	if res.Echo == nil {
		t.Fatal("no echo")
	}
	if pull := pulled(t, "")[0]; !reflect.DeepEqual(*res.Echo, pull) {
		t.Errorf("echo %+v\nwant the pulled draft %+v", *res.Echo, pull)
	}
}

func TestPushBody(t *testing.T) {
	tests := []struct {
		name string
		mod  func(p *customer.Patch)
		want map[string]any
	}{
		{
			"company",
			func(p *customer.Patch) {
				p.Type = customer.Set(customer.Company)
				p.CompanyName = customer.Set("Esimerkki Oy")
				p.BusinessID = customer.Set("2077474-0")
				p.VATNumber = customer.Set("FI20774740")
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Invoice, StreetAddress1: "Teollisuustie 5", StreetAddress2: "Halli 2", PostalCode: "33100", City: "Tampere"}})
			},
			map[string]any{
				"first_name": "Maija", "last_name": "Meikäläinen", "email": "maija@example.fi", "phone": "+358401234567",
				"company": "Esimerkki Oy", "vat_code": "FI20774740",
				"street_address": "Teollisuustie 5, Halli 2", "postal_code": "33100", "city": "Tampere", "country": "FI",
			},
		},
		{
			"company without VAT number",
			func(p *customer.Patch) {
				p.Type = customer.Set(customer.Company)
				p.CompanyName = customer.Set("Esimerkki Oy")
				p.BusinessID = customer.Set("2077474-0")
				p.Addresses = customer.Clear[[]customer.Address]()
			},
			map[string]any{
				"first_name": "Maija", "last_name": "Meikäläinen", "email": "maija@example.fi", "phone": "+358401234567",
				"company": "Esimerkki Oy", "vat_code": "2077474-0",
			},
		},
		{
			"two phones and two invoice addresses: neither is sent",
			func(p *customer.Patch) {
				p.PhoneNumbers = customer.Set([]string{"+358401234567", "+358501112222"})
				p.Addresses = customer.Set([]customer.Address{
					{Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1", PostalCode: "00100", City: "Helsinki"},
					{Type: customer.Invoice, StreetAddress1: "Uusikatu 2", PostalCode: "00200", City: "Helsinki"},
					{Type: customer.Delivery, StreetAddress1: "Mökkitie 3", PostalCode: "41160", City: "Tikkakoski"},
				})
			},
			map[string]any{"first_name": "Maija", "last_name": "Meikäläinen", "email": "maija@example.fi"},
		},
		{
			"no email: not sent empty",
			func(p *customer.Patch) {
				p.Email = customer.Clear[string]()
				p.PhoneNumbers = customer.Clear[[]string]()
				p.Addresses = customer.Set([]customer.Address{{Type: customer.Delivery, StreetAddress1: "Mökkitie 3", PostalCode: "41160", City: "Tikkakoski"}})
			},
			map[string]any{"first_name": "Maija", "last_name": "Meikäläinen"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.WriteHeader(http.StatusNoContent)
			})
			res, err := pusher(t, f.config()).Push(context.Background(), maija(t, tt.mod), link1234)
			if err != nil {
				t.Fatal(err)
			}
			if res.Echo != nil {
				t.Errorf("echo %+v of an answer without a body, want nil", res.Echo)
			}
			var body map[string]any
			if err := json.Unmarshal(f.seen()[0].body, &body); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(body, tt.want) {
				t.Errorf("body %v\nwant %v", body, tt.want)
			}
		})
	}
}

func TestPushErrors(t *testing.T) {
	answer := func(status int, body string, header ...string) func(w http.ResponseWriter, r *http.Request, _ []byte) {
		return func(w http.ResponseWriter, r *http.Request, _ []byte) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		}
	}
	tests := []struct {
		name      string
		handle    func(w http.ResponseWriter, r *http.Request, _ []byte)
		kind      string // permanent, ratelimited, retry
		want      []string
		never     []string
		noRequest bool
	}{
		{name: "422", handle: answer(422, string(fixture(t, "error_422.json"))), kind: "permanent",
			want: []string{"422", `"validation_failed"`, "refused members: email"}, never: []string{"@", "not valid"}},
		{name: "404", handle: answer(404, `{"code": 404, "error": "not_found"}`), kind: "permanent", want: []string{"404", "customers/1234"}},
		{name: "400", handle: answer(400, `Bad request for maija@example.fi`), kind: "permanent", want: []string{"400"}, never: []string{"@"}},
		{name: "403", handle: answer(403, ``), kind: "permanent", want: []string{"403"}},
		{name: "429", handle: answer(429, ``, "Retry-After", "7"), kind: "ratelimited"},
		{name: "503", handle: answer(503, `down`), kind: "retry", want: []string{"503"}},
		{name: "409", handle: answer(409, ``), kind: "retry", want: []string{"409"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.handle)
			_, err := pusher(t, f.config()).Push(context.Background(), maija(t, nil), link1234)
			var rl *inbound.RateLimited
			switch tt.kind {
			case "permanent":
				if !inbound.IsPermanent(err) {
					t.Fatalf("%v, want *inbound.Permanent", err)
				}
			case "ratelimited":
				if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
					t.Fatalf("%v, want *inbound.RateLimited of 7s", err)
				}
			case "retry":
				if err == nil || inbound.IsPermanent(err) || errors.As(err, &rl) {
					t.Fatalf("%v, want a plain (retryable) error", err)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(err.Error(), n) {
					t.Errorf("%q shows %q", err, n)
				}
			}
		})
	}
}

func TestPushRefusesWithoutARequest(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Write(fixture(t, "customer_1234.json"))
	})
	p := pusher(t, f.config())
	restricted := maija(t, func(p *customer.Patch) { p.GDPRRestricted = customer.Set(true) })
	tests := []struct {
		name string
		c    *customer.Customer
		link customer.ExternalLink
	}{
		{"another system's link", maija(t, nil), customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "1234"}},
		{"not an id", maija(t, nil), customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "../orders/1"}},
		{"zero", maija(t, nil), customer.ExternalLink{SystemID: customer.MyCashFlow, Identifier: "0"}},
		{"restricted", restricted, link1234},
		{"no customer", nil, link1234},
	}
	for _, tt := range tests {
		if _, err := p.Push(context.Background(), tt.c, tt.link); !inbound.IsPermanent(err) {
			t.Errorf("%s: %v, want *inbound.Permanent", tt.name, err)
		}
	}
	if n := len(f.seen()); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}

// An answer that is not the account pushed gives no echo, and no error:
// the push has happened.
func TestPushEchoOnlyOfTheAccount(t *testing.T) {
	for _, body := range []string{`{"data": {"id": 999, "email": "x@example.fi"}}`, `OK`, `{"data": null}`} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, _ []byte) { w.Write([]byte(body)) })
		res, err := pusher(t, f.config()).Push(context.Background(), maija(t, nil), link1234)
		if err != nil || res.Echo != nil {
			t.Errorf("answer %s: echo %+v, %v; want no echo, no error", body, res.Echo, err)
		}
	}
}

func TestPushOnlyWhenEnabled(t *testing.T) {
	f := newFake(t, pages(t))
	cfg := f.config()
	off := build(t, cfg)
	if _, ok := off.(inbound.Pusher); ok {
		t.Error("push: false gives a Pusher")
	}
	if _, ok := off.(inbound.Puller); !ok {
		t.Error("the connector is not a Puller")
	}
	cfg.Push = true
	on := build(t, cfg)
	if _, ok := on.(inbound.Pusher); !ok {
		t.Error("push: true gives no Pusher")
	}
	for _, c := range []inbound.Connector{off, on} {
		if c.Name() != "mycashflow" || c.SystemID() != customer.MyCashFlow {
			t.Errorf("%s/%d, want mycashflow/5", c.Name(), c.SystemID())
		}
		if _, ok := c.(inbound.Receiver); ok {
			t.Error("the connector receives webhooks; MyCashFlow's scheme is unverified")
		}
	}
}
