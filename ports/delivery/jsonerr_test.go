package delivery_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kirjuri/ports/delivery"
)

// A decoding error names the member and the kind of value, never the value
// itself (it may be a name or an email).
func TestJSONErrorShowsNoValue(t *testing.T) {
	type body struct {
		Name  string    `json:"name"`
		Count int       `json:"count"`
		At    time.Time `json:"at"`
		Inner struct {
			OK bool `json:"ok"`
		} `json:"inner"`
	}
	const secret = "Maija Meikäläinen"
	tests := []struct {
		give string
		want string
	}{
		{`{"name": 5}`, "name: must be a string, not number"},
		{`{"count": "` + secret + `"}`, "count: must be an integer, not string"},
		{`{"inner": {"ok": "` + secret + `"}}`, "inner.ok: must be true or false, not string"},
		{`{"at": "` + secret + `"}`, "a time is not in RFC 3339 form"},
		{`{"name": "` + secret + `",}`, "invalid JSON at byte"},
		{`{"name": "` + secret, "the JSON ends early"},
		{`{"nimi": "` + secret + `"}`, `unknown member "nimi"`},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(strings.NewReader(tt.give))
		dec.DisallowUnknownFields()
		var b body
		err := delivery.JSONError(dec.Decode(&b), "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.give, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the value: %v", tt.give, err)
		}
	}
	if err := delivery.JSONError(&json.UnmarshalTypeError{Value: "string", Type: nil}, "payment"); !strings.Contains(err.Error(), "payment:") {
		t.Errorf("in names the member: %v", err)
	}
}
