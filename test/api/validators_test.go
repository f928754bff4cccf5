package api

import (
	"strings"
	"testing"
)

// TestValidatorsIssue6 shows, end to end, one value per identifier and text
// defect of issue 6 (items 4 to 8) answered with 422 naming its field.
func TestValidatorsIssue6(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.create(company("Firma Oy", "0737546-2", nil))
	cp := "/v1/customers/" + c.ID

	tests := []struct {
		name     string
		give     req
		location string
	}{
		// Item 4: a business id with its check digit cut off.
		{"businessId of seven digits", post(company("C Oy", "2077474", nil)), "body.businessId"},
		{"businessId FI and seven digits", post(company("C Oy", "FI2077474", nil)), "body.businessId"},
		// Item 5: an identity code born in 2099.
		{"identity code born in the future", post(person("A", "B", obj{"ssn": "010199A234J"})), "body.ssn"},
		// Item 6: RFC 5321 and RFC 1035 limits.
		{"email domain label starting with a hyphen", post(person("A", "B", obj{"email": "m@-example.fi"})), "body.email"},
		{"email local part of 65", post(person("A", "B", obj{"email": strings.Repeat("l", 65) + "@example.fi"})), "body.email"},
		// Item 7: invisible text is blank; control characters and U+FFFD are refused.
		{"firstName of a zero-width space", post(person("\u200b", "B", nil)), "body.firstName"},
		{"city with a control character", post(person("A", "B", obj{"addresses": []obj{{"type": "Home", "streetAddress1": "Katu 1", "postalCode": "00100", "city": "Hel\u0007sinki"}}})), "body.addresses[0].city"},
		{"contact role damaged by a wrong encoding", post2(cp+"/contacts", obj{"name": "Liisa", "role": "Toimitusjohtaja \ufffd"}), "body.role"},
		// Item 8: BIC-shaped nonsense as the e-invoice operator.
		{"broker NONSENSE", patchReq(cp, obj{"eInvoice": obj{"mode": "Broker", "broker": "NONSENSE", "address": "003707375462"}}), "body.eInvoice.broker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.give)
			if r.Status >= 500 {
				t.Fatalf("a server error for bad input: %s", r)
			}
			e.sub(t).wantProblem(r, 422, tt.location)
		})
	}

	if got := e.customer(c.ID); got.Version != 1 || len(got.Contacts) != 0 || got.EInvoice.Mode != "" {
		t.Errorf("the company changed through refused requests: %+v", got)
	}
}
