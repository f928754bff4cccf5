package api

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestNothingIsSilentlyDropped (issue 6 items 1-3) over real HTTP into the
// real PostgreSQL: a null consent, a blank or repeated filter, bytes that
// are not UTF-8 and a body in another charset are refused by name; nothing
// of them is stored and no filter is dropped.
func TestNothingIsSilentlyDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(person("Sinikka", "Suostumus", obj{"email": "sinikka@example.fi", "marketingEmail": true}))
	e.create(person("Toinen", "Asiakas", obj{"email": "toinen@example.fi"}))
	pp := "/v1/customers/" + p.ID
	get := func(path string) req { return req{method: http.MethodGet, path: path, key: bootstrapSecret} }
	raw := func(method, path, contentType string, body any) req {
		return req{method: method, path: path, key: bootstrapSecret, body: body, header: map[string]string{"Content-Type": contentType}}
	}

	tests := []struct {
		name     string
		give     req
		status   int
		location string
	}{
		{"consent null", put(pp+"/consents", `{"marketingEmail": null}`), 422, "body.marketingEmail"},
		{"consent given twice", put(pp+"/consents", `{"marketingEmail": false, "marketingEmail": true}`), 422, "body.marketingEmail"},
		{"reason null", put(pp+"/restriction", `{"reason": null}`), 422, "body.reason"},
		{"blank email filter", get("/v1/customers?email=%20"), 422, "query.email"},
		{"empty email filter", get("/v1/customers?email="), 422, "query.email"},
		{"blank free text", get("/v1/customers?q=%20"), 422, "query.q"},
		{"repeated limit", get("/v1/customers?limit=1&limit=2"), 422, "query.limit"},
		{"repeated systemId", get("/v1/customers?systemId=6&systemId=7"), 422, "query.systemId"},
		{"repeated audit filter", get("/v1/audit/consent-events?systemId=6&systemId=7"), 422, "query.systemId"},
		{"raw bytes that are not UTF-8", post("{\"firstName\":\"\xff\xfe\",\"lastName\":\"B\"}"), 400, "body.firstName"},
		{"overlong UTF-8", post("{\"firstName\":\"\xc0\xaf\",\"lastName\":\"B\"}"), 400, "body.firstName"},
		{"lone surrogate escape", post(`{"firstName":"\ud800","lastName":"B"}`), 400, "body.firstName"},
		{"not UTF-8, sent chunked", req{method: http.MethodPost, path: "/v1/customers", key: bootstrapSecret, body: chunked("{\"firstName\":\"A\",\"lastName\":\"\xff\"}")}, 400, "body.lastName"},
		{"ISO-8859-1 body", raw(http.MethodPost, "/v1/customers", "application/json; charset=iso-8859-1", "{\"firstName\":\"\xc4k\xe4s\",\"lastName\":\"B\"}"), 415, "header.Content-Type"},
		{"ISO-8859-1 consents", raw(http.MethodPut, pp+"/consents", "application/json; charset=iso-8859-1", `{"marketingEmail": false}`), 415, "header.Content-Type"},
		{"text/plain group", raw(http.MethodPost, "/v1/groups", "text/plain", `{"externalId": "g"}`), 415, "header.Content-Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.give)
			e.sub(t).wantProblem(r, tt.status, tt.location)
		})
	}

	// Nothing was stored: the consent stands, no customer was made.
	if got := e.customer(p.ID); got.Version != 1 || !got.MarketingEmail || got.GDPRRestricted {
		t.Errorf("the customer changed through refused requests: %+v", got)
	}
	if n := len(e.find("limit=500", bootstrapSecret).Items); n != 2 {
		t.Errorf("%d customers, want the 2 created", n)
	}
	// A filter with a value filters; upper-case media types are fine.
	if got := e.find("email=sinikka@example.fi", bootstrapSecret); len(got.Items) != 1 || got.Items[0].ID != p.ID {
		t.Errorf("email filter found %d", len(got.Items))
	}
	c := decode[Customer](t, e.want(e.do(raw(http.MethodPost, "/v1/customers", "Application/JSON; Charset=UTF-8", `{"firstName":"Äkäs","lastName":"Ylläs"}`)), http.StatusCreated))
	if c.FirstName != "Äkäs" {
		t.Errorf("firstName %q, want Äkäs", c.FirstName)
	}
}

// TestConditionalRead (issue 9 item 6): If-None-Match over the wire.
func TestConditionalRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(person("Ehto", "Lukija", obj{"externalSystems": []obj{{"systemId": 6, "identifier": "wc-304"}}}))
	paths := []string{"/v1/customers/" + p.ID, "/v1/customers/by-number/" + strconv.FormatInt(p.Number, 10), "/v1/customers/by-external/6/wc-304"}
	for _, path := range paths {
		for _, inm := range []string{`"1"`, `W/"1"`, `"9", "1"`, "*"} {
			r := e.do(req{method: http.MethodGet, path: path, key: readerSecret, header: map[string]string{"If-None-Match": inm}})
			if r.Status != http.StatusNotModified || len(r.Body) != 0 || r.Header.Get("ETag") != `"1"` || r.Header.Get("Content-Type") != "" {
				t.Errorf("GET %s If-None-Match %s: %d ETag %q Content-Type %q body %q; want 304 with the ETag and nothing else",
					path, inm, r.Status, r.Header.Get("ETag"), r.Header.Get("Content-Type"), r.Body)
			}
		}
		r := e.want(e.do(req{method: http.MethodGet, path: path, key: readerSecret, header: map[string]string{"If-None-Match": `"2"`}}), http.StatusOK)
		if decode[Customer](t, r).ID != p.ID {
			t.Errorf("GET %s: %s", path, r.Body)
		}
		e.wantProblem(e.do(req{method: http.MethodGet, path: path, key: readerSecret, header: map[string]string{"If-None-Match": "1"}}), http.StatusBadRequest, "header.If-None-Match")
	}
	// HEAD answers the same way, without a body.
	hr, err := http.NewRequest(http.MethodHead, e.base+paths[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+readerSecret)
	hr.Header.Set("If-None-Match", `"1"`)
	resp, err := e.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified || len(b) != 0 || !strings.Contains(resp.Header.Get("ETag"), "1") {
		t.Errorf("HEAD: %d %q ETag %q", resp.StatusCode, b, resp.Header.Get("ETag"))
	}
}
