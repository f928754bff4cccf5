package ports

import (
	"context"

	"kirjuri/core/consent"
	"kirjuri/core/intake"
)

// Ingest is the narrow port through which connectors drive the register:
// they hand it drafts of customers (intake.Draft) and never see the store
// or the database. register.Service implements it. origin names the door:
// source connector, the system's id, the connector as actor, the delivery
// as request id.
//
// Errors: *fault.Validation when the draft, merged, breaks a rule (the
// delivery is then recorded with the reason and not retried);
// *fault.Conflict naming the field when another customer holds a value;
// other errors are the register's or the store's, and worth retrying.
type Ingest interface {
	Ingest(ctx context.Context, d intake.Draft, origin consent.Origin) (intake.Result, error)
	// IngestMany takes many drafts at once (a drain's batch of deliveries)
	// and returns one outcome per item, in the items' order: exactly what
	// calling Ingest for each item in turn would return and store. It
	// writes as much as it can in a few statements; with the context of
	// a session (ports.BulkStore.Session) everything it writes is part of
	// that session.
	IngestMany(ctx context.Context, items []IngestItem) []IngestOutcome
}

// IngestItem is one draft for IngestMany, with its door.
type IngestItem struct {
	Draft  intake.Draft
	Origin consent.Origin
}

// IngestOutcome is what Ingest returns for one item: its result, or its
// error (then Result is zero).
type IngestOutcome struct {
	Result intake.Result
	Err    error
}
