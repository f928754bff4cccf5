// Package delivery is how deliveries from external systems are authenticated
// and read, the same for every connector: the Standard Webhooks signature of
// our own contracts, the carriers' signature, decoding errors that never show
// a value, names split. Connectors and the HTTP adapter share it, and since
// they may not import each other it sits beside the ports they share
// (inbound.Verifier speaks of its VerifyError). It holds no rule about
// customers: what a delivery means is decided by the register
// (register.Service.Ingest).
package delivery

import "errors"

// VerifyError is why a delivery was not authentic: the HTTP adapter
// answers 401 with Reason, and stores nothing.
type VerifyError struct {
	Reason string
}

func (e *VerifyError) Error() string { return "webhook not authentic: " + e.Reason }

// Unauthentic makes a *VerifyError.
func Unauthentic(reason string) error { return &VerifyError{Reason: reason} }

// IsUnauthentic reports whether err is a *VerifyError.
func IsUnauthentic(err error) bool {
	var v *VerifyError
	return errors.As(err, &v)
}
