package api

import (
	"net/http"
	"strconv"
	"testing"
)

// TestPatchMergeSemantics: RFC 7396 as api.md describes it.
func TestPatchMergeSemantics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.want(e.do(post2("/v1/groups", obj{"externalId": "vip", "name": "VIP"})), http.StatusCreated)
	e.want(e.do(post2("/v1/groups", obj{"externalId": "b2b"})), http.StatusCreated)

	p := e.create(person("Pirjo", "Paikkaus", obj{
		"email":           "pirjo@example.fi",
		"language":        "sv",
		"phoneNumbers":    []string{"040 1111111", "050 2222222"},
		"customerCards":   []string{"C-1", "C-2"},
		"externalSystems": []obj{{"systemId": 6, "identifier": "w-1"}},
		"groups":          []string{"vip"},
		"addresses": []obj{
			{"type": "Home", "streetAddress1": "Kotikatu 1", "postalCode": "00100", "city": "Helsinki"},
			{"type": "Delivery", "streetAddress1": "Pakettitie 2", "postalCode": "33100", "city": "Tampere"},
		},
		"marketingEmail": true,
		"creditAllowed":  true,
		"externalId":     "P-1",
	}))
	path := "/v1/customers/" + p.ID

	// Absent keeps: a patch of one field changes only that field.
	r := e.want(e.patch(p.ID, obj{"firstName": "Pirkko"}, nil), http.StatusOK)
	got := decode[Customer](t, r)
	if got.FirstName != "Pirkko" || got.Version != 2 || r.Header.Get("ETag") != `"2"` {
		t.Fatalf("after a one-field patch: firstName %q version %d ETag %q", got.FirstName, got.Version, r.Header.Get("ETag"))
	}
	keptSame(t, p, got)
	if !got.UpdatedAt.After(p.UpdatedAt) || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("updatedAt %v (was %v), createdAt %v (was %v)", got.UpdatedAt, p.UpdatedAt, got.CreatedAt, p.CreatedAt)
	}
	// The change is stored, not only answered.
	if stored := e.customer(p.ID); stored.FirstName != "Pirkko" || stored.Version != 2 {
		t.Errorf("stored after patch: %q version %d", stored.FirstName, stored.Version)
	}

	// null clears (or restores the default); a value sets.
	got = decode[Customer](t, e.want(e.patch(p.ID, obj{
		"email":          nil,
		"language":       nil,
		"marketingEmail": nil,
		"externalId":     nil,
		"creditAllowed":  false,
		"marketingSms":   true,
		"netvisorId":     "NV-7",
	}, nil), http.StatusOK))
	if got.Email != "" || got.Language != "fi" || got.MarketingEmail || got.ExternalID != "" ||
		got.CreditAllowed || !got.MarketingSMS || got.NetvisorID != "NV-7" {
		t.Errorf("null/value patch: %+v", got)
	}
	if got.Version != 3 || got.FirstName != "Pirkko" || len(got.PhoneNumbers) != 2 {
		t.Errorf("null/value patch touched more: %+v", got)
	}

	// Lists are replaced whole when present.
	got = decode[Customer](t, e.want(e.patch(p.ID, obj{
		"phoneNumbers":    []string{"+358 44 3333333"},
		"customerCards":   []string{"C-3"},
		"externalSystems": []obj{{"systemId": 22, "identifier": "r-1"}},
		"groups":          []string{"b2b"},
		"addresses":       []obj{{"type": "Invoice", "streetAddress1": "Laskukuja 3", "postalCode": "20100", "city": "Turku"}},
	}, nil), http.StatusOK))
	if !equal(got.PhoneNumbers, []string{"+358443333333"}) || !equal(got.CustomerCards, []string{"C-3"}) ||
		!equal(got.Groups, []string{"b2b"}) || !equal(got.ExternalSystems, []ExternalLink{{22, "r-1"}}) ||
		len(got.Addresses) != 1 || got.Addresses[0].City != "Turku" {
		t.Errorf("lists not replaced whole: %+v", got)
	}
	// The replaced identifiers are free for others, the new ones taken.
	e.create(person("Toinen", "Kortti", obj{"customerCards": []string{"C-1"}, "externalSystems": []obj{{"systemId": 6, "identifier": "w-1"}}}))
	e.wantProblem(e.do(post(person("Kolmas", "Kortti", obj{"customerCards": []string{"C-3"}}))), http.StatusConflict, "body.customerCards")
	if f := e.find("group=vip", bootstrapSecret); len(f.Items) != 0 {
		t.Errorf("group=vip lists %d customers after the groups were replaced", len(f.Items))
	}
	// An empty list and null both empty a list.
	got = decode[Customer](t, e.want(e.patch(p.ID, obj{"phoneNumbers": []string{}, "addresses": nil, "groups": nil}, nil), http.StatusOK))
	if len(got.PhoneNumbers) != 0 || len(got.Addresses) != 0 || len(got.Groups) != 0 {
		t.Errorf("[] and null did not empty the lists: %+v", got)
	}

	// No-op patches keep the version and ETag.
	before := e.customer(p.ID)
	for _, noop := range []any{obj{}, obj{"firstName": "Pirkko"}, obj{"phoneNumbers": []string{}, "netvisorId": "NV-7", "marketingSms": true}} {
		r := e.want(e.patch(p.ID, noop, nil), http.StatusOK)
		if got := decode[Customer](t, r); got.Version != before.Version || !got.UpdatedAt.Equal(before.UpdatedAt) ||
			r.Header.Get("ETag") != `"`+strconv.FormatInt(before.Version, 10)+`"` {
			t.Errorf("no-op patch %v: version %d ETag %q updatedAt %v, want version %d and no change",
				noop, got.Version, r.Header.Get("ETag"), got.UpdatedAt, before.Version)
		}
	}
	if after := e.customer(p.ID); after.Version != before.Version {
		t.Errorf("no-op patches stored a new version %d (was %d)", after.Version, before.Version)
	}

	// If-Match: a stale version is 412 and changes nothing; the current one
	// is 200 with the new ETag.
	cur := strconv.FormatInt(before.Version, 10)
	stale := strconv.FormatInt(before.Version-1, 10)
	e.wantProblem(e.patch(p.ID, obj{"lastName": "Vanha"}, map[string]string{"If-Match": `"` + stale + `"`}), http.StatusPreconditionFailed, "header.If-Match")
	e.wantProblem(e.do(req{method: http.MethodDelete, path: path, key: bootstrapSecret, header: map[string]string{"If-Match": `"` + stale + `"`}}), http.StatusPreconditionFailed, "header.If-Match")
	e.wantProblem(e.do(req{method: http.MethodPut, path: path + "/consents", key: bootstrapSecret, body: obj{"marketingEmail": true}, header: map[string]string{"If-Match": `"` + stale + `"`}}), http.StatusPreconditionFailed, "header.If-Match")
	e.wantProblem(e.patch(p.ID, obj{"lastName": "Vanha"}, map[string]string{"If-Match": `W/"` + cur + `"`}), http.StatusBadRequest, "header.If-Match")
	if got := e.customer(p.ID); got.LastName != "Paikkaus" || got.Version != before.Version || got.ErasedAt != nil || got.MarketingEmail {
		t.Errorf("a stale If-Match changed the customer: %+v", got)
	}
	r = e.want(e.patch(p.ID, obj{"lastName": "Uusi"}, map[string]string{"If-Match": `"` + cur + `"`}), http.StatusOK)
	want := `"` + strconv.FormatInt(before.Version+1, 10) + `"`
	if got := decode[Customer](t, r); r.Header.Get("ETag") != want || got.LastName != "Uusi" {
		t.Errorf("If-Match current: ETag %q lastName %q, want %s and Uusi", r.Header.Get("ETag"), got.LastName, want)
	}
	// The ETag of a GET is what If-Match takes.
	etag := e.want(e.get(path, readerSecret), http.StatusOK).Header.Get("ETag")
	e.want(e.patch(p.ID, obj{"lastName": "Taas"}, map[string]string{"If-Match": etag}), http.StatusOK)
	e.wantProblem(e.patch(p.ID, obj{"lastName": "Myöhässä"}, map[string]string{"If-Match": etag}), http.StatusPreconditionFailed, "header.If-Match")
}

// keptSame checks that a one-field patch kept every other field.
func keptSame(t *testing.T, was, is Customer) {
	t.Helper()
	if is.Email != was.Email || is.Language != was.Language || is.LastName != was.LastName ||
		!equal(is.PhoneNumbers, was.PhoneNumbers) || !equal(is.CustomerCards, was.CustomerCards) ||
		!equal(is.ExternalSystems, was.ExternalSystems) || !equal(is.Groups, was.Groups) ||
		!equal(is.Addresses, was.Addresses) || is.MarketingEmail != was.MarketingEmail ||
		is.CreditAllowed != was.CreditAllowed || is.ExternalID != was.ExternalID || is.Number != was.Number {
		t.Errorf("a one-field patch changed other fields:\n was %+v\n  is %+v", was, is)
	}
}

// TestPatchEInvoice: eInvoice is merged field by field; null clears it.
func TestPatchEInvoice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(company("Laskuttaja Oy", "0737546-2", obj{
		"eInvoice": obj{"mode": "Broker", "broker": "003721291126", "address": "003707375462"},
	}))
	if c.EInvoice != (EInvoice{Mode: "Broker", Broker: "003721291126", Address: "003707375462"}) {
		t.Fatalf("created eInvoice = %+v", c.EInvoice)
	}

	// One member changes; the others stay.
	got := decode[Customer](t, e.want(e.patch(c.ID, obj{"eInvoice": obj{"address": "FI4950009420028730"}}, nil), http.StatusOK))
	if want := (EInvoice{Mode: "Broker", Broker: "003721291126", Address: "FI4950009420028730"}); got.EInvoice != want {
		t.Errorf("eInvoice after a one-member patch = %+v, want %+v", got.EInvoice, want)
	}
	// Switch to Email: mode and email set, broker and address kept.
	got = decode[Customer](t, e.want(e.patch(c.ID, obj{"eInvoice": obj{"mode": "Email", "email": "laskut@laskuttaja.fi"}}, nil), http.StatusOK))
	if got.EInvoice.Mode != "Email" || got.EInvoice.Email != "laskut@laskuttaja.fi" || got.EInvoice.Broker != "003721291126" {
		t.Errorf("eInvoice after switching to Email = %+v", got.EInvoice)
	}
	// A member set to null clears only that member; clearing what the mode
	// needs is refused.
	got = decode[Customer](t, e.want(e.patch(c.ID, obj{"eInvoice": obj{"broker": nil}}, nil), http.StatusOK))
	if got.EInvoice.Broker != "" || got.EInvoice.Mode != "Email" || got.EInvoice.Address == "" {
		t.Errorf("eInvoice after broker: null = %+v", got.EInvoice)
	}
	e.wantProblem(e.patch(c.ID, obj{"eInvoice": obj{"email": nil}}, nil), http.StatusUnprocessableEntity, "body.eInvoice.email")
	// null clears every e-invoice setting.
	got = decode[Customer](t, e.want(e.patch(c.ID, obj{"eInvoice": nil}, nil), http.StatusOK))
	if got.EInvoice != (EInvoice{}) {
		t.Errorf("eInvoice after null = %+v, want empty", got.EInvoice)
	}
	if got.CompanyName != "Laskuttaja Oy" || got.BusinessID != "0737546-2" {
		t.Errorf("eInvoice patches changed the company: %+v", got)
	}
}
