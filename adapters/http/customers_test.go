package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"kirjuri/core/consent"
)

const person = `{"firstName": "Aino", "lastName": "Virtanen", "email": "aino@example.fi"}`

func TestCreateAndRead(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: `{
		"type": "person", "firstName": "Aino", "lastName": "Virtanen",
		"email": "Aino@Example.FI", "language": "sv", "vatStatus": 7,
		"marketingEmail": true, "phoneNumbers": ["040 1234567"],
		"addresses": [{"type": "Invoice", "streetAddress1": "Mannerheimintie 1", "postalCode": "00100", "city": "Helsinki"}],
		"externalSystems": [{"systemId": 6, "identifier": "wc-17"}],
		"customerCards": ["card-1"],
		"eInvoice": {"mode": "Email", "email": "laskut@example.fi"}
	}`}).want(t, http.StatusCreated)
	c := r.customer(t)
	if got, want := r.header.Get("Location"), "/v1/customers/"+c.ID; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if got := r.header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag %q, want \"1\"", got)
	}
	want := Customer{
		ID: c.ID, Number: 10000, Type: "person", FirstName: "Aino", LastName: "Virtanen",
		VATStatus: 7, Email: "Aino@example.fi", Language: "sv", MarketingEmail: true,
		ExternalSystems: []ExternalLink{{SystemID: 6, Identifier: "wc-17"}},
		CustomerCards:   []string{"card-1"}, Groups: []string{},
		Addresses:    []Address{{Type: "Invoice", StreetAddress1: "Mannerheimintie 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}},
		PhoneNumbers: []string{"+358401234567"},
		EInvoice:     EInvoice{Mode: "Email", Email: "laskut@example.fi"},
		Contacts:     []Contact{},
		CreatedAt:    c.CreatedAt, UpdatedAt: c.UpdatedAt, Version: 1,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("created customer\n got %+v\nwant %+v", c, want)
	}

	// Numbers are JSON integers, lists are arrays even when empty.
	raw := r.obj(t)
	if _, ok := raw["number"].(float64); !ok {
		t.Errorf("number is %T, want a JSON number", raw["number"])
	}
	if g, ok := raw["groups"].([]any); !ok || len(g) != 0 {
		t.Errorf("groups = %#v, want []", raw["groups"])
	}

	for _, path := range []string{"/v1/customers/" + c.ID, "/v1/customers/by-number/10000", "/v1/customers/by-external/6/wc-17"} {
		got := h.do(req{method: "GET", path: path, key: "reader"}).want(t, http.StatusOK)
		if !reflect.DeepEqual(got.customer(t), c) {
			t.Errorf("GET %s\n got %+v\nwant %+v", path, got.customer(t), c)
		}
		if got.header.Get("ETag") != `"1"` {
			t.Errorf("GET %s: ETag %q", path, got.header.Get("ETag"))
		}
	}
}

func TestPatchMergeSemantics(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "Aino", "lastName": "Virtanen", "email": "aino@example.fi",
		"marketingEmail": true, "marketingSms": true, "language": "sv", "vatStatus": 7,
		"phoneNumbers": ["0401234567", "+46701234567"], "customerCards": ["a", "b"],
		"eInvoice": {"mode": "Email", "email": "laskut@example.fi"}}`)
	path := "/v1/customers/" + c.ID

	tests := []struct {
		name  string
		give  string
		check func(t *testing.T, got Customer)
	}{
		{
			name: "empty patch keeps everything",
			give: `{}`,
			check: func(t *testing.T, got Customer) {
				if got.Version != 1 {
					t.Errorf("version %d, want 1: nothing changed", got.Version)
				}
			},
		},
		{
			name: "value sets, absent keeps",
			give: `{"firstName": "Aili"}`,
			check: func(t *testing.T, got Customer) {
				if got.FirstName != "Aili" || got.LastName != "Virtanen" || got.Email != "aino@example.fi" || !got.MarketingEmail {
					t.Errorf("got %+v", got)
				}
			},
		},
		{
			name: "null clears",
			give: `{"email": null, "marketingSms": null}`,
			check: func(t *testing.T, got Customer) {
				if got.Email != "" || got.MarketingSMS || !got.MarketingEmail {
					t.Errorf("email %q, marketingSms %v, marketingEmail %v", got.Email, got.MarketingSMS, got.MarketingEmail)
				}
			},
		},
		{
			name: "null restores a default",
			give: `{"language": null, "vatStatus": null}`,
			check: func(t *testing.T, got Customer) {
				if got.Language != "fi" || got.VATStatus != 1 {
					t.Errorf("language %q, vatStatus %d", got.Language, got.VATStatus)
				}
			},
		},
		{
			name: "lists are replaced whole",
			give: `{"phoneNumbers": ["09 1234567"], "customerCards": null}`,
			check: func(t *testing.T, got Customer) {
				if !reflect.DeepEqual(got.PhoneNumbers, []string{"+35891234567"}) || len(got.CustomerCards) != 0 {
					t.Errorf("phoneNumbers %v, customerCards %v", got.PhoneNumbers, got.CustomerCards)
				}
			},
		},
		{
			name: "eInvoice is merged field by field",
			give: `{"eInvoice": {"email": "ostot@example.fi"}}`,
			check: func(t *testing.T, got Customer) {
				if got.EInvoice != (EInvoice{Mode: "Email", Email: "ostot@example.fi"}) {
					t.Errorf("eInvoice %+v", got.EInvoice)
				}
			},
		},
		{
			name: "eInvoice null clears it all",
			give: `{"eInvoice": null}`,
			check: func(t *testing.T, got Customer) {
				if got.EInvoice != (EInvoice{}) {
					t.Errorf("eInvoice %+v", got.EInvoice)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(req{method: "PATCH", path: path, key: "writer", body: tt.give,
				header: map[string]string{"Content-Type": "application/merge-patch+json"}}).want(t, http.StatusOK)
			got := r.customer(t)
			tt.check(t, got)
			if r.header.Get("ETag") != fmt.Sprintf(`"%d"`, got.Version) {
				t.Errorf("ETag %q, version %d", r.header.Get("ETag"), got.Version)
			}
		})
	}
}

func TestBadCustomerBodies(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)

	tests := []struct {
		name     string
		method   string
		give     string
		wantCode int
		wantLoc  []string
	}{
		{"typo of a consent", "PATCH", `{"marketingEmial": true}`, 422, []string{"body.marketingEmial"}},
		{"unknown field on create", "POST", `{"firstName": "A", "lastName": "B", "nickname": "x"}`, 422, []string{"body.nickname"}},
		{"string for a flag", "PATCH", `{"marketingEmail": "yes"}`, 422, []string{"body.marketingEmail"}},
		{"fraction for vatStatus", "PATCH", `{"vatStatus": 1.5}`, 422, []string{"body.vatStatus"}},
		{"number for a postal code", "PATCH", `{"addresses": [{"type": "Home", "postalCode": 100}]}`, 422, []string{"body.addresses[0].postalCode"}},
		{"unknown address field", "PATCH", `{"addresses": [{"type": "Home", "zip": "00100"}]}`, 422, []string{"body.addresses[0].zip"}},
		{"object for a list", "PATCH", `{"groups": {"a": 1}}`, 422, []string{"body.groups"}},
		{"number in a string list", "PATCH", `{"phoneNumbers": ["040 1234567", 5]}`, 422, []string{"body.phoneNumbers[1]"}},
		{"unknown eInvoice field", "PATCH", `{"eInvoice": {"operator": "x"}}`, 422, []string{"body.eInvoice.operator"}},
		{"read-only field", "PATCH", `{"version": 7}`, 422, []string{"body.version"}},
		{"duplicate member", "PATCH", `{"marketingEmail": true, "marketingEmail": false}`, 422, []string{"body.marketingEmail"}},
		{"not an object", "PATCH", `[1, 2]`, 422, []string{"body"}},
		{"not JSON", "PATCH", `{"firstName": `, 400, []string{"body"}},
		{"trailing data", "PATCH", `{} {}`, 400, []string{"body"}},
		{"core rule: postal code", "PATCH", `{"addresses": [{"type": "Home", "postalCode": "123"}]}`, 422, []string{"body.addresses[0].postalCode"}},
		{"core rule: person needs names", "POST", `{"email": "x@example.fi"}`, 422, []string{"body.firstName", "body.lastName"}},
		{"core rule: unknown system", "PATCH", `{"externalSystems": [{"systemId": 99, "identifier": "x"}]}`, 422, []string{"body.externalSystems[0].systemId"}},
		{"several problems at once", "PATCH", `{"marketingEmial": true, "email": 5}`, 422, []string{"body.marketingEmial", "body.email"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/v1/customers"
			if tt.method == "PATCH" {
				path += "/" + c.ID
			}
			r := h.do(req{method: tt.method, path: path, key: "writer", body: tt.give})
			wantProblem(t, r, tt.wantCode, tt.wantLoc...)
		})
	}

	// Nothing of the refused patches reached the customer.
	got := h.do(req{method: "GET", path: "/v1/customers/" + c.ID, key: "reader"}).want(t, http.StatusOK).customer(t)
	if got.Version != 1 || got.MarketingEmail {
		t.Errorf("customer changed by refused patches: %+v", got)
	}
}

func TestUnknownFieldSuggestion(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	r := h.do(req{method: "PATCH", path: "/v1/customers/" + c.ID, key: "writer", body: `{"marketingEmial": true}`})
	wantProblem(t, r, http.StatusUnprocessableEntity, "body.marketingEmial")
	if !strings.Contains(string(r.body), `did you mean \"marketingEmail\"`) {
		t.Errorf("no suggestion in %s", r.body)
	}
}

func TestErrorClasses(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	h.create(`{"firstName": "Eero", "lastName": "Mäki", "email": "eero@example.fi", "customerCards": ["K-1"]}`)
	id := "/v1/customers/" + c.ID

	tests := []struct {
		name     string
		give     req
		wantCode int
		wantLoc  []string
	}{
		{"validation", req{method: "PATCH", path: id, body: `{"email": "not an address"}`}, 422, []string{"body.email"}},
		{"not found", req{method: "GET", path: "/v1/customers/0190a0b0-0000-7000-8000-000000000000"}, 404, nil},
		{"not found by number", req{method: "GET", path: "/v1/customers/by-number/99999"}, 404, nil},
		{"conflict: email taken", req{method: "PATCH", path: id, body: `{"email": "EERO@example.fi"}`}, 409, []string{"body.email"}},
		{"conflict: card taken", req{method: "POST", path: "/v1/customers", body: `{"firstName": "A", "lastName": "B", "customerCards": ["K-1"]}`}, 409, []string{"body.customerCards"}},
		{"stale If-Match", req{method: "PATCH", path: id, body: `{"firstName": "X"}`, header: map[string]string{"If-Match": `"7"`}}, 412, []string{"header.If-Match"}},
		{"malformed If-Match", req{method: "PATCH", path: id, body: `{}`, header: map[string]string{"If-Match": "seven"}}, 400, []string{"header.If-Match"}},
		{"path id not a UUID", req{method: "GET", path: "/v1/customers/12345"}, 422, []string{"path.id"}},
		{"number not a number", req{method: "GET", path: "/v1/customers/by-number/abc"}, 422, []string{"path.number"}},
		{"unknown system", req{method: "GET", path: "/v1/customers/by-external/99/x"}, 422, []string{"path.systemId"}},
		{"bad query", req{method: "GET", path: "/v1/customers?limit=0"}, 422, []string{"query.limit"}},
		{"bad phone filter", req{method: "GET", path: "/v1/customers?phone=abc"}, 422, []string{"query.phone"}},
		{"unsupported media type", req{method: "PATCH", path: id, body: `{}`, header: map[string]string{"Content-Type": "text/plain"}}, 415, []string{"header.Content-Type"}},
		{"empty body", req{method: "POST", path: "/v1/customers"}, 400, nil},
		{"no such route", req{method: "GET", path: "/v1/nothing"}, 404, nil},
		{"method not allowed", req{method: "PUT", path: id}, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.give.key = "all"
			wantProblem(t, h.do(tt.give), tt.wantCode, tt.wantLoc...)
		})
	}
}

func TestIdentityCodeNeverEchoed(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{
		`{"firstName": "A", "lastName": "B", "ssn": "131052-308U"}`,
		`{"firstName": "A", "lastName": "B", "ssn": 131052308}`,
		`{"firstName": "A", "lastName": "B", "ssn": "131052-308T", "type": "company"}`,
	} {
		r := h.do(req{method: "POST", path: "/v1/customers", key: "all", body: body})
		wantProblem(t, r, http.StatusUnprocessableEntity)
		if strings.Contains(string(r.body), "131052") {
			t.Errorf("problem echoes the identity code: %s", r.body)
		}
	}
}

func TestIdentityCodeMasking(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "A", "lastName": "B", "ssn": "131052-308T"}`)
	tests := []struct {
		key  string
		want string
	}{
		{"reader", "***********"},
		{"admin", "***********"},
		{"pii", "131052-308T"},
		{"all", "131052-308T"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			for _, path := range []string{"/v1/customers/" + c.ID, "/v1/customers?limit=5", "/v1/customers/" + c.ID + "/export"} {
				r := h.do(req{method: "GET", path: path, key: tt.key}).want(t, http.StatusOK)
				if !strings.Contains(string(r.body), `"ssn":"`+tt.want+`"`) {
					t.Errorf("GET %s as %s: want ssn %q in %s", path, tt.key, tt.want, r.body)
				}
			}
		})
	}
}

func TestIfMatch(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	id := "/v1/customers/" + c.ID
	ifMatch := func(v string) map[string]string { return map[string]string{"If-Match": v} }

	h.do(req{method: "PATCH", path: id, key: "writer", body: `{"firstName": "B"}`, header: ifMatch(`"1"`)}).want(t, http.StatusOK)
	wantProblem(t, h.do(req{method: "PATCH", path: id, key: "writer", body: `{"firstName": "C"}`, header: ifMatch(`"1"`)}), http.StatusPreconditionFailed)
	wantProblem(t, h.do(req{method: "PUT", path: id + "/consents", key: "writer", body: `{"marketingSms": true}`, header: ifMatch(`"1"`)}), http.StatusPreconditionFailed)
	wantProblem(t, h.do(req{method: "PUT", path: id + "/restriction", key: "writer", body: `{}`, header: ifMatch(`"1"`)}), http.StatusPreconditionFailed)
	wantProblem(t, h.do(req{method: "DELETE", path: id, key: "writer", header: ifMatch(`"1"`)}), http.StatusPreconditionFailed)
	wantProblem(t, h.do(req{method: "DELETE", path: id, key: "writer", header: ifMatch(`W/"2"`)}), http.StatusBadRequest, "header.If-Match")
	h.do(req{method: "PUT", path: id + "/consents", key: "writer", body: `{"marketingSms": true}`, header: ifMatch(`"2"`)}).want(t, http.StatusOK)
	h.do(req{method: "PATCH", path: id, key: "writer", body: `{"lastName": "D"}`, header: ifMatch("*")}).want(t, http.StatusOK)
}

func TestConsentsAndAuditTrail(t *testing.T) {
	audit := &fakeAudit{}
	h := newHarness(t, withAudit(audit))
	c := h.create(person)
	id := "/v1/customers/" + c.ID

	r := h.do(req{method: "PUT", path: id + "/consents", key: "writer",
		body:   `{"marketingEmail": true, "evidence": "ticked the box at the till"}`,
		header: map[string]string{"X-Request-Id": "req-consent-1"}}).want(t, http.StatusOK)
	if got := r.customer(t); !got.MarketingEmail || got.MarketingSMS {
		t.Errorf("consents %v/%v", got.MarketingEmail, got.MarketingSMS)
	}
	wantProblem(t, h.do(req{method: "PUT", path: id + "/consents", key: "writer", body: `{"marketingEmail": "yes"}`}), 422, "body.marketingEmail")
	wantProblem(t, h.do(req{method: "PUT", path: id + "/consents", key: "writer", body: `{"marketingEmial": true}`}), 422, "body.marketingEmial")

	// Ship the outbox to the fake audit log and read the trail back.
	if _, err := h.store.Relay(context.Background(), 100, audit.Append); err != nil {
		t.Fatal(err)
	}
	hist := h.do(req{method: "GET", path: id + "/consent-history", key: "auditor"}).want(t, http.StatusOK)
	var page ConsentEventPage
	if err := json.Unmarshal(hist.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 {
		t.Fatalf("history %+v, want one event", page.Items)
	}
	e := page.Items[0]
	want := ConsentEvent{EventID: e.EventID, OccurredAt: e.OccurredAt, CustomerID: c.ID, CustomerNumber: c.Number,
		Consent: "marketingEmail", NewValue: true, Source: "api", Actor: "apikey:writer",
		RequestID: "req-consent-1", Evidence: "ticked the box at the till"}
	if e != want {
		t.Errorf("event\n got %+v\nwant %+v", e, want)
	}
}

func TestRestriction(t *testing.T) {
	h := newHarness(t)
	c := h.create(person)
	id := "/v1/customers/" + c.ID

	h.do(req{method: "PUT", path: id + "/restriction", key: "writer", body: `{"reason": "customer asked"}`}).want(t, http.StatusOK)
	// Hidden from callers without admin, everywhere.
	wantProblem(t, h.do(req{method: "GET", path: id, key: "reader"}), http.StatusNotFound)
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers/by-number/10000", key: "reader"}), http.StatusNotFound)
	if r := h.do(req{method: "GET", path: "/v1/customers", key: "reader"}).want(t, 200); strings.Contains(string(r.body), c.ID) {
		t.Error("restricted customer listed")
	}
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?includeRestricted=true", key: "reader"}), http.StatusForbidden)
	// Seen by an admin; lifting needs admin.
	h.do(req{method: "GET", path: id, key: "admin"}).want(t, http.StatusOK)
	if r := h.do(req{method: "GET", path: "/v1/customers?includeRestricted=true", key: "admin"}).want(t, 200); !strings.Contains(string(r.body), c.ID) {
		t.Error("restricted customer not listed for an admin who asked")
	}
	wantProblem(t, h.do(req{method: "DELETE", path: id + "/restriction", key: "writer"}), http.StatusForbidden)
	r := h.do(req{method: "DELETE", path: id + "/restriction", key: "admin"}).want(t, http.StatusOK)
	if r.customer(t).GDPRRestricted {
		t.Error("restriction not lifted")
	}
}

func TestErasure(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "A", "lastName": "B", "email": "a@example.fi", "ssn": "131052-308T", "marketingEmail": true}`)
	r := h.do(req{method: "DELETE", path: "/v1/customers/" + c.ID, key: "writer", header: map[string]string{"If-Match": `"1"`}}).want(t, http.StatusOK)
	got := r.customer(t)
	if got.ErasedAt == nil || got.Email != "" || got.SSN != "" || got.FirstName != "" || got.MarketingEmail {
		t.Errorf("erased customer %+v", got)
	}
	// The email is free again.
	h.create(`{"firstName": "C", "lastName": "D", "email": "a@example.fi"}`)
}

func TestFindAndPagination(t *testing.T) {
	h := newHarness(t)
	for i := range 5 {
		h.create(fmt.Sprintf(`{"firstName": "F%d", "lastName": "L", "email": "p%d@example.fi", "groups": []}`, i, i))
	}
	h.create(`{"type": "company", "companyName": "Oy Ab", "businessId": "FI 0737546-2"}`)

	var numbers []int64
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		path := "/v1/customers?type=person&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		var page CustomerPage
		if err := json.Unmarshal(h.do(req{method: "GET", path: path, key: "reader"}).want(t, 200).body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > 2 {
			t.Fatalf("page of %d items, limit 2", len(page.Items))
		}
		for _, c := range page.Items {
			numbers = append(numbers, c.Number)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if want := []int64{10000, 10001, 10002, 10003, 10004}; !reflect.DeepEqual(numbers, want) {
		t.Errorf("numbers %v, want %v", numbers, want)
	}

	tests := []struct {
		query string
		want  int
	}{
		{"email=P3@EXAMPLE.FI", 1},
		{"businessId=0737546-2", 1},
		{"businessId=07375462", 1},
		{"type=company", 1},
		{"number=10002", 1},
		{"q=F4", 1},
		{"", 6},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var page CustomerPage
			if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/customers?" + tt.query, key: "reader"}).want(t, 200).body, &page); err != nil {
				t.Fatal(err)
			}
			if len(page.Items) != tt.want {
				t.Errorf("%d customers, want %d", len(page.Items), tt.want)
			}
		})
	}
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?limit=501", key: "reader"}), 422, "query.limit")
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?type=robot", key: "reader"}), 422, "query.type")
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?identifier=x", key: "reader"}), 422, "query.systemId")
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?updatedSince=yesterday", key: "reader"}), 422, "query.updatedSince")
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?emial=p3@example.fi", key: "reader"}), 422, "query.emial")
	var since CustomerPage
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/customers?updatedSince=2020-01-01T00:00:00Z", key: "reader"}).want(t, 200).body, &since); err != nil || len(since.Items) != 6 {
		t.Errorf("updatedSince: %d customers (%v), want 6", len(since.Items), err)
	}
}

func TestContacts(t *testing.T) {
	h := newHarness(t)
	co := h.create(`{"type": "company", "companyName": "Oy Ab", "businessId": "0737546-2"}`)
	pe := h.create(person)
	base := "/v1/customers/" + co.ID + "/contacts"

	r := h.do(req{method: "POST", path: base, key: "writer", body: `{"name": "Maija", "role": "CFO", "phone": "040 7654321"}`}).want(t, http.StatusCreated)
	var ct Contact
	if err := json.Unmarshal(r.body, &ct); err != nil {
		t.Fatal(err)
	}
	if ct.Name != "Maija" || ct.Phone != "+358407654321" || ct.ID == "" || r.header.Get("ETag") != `"2"` {
		t.Errorf("contact %+v, ETag %s", ct, r.header.Get("ETag"))
	}
	var list ContactList
	if err := json.Unmarshal(h.do(req{method: "GET", path: base, key: "reader"}).want(t, 200).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0] != ct {
		t.Errorf("contacts %+v", list.Items)
	}
	if c := h.do(req{method: "GET", path: "/v1/customers/" + co.ID, key: "reader"}).customer(t); len(c.Contacts) != 1 {
		t.Errorf("customer's contacts %+v", c.Contacts)
	}
	wantProblem(t, h.do(req{method: "POST", path: "/v1/customers/" + pe.ID + "/contacts", key: "writer", body: `{"name": "X"}`}), 422, "path.id")
	wantProblem(t, h.do(req{method: "POST", path: base, key: "writer", body: `{"name": "X", "email": "nope"}`}), 422, "body.email")
	wantProblem(t, h.do(req{method: "POST", path: base, key: "writer", body: `{"nme": "X"}`}), 422)
	h.do(req{method: "DELETE", path: base + "/" + ct.ID, key: "writer"}).want(t, http.StatusNoContent)
	wantProblem(t, h.do(req{method: "DELETE", path: base + "/" + ct.ID, key: "writer"}), http.StatusNotFound)
	wantProblem(t, h.do(req{method: "DELETE", path: base + "/nope", key: "writer"}), 422, "path.contactId")
}

func TestGroups(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: "POST", path: "/v1/groups", key: "writer", body: `{"externalId": "vip", "name": "VIP"}`}).want(t, http.StatusCreated)
	if !strings.Contains(string(r.body), `"externalId":"vip"`) {
		t.Errorf("group %s", r.body)
	}
	wantProblem(t, h.do(req{method: "POST", path: "/v1/groups", key: "writer", body: `{"externalId": "vip"}`}), 409, "body.externalId")
	wantProblem(t, h.do(req{method: "POST", path: "/v1/groups", key: "reader", body: `{"externalId": "x"}`}), 403)
	var list GroupList
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/groups", key: "reader"}).want(t, 200).body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0] != (Group{ExternalID: "vip", Name: "VIP"}) {
		t.Errorf("groups %+v", list.Items)
	}
	// Customers refer to groups that exist.
	h.create(`{"firstName": "A", "lastName": "B", "groups": ["vip"]}`)
	wantProblem(t, h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: `{"firstName": "A", "lastName": "B", "groups": ["nope"]}`}), 422)
}

func TestExport(t *testing.T) {
	h := newHarness(t)
	co := h.create(`{"type": "company", "companyName": "Oy Ab", "businessId": "0737546-2"}`)
	h.do(req{method: "POST", path: "/v1/customers/" + co.ID + "/contacts", key: "writer", body: `{"name": "Maija"}`}).want(t, 201)
	var exp CustomerExport
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/customers/" + co.ID + "/export", key: "reader"}).want(t, 200).body, &exp); err != nil {
		t.Fatal(err)
	}
	if exp.GeneratedAt.IsZero() || exp.Customer == nil || exp.Customer.ID != co.ID || len(exp.Customer.Contacts) != 1 {
		t.Errorf("export %+v", exp)
	}
}

func TestAuditEndpoints(t *testing.T) {
	t.Run("not configured", func(t *testing.T) {
		h := newHarness(t)
		for _, p := range []string{"/v1/audit/consent-events", "/v1/audit/consent-summary", "/v1/customers/0190a0b0-0000-7000-8000-000000000000/consent-history",
			"/v1/audit/consent-state?customerId=0190a0b0-0000-7000-8000-000000000000"} {
			r := h.do(req{method: "GET", path: p, key: "auditor"})
			wantProblem(t, r, http.StatusServiceUnavailable)
			if !strings.Contains(string(r.body), "audit log not configured") {
				t.Errorf("%s: %s", p, r.body)
			}
		}
	})

	audit := &fakeAudit{}
	h := newHarness(t, withAudit(audit))
	c := h.create(`{"firstName": "A", "lastName": "B", "marketingEmail": true, "marketingSms": true}`)
	if _, err := h.store.Relay(context.Background(), 100, audit.Append); err != nil {
		t.Fatal(err)
	}

	var page ConsentEventPage
	r := h.do(req{method: "GET", path: "/v1/audit/consent-events?consent=marketingSms&limit=10&source=api&systemId=6&actor=apikey:all&from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&customerId=" + c.ID, key: "auditor"}).want(t, 200)
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].Consent != "marketingSms" {
		t.Errorf("events %+v", page.Items)
	}
	q := audit.lastQuery
	if q.Consent != consent.MarketingSMS || q.Source != consent.SourceAPI || q.SystemID != 6 || q.Actor != "apikey:all" ||
		q.CustomerID.String() != c.ID || q.Limit != 10 || q.From.Year() != 2025 || q.To.Year() != 2026 {
		t.Errorf("query %+v", q)
	}
	wantProblem(t, h.do(req{method: "GET", path: "/v1/audit/consent-events?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z", key: "auditor"}), 422, "query.to")
	wantProblem(t, h.do(req{method: "GET", path: "/v1/audit/consent-events?consent=nope", key: "auditor"}), 422, "query.consent")

	var st ConsentState
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/audit/consent-state?customerId=" + c.ID, key: "auditor"}).want(t, 200).body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Consents) != 4 || !st.Consents[0].Value || st.Consents[0].SetBy == nil || st.Consents[2].Value || st.Consents[2].SetBy != nil {
		t.Errorf("state %+v", st)
	}
	wantProblem(t, h.do(req{method: "GET", path: "/v1/audit/consent-state", key: "auditor"}), 422, "query.customerId")

	var sum ConsentSummary
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/audit/consent-summary?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z", key: "auditor"}).want(t, 200).body, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Rows) != 1 || sum.Rows[0].Day != "2025-01-01" || sum.Rows[0].Grants != 2 {
		t.Errorf("summary %+v", sum)
	}
	wantProblem(t, h.do(req{method: "GET", path: "/v1/audit/consent-summary", key: "reader"}), 403)
}

func TestJunkBodyIsCutShort(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString("{")
	for i := range 50000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	b.WriteString(`,"` + strings.Repeat("x", 5000) + `":1}`)
	r := h.do(req{method: "POST", path: "/v1/customers", key: "writer", body: b.String()})
	wantProblem(t, r, http.StatusUnprocessableEntity)
	if n := len(r.locations(t)); n > maxDetails {
		t.Errorf("%d problems listed, at most %d wanted", n, maxDetails)
	}
}
