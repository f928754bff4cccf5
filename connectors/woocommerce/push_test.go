package woocommerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/ports/inbound"
)

var link25 = customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "25"}

// maija is a person as the register holds her: two phones, a home, an
// invoice and a delivery address, linked to WooCommerce customer 25.
func maija(t *testing.T, edit func(*customer.Data)) *customer.Customer {
	t.Helper()
	at := time.Date(2024, 5, 10, 11, 0, 0, 0, time.UTC)
	d := customer.Data{
		ID: uuid.MustParse("0195f3a0-0000-7000-8000-000000000025"), Number: 10025,
		Type: customer.Person, FirstName: "Maija", LastName: "Virtanen", Email: "maija.virtanen@example.fi",
		VATStatus: customer.DefaultVATStatus, Language: customer.DefaultLanguage,
		PhoneNumbers: []string{"+358501234567", "+358401112222"},
		Addresses: []customer.Address{
			{Type: customer.Home, StreetAddress1: "Kotikatu 1", PostalCode: "00500", City: "Helsinki", Country: "FI"},
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 5 C 12", PostalCode: "00100", City: "Helsinki", Country: "FI"},
			{Type: customer.Delivery, StreetAddress1: "Läntinen Rantakatu 9", PostalCode: "20100", City: "Turku", Country: "FI"},
			{Type: customer.Invoice, StreetAddress1: "Toinen laskutusosoite 2", PostalCode: "00200", City: "Helsinki", Country: "FI"},
		},
		ExternalSystems: []customer.ExternalLink{link25},
		CreatedAt:       at, UpdatedAt: at, Version: 3,
	}
	if edit != nil {
		edit(&d)
	}
	c, err := customer.FromStorage(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putHandler plays PUT /wp-json/wc/v3/customers/25, answering with the
// customer as the shop then holds it.
func putHandler(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !checkBasic(t, w, r) {
			return
		}
		if r.Method != http.MethodPut || r.URL.Path != "/wp-json/wc/v3/customers/25" {
			answer(w, http.StatusNotFound, fixture(t, "error_404_invalid_id.json"))
			return
		}
		answer(w, http.StatusOK, fixture(t, "customer_put_response.json"))
	}
}

func pushConnector(t *testing.T, s *shop) inbound.Pusher {
	t.Helper()
	cfg := apiConfig(s)
	cfg.Push = true
	return build(t, s, cfg).(inbound.Pusher)
}

func TestPush(t *testing.T) {
	s := newShop(t, putHandler(t))
	c := pushConnector(t, s)
	res, err := c.Push(context.Background(), maija(t, nil), link25)
	if err != nil {
		t.Fatal(err)
	}
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.method != http.MethodPut || r.path != "/wp-json/wc/v3/customers/25" || len(r.query) != 0 {
		t.Errorf("request: %s %s %v", r.method, r.path, r.query)
	}
	if got := r.header.Get("Authorization"); got != basic(consumerKey, consumerSecret) {
		t.Errorf("Authorization %q", got)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	// Field by field; the whole object is compared, so that nothing more
	// is sent (no state, no company of a person, no shipping phone, no
	// password, username, role or meta_data, no Home address).
	want := map[string]any{
		"email":      "maija.virtanen@example.fi",
		"first_name": "Maija",
		"last_name":  "Virtanen",
		"billing": map[string]any{
			"first_name": "Maija",
			"last_name":  "Virtanen",
			"email":      "maija.virtanen@example.fi",
			"phone":      "+358501234567",
			"address_1":  "Mannerheimintie 5 C 12",
			"address_2":  "",
			"postcode":   "00100",
			"city":       "Helsinki",
			"country":    "FI",
		},
		"shipping": map[string]any{
			"first_name": "Maija",
			"last_name":  "Virtanen",
			"address_1":  "Läntinen Rantakatu 9",
			"address_2":  "",
			"postcode":   "20100",
			"city":       "Turku",
			"country":    "FI",
		},
	}
	for _, k := range []string{"email", "first_name", "last_name"} {
		if body[k] != want[k] {
			t.Errorf("%s: %v, want %v", k, body[k], want[k])
		}
	}
	for _, obj := range []string{"billing", "shipping"} {
		got, _ := body[obj].(map[string]any)
		for k, v := range want[obj].(map[string]any) {
			if got[k] != v {
				t.Errorf("%s.%s: %v, want %v", obj, k, got[k], v)
			}
		}
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body:\n got %v\nwant %v", body, want)
	}

	// The echo is what the shop answered, parsed as its customer.updated
	// webhook will be: the same draft, so the register knows it again.
	if res.Echo == nil {
		t.Fatal("no echo")
	}
	if webhook := asWebhook(t, c.(inbound.Connector), fixture(t, "customer_put_response.json")); !reflect.DeepEqual(*res.Echo, webhook) {
		t.Errorf("echo:\n got %+v\nwant %+v", *res.Echo, webhook)
	}
	if res.Echo.Link != link25 || !res.Echo.SourceUpdatedAt.Equal(time.Date(2024, 5, 10, 11, 2, 11, 0, time.UTC)) {
		t.Errorf("echo link %v at %s", res.Echo.Link, res.Echo.SourceUpdatedAt)
	}

	// Twice is as once: the same request.
	if _, err := c.Push(context.Background(), maija(t, nil), link25); err != nil {
		t.Fatal(err)
	}
	if again := s.requests()[1]; string(again.body) != string(r.body) {
		t.Errorf("second push differs:\n%s\n%s", again.body, r.body)
	}
}

// A company customer: the company name in billing (and shipping), names
// left out when the register has none, no shipping without a Delivery
// address, no phone without one.
func TestPushCompany(t *testing.T) {
	s := newShop(t, putHandler(t))
	c := pushConnector(t, s)
	cust := maija(t, func(d *customer.Data) {
		d.Type, d.FirstName, d.LastName = customer.Company, "", ""
		d.CompanyName, d.BusinessID = "Laineen Puutarha Oy", "2077474-0"
		d.Email = "laskut@example.fi"
		d.PhoneNumbers = nil
		d.Addresses = []customer.Address{{Type: customer.Invoice, StreetAddress1: "Kauppakatu 3", StreetAddress2: "PL 12", PostalCode: "40100", City: "Jyväskylä", Country: "FI"}}
	})
	if _, err := c.Push(context.Background(), cust, link25); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(s.requests()[0].body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"email": "laskut@example.fi",
		"billing": map[string]any{
			"company": "Laineen Puutarha Oy", "email": "laskut@example.fi",
			"address_1": "Kauppakatu 3", "address_2": "PL 12", "postcode": "40100", "city": "Jyväskylä", "country": "FI",
		},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body:\n got %v\nwant %v", body, want)
	}
}

// A guest's link names no customer in the shop: nothing is sent, and the
// push succeeds.
func TestPushGuestLink(t *testing.T) {
	s := newShop(t, putHandler(t))
	res, err := pushConnector(t, s).Push(context.Background(), maija(t, nil),
		customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "guest-order-1001"})
	if err != nil || res.Echo != nil {
		t.Fatalf("got %+v, %v", res, err)
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("%d requests for a guest", n)
	}
}

// What the push job never asks for is refused without a request.
func TestPushRefuses(t *testing.T) {
	s := newShop(t, putHandler(t))
	c := pushConnector(t, s)
	restricted := maija(t, func(d *customer.Data) { d.GDPRRestricted = true })
	for _, tc := range []struct {
		name string
		cust *customer.Customer
		link customer.ExternalLink
		want string
	}{
		{"another system's link", maija(t, nil), customer.ExternalLink{SystemID: customer.Webstore, Identifier: "25"}, "not WooCommerce"},
		{"an id that is text", maija(t, nil), customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "maija"}, "not a WooCommerce customer id"},
		{"id 0", maija(t, nil), customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "0"}, "not a WooCommerce customer id"},
		{"a leading zero", maija(t, nil), customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "025"}, "not a WooCommerce customer id"},
		{"a path", maija(t, nil), customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "25/../../users"}, "not a WooCommerce customer id"},
		{"a restricted customer", restricted, link25, "restricted"},
		{"no customer", nil, link25, "customer: none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Push(context.Background(), tc.cust, tc.link)
			if !inbound.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a permanent error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "maija") {
				t.Errorf("%q shows the link's text", err)
			}
		})
	}
	if n := len(s.requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
}

func TestPushErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		kind    string
		want    string
	}{
		{"404, deleted in the shop", serveFixture(t, 404, "error_404_invalid_id.json"),
			"permanent", "PUT customer 25: the shop answered 404 Not Found (woocommerce_rest_invalid_id): the shop has no such customer"},
		{"400, data refused", serveFixture(t, 400, "error_400_invalid_param.json"),
			"permanent", "400 Bad Request (rest_invalid_param): the shop refuses the request's data"},
		{"401, a read-only key", func(w http.ResponseWriter, r *http.Request) {
			answer(w, 401, []byte(`{"code":"woocommerce_rest_authentication_error","message":"The API key provided does not have write permissions.","data":{"status":401}}`))
		}, "permanent", "Read/Write to push"},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Retry-After", "30"); w.WriteHeader(429) },
			"rate limited", "retry after 30s"},
		{"503", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }, "retried", "503 Service Unavailable"},
		{"200, not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html>Maija Virtanen</html>"))
		}, "permanent", "the answer (Content-Type text/html)"},
		{"200, another customer", func(w http.ResponseWriter, r *http.Request) {
			answer(w, 200, []byte(strings.Replace(string(fixture(t, "customer_put_response.json")), `"id":25`, `"id":26`, 1)))
		}, "permanent", "another customer (id 26)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t, tc.handler)
			res, err := pushConnector(t, s).Push(context.Background(), maija(t, nil), link25)
			if got := errKind(err); got != tc.kind {
				t.Fatalf("%v: %s, want %s", err, got, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q does not say %q", err, tc.want)
			}
			if res.Echo != nil {
				t.Error("an echo with an error")
			}
			noSecrets(t, err.Error())
			if strings.Contains(err.Error(), "Maija") || strings.Contains(err.Error(), "write permissions") {
				t.Errorf("%q shows the answer's text", err)
			}
			var rl *inbound.RateLimited
			if errors.As(err, &rl) && rl.RetryAfter != 30*time.Second {
				t.Errorf("RetryAfter %s", rl.RetryAfter)
			}
		})
	}
}
