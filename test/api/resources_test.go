package api

import (
	"net/http"
	"testing"

	"github.com/google/uuid"
)

func TestConsentsAndRestriction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.create(person("Kaisa", "Kuluttaja", obj{"email": "kaisa@example.fi"}))
	path := "/v1/customers/" + p.ID
	putConsents := func(key string, body obj, header map[string]string) *response {
		return e.do(req{method: http.MethodPut, path: path + "/consents", key: key, body: body, header: header})
	}
	if ev := e.outbox(p.ID); len(ev) != 0 {
		t.Errorf("a new customer without consents recorded events: %+v", ev)
	}

	// Grant with evidence.
	r := e.want(putConsents(writerSecret, obj{"marketingEmail": true, "evidence": "Signed paper form, store 12"},
		map[string]string{"X-Request-Id": "req-consent-1"}), http.StatusOK)
	got := decode[Customer](t, r)
	if !got.MarketingEmail || got.MarketingSMS || got.Version != 2 || r.Header.Get("ETag") != `"2"` {
		t.Errorf("after granting email: %+v ETag %q", got, r.Header.Get("ETag"))
	}
	want := []outboxEvent{{Consent: "marketingEmail", Old: false, New: true, Source: "api", Actor: "apikey:e2e-writer",
		RequestID: "req-consent-1", Evidence: "Signed paper form, store 12"}}
	if ev := e.outbox(p.ID); !equal(ev, want) {
		t.Errorf("outbox = %+v\nwant %+v", ev, want)
	}
	// A consent left out stays as it is.
	got = decode[Customer](t, e.want(putConsents(writerSecret, obj{"marketingSms": true}, nil), http.StatusOK))
	if !got.MarketingEmail || !got.MarketingSMS || got.Version != 3 {
		t.Errorf("after granting sms: %+v", got)
	}
	// Setting what is already set changes nothing and records nothing.
	for _, noop := range []obj{{"marketingEmail": true}, {}, {"marketingSms": true, "evidence": "again"}} {
		r := e.want(putConsents(writerSecret, noop, nil), http.StatusOK)
		if r.Header.Get("ETag") != `"3"` {
			t.Errorf("no-op consents %v: ETag %q, want \"3\"", noop, r.Header.Get("ETag"))
		}
	}
	if ev := e.outbox(p.ID); len(ev) != 2 {
		t.Errorf("%d outbox events after one email and one sms change, want 2: %+v", len(ev), ev)
	}
	// Withdrawal.
	got = decode[Customer](t, e.want(putConsents(writerSecret, obj{"marketingEmail": false, "evidence": "unsubscribe link"}, nil), http.StatusOK))
	if got.MarketingEmail || !got.MarketingSMS {
		t.Errorf("after withdrawing email: %+v", got)
	}
	if ev := e.outbox(p.ID); len(ev) != 3 || ev[2].Consent != "marketingEmail" || ev[2].Old != true || ev[2].New != false || ev[2].Evidence != "unsubscribe link" {
		t.Errorf("withdrawal event: %+v", ev)
	}
	e.wantProblem(putConsents(readerSecret, obj{"marketingEmail": true}, nil), http.StatusForbidden, "")
	e.wantProblem(e.do(req{method: http.MethodPut, path: "/v1/customers/" + uuid.NewString() + "/consents", key: writerSecret, body: obj{"marketingEmail": true}}), http.StatusNotFound, "")

	// A new customer's consent given at creation is one event.
	c2 := e.create(person("Uusi", "Suostuja", obj{"marketingSms": true}))
	if ev := e.outbox(c2.ID); len(ev) != 1 || ev[0].Consent != "marketingSms" || ev[0].Old || !ev[0].New {
		t.Errorf("create with marketingSms: outbox %+v", ev)
	}

	// Restriction: PUT with a reason; then the customer leaves listings and
	// is hidden from callers without admin.
	r = e.want(e.do(req{method: http.MethodPut, path: path + "/restriction", key: writerSecret, body: obj{"reason": "asiakkaan pyyntö"}}), http.StatusOK)
	if got := decode[Customer](t, r); !got.GDPRRestricted {
		t.Errorf("after PUT restriction: gdprRestricted false")
	}
	ev := e.outbox(p.ID)
	if last := ev[len(ev)-1]; last.Consent != "gdprRestricted" || !last.New || last.Evidence != "asiakkaan pyyntö" {
		t.Errorf("restriction event: %+v", last)
	}
	if f := e.find("email=kaisa@example.fi", bootstrapSecret); len(f.Items) != 0 {
		t.Errorf("a restricted customer is listed")
	}
	e.wantProblem(e.get(path, writerSecret), http.StatusNotFound, "")
	if got := e.customer(p.ID); !got.GDPRRestricted {
		t.Errorf("admin read: gdprRestricted false")
	}
	// Lifting needs admin.
	e.wantProblem(e.do(req{method: http.MethodDelete, path: path + "/restriction", key: writerSecret}), http.StatusForbidden, "")
	if got := e.customer(p.ID); !got.GDPRRestricted {
		t.Errorf("a refused lift lifted the restriction")
	}
	r = e.want(e.do(req{method: http.MethodDelete, path: path + "/restriction", key: bootstrapSecret, body: obj{"reason": "kielto päättyi"}}), http.StatusOK)
	if got := decode[Customer](t, r); got.GDPRRestricted {
		t.Errorf("after DELETE restriction: still restricted")
	}
	if f := e.find("email=kaisa@example.fi", readerSecret); len(f.Items) != 1 {
		t.Errorf("a lifted customer is not listed again")
	}
	ev = e.outbox(p.ID)
	if last := ev[len(ev)-1]; last.Consent != "gdprRestricted" || !last.Old || last.New || last.Actor != "apikey:bootstrap" || last.Evidence != "kielto päättyi" {
		t.Errorf("lift event: %+v", last)
	}

	// Without ClickHouse the audit queries say so, as a problem.
	e.wantProblem(e.get(path+"/consent-history", bootstrapSecret), http.StatusServiceUnavailable, "")
}

func TestContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(company("Yhteys Oy", "0737546-2", nil))
	p := e.create(person("Yksi", "Henkilö", nil))
	cp := "/v1/customers/" + c.ID + "/contacts"
	add := func(key, path string, body obj) *response {
		return e.do(req{method: http.MethodPost, path: path, key: key, body: body})
	}

	r := e.want(add(writerSecret, cp, obj{"name": "Leena Laskuttaja", "role": "CFO", "email": "leena@yhteys.fi", "phone": "040 1234567"}), http.StatusCreated)
	c1 := decode[Contact](t, r)
	if _, err := uuid.Parse(c1.ID); err != nil || c1.Name != "Leena Laskuttaja" || c1.Role != "CFO" || c1.Phone != "+358401234567" {
		t.Errorf("contact = %+v", c1)
	}
	if r.Header.Get("ETag") != `"2"` {
		t.Errorf("contact ETag %q, want the customer's version \"2\"", r.Header.Get("ETag"))
	}
	c2 := decode[Contact](t, e.want(add(writerSecret, cp, obj{"name": "Matti Myyjä"}), http.StatusCreated))

	r = e.want(e.get(cp, readerSecret), http.StatusOK)
	list := decode[struct{ Items []Contact }](t, r)
	if len(list.Items) != 2 || list.Items[0].ID != c1.ID || list.Items[1].ID != c2.ID || r.Header.Get("ETag") != `"3"` {
		t.Errorf("contacts = %+v ETag %q", list.Items, r.Header.Get("ETag"))
	}
	if got := e.customer(c.ID); len(got.Contacts) != 2 {
		t.Errorf("the customer shows %d contacts", len(got.Contacts))
	}

	// A person has no contacts; nor has an unknown customer; a reader may
	// not add.
	r = add(writerSecret, "/v1/customers/"+p.ID+"/contacts", obj{"name": "Ei Käy"})
	if r.Status < 400 || r.Status >= 500 {
		t.Fatalf("a contact for a person: %s", r)
	}
	e.wantProblem(r, http.StatusUnprocessableEntity, "")
	e.wantProblem(add(writerSecret, "/v1/customers/"+uuid.NewString()+"/contacts", obj{"name": "Ei Ketään"}), http.StatusNotFound, "")
	e.wantProblem(add(readerSecret, cp, obj{"name": "Luku Vain"}), http.StatusForbidden, "")
	if got := e.customer(p.ID); len(got.Contacts) != 0 || got.Version != 1 {
		t.Errorf("the person changed: %+v", got)
	}
	// A company with contacts cannot become a person.
	e.wantProblem(e.patch(c.ID, obj{"type": "person", "firstName": "A", "lastName": "B", "companyName": nil, "businessId": nil}, nil),
		http.StatusUnprocessableEntity, "body.contacts")

	// Export (GDPR access) holds everything, contacts included.
	e.want(e.do(post2("/v1/groups", obj{"externalId": "kumppanit"})), http.StatusCreated)
	e.want(e.patch(c.ID, obj{
		"email":           "info@yhteys.fi",
		"groups":          []string{"kumppanit"},
		"customerCards":   []string{"Y-1"},
		"externalSystems": []obj{{"systemId": 1, "identifier": "m-5"}},
		"addresses":       []obj{{"type": "Invoice", "streetAddress1": "Laskutie 1", "postalCode": "00100", "city": "Helsinki"}},
		"eInvoice":        obj{"mode": "Email", "email": "laskut@yhteys.fi"},
	}, nil), http.StatusOK)
	ex := decode[struct {
		GeneratedAt string   `json:"generatedAt"`
		Customer    Customer `json:"customer"`
	}](t, e.want(e.get("/v1/customers/"+c.ID+"/export", readerSecret), http.StatusOK))
	x := ex.Customer
	if ex.GeneratedAt == "" || x.ID != c.ID || x.Number != c.Number || x.CompanyName != "Yhteys Oy" || x.Email != "info@yhteys.fi" ||
		len(x.Contacts) != 2 || x.Contacts[0].Email != "leena@yhteys.fi" || !equal(x.Groups, []string{"kumppanit"}) ||
		!equal(x.CustomerCards, []string{"Y-1"}) || len(x.ExternalSystems) != 1 || len(x.Addresses) != 1 ||
		x.EInvoice.Email != "laskut@yhteys.fi" || x.CreatedAt.IsZero() {
		t.Errorf("export = %+v", ex)
	}

	// Remove one contact.
	r = e.want(e.do(req{method: http.MethodDelete, path: cp + "/" + c1.ID, key: writerSecret}), http.StatusNoContent)
	if etag := r.Header.Get("ETag"); etag == "" {
		t.Errorf("DELETE contact: no ETag")
	}
	list = decode[struct{ Items []Contact }](t, e.want(e.get(cp, readerSecret), http.StatusOK))
	if len(list.Items) != 1 || list.Items[0].ID != c2.ID {
		t.Errorf("after removing one: %+v", list.Items)
	}
	e.wantProblem(e.do(req{method: http.MethodDelete, path: cp + "/" + c1.ID, key: writerSecret}), http.StatusNotFound, "")
	e.wantProblem(e.do(req{method: http.MethodDelete, path: cp + "/" + c2.ID, key: readerSecret}), http.StatusForbidden, "")
	e.wantProblem(e.get("/v1/customers/"+uuid.NewString()+"/contacts", readerSecret), http.StatusNotFound, "")

	// api.md: DELETE honours If-Match. The contacts carry the customer's
	// ETag, so removing one with a stale ETag is 412.
	t.Run("If-Match on DELETE contact", func(t *testing.T) {
		e := e.sub(t)
		etag := e.want(e.get(cp, readerSecret), http.StatusOK).Header.Get("ETag")
		e.want(e.patch(c.ID, obj{"creditAllowed": true}, nil), http.StatusOK) // etag is now stale
		r := e.do(req{method: http.MethodDelete, path: cp + "/" + c2.ID, key: writerSecret, header: map[string]string{"If-Match": etag}})
		if r.Status == http.StatusNoContent {
			t.Errorf("DELETE %s/{contactId} with the stale If-Match %s answered 204 and removed the contact", cp, etag)
		}
		e.wantProblem(r, http.StatusPreconditionFailed, "header.If-Match")
		if got := e.customer(c.ID); len(got.Contacts) != 1 {
			t.Errorf("a stale If-Match removed the contact")
		}
		cur := e.want(e.get(cp, readerSecret), http.StatusOK).Header.Get("ETag")
		e.want(e.do(req{method: http.MethodDelete, path: cp + "/" + c2.ID, key: writerSecret, header: map[string]string{"If-Match": cur}}), http.StatusNoContent)
	})
}

func TestGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.want(e.do(post2("/v1/groups", obj{"externalId": "vip", "name": "Tärkeät asiakkaat"})), http.StatusCreated)
	if g := decode[struct{ ExternalID, Name string }](t, r); g.ExternalID != "vip" || g.Name != "Tärkeät asiakkaat" {
		t.Errorf("created group = %+v", g)
	}
	e.want(e.do(post2("/v1/groups", obj{"externalId": "kanta"})), http.StatusCreated)
	e.wantProblem(e.do(req{method: http.MethodPost, path: "/v1/groups", key: readerSecret, body: obj{"externalId": "x"}}), http.StatusForbidden, "")

	type group struct {
		ExternalID string `json:"externalId"`
		Name       string `json:"name"`
	}
	list := decode[struct{ Items []group }](t, e.want(e.get("/v1/groups", readerSecret), http.StatusOK))
	if want := []group{{"kanta", "kanta"}, {"vip", "Tärkeät asiakkaat"}}; !equal(list.Items, want) {
		t.Errorf("groups = %+v, want %+v", list.Items, want)
	}

	// A customer naming an unknown group is refused.
	e.wantProblem(e.do(post(person("Ryhmä", "Tuntematon", obj{"groups": []string{"vip", "nope"}}))), http.StatusUnprocessableEntity, "body.groups")
	p := e.create(person("Ryhmä", "Jäsen", nil))
	e.wantProblem(e.patch(p.ID, obj{"groups": []string{"nope"}}, nil), http.StatusUnprocessableEntity, "body.groups")

	// Membership through PATCH groups.
	members := func(g string) []int64 { return numbers(e.find("group="+g, readerSecret)) }
	e.want(e.patch(p.ID, obj{"groups": []string{"vip"}}, nil), http.StatusOK)
	if m := members("vip"); !equal(m, []int64{p.Number}) || len(members("kanta")) != 0 {
		t.Errorf("after joining vip: vip %v kanta %v", m, members("kanta"))
	}
	got := decode[Customer](t, e.want(e.patch(p.ID, obj{"groups": []string{"kanta", "vip"}}, nil), http.StatusOK))
	if len(got.Groups) != 2 || !equal(members("kanta"), []int64{p.Number}) || !equal(members("vip"), []int64{p.Number}) {
		t.Errorf("after joining both: %v", got.Groups)
	}
	e.want(e.patch(p.ID, obj{"groups": nil}, nil), http.StatusOK)
	if len(members("vip")) != 0 || len(members("kanta")) != 0 || len(e.customer(p.ID).Groups) != 0 {
		t.Errorf("groups: null left memberships")
	}
	if v := e.customer(p.ID).Version; v != 4 {
		t.Errorf("version %d after three membership changes, want 4", v)
	}
}
