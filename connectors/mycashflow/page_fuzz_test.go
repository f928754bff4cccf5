package mycashflow

import (
	"os"
	"strings"
	"testing"
)

// FuzzParsePage feeds answers to the page parser: it never panics, an
// answer it takes gives one draft per account and a cursor that a later
// Pull takes, and an error never repeats a string of the answer.
func FuzzParsePage(f *testing.F) {
	for _, name := range []string{"customers_page1.json", "customers_page2.json", "customers_page3.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data": [{"id": "x", "first_name": "Secretname"}], "meta": {"next": 1}}`))
	f.Add([]byte(`{"data": [{"id": 1, "first_name": 5}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parsePage(body, 3, 2)
		if err != nil {
			if strings.Contains(err.Error(), "Secretname") || strings.Contains(err.Error(), "@") {
				t.Errorf("%q repeats a value of the answer", err)
			}
			return
		}
		if p.Done == (p.Next != "") {
			t.Errorf("done %t with next %q", p.Done, p.Next)
		}
		if p.Next != "" {
			if _, err := parseCursor(p.Next); err != nil {
				t.Errorf("next %q is not a cursor: %v", p.Next, err)
			}
		}
		for _, d := range p.Drafts {
			if d.Link.SystemID != 5 {
				t.Errorf("link %v, want system 5", d.Link)
			}
		}
	})
}
