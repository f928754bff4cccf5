package excel

import (
	"fmt"
	"io"
	"strconv"

	"kirjuri/core/customer"
	"kirjuri/ports"
)

// CustomerSheets writes customers as the spreadsheet of the import format
// (excel.md): one row a customer, one cell a column, each shown the way
// the importer reads it back (customer.Column.Show). It implements
// ports.CustomerSheets.
//
// Cell types: the number and vatStatus are number cells, the flags and
// group:{id} columns boolean cells, every other column text (with the text
// format "@", so that a postal code 00100 or a phone number typed into the
// file stays text). Empty cells are left out.
type CustomerSheets struct{}

// NewCustomerSheets returns the customer spreadsheet writer.
func NewCustomerSheets() CustomerSheets { return CustomerSheets{} }

var _ ports.CustomerSheets = CustomerSheets{}

// CustomerSheetName is the name of the customers' worksheet.
const CustomerSheetName = "Customers"

// NewCustomerSheet starts a workbook written to w with one sheet,
// "Customers", whose header row names the columns.
func (CustomerSheets) NewCustomerSheet(w io.Writer, columns []customer.Column) (ports.CustomerSheet, error) {
	cs := &customerSheet{w: NewWriter(w), cols: columns,
		kinds: make([]cellKind, len(columns)), row: make([]Value, len(columns))}
	sheet := Sheet{Name: CustomerSheetName, Columns: make([]Column, len(columns)), AutoFilter: true}
	for i, c := range columns {
		sheet.Columns[i] = Column{Header: c.Name()}
		switch {
		case c.Number || c.Field.Kind == customer.KindInt:
			cs.kinds[i] = cellInt
			sheet.Columns[i].Type = GeneralColumn
		case c.Field.Kind == customer.KindBool || c.Group != "":
			cs.kinds[i] = cellBool
			sheet.Columns[i].Type = GeneralColumn
		}
	}
	if err := cs.w.AddSheet(sheet); err != nil {
		return nil, err
	}
	return cs, nil
}

type cellKind uint8

const (
	cellText cellKind = iota
	cellInt
	cellBool
)

type customerSheet struct {
	w     *Writer
	cols  []customer.Column
	kinds []cellKind
	row   []Value
}

func (s *customerSheet) Write(d customer.Data) error {
	for i, c := range s.cols {
		text := c.Show(d)
		switch {
		case text == "":
			s.row[i] = Value{}
		case s.kinds[i] == cellBool && (text == "true" || text == "false"):
			s.row[i] = BoolValue(text == "true")
		case s.kinds[i] == cellInt:
			if n, err := strconv.ParseInt(text, 10, 64); err == nil {
				s.row[i] = IntValue(n)
				continue
			}
			s.row[i] = TextValue(text)
		default:
			s.row[i] = TextValue(text)
		}
	}
	if err := s.w.WriteRow(s.row); err != nil {
		return fmt.Errorf("customer %d: %w", d.Number, err)
	}
	return nil
}

func (s *customerSheet) Flush() error { return s.w.Flush() }

func (s *customerSheet) Close() error { return s.w.Close() }
