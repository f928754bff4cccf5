package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestLookupsAndFind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, g := range []string{"vip", "b2b"} {
		e.want(e.do(post2("/v1/groups", obj{"externalId": g})), http.StatusCreated)
	}
	eero := e.create(person("Eero", "Etsittävä", obj{
		"email":           "Eero.Etsi@example.fi",
		"phoneNumbers":    []string{"040 7654321"},
		"groups":          []string{"vip"},
		"externalSystems": []obj{{"systemId": 6, "identifier": "woo-77"}, {"systemId": 7, "identifier": "order#1 / x"}},
	}))
	firma := e.create(company("Hakukone Oy", "07375462", obj{
		"groups":          []string{"b2b"},
		"externalSystems": []obj{{"systemId": 5, "identifier": "mcf-1"}},
		"email":           "info@hakukone.fi",
	}))
	var fillers []Customer
	for i := range 10 {
		fillers = append(fillers, e.create(person("Täyte", "Numero"+strconv.Itoa(i), obj{"phoneNumbers": []string{"050 555 66" + strconv.Itoa(10+i)}})))
	}
	rauha := e.create(person("Rauha", "Rajattu", obj{"gdprRestricted": true, "email": "rauha@example.fi"}))
	visible := append([]Customer{eero, firma}, fillers...)

	// by-number and by-external.
	if got := decode[Customer](t, e.want(e.get("/v1/customers/by-number/"+strconv.FormatInt(eero.Number, 10), readerSecret), http.StatusOK)); got.ID != eero.ID {
		t.Errorf("by-number: %s, want %s", got.ID, eero.ID)
	}
	r := e.want(e.get("/v1/customers/by-number/"+strconv.FormatInt(firma.Number, 10), readerSecret), http.StatusOK)
	if r.Header.Get("ETag") != `"1"` {
		t.Errorf("by-number ETag %q", r.Header.Get("ETag"))
	}
	e.wantProblem(e.get("/v1/customers/by-number/99999999", readerSecret), http.StatusNotFound, "")
	for _, tt := range []struct {
		give string
		want string
	}{
		{"/v1/customers/by-external/6/woo-77", eero.ID},
		{"/v1/customers/by-external/7/" + url.PathEscape("order#1 / x"), eero.ID},
		{"/v1/customers/by-external/5/mcf-1", firma.ID},
	} {
		if got := decode[Customer](t, e.want(e.get(tt.give, readerSecret), http.StatusOK)); got.ID != tt.want {
			t.Errorf("GET %s: %s, want %s", tt.give, got.ID, tt.want)
		}
	}
	e.wantProblem(e.get("/v1/customers/by-external/5/woo-77", readerSecret), http.StatusNotFound, "")
	e.wantProblem(e.get("/v1/customers/by-external/6/nobody", readerSecret), http.StatusNotFound, "")

	// Find: free text and filters. Each wants exactly these customers.
	tests := []struct {
		name  string
		query string
		want  []Customer
	}{
		{"q last name", "q=" + url.QueryEscape("Etsittävä"), []Customer{eero}},
		{"q name, other case", "q=" + url.QueryEscape("ETSITTÄVÄ"), []Customer{eero}},
		{"q first and last name", "q=" + url.QueryEscape("eero etsittävä"), []Customer{eero}},
		{"q company name", "q=hakukone", []Customer{firma}},
		{"q email", "q=" + url.QueryEscape("eero.etsi@example.fi"), []Customer{eero}},
		{"q phone typed 040 with spaces", "q=" + url.QueryEscape("040 765 4321"), []Customer{eero}},
		{"q phone typed 040", "q=0407654321", []Customer{eero}},
		{"q phone in E.164", "q=" + url.QueryEscape("+358407654321"), []Customer{eero}},
		{"q customer number", "q=" + strconv.FormatInt(firma.Number, 10), []Customer{firma}},
		{"q nothing matches", "q=zyxwvu", nil},
		{"email, other case", "email=" + url.QueryEscape("EERO.ETSI@EXAMPLE.FI"), []Customer{eero}},
		{"phone typed 040", "phone=" + url.QueryEscape("040 765 4321"), []Customer{eero}},
		{"phone in E.164", "phone=" + url.QueryEscape("+358407654321"), []Customer{eero}},
		{"number", "number=" + strconv.FormatInt(eero.Number, 10), []Customer{eero}},
		{"businessId canonical", "businessId=0737546-2", []Customer{firma}},
		{"businessId with FI and no hyphen", "businessId=FI07375462", []Customer{firma}},
		{"group", "group=vip", []Customer{eero}},
		{"group of none", "group=nobody", nil},
		{"type company", "type=company", []Customer{firma}},
		{"type person", "type=person&limit=500", append([]Customer{eero}, fillers...)},
		{"systemId", "systemId=6", []Customer{eero}},
		{"systemId + identifier", "systemId=5&identifier=mcf-1", []Customer{firma}},
		{"identifier of another system", "systemId=5&identifier=woo-77", nil},
		{"filters combine", "type=person&group=b2b", nil},
		{"restricted left out of q", "q=Rajattu", nil},
		{"restricted left out of email", "email=rauha@example.fi", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.sub(t).find(tt.query, readerSecret)
			if !sameIDs(got.Items, tt.want) {
				t.Errorf("find %s: numbers %v, want %v", tt.query, numbers(got), numbersOf(tt.want))
			}
		})
	}

	// updatedSince: only what changed at or after the moment.
	mark := decode[Customer](t, e.want(e.patch(firma.ID, obj{"creditAllowed": true}, nil), http.StatusOK)).UpdatedAt
	e.want(e.patch(fillers[3].ID, obj{"lastName": "Muutettu"}, nil), http.StatusOK)
	got := e.find("updatedSince="+url.QueryEscape(mark.Format(time.RFC3339Nano)), readerSecret)
	if !sameIDs(got.Items, []Customer{firma, fillers[3]}) {
		t.Errorf("updatedSince %s: %v, want %v", mark.Format(time.RFC3339Nano), numbers(got), []int64{firma.Number, fillers[3].Number})
	}
	got = e.find("updatedSince="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), readerSecret)
	if len(got.Items) != 0 {
		t.Errorf("updatedSince in the future: %v", numbers(got))
	}

	// Restricted customers: left out by default; includeRestricted needs
	// admin; readable by id and number by an admin.
	if got := e.find("limit=500", bootstrapSecret); !sameIDs(got.Items, visible) {
		t.Errorf("default listing: %v, want %v (restricted left out)", numbers(got), numbersOf(visible))
	}
	e.wantProblem(e.get("/v1/customers?includeRestricted=true", writerSecret), http.StatusForbidden, "")
	e.wantProblem(e.get("/v1/customers?includeRestricted=true", readerSecret), http.StatusForbidden, "")
	if got := e.find("includeRestricted=false&limit=500", readerSecret); !sameIDs(got.Items, visible) {
		t.Errorf("includeRestricted=false: %v", numbers(got))
	}
	if got := e.find("includeRestricted=true&limit=500", bootstrapSecret); !sameIDs(got.Items, append(slices.Clone(visible), rauha)) {
		t.Errorf("includeRestricted: %v", numbers(got))
	}
	if got := e.find("includeRestricted=true&q=Rajattu", bootstrapSecret); !sameIDs(got.Items, []Customer{rauha}) {
		t.Errorf("includeRestricted q=Rajattu: %v", numbers(got))
	}
	e.want(e.get("/v1/customers/"+rauha.ID, bootstrapSecret), http.StatusOK)
	e.want(e.get("/v1/customers/by-number/"+strconv.FormatInt(rauha.Number, 10), bootstrapSecret), http.StatusOK)

	// Paging: 12 visible customers, 5 a page, each visited once, in
	// number order.
	var seen []Customer
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		q := "limit=5"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := e.find(q, readerSecret)
		if len(p.Items) > 5 {
			t.Fatalf("page of %d items with limit=5", len(p.Items))
		}
		seen = append(seen, p.Items...)
		if p.NextCursor == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3 (5+5+2)", pages+1)
			}
			break
		}
		cursor = p.NextCursor
	}
	if !equal(numbersOf(seen), numbersOf(visible)) {
		t.Errorf("paging visited %v, want %v each once in order", numbersOf(seen), numbersOf(visible))
	}
	// Paging combines with filters.
	p1 := e.find("type=person&limit=10", readerSecret)
	p2 := e.find("type=person&limit=10&cursor="+url.QueryEscape(p1.NextCursor), readerSecret)
	if len(p1.Items) != 10 || len(p2.Items) != 1 || p2.NextCursor != "" || p2.Items[0].ID != fillers[9].ID {
		t.Errorf("filtered paging: %v then %v (next %q)", numbers(p1), numbers(p2), p2.NextCursor)
	}
	// The default page size is 50, the maximum 500.
	if p := e.find("", readerSecret); len(p.Items) != 12 || p.NextCursor != "" {
		t.Errorf("default page: %d items, next %q", len(p.Items), p.NextCursor)
	}
	e.want(e.get("/v1/customers?limit=500", readerSecret), http.StatusOK)
	e.wantProblem(e.get("/v1/customers?limit=501", readerSecret), http.StatusUnprocessableEntity, "query.limit")
}

func sameIDs(got, want []Customer) bool {
	if len(got) != len(want) {
		return false
	}
	ids := map[string]bool{}
	for _, c := range want {
		ids[c.ID] = true
	}
	for _, c := range got {
		if !ids[c.ID] {
			return false
		}
		delete(ids, c.ID)
	}
	return len(ids) == 0
}

func numbersOf(cs []Customer) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Number
	}
	return out
}
