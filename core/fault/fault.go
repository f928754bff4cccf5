// Package fault holds the typed errors the core returns. Adapters translate
// them: the HTTP API into RFC 9457 problem details, the spreadsheet import into
// row errors, connectors into retry or dead-letter decisions.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError names one field that is wrong and why. Field is a path in the
// customer's JSON and spreadsheet vocabulary: "email", "addresses[1].postalCode".
type FieldError struct {
	Field   string
	Message string
	// Value is the offending input, when showing it back is safe (never for
	// personal identity codes). Adapters may echo it; logs must not.
	Value any
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// Validation is the error of input that breaks the core's rules. It carries
// every field problem found, not just the first.
type Validation struct {
	Fields []FieldError
}

func (v *Validation) Error() string {
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Error()
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records one field problem.
func (v *Validation) Add(field, format string, args ...any) {
	v.Fields = append(v.Fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// AddErr records a field problem from an error returned by a validator.
func (v *Validation) AddErr(field string, err error) {
	v.Fields = append(v.Fields, FieldError{Field: field, Message: err.Error()})
}

// Prefixed copies the problems of o under a field prefix ("addresses[0]").
func (v *Validation) Prefixed(prefix string, o *Validation) {
	for _, f := range o.Fields {
		f.Field = prefix + "." + f.Field
		v.Fields = append(v.Fields, f)
	}
}

// Err returns nil when nothing was recorded, so a validator can end with
// `return v.Err()`.
func (v *Validation) Err() error {
	if v == nil || len(v.Fields) == 0 {
		return nil
	}
	return v
}

// Invalid is a one-field validation error.
func Invalid(field, format string, args ...any) error {
	v := &Validation{}
	v.Add(field, format, args...)
	return v
}

// NotFound says that what was asked for does not exist (or is not visible).
type NotFound struct {
	What string // "customer", "group", "contact"
	Key  string // how it was looked up, safe to show: "number 10001"
}

func (e *NotFound) Error() string {
	if e.Key == "" {
		return e.What + " not found"
	}
	return e.What + " not found: " + e.Key
}

// Conflict says the change breaks a uniqueness rule or the state of the
// record: another customer already has this email, link, card or code.
type Conflict struct {
	Field   string
	Message string
}

func (e *Conflict) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Stale says the caller's version of the record is not the current one
// (HTTP If-Match failed).
type Stale struct {
	Want, Have int64
}

func (e *Stale) Error() string {
	return fmt.Sprintf("customer is at version %d, not %d", e.Have, e.Want)
}

// Helpers to tell the kinds apart without importing each type.

func IsNotFound(err error) bool   { var e *NotFound; return errors.As(err, &e) }
func IsConflict(err error) bool   { var e *Conflict; return errors.As(err, &e) }
func IsValidation(err error) bool { var e *Validation; return errors.As(err, &e) }
func IsStale(err error) bool      { var e *Stale; return errors.As(err, &e) }

// Unavailable says a dependency (the audit log's database) cannot be
// reached now; the same request may work later.
type Unavailable struct {
	What string // "audit log"
	Err  error
}

func (e *Unavailable) Error() string { return e.What + " is unavailable: " + e.Err.Error() }
func (e *Unavailable) Unwrap() error { return e.Err }

func IsUnavailable(err error) bool { var e *Unavailable; return errors.As(err, &e) }
