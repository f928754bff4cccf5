package customer

import (
	"strconv"
	"strings"
)

// UniqueValue is a value of a customer that no other customer may have
// (domain.md: email, externalId, netvisorId, the identity code, customer
// cards and external links, besides the id and the number).
type UniqueValue struct {
	// Field names the field in errors (email, externalId, customerCards …).
	Field string
	// Value is the value as uniqueness sees it (an email in lower case).
	Value string
	// What says it in words: "email address", "customer card".
	What string
}

// UniqueKey compares unique values: two are the same when their fields and
// values are.
type UniqueKey struct{ Field, Value string }

// Key is the value's UniqueKey.
func (u UniqueValue) Key() UniqueKey { return UniqueKey{u.Field, u.Value} }

// UniqueEmail is an email address as uniqueness sees it: in lower case.
func UniqueEmail(email string) string { return strings.ToLower(email) }

// UniqueEmail is the customer's email as uniqueness sees it, "" for none.
func (c *Customer) UniqueEmail() string { return UniqueEmail(c.d.Email) }

// UniqueValues lists the values of d that no other customer may have, in a
// fixed order: id, number, email, externalId, netvisorId, ssn, then each
// card and each external link.
func UniqueValues(d Data) []UniqueValue {
	out := make([]UniqueValue, 0, 6+len(d.CustomerCards)+len(d.ExternalSystems))
	add := func(field, what, value string) {
		out = append(out, UniqueValue{Field: field, Value: value, What: what})
	}
	add("id", "id", d.ID.String())
	add("number", "customer number", strconv.FormatInt(d.Number, 10))
	if d.Email != "" {
		add("email", "email address", UniqueEmail(d.Email))
	}
	if d.ExternalID != "" {
		add("externalId", "external id", d.ExternalID)
	}
	if d.NetvisorID != "" {
		add("netvisorId", "Netvisor id", d.NetvisorID)
	}
	if d.SSN != "" {
		add("ssn", "personal identity code", d.SSN)
	}
	for _, c := range d.CustomerCards {
		add("customerCards", "customer card", c)
	}
	for _, l := range d.ExternalSystems {
		add("externalSystems", "external system link", l.String())
	}
	return out
}
