package api

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestValidation sends every class of bad input and wants a 4xx problem
// (never a 500) that names the failing field in errors[].location.
func TestValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(person("Pekka", "Perustapaus", nil))
	c := e.create(company("Firma Oy", "0737546-2", nil))
	pp := "/v1/customers/" + p.ID
	cp := "/v1/customers/" + c.ID

	big := `{"firstName":"` + strings.Repeat("a", 1<<20) + `","lastName":"x"}`

	tests := []struct {
		name     string
		give     req
		status   int
		location string
	}{
		// Identity codes, business ids, VAT.
		{"bad hetu check character", post(person("A", "B", obj{"ssn": "131052-308U"})), 422, "body.ssn"},
		{"hetu of a date that does not exist", post(person("A", "B", obj{"ssn": "310252-308Y"})), 422, "body.ssn"},
		{"hetu on a company", post(company("C Oy", "0737546-2", obj{"ssn": "131052-308T"})), 422, "body.ssn"},
		{"bad businessId check digit", post(company("C Oy", "0737546-3", nil)), 422, "body.businessId"},
		{"businessId of letters", post(company("C Oy", "ABCDEFG-H", nil)), 422, "body.businessId"},
		{"company without businessId", post(obj{"type": "company", "companyName": "C Oy"}), 422, "body.businessId"},
		{"vatNumber not of the businessId", post(company("C Oy", "0737546-2", obj{"vatNumber": "FI12345671"})), 422, "body.vatNumber"},
		{"vatStatus 3 on a person", post(person("A", "B", obj{"vatStatus": 3})), 422, "body.vatStatus"},
		{"vatStatus out of range", post(person("A", "B", obj{"vatStatus": 9})), 422, "body.vatStatus"},
		{"vatStatus 3 patched onto a person", patchReq(pp, obj{"vatStatus": 3}), 422, "body.vatStatus"},

		// External system links.
		{"unknown systemId", post(person("A", "B", obj{"externalSystems": []obj{{"systemId": 8, "identifier": "x"}}})), 422, "body.externalSystems[0].systemId"},
		{"identifier without systemId", post(person("A", "B", obj{"externalSystems": []obj{{"identifier": "x"}}})), 422, "body.externalSystems[0].systemId"},
		{"systemId without identifier", post(person("A", "B", obj{"externalSystems": []obj{{"systemId": 6}}})), 422, "body.externalSystems[0].identifier"},
		{"unknown member of a link", post(person("A", "B", obj{"externalSystems": []obj{{"systemId": 6, "identifier": "x", "sytemId": 1}}})), 422, "body.externalSystems[0].sytemId"},

		// Unknown and read-only members.
		{"unknown member marketingEmial", post(person("A", "B", obj{"marketingEmial": true})), 422, "body.marketingEmial"},
		{"unknown member in a patch", patchReq(pp, obj{"marketingEmial": true}), 422, "body.marketingEmial"},
		{"read-only number", patchReq(pp, obj{"number": 1}), 422, "body.number"},
		{"read-only version", post(person("A", "B", obj{"version": 3})), 422, "body.version"},
		{"unknown member of an address", post(person("A", "B", obj{"addresses": []obj{{"type": "Home", "streetAddress1": "Katu 1", "postalCode": "00100", "city": "Helsinki", "zip": "1"}}})), 422, "body.addresses[0].zip"},

		// Wrong JSON types.
		{"firstName a number", post(obj{"type": "person", "firstName": 5, "lastName": "B"}), 422, "body.firstName"},
		{"vatStatus a string", post(person("A", "B", obj{"vatStatus": "1"})), 422, "body.vatStatus"},
		{"vatStatus a fraction", post(person("A", "B", obj{"vatStatus": 1.5})), 422, "body.vatStatus"},
		{"marketingEmail a string", post(person("A", "B", obj{"marketingEmail": "yes"})), 422, "body.marketingEmail"},
		{"phoneNumbers a string", post(person("A", "B", obj{"phoneNumbers": "0401234567"})), 422, "body.phoneNumbers"},
		{"customerCards of numbers", post(person("A", "B", obj{"customerCards": []any{1}})), 422, "body.customerCards[0]"},
		{"addresses an object", patchReq(pp, obj{"addresses": obj{"type": "Home"}}), 422, "body.addresses"},
		{"eInvoice a string", patchReq(cp, obj{"eInvoice": "Broker"}), 422, "body.eInvoice"},
		{"body an array", post([]any{}), 422, "body"},
		{"consents of the wrong type", put(pp+"/consents", obj{"marketingEmail": "yes"}), 422, "body.marketingEmail"},

		// Values the core refuses.
		{"person without lastName", post(obj{"type": "person", "firstName": "A"}), 422, "body.lastName"},
		{"type unknown", post(person("A", "B", obj{"type": "robot"})), 422, "body.type"},
		{"language de", post(person("A", "B", obj{"language": "de"})), 422, "body.language"},
		{"bad email", post(person("A", "B", obj{"email": "not an email"})), 422, "body.email"},
		{"bad phone", post(person("A", "B", obj{"phoneNumbers": []string{"12"}})), 422, "body.phoneNumbers[0]"},
		{"Finnish postal code 100", post(person("A", "B", obj{"addresses": []obj{{"type": "Home", "streetAddress1": "Katu 1", "postalCode": "100", "city": "Helsinki"}}})), 422, "body.addresses[0].postalCode"},
		{"address type unknown", post(person("A", "B", obj{"addresses": []obj{{"type": "Office", "streetAddress1": "Katu 1", "postalCode": "00100", "city": "Helsinki"}}})), 422, "body.addresses[0].type"},
		{"Broker e-invoice without address", patchReq(cp, obj{"eInvoice": obj{"mode": "Broker", "broker": "003721291126"}}), 422, "body.eInvoice.address"},
		{"Email e-invoice without email", post(company("C Oy", "0737546-2", obj{"eInvoice": obj{"mode": "Email"}})), 422, "body.eInvoice.email"},
		{"e-invoice mode unknown", patchReq(cp, obj{"eInvoice": obj{"mode": "Paper"}}), 422, "body.eInvoice.mode"},
		// A missing required member: see missingAt.
		{"contact without name", post2(cp+"/contacts", obj{"role": "CEO"}), 422, "missing:body.name"},
		{"contact with bad email", post2(cp+"/contacts", obj{"name": "A", "email": "nope"}), 422, "body.email"},
		{"group without externalId", post2("/v1/groups", obj{"name": "VIP"}), 422, "missing:body.externalId"},

		// Malformed requests.
		{"malformed JSON", post(`{"firstName": "A",`), 400, "body"},
		{"malformed JSON in a patch", patchReq(pp, `{"firstName" "A"}`), 400, "body"},
		{"trailing data after the object", post(`{"type":"person","firstName":"A","lastName":"B"} {}`), 400, "body"},
		{"member given twice", post(`{"type":"person","firstName":"A","firstName":"C","lastName":"B"}`), 422, "body.firstName"},
		{"malformed JSON in consents", put(pp+"/consents", `{"marketingEmail": tru`), 400, ""},
		{"wrong Content-Type", req{method: http.MethodPost, path: "/v1/customers", key: bootstrapSecret, body: "type=person", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, "header.Content-Type"},
		{"malformed UUID in path (GET)", req{method: http.MethodGet, path: "/v1/customers/not-a-uuid", key: bootstrapSecret}, 422, "path.id"},
		{"malformed UUID in path (PATCH)", patchReq("/v1/customers/123", obj{"firstName": "A"}), 422, "path.id"},
		{"malformed UUID in path (DELETE)", req{method: http.MethodDelete, path: "/v1/customers/zzz", key: bootstrapSecret}, 422, "path.id"},
		{"malformed contact id", req{method: http.MethodDelete, path: cp + "/contacts/nope", key: bootstrapSecret}, 422, "path.contactId"},
		{"malformed customer number", req{method: http.MethodGet, path: "/v1/customers/by-number/abc", key: bootstrapSecret}, 422, "path.number"},
		{"unknown systemId in by-external", req{method: http.MethodGet, path: "/v1/customers/by-external/9/x", key: bootstrapSecret}, 422, "path.systemId"},
		{"malformed If-Match", patchReq(pp, obj{"firstName": "A"}, "If-Match", "3"), 400, "header.If-Match"},
		{"Idempotency-Key too long", post(person("A", "B", nil), "Idempotency-Key", strings.Repeat("k", 256)), 400, "header.Idempotency-Key"},
		{"find: limit 501", req{method: http.MethodGet, path: "/v1/customers?limit=501", key: bootstrapSecret}, 422, "query.limit"},
		{"find: limit 0", req{method: http.MethodGet, path: "/v1/customers?limit=0", key: bootstrapSecret}, 422, "query.limit"},
		{"find: bad phone", req{method: http.MethodGet, path: "/v1/customers?phone=abc", key: bootstrapSecret}, 422, "query.phone"},
		{"find: bad businessId", req{method: http.MethodGet, path: "/v1/customers?businessId=123", key: bootstrapSecret}, 422, "query.businessId"},
		{"find: bad cursor", req{method: http.MethodGet, path: "/v1/customers?cursor=garbage", key: bootstrapSecret}, 422, "query.cursor"},
		{"find: bad updatedSince", req{method: http.MethodGet, path: "/v1/customers?updatedSince=yesterday", key: bootstrapSecret}, 422, "query.updatedSince"},
		{"find: identifier without systemId", req{method: http.MethodGet, path: "/v1/customers?identifier=x", key: bootstrapSecret}, 422, "query.systemId"},
		{"find: misspelt filter", req{method: http.MethodGet, path: "/v1/customers?emial=a@b.fi", key: bootstrapSecret}, 422, "query.emial"},

		// Size.
		{"body over 1 MiB", post(big), 413, ""},
		{"body over 1 MiB with an Idempotency-Key", post(big, "Idempotency-Key", "big-one"), 413, ""},
		{"patch body over 1 MiB", patchReq(pp, big), 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.give)
			if r.Status >= 500 {
				t.Fatalf("a server error for bad input: %s", r)
			}
			if field, ok := strings.CutPrefix(tt.location, "missing:"); ok {
				missingAt(t, e.sub(t), r, tt.status, field)
				return
			}
			e.sub(t).wantProblem(r, tt.status, tt.location)
		})
	}

	// Nothing of the refused requests was stored, and a refused create
	// burned no customer number.
	all := e.find("limit=500", bootstrapSecret)
	if len(all.Items) != 2 {
		t.Errorf("%d customers after refused requests, want the 2 created", len(all.Items))
	}
	if got := e.customer(p.ID); got.Version != 1 || got.VATStatus != 1 || got.FirstName != "Pekka" {
		t.Errorf("the person changed through refused patches: %+v", got)
	}
	if got := e.customer(c.ID); got.Version != 1 || got.EInvoice.Mode != "" {
		t.Errorf("the company changed through refused patches: %+v", got)
	}
	next := e.create(person("Seuraava", "Numero", nil))
	if next.Number != c.Number+1 {
		t.Errorf("next number %d, want %d: refused creates took numbers", next.Number, c.Number+1)
	}
}

// TestValidationMessages checks what the problems say, beyond where.
func TestValidationMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.do(post(person("A", "B", obj{"marketingEmial": true})))
	p := e.wantProblem(r, 422, "body.marketingEmial")
	if !strings.Contains(p.Errors[0].Message, "marketingEmail") {
		t.Errorf("unknown member: message %q does not suggest marketingEmail", p.Errors[0].Message)
	}

	r = e.do(post(person("A", "B", obj{"externalSystems": []obj{{"systemId": 8, "identifier": "x"}}})))
	p = e.wantProblem(r, 422, "body.externalSystems[0].systemId")
	for _, id := range []string{"1", "7", "22"} {
		if !strings.Contains(p.Errors[0].Message, id) {
			t.Errorf("unknown systemId: message %q does not list the allowed value %s", p.Errors[0].Message, id)
		}
	}

	// An identity code is never echoed back.
	r = e.do(post(person("A", "B", obj{"ssn": "131052-308U"})))
	e.wantProblem(r, 422, "body.ssn")
	if bytes.Contains(r.Body, []byte("131052")) {
		t.Errorf("the problem echoes the identity code: %s", r.Body)
	}

	// Several problems are reported at once.
	r = e.do(post(obj{"type": "person", "email": "x", "phoneNumbers": []string{"1"}}))
	p = e.wantProblem(r, 422, "body.email")
	for _, loc := range []string{"body.phoneNumbers[0]", "body.firstName", "body.lastName"} {
		e.wantProblem(r, 422, loc)
	}
	if len(p.Errors) < 4 {
		t.Errorf("%d problems, want at least 4: %s", len(p.Errors), r.Body)
	}
}

// missingAt checks the problem of a missing required member: api.md wants
// the failing field's location. Huma's schema validation gives the parent
// ("body") and names the member only in its message; the API moves it to
// the member.
func missingAt(t *testing.T, e *env, r *response, status int, field string) {
	t.Helper()
	p := e.wantProblem(r, status, "")
	cut := strings.LastIndexByte(field, '.')
	parent, name := field[:cut], field[cut+1:]
	for _, d := range p.Errors {
		if d.Location == field {
			return
		}
	}
	for _, d := range p.Errors {
		if d.Location == parent && strings.Contains(d.Message, "property "+name+" ") {
			t.Errorf("the missing %s is reported at %q: %s", field, d.Location, r.Body)
		}
	}
	t.Fatalf("no errors[] entry names the missing %s; body: %s", field, r.Body)
}

// sub is e for a subtest: failures go to t.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func post(body any, header ...string) req {
	return req{method: http.MethodPost, path: "/v1/customers", key: bootstrapSecret, body: body, header: pairs(header)}
}

func post2(path string, body any) req {
	return req{method: http.MethodPost, path: path, key: bootstrapSecret, body: body}
}

func put(path string, body any) req {
	return req{method: http.MethodPut, path: path, key: bootstrapSecret, body: body}
}

func patchReq(path string, body any, header ...string) req {
	h := pairs(header)
	h["Content-Type"] = "application/merge-patch+json"
	return req{method: http.MethodPatch, path: path, key: bootstrapSecret, body: body, header: h}
}

func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestBodyLimit: 1 MiB is accepted, one byte more is 413, also when the
// length is not announced (chunked) and on operations Huma decodes.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(person("Raja", "Arvo", nil))
	base := `{"type":"person","firstName":"A","lastName":"B"}`
	sized := func(n int) string { return base[:len(base)-1] + strings.Repeat(" ", n-len(base)) + "}" }

	e.want(e.do(post(sized(1<<20))), http.StatusCreated)
	e.want(e.do(post(sized(1<<20), "Idempotency-Key", "exactly-1-mib")), http.StatusCreated)
	for _, rq := range []req{
		post(sized(1<<20 + 1)),
		post(sized(1<<20+1), "Idempotency-Key", "over-1-mib"),
		patchReq("/v1/customers/"+c.ID, sized(1<<20+1)),
		put("/v1/customers/"+c.ID+"/consents", `{"marketingEmail":true,"evidence":"`+strings.Repeat("x", 1<<20)+`"}`),
		post2("/v1/groups", `{"externalId":"g","name":"`+strings.Repeat("x", 1<<20)+`"}`),
		post2("/v1/customers/"+c.ID+"/contacts", `{"name":"`+strings.Repeat("x", 1<<20)+`"}`),
		{method: http.MethodPost, path: "/v1/customers", key: bootstrapSecret, body: chunked(sized(2 << 20))},
	} {
		r := e.do(rq)
		e.wantProblem(r, http.StatusRequestEntityTooLarge, "")
	}
	if n := len(e.find("limit=500", bootstrapSecret).Items); n != 3 {
		t.Errorf("%d customers, want 3 (the two bodies within the limit and the first)", n)
	}
}

// TestHostileText: NUL bytes and invalid UTF-8, which PostgreSQL text cannot
// hold, are refused as bad input wherever they enter (a search may instead
// find nothing); never a 500.
func TestHostileText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(person("Vihamielinen", "Teksti", nil))
	c := e.create(company("Vihamielinen Oy", "0737546-2", nil))
	pp, cp := "/v1/customers/"+p.ID, "/v1/customers/"+c.ID
	get := func(path string) req { return req{method: http.MethodGet, path: path, key: bootstrapSecret} }

	tests := []struct {
		name string
		give req
	}{
		{"by-external identifier NUL", get("/v1/customers/by-external/6/%00")},
		{"by-external identifier invalid UTF-8", get("/v1/customers/by-external/6/%FF")},
		{"find q NUL", get("/v1/customers?q=a%00b")},
		{"find q invalid UTF-8", get("/v1/customers?q=%FF")},
		{"find email NUL", get("/v1/customers?email=a%00@b.fi")},
		{"find email invalid UTF-8", get("/v1/customers?email=%FF@b.fi")},
		{"find group NUL", get("/v1/customers?group=%00")},
		{"find group invalid UTF-8", get("/v1/customers?group=%FF")},
		{"find identifier NUL", get("/v1/customers?systemId=6&identifier=%00")},
		{"find identifier invalid UTF-8", get("/v1/customers?systemId=6&identifier=%FF")},
		{"consents evidence NUL", put(pp+"/consents", `{"marketingEmail":true,"evidence":"a\u0000b"}`)},
		{"restriction reason NUL", put(pp+"/restriction", `{"reason":"a\u0000b"}`)},
		{"firstName NUL", post(`{"type":"person","firstName":"a\u0000","lastName":"b"}`)},
		{"email NUL", post(`{"type":"person","firstName":"a","lastName":"b","email":"a\u0000@b.fi"}`)},
		{"externalId NUL", post(`{"type":"person","firstName":"a","lastName":"b","externalId":"\u0000"}`)},
		{"customer card NUL", patchReq(pp, `{"customerCards":["\u0000"]}`)},
		{"link identifier NUL", patchReq(pp, `{"externalSystems":[{"systemId":6,"identifier":"\u0000"}]}`)},
		{"group NUL", patchReq(pp, `{"groups":["\u0000"]}`)},
		{"city NUL", patchReq(pp, `{"addresses":[{"type":"Home","streetAddress1":"a","postalCode":"00100","city":"\u0000"}]}`)},
		{"e-invoice broker NUL", patchReq(cp, `{"eInvoice":{"mode":"Broker","broker":"\u0000","address":"003707375462"}}`)},
		{"contact name NUL", post2(cp+"/contacts", `{"name":"\u0000"}`)},
		{"group externalId NUL", post2("/v1/groups", `{"externalId":"\u0000"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			r := e.do(tt.give)
			if r.Status == http.StatusOK && tt.give.method == http.MethodGet {
				// A search for text no customer can hold may also
				// simply find nothing.
				if p := decode[page](t, r); len(p.Items) != 0 {
					t.Errorf("hostile text found customers: %s", r)
				}
				return
			}
			if r.Status < 400 || r.Status >= 500 {
				t.Fatalf("hostile text: %s, want a 4xx problem", r)
			}
			e.wantProblem(r, r.Status, "")
		})
	}
	if got := e.customer(p.ID); got.Version != 1 || got.MarketingEmail || got.GDPRRestricted {
		t.Errorf("hostile text changed the person: %+v", got)
	}
}

// chunked is a body whose length the client does not announce.
type chunked string
