package ports

import (
	"context"
	"io"

	"kirjuri/core/customer"
)

// ExportStore is what a spreadsheet export needs from the store: the set
// Find would list, read whole as one consistent snapshot, its shape first
// (the header names every section column and group, so it must be written
// before the first row) and then the customers, streamed.
type ExportStore interface {
	// Export reads, in one consistent snapshot of the store (on
	// PostgreSQL one read-only REPEATABLE READ transaction), the shape
	// of the customers Find lists under q.Query (q.Limit and q.Cursor
	// are ignored) and hands it to start; then, unless start failed, it
	// calls row for each of those customers in customer-number order.
	// A change committed while the export runs is not seen, not even in
	// part: the rows agree with the shape and with each other. Erased
	// customers are never exported; restricted ones only with
	// q.IncludeRestricted. The store does not decide who may ask for
	// what: the register checks the query (as for Find) first.
	//
	// Rows are streamed: memory does not grow with the set. The
	// customers' identity codes are decrypted only with q.WithSSN (else
	// SSN is empty). Export stops at the first error of start, row or
	// the store and returns it.
	Export(ctx context.Context, q ExportQuery, start func(ExportShape) error, row func(*customer.Customer) error) error
}

// ExportQuery is the set an export reads.
type ExportQuery struct {
	CustomerQuery
	// WithSSN reads the identity codes (decrypting each costs time, and
	// an export without the ssn column has no use for them).
	WithSSN bool
}

// ExportShape is the size of a set of customers to export.
type ExportShape struct {
	// Customers is how many customers the set has.
	Customers int64
	// The largest number of items of each section any customer of the set
	// has (0 when the set is empty).
	CustomerCards int
	Addresses     int
	PhoneNumbers  int
	// Groups are the external ids of every group that exists (whether
	// or not a customer of the set is in it), sorted bytewise.
	Groups []string
}

// CustomerSheets writes customers as a spreadsheet (the spreadsheet adapter
// implements it): the HTTP export streams one to its client.
type CustomerSheets interface {
	// NewCustomerSheet starts a workbook written to w whose one sheet has
	// the given columns, in order, as its header row.
	NewCustomerSheet(w io.Writer, columns []customer.Column) (CustomerSheet, error)
}

// CustomerSheet is a workbook being written, one customer a row.
type CustomerSheet interface {
	// Write writes the next row: the customer's value in each column
	// (customer.Column.Show). It does not flush.
	Write(d customer.Data) error
	// Flush pushes what has been written so far to the io.Writer, as far
	// as the file format allows (the compressor keeps a little back).
	Flush() error
	// Close finishes the workbook. A workbook not closed is not a valid
	// file.
	Close() error
}
