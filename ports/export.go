package ports

import (
	"context"
	"io"

	"kirjuri/core/customer"
)

// ExportStore is what a spreadsheet export needs from the store beyond
// Find: the shape of the set it is about to page through, so that the
// header (which names every section column) can be written before the
// first row.
type ExportStore interface {
	// ExportShape describes the customers Find lists under q (q.Limit and
	// q.Cursor are ignored): how many there are and the most customer
	// cards, addresses and phone numbers any one of them has. Erased
	// customers never count; restricted ones only with
	// q.IncludeRestricted.
	ExportShape(ctx context.Context, q CustomerQuery) (ExportShape, error)
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
