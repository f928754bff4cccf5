package httpapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

var update = flag.Bool("update", false, "rewrite testdata/openapi.golden.json")

// TestOpenAPIGolden pins the OpenAPI document: every change of the API shows
// up as a diff of testdata/openapi.golden.json. Refresh it with
//
//	go test ./adapters/http/ -run TestOpenAPIGolden -update
func TestOpenAPIGolden(t *testing.T) {
	h := newHarness(t)
	got, err := json.MarshalIndent(h.api.huma.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/http/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the OpenAPI document differs from %s; if the change is meant, run go test ./adapters/http/ -update and review the diff", path)
	}

	// The served document is the same.
	served := h.do(req{method: "GET", path: "/openapi.json"}).want(t, 200)
	var a, b any
	if err := json.Unmarshal(served.body, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("/openapi.json differs from the document")
	}
	if v, _ := a.(map[string]any)["openapi"].(string); v != "3.1.0" {
		t.Errorf("openapi %q, want 3.1.0", v)
	}
}

// TestEnumsFollowTheCore keeps the enum tags of the wire types in step with
// the core's lists.
func TestEnumsFollowTheCore(t *testing.T) {
	h := newHarness(t)
	reg := h.api.huma.OpenAPI().Components.Schemas
	types := names(customer.Types)
	languages := names(customer.Languages)
	modes := names(customer.EInvoiceModes)
	addressTypes := names(customer.AddressTypes)
	kinds := names(consent.Kinds)
	sources := names(consent.Sources)
	vat := ints(customer.VATStatuses)
	systems := ints(customer.SystemIDs)

	tests := []struct {
		schema, property string
		want             []string
	}{
		{"Customer", "type", types},
		{"Customer", "language", languages},
		{"Customer", "vatStatus", vat},
		{"CustomerWrite", "type", types},
		{"CustomerWrite", "language", languages},
		{"CustomerWrite", "vatStatus", vat},
		{"CustomerPatch", "type", types},
		{"CustomerPatch", "language", languages},
		{"CustomerPatch", "vatStatus", vat},
		{"EInvoice", "mode", modes},
		{"EInvoiceWrite", "mode", modes},
		{"EInvoicePatch", "mode", modes},
		{"Address", "type", addressTypes},
		{"AddressWrite", "type", addressTypes},
		{"ExternalLink", "systemId", systems},
		{"ConsentEvent", "consent", kinds},
		{"ConsentEvent", "source", sources},
		{"ConsentValue", "consent", kinds},
		{"ConsentCounts", "consent", kinds},
		{"ConsentCounts", "source", sources},
	}
	for _, tt := range tests {
		s := reg.Map()[tt.schema]
		if s == nil {
			t.Errorf("no schema %s", tt.schema)
			continue
		}
		p := s.Properties[tt.property]
		if p == nil {
			t.Errorf("%s has no %s", tt.schema, tt.property)
			continue
		}
		if got := enumStrings(p.Enum); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s.%s enum %v, core has %v", tt.schema, tt.property, got, tt.want)
		}
	}

	params := []struct {
		path, method, name string
		want               []string
	}{
		{"/v1/customers", "GET", "type", types},
		{"/v1/customers", "GET", "systemId", systems},
		{"/v1/customers/by-external/{systemId}/{identifier}", "GET", "systemId", systems},
		{"/v1/audit/consent-events", "GET", "consent", kinds},
		{"/v1/audit/consent-events", "GET", "source", sources},
		{"/v1/audit/consent-events", "GET", "systemId", systems},
	}
	for _, tt := range params {
		op := h.api.huma.OpenAPI().Paths[tt.path].Get
		var found bool
		for _, p := range op.Parameters {
			if p.Name == tt.name {
				found = true
				if got := enumStrings(p.Schema.Enum); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("%s %s parameter %s enum %v, core has %v", tt.method, tt.path, tt.name, got, tt.want)
				}
			}
		}
		if !found {
			t.Errorf("%s %s has no parameter %s", tt.method, tt.path, tt.name)
		}
	}
}

func names[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func ints[T ~int](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = fmt.Sprint(int(v))
	}
	return out
}

func enumStrings(in []any) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = fmt.Sprint(v)
	}
	return out
}

func fieldsOf[T any]() []string {
	t := reflect.TypeFor[T]()
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Name
	}
	return out
}
