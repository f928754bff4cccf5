package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
)

// TestUniqueness: every identifier that domain.md calls unique is refused
// with 409 naming the field, and erasure releases them all.
func TestUniqueness(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	holder := e.create(person("Anna", "Alkuperäinen", obj{
		"email":           "anna.alku@example.fi",
		"externalId":      "EXT-1",
		"netvisorId":      "NV-1",
		"externalSystems": []obj{{"systemId": 6, "identifier": "woo-1"}, {"systemId": 22, "identifier": "res-9"}},
		"customerCards":   []string{"CARD-1", "CARD-2"},
		"ssn":             "131052-308T",
	}))
	other := e.create(person("Olli", "Toinen", nil))

	tests := []struct {
		name  string
		give  obj
		field string
	}{
		{"email, same case", obj{"email": "anna.alku@example.fi"}, "body.email"},
		{"email, other case", obj{"email": "ANNA.Alku@EXAMPLE.fi"}, "body.email"},
		{"externalId", obj{"externalId": "EXT-1"}, "body.externalId"},
		{"netvisorId", obj{"netvisorId": "NV-1"}, "body.netvisorId"},
		{"external link pair", obj{"externalSystems": []obj{{"systemId": 6, "identifier": "woo-1"}}}, "body.externalSystems"},
		{"second external link", obj{"externalSystems": []obj{{"systemId": 7, "identifier": "free"}, {"systemId": 22, "identifier": "res-9"}}}, "body.externalSystems"},
		{"customer card", obj{"customerCards": []string{"CARD-2"}}, "body.customerCards"},
		{"ssn", obj{"ssn": "131052-308T"}, "body.ssn"},
	}
	for _, tt := range tests {
		t.Run("create/"+tt.name, func(t *testing.T) {
			e := e.sub(t)
			e.wantProblem(e.do(post(person("Uusi", "Asiakas", tt.give))), http.StatusConflict, tt.field)
		})
		t.Run("patch/"+tt.name, func(t *testing.T) {
			e := e.sub(t)
			e.wantProblem(e.patch(other.ID, tt.give, nil), http.StatusConflict, tt.field)
		})
	}
	// The refused patches changed nothing, and the refused creates stored
	// nothing.
	if got := e.customer(other.ID); got.Version != 1 || got.Email != "" || len(got.ExternalSystems) != 0 || len(got.CustomerCards) != 0 {
		t.Errorf("refused patches changed the customer: %+v", got)
	}
	if n := len(e.find("limit=500", bootstrapSecret).Items); n != 2 {
		t.Errorf("%d customers listed, want 2", n)
	}

	// Only the pair is unique: the same identifier in another system, and
	// the same digits with another century sign (another person), are free.
	e.create(person("Vapaa", "Pari", obj{"externalSystems": []obj{{"systemId": 5, "identifier": "woo-1"}}}))
	e.create(person("Satu", "Sata", obj{"ssn": "100190-999P"}))
	e.create(person("Ylva", "Ypsilon", obj{"ssn": "100190Y999P"}))

	// Groups are unique by externalId.
	e.want(e.do(post2("/v1/groups", obj{"externalId": "vip", "name": "VIP"})), http.StatusCreated)
	e.wantProblem(e.do(post2("/v1/groups", obj{"externalId": "vip", "name": "Toinen"})), http.StatusConflict, "body.externalId")

	// Erasure (GDPR) releases every identifier.
	r := e.want(e.do(req{method: http.MethodDelete, path: "/v1/customers/" + holder.ID, key: bootstrapSecret}), http.StatusOK)
	erased := decode[Customer](t, r)
	if erased.ErasedAt == nil || erased.Email != "" || erased.SSN != "" || erased.FirstName == "Anna" ||
		erased.ExternalID != "" || erased.NetvisorID != "" || len(erased.ExternalSystems) != 0 || len(erased.CustomerCards) != 0 {
		t.Errorf("erased record still holds personal data or identifiers: %+v", erased)
	}
	if erased.Number != holder.Number || erased.ID != holder.ID {
		t.Errorf("erasure changed the number or id: %+v", erased)
	}
	if r.Header.Get("ETag") != `"`+strconv.FormatInt(erased.Version, 10)+`"` || erased.Version <= holder.Version {
		t.Errorf("erasure: ETag %q version %d", r.Header.Get("ETag"), erased.Version)
	}

	heir := e.create(person("Perijä", "Uusi", obj{
		"email":           "Anna.Alku@example.fi",
		"externalId":      "EXT-1",
		"netvisorId":      "NV-1",
		"externalSystems": []obj{{"systemId": 6, "identifier": "woo-1"}, {"systemId": 22, "identifier": "res-9"}},
		"customerCards":   []string{"CARD-1", "CARD-2"},
		"ssn":             "131052-308T",
	}))
	if got := decode[Customer](t, e.want(e.get("/v1/customers/by-external/6/woo-1", readerSecret), http.StatusOK)); got.ID != heir.ID {
		t.Errorf("by-external after erasure: %s, want the new holder %s", got.ID, heir.ID)
	}

	// The erased customer no longer shows in find, whatever the filter,
	// not even to an admin asking for restricted customers.
	for _, q := range []string{
		"q=" + url.QueryEscape("Alkuperäinen"),
		"q=" + strconv.FormatInt(holder.Number, 10),
		"number=" + strconv.FormatInt(holder.Number, 10),
		"email=" + url.QueryEscape("anna.alku@example.fi"),
		"limit=500",
		"limit=500&includeRestricted=true",
	} {
		for _, c := range e.find(q, bootstrapSecret).Items {
			if c.ID == holder.ID {
				t.Errorf("find %s lists the erased customer", q)
			}
		}
	}
	// An erased record cannot be changed again, not even by an admin.
	for _, rq := range []req{
		patchReq("/v1/customers/"+holder.ID, obj{"firstName": "Zombie", "lastName": "Z", "email": "zombie@example.fi"}),
		put("/v1/customers/"+holder.ID+"/consents", obj{"marketingEmail": true}),
		{method: http.MethodDelete, path: "/v1/customers/" + holder.ID + "/restriction", key: bootstrapSecret},
	} {
		e.wantProblem(e.do(rq), http.StatusConflict, "")
	}
	if got := e.customer(holder.ID); got.Version != erased.Version || got.FirstName != "" || !got.GDPRRestricted || got.ErasedAt == nil {
		t.Errorf("the erased record changed: %+v", got)
	}
	// The erasure is itself in the audit outbox.
	var erasure []string
	for _, ev := range e.outbox(holder.ID) {
		if ev.Source == "erasure" {
			erasure = append(erasure, ev.Consent)
		}
	}
	if !slices.Contains(erasure, "erased") || !slices.Contains(erasure, "gdprRestricted") {
		t.Errorf("erasure events in the outbox: %v, want erased and gdprRestricted", erasure)
	}

	// To a caller without admin it no longer exists at all.
	e.wantProblem(e.get("/v1/customers/"+holder.ID, writerSecret), http.StatusNotFound, "")
	e.wantProblem(e.get("/v1/customers/by-number/"+strconv.FormatInt(holder.Number, 10), writerSecret), http.StatusNotFound, "")
	e.wantProblem(e.do(req{method: http.MethodDelete, path: "/v1/customers/" + holder.ID, key: writerSecret}), http.StatusNotFound, "")
}
