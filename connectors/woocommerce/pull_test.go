package woocommerce_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/woocommerce"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/inbound"
)

// pagesHandler plays GET /wp-json/wc/v3/customers over the three page
// fixtures (five users, two a page, ordered by id), with WordPress's
// headers: X-WP-Total, X-WP-TotalPages and Link. A page past the last is
// an empty list with the same headers, as WP_User_Query gives.
func pagesHandler(t *testing.T) http.HandlerFunc {
	pages := map[string][]byte{
		"1": fixture(t, "customers_page1.json"),
		"2": fixture(t, "customers_page2.json"),
		"3": fixture(t, "customers_page3.json"),
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wp-json/wc/v3/customers" {
			answer(w, http.StatusNotFound, []byte(`{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`))
			return
		}
		if !checkBasic(t, w, r) {
			return
		}
		body, ok := pages[r.URL.Query().Get("page")]
		if !ok {
			body = []byte("[]")
		}
		w.Header().Set("X-WP-Total", "5")
		w.Header().Set("X-WP-TotalPages", "3")
		if n, _ := strconv.Atoi(r.URL.Query().Get("page")); n < 3 {
			w.Header().Set("Link", `<https://kauppa.example.fi/wp-json/wc/v3/customers?page=`+strconv.Itoa(n+1)+`>; rel="next"`)
		}
		answer(w, http.StatusOK, body)
	}
}

func TestPullPages(t *testing.T) {
	s := newShop(t, pagesHandler(t))
	cfg := apiConfig(s)
	cfg.PageSize = 2
	ctx := context.Background()

	c := build(t, s, cfg)
	p1, err := c.(inbound.Puller).Pull(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if p1.Next != "2" || p1.Done || p1.Total != 5 || len(p1.Drafts) != 2 {
		t.Fatalf("page 1: next %q, done %t, total %d, %d drafts", p1.Next, p1.Done, p1.Total, len(p1.Drafts))
	}
	// The sync stops here (a restart); a new connector resumes from the
	// stored cursor.
	c = build(t, s, cfg)
	p2, err := c.(inbound.Puller).Pull(ctx, p1.Next)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Next != "3" || p2.Done || p2.Total != 5 || len(p2.Drafts) != 1 {
		t.Fatalf("page 2: next %q, done %t, total %d, %d drafts", p2.Next, p2.Done, p2.Total, len(p2.Drafts))
	}
	p3, err := c.(inbound.Puller).Pull(ctx, p2.Next)
	if err != nil {
		t.Fatal(err)
	}
	if p3.Next != "" || !p3.Done || p3.Total != 5 || len(p3.Drafts) != 1 {
		t.Fatalf("page 3: next %q, done %t, total %d, %d drafts", p3.Next, p3.Done, p3.Total, len(p3.Drafts))
	}

	// Every customer but the shop manager (27), each the draft its
	// customer.updated webhook makes.
	var want []intake.Draft
	for _, name := range []string{"customers_page1.json", "customers_page2.json", "customers_page3.json"} {
		for _, raw := range items(t, fixture(t, name)) {
			if bytes.Contains(raw, []byte(`"role":"shop_manager"`)) {
				continue
			}
			want = append(want, asWebhook(t, c, raw))
		}
	}
	got := append(append(append([]intake.Draft(nil), p1.Drafts...), p2.Drafts...), p3.Drafts...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("drafts:\n got %+v\nwant %+v", got, want)
	}
	var ids []string
	for _, d := range got {
		ids = append(ids, d.Link.String())
	}
	if strings.Join(ids, " ") != "6/25 6/26 6/28 6/29" {
		t.Errorf("links %v", ids)
	}
	// One draft read field by field (customer 26 of page 1).
	d := p1.Drafts[1]
	if d.Trust != intake.Authoritative || !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 22, 8, 15, 4, 0, time.UTC)) ||
		d.Patch.FirstName.Value() != "Matti" || d.Patch.LastName.Value() != "Virtanen" || d.Patch.Email.Value() != "matti.virtanen@example.fi" ||
		!reflect.DeepEqual(d.AddPhones, []string{"044 987 6543"}) || len(d.AddAddresses) != 2 ||
		d.AddAddresses[0] != (customer.Address{Type: customer.Invoice, StreetAddress1: "Hämeenkatu 12 B 7", PostalCode: "33100", City: "Tampere", Country: "FI"}) ||
		d.AddAddresses[1].Type != customer.Delivery || d.MarketingEmail != nil || d.MarketingSMS != nil {
		t.Errorf("customer 26: %+v", d)
	}
	// Customer 29 was never modified (date_modified_gmt null): its
	// creation is the source's time; its names come from billing.
	if d := p3.Drafts[0]; !d.SourceUpdatedAt.Equal(time.Date(2024, 5, 1, 5, 0, 0, 0, time.UTC)) || d.Patch.FirstName.Value() != "Pekka" {
		t.Errorf("customer 29: %+v", d)
	}

	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		want := url.Values{"page": {strconv.Itoa(i + 1)}, "per_page": {"2"}, "orderby": {"id"}, "order": {"asc"}, "role": {"all"}}
		if r.method != http.MethodGet || r.path != "/wp-json/wc/v3/customers" || !reflect.DeepEqual(url.Values(r.query), want) {
			t.Errorf("request %d: %s %s %v", i+1, r.method, r.path, r.query)
		}
		// HTTP Basic over TLS: the keys are in the header, not the URL.
		if got := r.header.Get("Authorization"); got != basic(consumerKey, consumerSecret) {
			t.Errorf("request %d: Authorization %q", i+1, got)
		}
		if r.header.Get("Accept") != "application/json" || !strings.HasPrefix(r.header.Get("User-Agent"), "kirjuri-woocommerce/") {
			t.Errorf("request %d: headers %v", i+1, r.header)
		}
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "https://x", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// The default page size is 100, and X-WP-TotalPages decides: a shop that
// serves fewer than asked (a plugin capping per_page) is read to its last
// page, not stopped at the first short one.
func TestPullFollowsTotalPages(t *testing.T) {
	s := newShop(t, pagesHandler(t))
	c := build(t, s, apiConfig(s)).(inbound.Puller)
	p, err := c.Pull(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Done || p.Next != "2" || len(p.Drafts) != 2 {
		t.Fatalf("next %q, done %t, %d drafts", p.Next, p.Done, len(p.Drafts))
	}
	if got := s.requests()[0].query["per_page"]; !reflect.DeepEqual(got, []string{"100"}) {
		t.Errorf("per_page %v", got)
	}
	// A cursor past the last page (customers deleted since it was
	// stored) is an empty, last page.
	p, err = c.Pull(context.Background(), "4")
	if err != nil || !p.Done || p.Next != "" || len(p.Drafts) != 0 {
		t.Fatalf("past the end: %+v, %v", p, err)
	}
}

// Without WordPress's headers, a short page is the last; Total is unknown.
func TestPullWithoutTotals(t *testing.T) {
	pages := map[string][]byte{"1": fixture(t, "customers_page1.json"), "2": fixture(t, "customers_page3.json")}
	s := newShop(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, http.StatusOK, pages[r.URL.Query().Get("page")])
	})
	cfg := apiConfig(s)
	cfg.PageSize = 2
	c := build(t, s, cfg).(inbound.Puller)
	p1, err := c.Pull(context.Background(), "")
	if err != nil || p1.Done || p1.Next != "2" || p1.Total != -1 {
		t.Fatalf("page 1: %+v, %v", p1, err)
	}
	p2, err := c.Pull(context.Background(), p1.Next)
	if err != nil || !p2.Done || p2.Next != "" || p2.Total != -1 || len(p2.Drafts) != 1 {
		t.Fatalf("page 2: %+v, %v", p2, err)
	}
}

func TestPullErrors(t *testing.T) {
	now := time.Now()
	big := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("["))
		for range 17 {
			_, _ = w.Write(bytes.Repeat([]byte(" "), 1<<20))
		}
		_, _ = w.Write([]byte("]"))
	}
	status := func(code int, header map[string]string, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			if strings.HasPrefix(body, "{") {
				answer(w, code, []byte(body))
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=UTF-8")
			w.WriteHeader(code)
			_, _ = w.Write([]byte(body))
		}
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		kind    string
		want    []string
		wait    [2]time.Duration // RetryAfter within [0], [1]
	}{
		{"401, wrong keys", serveFixture(t, 401, "error_401.json"),
			"permanent", []string{"GET customers page 1", "401 Unauthorized", "woocommerce_rest_cannot_view", "consumerKey"}, [2]time.Duration{}},
		{"403", status(403, nil, `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":403}}`),
			"permanent", []string{"403 Forbidden", "permission"}, [2]time.Duration{}},
		{"404, no REST route", status(404, nil, `{"code":"rest_no_route","message":"No route was found matching the URL and request method.","data":{"status":404}}`),
			"permanent", []string{"404 Not Found (rest_no_route)", "permalinks"}, [2]time.Duration{}},
		{"404, the theme's page", status(404, nil, "<!DOCTYPE html><title>Sivua ei löytynyt</title>"),
			"permanent", []string{"404 Not Found: no WooCommerce REST API at baseUrl"}, [2]time.Duration{}},
		{"400", serveFixture(t, 400, "error_400_invalid_param.json"),
			"permanent", []string{"400 Bad Request (rest_invalid_param)"}, [2]time.Duration{}},
		{"429, Retry-After in seconds", status(429, map[string]string{"Retry-After": "120"}, `{"code":"too_many_requests"}`),
			"rate limited", nil, [2]time.Duration{120 * time.Second, 120 * time.Second}},
		{"429, Retry-After as an HTTP date", status(429, map[string]string{"Retry-After": now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}, "Too Many Requests"),
			"rate limited", nil, [2]time.Duration{85 * time.Second, 91 * time.Second}},
		{"429, Retry-After in the past", status(429, map[string]string{"Retry-After": now.Add(-time.Hour).UTC().Format(http.TimeFormat)}, ""),
			"rate limited", nil, [2]time.Duration{}},
		{"429, Retry-After not understood", status(429, map[string]string{"Retry-After": "soon"}, ""),
			"rate limited", nil, [2]time.Duration{}},
		{"429, Retry-After absurd", status(429, map[string]string{"Retry-After": "99999999999"}, ""),
			"rate limited", nil, [2]time.Duration{24 * time.Hour, 24 * time.Hour}},
		{"500", status(500, nil, "<p>There has been a critical error on this website.</p>"),
			"retried", []string{"500 Internal Server Error"}, [2]time.Duration{}},
		{"502", status(502, nil, "Bad Gateway"), "retried", []string{"502 Bad Gateway"}, [2]time.Duration{}},
		{"503, maintenance", status(503, map[string]string{"Retry-After": "600"}, "Briefly unavailable for scheduled maintenance."),
			"retried", []string{"503 Service Unavailable"}, [2]time.Duration{}},
		{"408", status(408, nil, ""), "retried", []string{"408 Request Timeout"}, [2]time.Duration{}},
		{"409", status(409, nil, ""), "retried", []string{"409 Conflict"}, [2]time.Duration{}},
		{"301 to www", status(301, map[string]string{"Location": "https://www.kauppa.example.fi/wp-json/wc/v3/customers?page=1&consumer_key=x"}, ""),
			"permanent", []string{"301 Moved Permanently", "redirect to https://www.kauppa.example.fi,", "baseUrl"}, [2]time.Duration{}},
		{"200, an HTML page", status(200, nil, "<!DOCTYPE html><html><body>Tervetuloa kauppaan</body></html>"),
			"permanent", []string{"not a list of customers (Content-Type text/html)", "invalid JSON"}, [2]time.Duration{}},
		{"200, an object", status(200, nil, `{"code":"rest_forbidden","message":"Sorry, you are not allowed to do that."}`),
			"permanent", []string{"not a list of customers"}, [2]time.Duration{}},
		{"200, a customer whose id is text", status(200, nil, `[{"id":"25","email":"maija@example.fi"}]`),
			"permanent", []string{"customer 1 of the page", "id: must be"}, [2]time.Duration{}},
		{"200, a customer whose date is not one", status(200, nil, `[{"id":25,"email":"maija@example.fi","date_modified_gmt":"eilen"}]`),
			"permanent", []string{"customer 1 of the page (id 25)", "date_modified_gmt"}, [2]time.Duration{}},
		{"200, over 16 MiB", big, "permanent", []string{"larger than 16 MiB", "pageSize"}, [2]time.Duration{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t, tc.handler)
			_, err := build(t, s, apiConfig(s)).(inbound.Puller).Pull(context.Background(), "")
			t.Log(err)
			if got := errKind(err); got != tc.kind {
				t.Fatalf("%v: %s, want %s", err, got, tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
			var rl *inbound.RateLimited
			if errors.As(err, &rl) && (rl.RetryAfter < tc.wait[0] || rl.RetryAfter > tc.wait[1]) {
				t.Errorf("RetryAfter %s, want %s to %s", rl.RetryAfter, tc.wait[0], tc.wait[1])
			}
			noSecrets(t, err.Error())
			for _, pd := range []string{"maija", "Tervetuloa", "löytynyt", "critical", "/wp-json/wc/v3/customers?"} {
				if strings.Contains(err.Error(), pd) {
					t.Errorf("%q shows %q of the answer", err, pd)
				}
			}
		})
	}
}

// A shop that does not answer within the timeout is retried.
func TestPullTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newShop(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	cfg := apiConfig(s)
	cfg.Timeout = time.Second
	start := time.Now()
	_, err := build(t, s, cfg).(inbound.Puller).Pull(context.Background(), "")
	if errKind(err) != "retried" || !strings.Contains(err.Error(), "no answer from the shop within 1s") {
		t.Fatalf("got %v (%s)", err, errKind(err))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

// The caller's context is honoured: cancelled before, no request; during,
// the request is dropped.
func TestPullContext(t *testing.T) {
	started := make(chan struct{}, 1)
	s := newShop(t, func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	c := build(t, s, apiConfig(s)).(inbound.Puller)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Pull(ctx, ""); !errors.Is(err, context.Canceled) || len(s.requests()) != 0 {
		t.Fatalf("cancelled before: %v, %d requests", err, len(s.requests()))
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if _, err := c.Pull(ctx, ""); !errors.Is(err, context.Canceled) || inbound.IsPermanent(err) {
		t.Fatalf("cancelled during: %v", err)
	}
}

// A shop that is down is retried; one whose certificate is not trusted is
// not (retrying does not mend it).
func TestPullUnreachable(t *testing.T) {
	s := newShop(t, pagesHandler(t))
	cfg := apiConfig(s)
	// The default client does not trust httptest's certificate.
	c, err := woocommerce.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.(inbound.Puller).Pull(context.Background(), "")
	if errKind(err) != "permanent" || !strings.Contains(err.Error(), "TLS certificate is not trusted") {
		t.Errorf("untrusted: %v (%s)", err, errKind(err))
	}
	noSecrets(t, err.Error())

	down := build(t, s, cfg).(inbound.Puller)
	s.Close()
	_, err = down.Pull(context.Background(), "")
	if errKind(err) != "retried" || !strings.Contains(err.Error(), "cannot reach the shop") {
		t.Errorf("down: %v (%s)", err, errKind(err))
	}
	noSecrets(t, err.Error())
}

func TestPullCursor(t *testing.T) {
	s := newShop(t, pagesHandler(t))
	c := build(t, s, apiConfig(s)).(inbound.Puller)
	for _, cursor := range []string{"x", "0", "-1", "01", "2.5", " 2", "1000001", "99999999999999999999"} {
		if _, err := c.Pull(context.Background(), cursor); !inbound.IsPermanent(err) || !strings.Contains(err.Error(), "cursor") {
			t.Errorf("cursor %q: %v", cursor, err)
		}
	}
	if n := len(s.requests()); n != 0 {
		t.Errorf("%d requests for bad cursors", n)
	}
}
