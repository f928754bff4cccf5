package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// SourceTime is an external system's own update time of the customer behind
// one of its links, as the register last took a draft from it
// (register.Service.Ingest's staleness rule). It is kept with the link,
// not in the customer: it is no customer data, shows in no API, and
// changing it alone changes no version.
type SourceTime struct {
	Link customer.ExternalLink
	// At is the system's update time; zero for unknown, which records
	// nothing.
	At time.Time
}

// IngestStore is what the connectors' path into the register
// (register.Service.Ingest) needs of the store beyond CustomerStore and
// BulkStore.CustomersByEmail. Like them it decides no meaning.
type IngestStore interface {
	// CustomersByPhone returns the stored customers that have phone (E.164,
	// exact) among their phone numbers, in number order. Restricted
	// customers are included; erased ones have no phone numbers.
	CustomersByPhone(ctx context.Context, phone string) ([]*customer.Customer, error)
	// CreateFromSource is Create that also records
	// st.At as the source time of st.Link, which c holds, in the same
	// transaction.
	CreateFromSource(ctx context.Context, c *customer.Customer, events []consent.Event, st SourceTime) error
	// UpdateFromSource is Update for a draft from st.Link: fn also gets the
	// source time recorded for st.Link on this customer (zero when none
	// is, or the customer does not hold the link). When fn returns no
	// error, st.At becomes the link's source time if the customer holds
	// the link after fn and st.At is later than the recorded one (it never
	// moves back), in the transaction of the change, also when the
	// customer itself did not change. A link that the customer loses (an
	// update replacing its links, an erasure) loses its source time.
	UpdateFromSource(ctx context.Context, id uuid.UUID, st SourceTime, fn func(c *customer.Customer, last time.Time) ([]consent.Event, error)) (*customer.Customer, error)
}
