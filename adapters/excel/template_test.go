package excel

import (
	"bytes"
	"testing"

	"kirjuri/core/customer"
)

// Every field with a column has its own explanation in the template.
func TestTemplateExplainsEveryColumn(t *testing.T) {
	for _, f := range customer.Fields() {
		if f.Column == "" {
			continue
		}
		if _, ok := columnDocs[f.Name]; !ok {
			t.Errorf("field %s (column %s) has no explanation in columnDocs", f.Name, f.Column)
		}
	}
	var buf bytes.Buffer
	if err := (ImportSheets{}).Template(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatalf("no header: %v", r.Err())
	}
	if _, err := NewMapper(r.Row()); err != nil {
		t.Errorf("the template's header: %v", err)
	}
}
