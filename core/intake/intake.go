// Package intake is what the third door, the connectors, deliver: a
// connector turns what an external system sent (a webhook, a page of a
// pull) into Drafts and hands them to the register (ports.Ingest,
// register.Service.Ingest); matching, merging, validation and storage are
// decided there, once, for every connector. A connector never writes the
// store.
package intake

import (
	"time"

	"kirjuri/core/customer"
)

// Trust says how far a draft is believed.
type Trust int

const (
	// Authoritative is a system where the customer keeps these data (a web
	// store's account, a booking system's guest, the ERP): its values set
	// the fields it gives; it is matched by its link, then by email.
	Authoritative Trust = iota + 1
	// Observation is data seen in passing (the payer of a payment, the
	// receiver of a shipment): it only fills fields that are empty, never
	// overwrites, never sets consents; it is matched by its link, then by
	// email, then by phone.
	Observation
)

// ConsentClaim is one consent as a source captured it.
type ConsentClaim struct {
	Value bool
	// Evidence says how and where the source captured it ("checkbox at
	// checkout, order 1234"); it is kept with the consent event as the
	// merchant's proof. No personal data.
	Evidence string
	// At is when the customer gave or withdrew it, as the source says;
	// zero means the draft's SourceUpdatedAt.
	At time.Time
}

// Draft is one customer as an external system sees it, in core terms.
type Draft struct {
	// Link is the customer's id in the system (systemId + the system's own
	// id); required. After ingest the customer carries it.
	Link  customer.ExternalLink
	Trust Trust
	// SourceUpdatedAt is the system's own update time of this customer. A
	// draft older than the last one the register took from the same link
	// changes nothing (out-of-order deliveries). Zero: unknown, always
	// newer.
	SourceUpdatedAt time.Time
	// Patch holds the single-valued fields the system gives (Keep for what
	// it does not say). Its consent fields and list fields must be Keep:
	// consents come as claims, list items are added below.
	Patch customer.Patch
	// AddPhones and AddAddresses are added to the customer's lists when not
	// there yet (same E.164 number; same type, street, postal code and
	// city), never replacing what other doors put there.
	AddPhones    []string
	AddAddresses []customer.Address
	// MarketingEmail and MarketingSMS are consents the system captured; nil
	// when it says nothing about them, which leaves the customer's as they
	// are. An Observation's claims are ignored.
	MarketingEmail *ConsentClaim
	MarketingSMS   *ConsentClaim
}

// Outcome is what became of a draft.
type Outcome string

const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	// Stale: the register already holds a newer draft from the link.
	Stale Outcome = "stale"
)

// Result is what the register did with a draft.
type Result struct {
	Outcome  Outcome
	Customer *customer.Customer
}
