package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// TestBodySchemasRequireWhatTheServerRequires checks the documented
// schemas of the customer bodies, which the handlers decode themselves
// (mergepatch.go) rather than Huma, against what the server really does: an
// item of a list that holds only the properties its schema requires is
// accepted; leaving out any one of them is refused naming it; a property
// the schema lets be null is accepted as null. (The other bodies are
// validated by Huma against their schemas, so they agree by construction.)
func TestBodySchemasRequireWhatTheServerRequires(t *testing.T) {
	h := newHarness(t)
	schemas := h.api.huma.OpenAPI().Components.Schemas.Map()
	// Valid values of every property of the item schemas.
	samples := map[string]map[string]any{
		"AddressWrite": {"type": "Home", "streetAddress1": "Mannerheimintie 1", "streetAddress2": "B 12", "postalCode": "00100", "city": "Helsinki", "country": "FI"},
		"ExternalLink": {"systemId": 6, "identifier": "wc-1"},
	}
	base := map[string]any{"firstName": "Aino", "lastName": "Virtanen"}
	sent := 0

	for _, body := range []struct{ schema, method string }{{"CustomerWrite", "POST"}, {"CustomerPatch", "PATCH"}} {
		s := schemas[body.schema]
		if s == nil {
			t.Fatalf("no schema %s", body.schema)
		}
		checked := 0
		for _, prop := range slices.Sorted(maps.Keys(s.Properties)) {
			items := s.Properties[prop].Items
			if items == nil || items.Ref == "" {
				continue
			}
			name := strings.TrimPrefix(items.Ref, "#/components/schemas/")
			item := schemas[name]
			sample, ok := samples[name]
			if !ok {
				if item.Type == huma.TypeObject {
					t.Errorf("%s.%s: items of %s, which this test has no sample of", body.schema, prop, name)
				}
				continue
			}
			checked++
			minimal := map[string]any{}
			for _, r := range item.Required {
				minimal[r] = sample[r]
			}
			send := func(it map[string]any) resp {
				sent++
				if id, ok := it["identifier"].(string); ok {
					// A link belongs to one customer: a new one each time.
					it["identifier"] = fmt.Sprintf("%s-%d", id, sent)
				}
				b := maps.Clone(base)
				b[prop] = []any{it}
				raw, _ := json.Marshal(b)
				path := "/v1/customers"
				if body.method == "PATCH" {
					path = "/v1/customers/" + h.do(req{method: "POST", path: path, key: "writer", body: `{"firstName":"A","lastName":"B"}`}).want(t, http.StatusCreated).customer(t).ID
				}
				return h.do(req{method: body.method, path: path, key: "writer", body: string(raw)})
			}
			if r := send(minimal); r.code >= 300 {
				t.Errorf("%s %s with %s %v (only the required %v): status %d, want success\n%s", body.method, body.schema, prop, minimal, item.Required, r.code, r.body)
			}
			for _, field := range item.Required {
				it := maps.Clone(minimal)
				delete(it, field)
				r := send(it)
				want := fmt.Sprintf("body.%s[0].%s", prop, field)
				if r.code != http.StatusUnprocessableEntity || !slices.Contains(r.locations(t), want) {
					t.Errorf("%s %s: %s without %s, which the schema requires: status %d, want 422 at %s\n%s", body.method, body.schema, prop, field, r.code, want, r.body)
				}
			}
			for p, ps := range item.Properties {
				if slices.Contains(item.Required, p) || !(ps.Nullable || slices.Contains(typesOf(ps), "null")) {
					continue
				}
				it := maps.Clone(minimal)
				it[p] = nil
				if r := send(it); r.code >= 300 {
					t.Errorf("%s %s: %s with %s null, which the schema allows: status %d\n%s", body.method, body.schema, prop, p, r.code, r.body)
				}
			}
		}
		if checked < 2 {
			t.Errorf("%s: checked %d item schemas, want addresses and externalSystems", body.schema, checked)
		}
	}
}

// typesOf is the type of a schema as JSON: one name, or the list of a
// nullable type (["string", "null"]).
func typesOf(s *huma.Schema) []string {
	raw, _ := json.Marshal(s)
	var v struct {
		Type any `json:"type"`
	}
	_ = json.Unmarshal(raw, &v)
	switch t := v.Type.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}
