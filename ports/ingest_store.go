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
	// AwaitPush: changes are pushed to the link's system. UpdateFromSource
	// then first waits for a push of the link under way
	// (Pushes.HoldLink) to end, so that the echo it records is there
	// before the push's own echo webhook is taken in.
	AwaitPush bool
}

// LinkSource is what the register keeps with one link of a customer,
// beside the customer: the source time (SourceTime.At as last recorded) and
// the fingerprint of the echo awaited from the link, the draft its system
// answered a push with (register.Fingerprint). Neither is customer data;
// both go with the link.
type LinkSource struct {
	// At is the recorded source time; zero when none.
	At time.Time
	// Echo is the fingerprint of the last push's echo; nil when none.
	Echo []byte
}

// IngestStore is what the connectors' path into the register
// (register.Service.Ingest) needs of the store beyond CustomerStore and
// BulkStore.CustomersByEmail. Like them it decides no meaning. Jobs given
// to it are stored in the transaction of the change, exactly when the
// change is saved (see ChangeJobs).
type IngestStore interface {
	// CustomersByPhone returns the stored customers that have phone (E.164,
	// exact) among their phone numbers, in number order. Restricted
	// customers are included; erased ones have no phone numbers.
	CustomersByPhone(ctx context.Context, phone string) ([]*customer.Customer, error)
	// CreateFromSource is Create that also records st.At as the source
	// time of st.Link, which c holds, and stores jobs, in the same
	// transaction.
	CreateFromSource(ctx context.Context, c *customer.Customer, events []consent.Event, st SourceTime, jobs []Job) error
	// UpdateFromSource is Update for a draft from st.Link: fn also gets
	// what is kept with st.Link on this customer (zero when nothing is, or
	// the customer does not hold the link) and returns jobs, stored when
	// the change is saved (the version grew). When fn returns no error,
	// st.At becomes the link's source time if the customer holds the link
	// after fn and st.At is later than the recorded one (it never moves
	// back), in the transaction of the change, also when the customer
	// itself did not change. A link that the customer loses (an update
	// replacing its links, an erasure) loses its source time and echo.
	UpdateFromSource(ctx context.Context, id uuid.UUID, st SourceTime, fn func(c *customer.Customer, kept LinkSource) ([]consent.Event, []Job, error)) (*customer.Customer, error)
	// RecordEcho keeps echo (a fingerprint, replacing the one kept) with
	// st.Link on customer id, and records st.At as its source time as
	// UpdateFromSource does (never moving back), when the customer holds
	// the link; otherwise it records nothing and is no error. It changes
	// no version. *fault.NotFound when there is no such customer.
	RecordEcho(ctx context.Context, id uuid.UUID, st SourceTime, echo []byte) error
	// CustomersByLinks returns, for each of links that a stored customer
	// holds, that customer with what is kept with the link on it, in no
	// particular order; links nobody holds are left out. Restricted
	// customers are included; erased ones are not (they hold no links).
	CustomersByLinks(ctx context.Context, links []customer.ExternalLink) ([]LinkedCustomer, error)
}

// LinkedCustomer is a customer found by one of its links
// (CustomersByLinks), with what is kept with the link.
type LinkedCustomer struct {
	Link     customer.ExternalLink
	Customer *customer.Customer
	Kept     LinkSource
}
