package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// Hostile input kept as tests: nulls, duplicates, wrong types, blank and
// repeated parameters, bytes that are not UTF-8, charsets that are not
// UTF-8 (issue 6 items 1-3), conditional reads (issue 9 item 6), the
// consent history in the access export (issue 9 item 8).

const companyJSON = `{"type": "company", "companyName": "Oy Ab", "businessId": "0737546-2"}`

func TestConsentAndRestrictionBodiesAreStrict(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "A", "lastName": "B", "marketingEmail": true, "marketingSms": true}`)
	co := h.create(companyJSON)
	id := "/v1/customers/" + c.ID

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		code   int
		loc    []string
	}{
		// A null is not a withdrawal, and not a silent no-op either.
		{"consent null", "PUT", id + "/consents", `{"marketingEmail": null}`, 422, []string{"body.marketingEmail"}},
		{"sms consent null", "PUT", id + "/consents", `{"marketingSms": null, "evidence": "form 7"}`, 422, []string{"body.marketingSms"}},
		{"both null", "PUT", id + "/consents", `{"marketingEmail": null, "marketingSms": null}`, 422, []string{"body.marketingEmail", "body.marketingSms"}},
		{"evidence null", "PUT", id + "/consents", `{"marketingEmail": false, "evidence": null}`, 422, []string{"body.evidence"}},
		{"consent given twice", "PUT", id + "/consents", `{"marketingEmail": false, "marketingEmail": true}`, 422, []string{"body.marketingEmail"}},
		{"consent typo", "PUT", id + "/consents", `{"marketingEmial": false}`, 422, []string{"body.marketingEmial"}},
		{"consent as a string", "PUT", id + "/consents", `{"marketingSms": "no"}`, 422, []string{"body.marketingSms"}},
		{"consent as a number", "PUT", id + "/consents", `{"marketingSms": 0}`, 422, []string{"body.marketingSms"}},
		{"consents not an object", "PUT", id + "/consents", `[false]`, 422, []string{"body"}},
		{"consents not JSON", "PUT", id + "/consents", `{"marketingSms": `, 400, nil},
		{"reason null", "PUT", id + "/restriction", `{"reason": null}`, 422, []string{"body.reason"}},
		{"reason given twice", "PUT", id + "/restriction", `{"reason": "a", "reason": "b"}`, 422, []string{"body.reason"}},
		{"restriction typo", "PUT", id + "/restriction", `{"reasn": "a"}`, 422, []string{"body.reasn"}},
		{"reason as a number", "PUT", id + "/restriction", `{"reason": 5}`, 422, []string{"body.reason"}},
		{"lifting with a null reason", "DELETE", id + "/restriction", `{"reason": null}`, 422, []string{"body.reason"}},
		{"contact role null", "POST", "/v1/customers/" + co.ID + "/contacts", `{"name": "Maija", "role": null}`, 422, []string{"body.role"}},
		{"contact name twice", "POST", "/v1/customers/" + co.ID + "/contacts", `{"name": "Maija", "name": "Matti"}`, 422, []string{"body.name"}},
		{"group name null", "POST", "/v1/groups", `{"externalId": "vip", "name": null}`, 422, []string{"body.name"}},
		{"group id twice", "POST", "/v1/groups", `{"externalId": "vip", "externalId": "gold"}`, 422, []string{"body.externalId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblem(t, h.do(req{method: tt.method, path: tt.path, key: "all", body: tt.body}), tt.code, tt.loc...)
		})
	}

	// Nothing of it reached the register.
	got := h.do(req{method: "GET", path: id, key: "all"}).want(t, http.StatusOK).customer(t)
	if got.Version != 1 || !got.MarketingEmail || !got.MarketingSMS || got.GDPRRestricted {
		t.Errorf("customer changed by refused bodies: %+v", got)
	}
	if co := h.do(req{method: "GET", path: "/v1/customers/" + co.ID, key: "all"}).customer(t); len(co.Contacts) != 0 {
		t.Errorf("contacts %+v", co.Contacts)
	}
	if r := h.do(req{method: "GET", path: "/v1/groups", key: "all"}).want(t, 200); strings.Contains(string(r.body), "vip") {
		t.Errorf("groups %s", r.body)
	}

	// An explicit false withdraws, and only the consent named.
	got = h.do(req{method: "PUT", path: id + "/consents", key: "all", body: `{"marketingEmail": false, "evidence": "asked by phone"}`}).want(t, 200).customer(t)
	if got.MarketingEmail || !got.MarketingSMS {
		t.Errorf("after withdrawing email: email %v, sms %v", got.MarketingEmail, got.MarketingSMS)
	}
}

func TestBlankAndRepeatedQueryParameters(t *testing.T) {
	h := newHarness(t, withAudit(&fakeAudit{}))
	c := h.create(person)
	h.create(`{"firstName": "Eero", "lastName": "Mäki", "email": "eero@example.fi"}`)

	cases := []struct {
		path  string
		param string
		why   string
	}{
		{"/v1/customers?email=", "email", "empty"},
		{"/v1/customers?email=%20", "email", "empty"},
		{"/v1/customers?email=+%09", "email", "empty"},
		{"/v1/customers?q=%20", "q", "empty"},
		{"/v1/customers?q=", "q", "empty"},
		{"/v1/customers?q", "q", "empty"},
		{"/v1/customers?phone=", "phone", "empty"},
		{"/v1/customers?number=", "number", "empty"},
		{"/v1/customers?businessId=%20", "businessId", "empty"},
		{"/v1/customers?group=", "group", "empty"},
		{"/v1/customers?type=", "type", "empty"},
		{"/v1/customers?systemId=", "systemId", "empty"},
		{"/v1/customers?systemId=6&identifier=", "identifier", "empty"},
		{"/v1/customers?updatedSince=", "updatedSince", "empty"},
		{"/v1/customers?includeRestricted=", "includeRestricted", "empty"},
		{"/v1/customers?limit=", "limit", "empty"},
		{"/v1/customers?cursor=", "cursor", "empty"},
		{"/v1/customers?limit=1&limit=2", "limit", "more than once"},
		{"/v1/customers?systemId=6&systemId=7", "systemId", "more than once"},
		{"/v1/customers?email=aino@example.fi&email=eero@example.fi", "email", "more than once"},
		{"/v1/customers?q=aino&q=", "q", "more than once"},
		{"/v1/customers/" + c.ID + "/consent-history?limit=", "limit", "empty"},
		{"/v1/customers/" + c.ID + "/consent-history?cursor=a&cursor=b", "cursor", "more than once"},
		{"/v1/audit/consent-events?consent=", "consent", "empty"},
		{"/v1/audit/consent-events?actor=%20", "actor", "empty"},
		{"/v1/audit/consent-events?customerId=", "customerId", "empty"},
		{"/v1/audit/consent-events?systemId=6&systemId=7", "systemId", "more than once"},
		{"/v1/audit/consent-events?from=2025-01-01T00:00:00Z&from=2024-01-01T00:00:00Z", "from", "more than once"},
		{"/v1/audit/consent-state?customerId=", "customerId", "empty"},
		{"/v1/audit/consent-state?customerId=" + c.ID + "&at=", "at", "empty"},
		{"/v1/audit/consent-summary?to=", "to", "empty"},
	}
	for _, tt := range cases {
		t.Run(tt.path, func(t *testing.T) {
			r := h.do(req{method: "GET", path: tt.path, key: "all"})
			wantProblem(t, r, http.StatusUnprocessableEntity, "query."+tt.param)
			if !strings.Contains(string(r.body), tt.why) {
				t.Errorf("problem does not say %q: %s", tt.why, r.body)
			}
		})
	}

	// Several problems are named at once; a parameter with a value filters.
	wantProblem(t, h.do(req{method: "GET", path: "/v1/customers?email=&q=%20&limit=1&limit=2", key: "all"}), 422, "query.email", "query.q", "query.limit")
	var page CustomerPage
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/customers?email=aino@example.fi", key: "all"}).want(t, 200).body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != c.ID {
		t.Errorf("email filter: %d customers", len(page.Items))
	}
}

// bodyEndpoint is an operation that takes a JSON body, with a body that
// puts a string value (%s, raw) at loc.
type bodyEndpoint struct {
	method, path, body, loc string
}

func bodyEndpoints(t *testing.T, h *harness) []bodyEndpoint {
	t.Helper()
	pe := "/v1/customers/" + h.create(person).ID
	co := "/v1/customers/" + h.create(companyJSON).ID
	return []bodyEndpoint{
		{"POST", "/v1/customers", `{"firstName": "%s", "lastName": "B"}`, "body.firstName"},
		{"PATCH", pe, `{"lastName": "%s"}`, "body.lastName"},
		{"PATCH", pe, `{"addresses": [{"type": "Home", "streetAddress1": "Katu 1", "postalCode": "00100", "city": "%s"}]}`, "body.addresses[0].city"},
		{"PUT", pe + "/consents", `{"marketingSms": true, "evidence": "%s"}`, "body.evidence"},
		{"PUT", pe + "/restriction", `{"reason": "%s"}`, "body.reason"},
		{"POST", co + "/contacts", `{"name": "%s"}`, "body.name"},
		{"POST", "/v1/groups", `{"externalId": "%s"}`, "body.externalId"},
	}
}

func TestBodiesMustBeUTF8(t *testing.T) {
	h := newHarness(t)
	endpoints := bodyEndpoints(t, h)
	bad := []struct {
		name, value, why string
	}{
		{"raw bytes ff fe", "\xff\xfe", "not valid UTF-8"},
		{"overlong slash", "\xc0\xaf", "not valid UTF-8"},
		{"encoded surrogate", "\xed\xa0\x80", "not valid UTF-8"},
		{"cut sequence", "ok\xc3", "not valid UTF-8"},
		{"Latin-1 without a label", "\xc4k\xe4s", "not valid UTF-8"},
		{"lone high surrogate escape", `\ud800`, "surrogate"},
		{"lone low surrogate escape", `\uDC00`, "surrogate"},
		{"high surrogate then a letter", `\ud800\u0041`, "surrogate"},
		{"two high surrogates", `\ud83d\ud83d`, "surrogate"},
	}
	for _, ep := range endpoints {
		for _, b := range bad {
			t.Run(ep.method+" "+ep.loc+" "+b.name, func(t *testing.T) {
				r := h.do(req{method: ep.method, path: ep.path, key: "all", body: fmt.Sprintf(ep.body, b.value)})
				wantProblem(t, r, http.StatusBadRequest, ep.loc)
				if !strings.Contains(string(r.body), b.why) {
					t.Errorf("problem does not say %q: %s", b.why, r.body)
				}
				if !utf8Valid(r.body) {
					t.Errorf("problem is not UTF-8 itself: %q", r.body)
				}
			})
		}
	}
	// A bad member name is placed at its object; with an Idempotency-Key
	// the body is refused all the same.
	wantProblem(t, h.do(req{method: "POST", path: "/v1/customers", key: "all", body: "{\"firstName\": \"A\", \"lastName\": \"B\", \"n\xffme\": 1}"}), 400, "body")
	wantProblem(t, h.do(req{method: "POST", path: "/v1/customers", key: "all", body: "{\"firstName\": \"\xff\", \"lastName\": \"B\"}",
		header: map[string]string{"Idempotency-Key": "utf8-1"}}), 400, "body.firstName")

	// Nothing was stored.
	var page CustomerPage
	if err := json.Unmarshal(h.do(req{method: "GET", path: "/v1/customers", key: "all"}).want(t, 200).body, &page); err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Items {
		if c.Version != 1 || strings.ContainsRune(c.FirstName+c.LastName, '\uFFFD') {
			t.Errorf("customer changed: %+v", c)
		}
	}

	// Proper UTF-8 and escaped surrogate pairs are fine.
	c := h.create(`{"firstName": "Äkäs \ud83d\ude00", "lastName": "Ylläs 😀"}`)
	if c.FirstName != "Äkäs 😀" || c.LastName != "Ylläs 😀" {
		t.Errorf("names %q %q", c.FirstName, c.LastName)
	}
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "") == string(b) }

func TestBodyMediaTypes(t *testing.T) {
	h := newHarness(t)
	endpoints := bodyEndpoints(t, h)
	for i, ep := range endpoints {
		value := fmt.Sprintf("Äkäs %d", i)
		t.Run(ep.method+" "+ep.loc, func(t *testing.T) {
			refused := []struct {
				contentType string
				body        string
				why         string
			}{
				{"application/json; charset=iso-8859-1", fmt.Sprintf(ep.body, "\xc4k\xe4s"), "charset"},
				{"application/json; charset=ISO-8859-1", fmt.Sprintf(ep.body, "Akas"), "charset"},
				{"application/json; charset=utf-16", fmt.Sprintf(ep.body, "Akas"), "charset"},
				{"", fmt.Sprintf(ep.body, "Akas"), "missing"},
				{"text/plain", fmt.Sprintf(ep.body, "Akas"), "not accepted"},
				{"application/cbor", fmt.Sprintf(ep.body, "Akas"), "not accepted"},
				{"application/x-www-form-urlencoded", "name=Akas", "not accepted"},
				{"application/json; charset", fmt.Sprintf(ep.body, "Akas"), "not a media type"},
			}
			for _, rf := range refused {
				r := h.sendRaw(ep.method, ep.path, rf.contentType, rf.body, nil)
				wantProblem(t, r, http.StatusUnsupportedMediaType, "header.Content-Type")
				if !strings.Contains(string(r.body), rf.why) {
					t.Errorf("Content-Type %q: problem does not say %q: %s", rf.contentType, rf.why, r.body)
				}
			}
			// Media types are case-insensitive; charset=utf-8 in any case.
			for _, ct := range []string{"Application/JSON", "application/json; charset=UTF-8", "APPLICATION/JSON;CHARSET=utf-8"} {
				r := h.sendRaw(ep.method, ep.path, ct, fmt.Sprintf(ep.body, value), nil)
				if r.code >= 300 && !(r.code == http.StatusConflict) {
					t.Errorf("Content-Type %q: status %d\n%s", ct, r.code, r.body)
				}
				if r.code < 300 && ep.loc != "body.evidence" && ep.loc != "body.reason" && !bytes.Contains(r.body, []byte(value)) {
					t.Errorf("Content-Type %q: %q not in %s", ct, value, r.body)
				}
			}
		})
	}
	// PATCH of a customer takes merge-patch too; the other bodies do not.
	pe := endpoints[1].path
	h.sendRaw("PATCH", pe, "Application/Merge-Patch+JSON", `{"firstName": "Áine"}`, nil).want(t, http.StatusOK)
	wantProblem(t, h.sendRaw("PUT", pe+"/consents", "application/merge-patch+json", `{"marketingSms": true}`, nil), 415, "header.Content-Type")
	wantProblem(t, h.sendRaw("POST", "/v1/customers", "application/merge-patch+json", person, nil), 415, "header.Content-Type")
	// No body needs no Content-Type.
	h.sendRaw("PUT", pe+"/restriction", "", "", nil).want(t, http.StatusOK)
	h.sendRaw("DELETE", pe+"/restriction", "", "", nil).want(t, http.StatusOK)
}

// sendRaw sends a request with exactly the Content-Type given ("" sends none),
// with the "all" key.
func (h *harness) sendRaw(method, path, contentType, body string, header http.Header) resp {
	h.t.Helper()
	hr := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	hr.Header.Set("Authorization", "Bearer "+secret("all"))
	for k, v := range header {
		hr.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.api.Handler().ServeHTTP(rec, hr)
	return resp{code: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestIfNoneMatch(t *testing.T) {
	h := newHarness(t)
	c := h.create(`{"firstName": "A", "lastName": "B", "externalSystems": [{"systemId": 6, "identifier": "wc-1"}]}`)
	paths := []string{"/v1/customers/" + c.ID, fmt.Sprintf("/v1/customers/by-number/%d", c.Number), "/v1/customers/by-external/6/wc-1"}
	inm := func(v ...string) http.Header { return http.Header{"If-None-Match": v} }

	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			for _, hdr := range []http.Header{inm(`"1"`), inm(`W/"1"`), inm(`"7", "1"`), inm(`"a,b", W/"1"`), inm("*"), inm(`"7"`, `"1"`), inm(` "1" `)} {
				r := h.sendRaw("GET", p, "", "", hdr)
				if r.code != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != `"1"` {
					t.Errorf("If-None-Match %q: status %d, ETag %q, body %q; want 304, \"1\", none", hdr.Values("If-None-Match"), r.code, r.header.Get("ETag"), r.body)
				}
			}
			for _, hdr := range []http.Header{inm(`"2"`), inm(`W/"2", "3"`), inm(`"01"`), nil} {
				r := h.sendRaw("GET", p, "", "", hdr).want(t, http.StatusOK)
				if r.customer(t).ID != c.ID || r.header.Get("ETag") != `"1"` {
					t.Errorf("If-None-Match %q: %s", hdr.Values("If-None-Match"), r.body)
				}
			}
			for _, bad := range []string{"1", `"1`, `W/1`, `"1" "2"`, `"1";`, ",", `"1 "`, "\"\x01\""} {
				wantProblem(t, h.sendRaw("GET", p, "", "", inm(bad)), http.StatusBadRequest, "header.If-None-Match")
			}
		})
	}
	// A change makes the old ETag stale.
	h.do(req{method: "PATCH", path: paths[0], key: "all", body: `{"firstName": "C"}`}).want(t, 200)
	r := h.sendRaw("GET", paths[0], "", "", inm(`"1"`)).want(t, http.StatusOK)
	if r.header.Get("ETag") != `"2"` || r.customer(t).FirstName != "C" {
		t.Errorf("after a change: ETag %q, %s", r.header.Get("ETag"), r.body)
	}
	// A customer that cannot be read is 404 whatever the client holds.
	wantProblem(t, h.sendRaw("GET", "/v1/customers/0190a0b0-0000-7000-8000-000000000000", "", "", inm("*")), http.StatusNotFound)
}

// unavailableAudit is an audit log whose ClickHouse is down.
type unavailableAudit struct{ fakeAudit }

func (*unavailableAudit) History(context.Context, uuid.UUID, ports.AuditPageRequest) (ports.AuditPage, error) {
	return ports.AuditPage{}, &fault.Unavailable{What: "audit log", Err: errors.New("connection refused")}
}

func TestExportSaysWhenTheHistoryIsMissing(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []harnessOption
		status string
	}{
		{"not configured", nil, "notConfigured"},
		{"unreachable", []harnessOption{withAudit(&unavailableAudit{})}, "unavailable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts...)
			c := h.create(`{"firstName": "A", "lastName": "B", "marketingEmail": true}`)
			r := h.do(req{method: "GET", path: "/v1/customers/" + c.ID + "/export", key: "reader"}).want(t, http.StatusOK)
			var raw struct {
				ConsentHistory map[string]json.RawMessage `json:"consentHistory"`
			}
			if err := json.Unmarshal(r.body, &raw); err != nil {
				t.Fatal(err)
			}
			hist := raw.ConsentHistory
			if string(hist["status"]) != `"`+tt.status+`"` || string(hist["events"]) != "null" || len(hist["notice"]) < 20 {
				t.Errorf("consentHistory %s; want status %s, events null and a notice", r.body, tt.status)
			}
		})
	}
}

// TestExportHasTheWholeConsentHistory reads the history from the real
// ClickHouse audit log, in pages of two, so the export must page through
// it to its end.
func TestExportHasTheWholeConsentHistory(t *testing.T) {
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, chtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	audit := clickhouse.New(conn)
	h := newHarness(t, withAudit(audit))
	h.api.historyPage = 2

	c := h.create(`{"firstName": "A", "lastName": "B", "marketingEmail": true}`)
	other := h.create(`{"firstName": "C", "lastName": "D", "marketingSms": true}`)
	id := "/v1/customers/" + c.ID
	for i, body := range []string{
		`{"marketingSms": true, "evidence": "form 1"}`,
		`{"marketingEmail": false}`,
		`{"marketingEmail": true, "marketingSms": false, "evidence": "form 2"}`,
		`{"marketingSms": true}`,
	} {
		h.do(req{method: "PUT", path: id + "/consents", key: "writer", body: body,
			header: map[string]string{"X-Request-Id": fmt.Sprintf("export-%d", i)}}).want(t, http.StatusOK)
	}
	h.do(req{method: "PUT", path: id + "/restriction", key: "writer", body: `{"reason": "asked"}`}).want(t, http.StatusOK)
	if _, err := h.store.Relay(ctx, 1000, audit.Append); err != nil {
		t.Fatal(err)
	}

	var exp CustomerExport
	if err := json.Unmarshal(h.do(req{method: "GET", path: id + "/export", key: "admin"}).want(t, http.StatusOK).body, &exp); err != nil {
		t.Fatal(err)
	}
	hist := exp.ConsentHistory
	if hist == nil || hist.Status != "complete" || hist.Notice != "" {
		t.Fatalf("consentHistory %+v", hist)
	}
	// 1 (create) + 1 + 1 + 2 + 1 + 1 (restriction) events, all of this
	// customer, newest first, as the history endpoint shows them.
	if len(hist.Events) != 7 {
		t.Fatalf("%d events in the export, want 7: %+v", len(hist.Events), hist.Events)
	}
	var page ConsentEventPage
	if err := json.Unmarshal(h.do(req{method: "GET", path: id + "/consent-history?limit=500", key: "auditor"}).want(t, 200).body, &page); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hist.Events, page.Items) {
		t.Errorf("export history\n %+v\nconsent-history\n %+v", hist.Events, page.Items)
	}
	for i, e := range hist.Events {
		if e.CustomerID != c.ID || e.CustomerID == other.ID {
			t.Errorf("event %d is of customer %s", i, e.CustomerID)
		}
		if i > 0 && e.OccurredAt.After(hist.Events[i-1].OccurredAt) {
			t.Errorf("event %d is newer than event %d", i, i-1)
		}
	}
	if last := hist.Events[len(hist.Events)-1]; last.Consent != "marketingEmail" || !last.NewValue {
		t.Errorf("oldest event %+v, want the consent given at create", last)
	}
	if first := hist.Events[0]; first.Consent != "gdprRestricted" || !first.NewValue {
		t.Errorf("newest event %+v, want the restriction", first)
	}
}
