package httpapi

import (
	"errors"

	"github.com/danielgtaylor/huma/v2"

	"kirjuri/core/customer"
)

// The customer bodies (create and JSON Merge Patch, RFC 7396) are decoded
// by the core's field table (customer.DecodeJSON) rather than by Huma,
// because a merge patch has three states per field that a Go struct cannot
// hold: an absent field is customer.Keep, null is customer.Clear, a value is
// customer.Set. Unknown, mistyped, repeated and read-only members are all
// refused, reported at once as a *fault.Validation with the paths of the
// customer's JSON ("addresses[0].postalCode"); the problem mapper places
// them in the body. Values are never echoed back.
//
// What stays here is what only the HTTP door knows: which members of a
// customer are read-only and where they are changed instead, and that a
// body that is not JSON is a 400 of its own.

// decodeCustomerPatch reads a create or merge-patch body.
func decodeCustomerPatch(body []byte) (customer.Patch, error) {
	p, err := customer.DecodeJSON(body, readOnlyMembers)
	var se *customer.SyntaxError
	if errors.As(err, &se) {
		return p, huma.Error400BadRequest("request body is not valid JSON", &huma.ErrorDetail{Location: "body", Message: se.Reason})
	}
	return p, err
}

// readOnlyMembers are members of a customer that a body cannot change.
var readOnlyMembers = map[string]string{
	"id":        "is read-only",
	"number":    "is read-only: kirjuri assigns customer numbers",
	"createdAt": "is read-only",
	"updatedAt": "is read-only",
	"version":   "is read-only: send the version in If-Match instead",
	"erasedAt":  "is read-only: erase a customer with DELETE /v1/customers/{id}",
	"contacts":  "is changed through /v1/customers/{id}/contacts",
}

// join is the path of member name within field ("eInvoice.mode").
func join(field, name string) string {
	if field == "" {
		return name
	}
	return field + "." + name
}
