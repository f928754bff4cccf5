package ports

import (
	"context"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// BulkStore is the store's path for many customers at once: the lookups an
// import matches its rows with, and the write of a whole batch of changes in
// one transaction. It decides no meaning: the customers it writes were built
// and changed by the core (register.Service.ImportBatch); it only keeps the
// rules of storage (uniqueness, groups that exist, versions).
type BulkStore interface {
	// NextNumbers takes n customer numbers at once, in ascending order.
	// Numbers not used are simply skipped, as NextNumber's.
	NextNumbers(ctx context.Context, n int) ([]int64, error)
	// CustomersByNumber returns the stored customers that have one of the
	// numbers, in no particular order. Restricted customers are included;
	// erased ones are not (their numbers match nothing). Unknown numbers
	// are left out.
	CustomersByNumber(ctx context.Context, numbers []int64) ([]*customer.Customer, error)
	// CustomersByEmail returns the stored customers whose email equals one
	// of emails, ignoring case, in no particular order. Restricted
	// customers are included; erased ones have no email.
	CustomersByEmail(ctx context.Context, emails []string) ([]*customer.Customer, error)
	// WriteBatch stores the writes of b, each with its events, in one
	// transaction. A write that breaks a rule of storage is not stored and
	// is returned as a BatchRejection; the others are stored (all or none
	// with b.AllOrNothing, none with b.DryRun). The events of a write are
	// stored exactly when its customer is. The error is for the batch as a
	// whole (the database failed, the context ended): then nothing is
	// stored.
	WriteBatch(ctx context.Context, b Batch) ([]BatchRejection, error)
	// Session runs fn in one transaction of the store. Every call of this
	// store (its BulkStore, CustomerStore and ImportStore methods) made
	// with the context fn gets is part of it: a WriteBatch's transaction
	// becomes a part of the session's that rolls back alone, and nothing
	// fn writes is visible to anyone else until fn returns nil and the
	// session commits. An error of fn, or of the commit, rolls everything
	// back and is returned. A Session within one is a part of it that
	// rolls back alone: when its fn fails, what that fn wrote is undone
	// and the outer session goes on; otherwise it commits with the outer
	// one. Customer numbers taken meanwhile (NextNumbers) are not given
	// back.
	//
	// An import uses it to commit a batch together with its progress (so
	// a resumed import applies no row twice), and an atomic import to
	// write all its batches or none.
	Session(ctx context.Context, fn func(ctx context.Context) error) error
}

// Batch is the work of one WriteBatch.
type Batch struct {
	Writes []BatchWrite
	// Groups are created, when they do not exist yet, before the writes
	// are checked; a write may refer to them. Other groups a write adds
	// must exist.
	Groups []customer.Group
	// Promised are groups a write may add that an earlier batch creates,
	// committed before this one is: an import's batches, which commit in
	// the file's order, the later ones abandoned when an earlier one
	// fails (register.BatchOptions.PromisedGroups). They are neither
	// checked nor created: a batch written while the earlier one is still
	// open would not see them, and creating them too would make it wait
	// for that one.
	Promised []string
	// AllOrNothing stores nothing when any write is rejected.
	AllOrNothing bool
	// DryRun checks every write as for storing (versions, uniqueness
	// against the store and within the batch, groups, counting Groups as
	// created) and stores nothing, not even Groups.
	DryRun bool
}

// BatchWrite is one customer to store.
type BatchWrite struct {
	// Customer is the customer as it is to be stored.
	Customer *customer.Customer
	// Before is the stored customer it was changed from, as a lookup
	// returned it; nil for a new customer. The write is stored only while
	// the stored customer is still at Before's version.
	Before *customer.Customer
	// Events are the consent events of the change.
	Events []consent.Event
	// Jobs are stored with the write, exactly when it is stored, by a
	// store that implements ChangeJobs (the pushes the change causes).
	Jobs []Job
	// Source, when not nil, makes the write a connector draft's (the
	// register's IngestMany): with the write, Source.At becomes the
	// source time of Source.Link when the customer holds the link after
	// the write and Source.At is later than the one recorded (it never
	// moves back; IngestStore.UpdateFromSource's rule). An update is
	// rejected with a *fault.Stale when, under the customer's row lock,
	// the link on it has a recorded source time later than Source.At or
	// an echo kept (IngestStore.RecordEcho): what the draft was decided
	// on is no longer so. Source.AwaitPush is not honoured: such drafts go
	// through UpdateFromSource. Nil costs nothing.
	Source *SourceTime
}

// BatchRejection is a write that was not stored, and why.
type BatchRejection struct {
	// Index is the write's index in Batch.Writes.
	Index int
	// Err is a *fault.Conflict naming the field whose value another
	// customer has (email, externalId, netvisorId, ssn, customerCards,
	// externalSystems, or id/number for a customer written twice), a
	// *fault.Stale when the stored customer is no longer at Before's
	// version (changed or erased meanwhile) or its link's source is no
	// longer what the write was decided on (Source), or a *fault.Validation on
	// "groups" for a group that does not exist.
	Err error
	// Earlier is the index of the earlier write of the same batch that
	// holds the value, when the conflict is within the batch; -1
	// otherwise.
	Earlier int
}
