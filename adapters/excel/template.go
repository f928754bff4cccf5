package excel

import (
	"fmt"
	"io"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// columnDocs explains each field's column for the template's second sheet,
// by the field's JSON name. The four cases (column missing or cell empty,
// for an existing or a new customer) come from excel.md; a test checks that
// every field with a column is explained.
var columnDocs = map[string]string{
	customer.NumberColumn: "The customer number. When the cell has a number, the row changes that customer (an unknown number is a row error) and email is an ordinary field; when it is empty, the row is matched by email. Never changes a customer's number.",
	"type":                "person or company. Missing or empty: an existing customer keeps it, a new one is a person.",
	"firstName":           "Required for a new person. Missing: kept. Empty: a row error where the customer needs it.",
	"lastName":            "Required for a new person. Missing: kept. Empty: a row error where the customer needs it.",
	"companyName":         "The company's name; required for a company. Missing: kept. Empty: removed.",
	"businessId":          "Finnish business id (Y-tunnus, 1234567-8), checked. Missing: kept. Empty: removed.",
	"vatNumber":           "VAT number. Missing: kept. Empty: removed.",
	"vatStatus":           "VAT status as a number. Missing: kept. Empty: the default.",
	"email":               "Required column. Matches the row to a customer (ignoring case) when the row has no number; a new email makes a new customer. The same email twice in the file is a row error on the later row.",
	"language":            "The customer's language (one of the values). Missing: kept. Empty: removed.",
	"ssn":                 "Finnish personal identity code (henkilötunnus), checked (date and check character). Missing: kept. Empty: removed. Unique.",
	"marketingEmail":      "Email marketing consent: true/false, 1/0, yes/no, kyllä/ei. Missing: kept (new: false). Empty: set false. A change is recorded in the consent audit log with source import.",
	"marketingSms":        "SMS marketing consent: as marketingEmail.",
	"gdprRestricted":      "true hides the customer from customer listings (GDPR restriction of processing). Missing: kept (new: false). Empty: set false.",
	"creditAllowed":       "Whether the customer may pay on credit (invoice). Missing: kept (new: false). Empty: set false.",
	"externalId":          "An id in another system, unique across customers. Missing: kept. Empty: removed.",
	"netvisorId":          "The customer's Netvisor id, unique across customers. Missing: kept. Empty: removed.",
	"customerCards":       "customerCard:1, customerCard:2, …: loyalty card numbers (text). With any of these columns, each row replaces the customer's cards with the non-empty cells; without them, cards are kept.",
	"groups":              "group:{id} (for example group:vip): true adds the customer to the group, false or empty removes it (a new customer is simply not added). A group that does not exist is created, named after its id.",
	"addresses":           "address:{n}:type (Invoice, Delivery or Home), address:{n}:streetAddress1, :streetAddress2, :postalCode (five digits, as text), :city, :country (ISO code such as FI). With any address column, each row replaces the customer's addresses; an address with any cell needs type, streetAddress1, postalCode and city.",
	"phoneNumbers":        "phoneNumber:1, phoneNumber:2, …: phone numbers, stored as +358…; type them as text (a number cell loses its leading zero and is refused). With any of these columns, each row replaces the customer's phone numbers.",
	"eInvoice.mode":       "E-invoicing: empty, Broker or Email. Missing: kept. Empty: set empty. After the row, Broker needs eInvoiceBroker and eInvoiceAddress, Email needs einvoiceEmail.",
	"eInvoice.broker":     "E-invoice operator (broker) id. Missing or empty: kept (a row error when the mode is Broker and none is stored).",
	"eInvoice.address":    "E-invoice address (OVT). Missing or empty: kept (a row error when the mode is Broker and none is stored).",
	"eInvoice.email":      "Email address for e-invoices, checked. Missing or empty: kept (a row error when the mode is Email and none is stored).",
}

// templateColumns are the template's columns: those of an export with one
// customer card, two addresses and two phone numbers, the ssn column and
// no group column (a group:{id} column names a merchant's own group).
func templateColumns() []customer.Column {
	return register.ExportColumns(ports.ExportShape{CustomerCards: 1, Addresses: 2, PhoneNumbers: 2}, nil, true)
}

// Template writes the import template: the sheet Customers with every
// column (text columns formatted as text, so that postal codes and phone
// numbers keep their zeros) and the sheet Columns explaining each.
func (s ImportSheets) Template(w io.Writer) error {
	cols := templateColumns()
	wr := NewWriter(w)
	sheet := Sheet{Name: CustomerSheetName, Columns: make([]Column, len(cols)), AutoFilter: true}
	for i, c := range cols {
		sheet.Columns[i] = Column{Header: c.Name()}
		if c.Number || c.Field.Kind == customer.KindBool || c.Field.Kind == customer.KindInt {
			sheet.Columns[i].Type = GeneralColumn
		}
	}
	if err := wr.AddSheet(sheet); err != nil {
		return err
	}
	if err := wr.AddSheet(Sheet{Name: "Columns", Columns: []Column{
		{Header: "column", Width: 28}, {Header: "kind", Width: 12}, {Header: "values", Width: 24}, {Header: "meaning", Width: 100, Wrap: true},
	}}); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, c := range cols {
		name := c.Field.Name
		header := c.Name()
		if c.Number {
			name = customer.NumberColumn
		} else if c.Field.Kind == customer.KindList {
			if seen[name] {
				continue
			}
			header = c.Field.Column
		}
		seen[name] = true
		if err := wr.WriteRow(docRow(header, name, c)); err != nil {
			return err
		}
	}
	// The group:{id} columns are not in the template's header.
	g, _ := customer.FieldByName("groups")
	if err := wr.WriteRow(docRow(g.Column, "groups", customer.Column{Field: g})); err != nil {
		return err
	}
	if err := wr.WriteRow([]Value{TextValue(ReasonHeader), TextValue("text"), {}, TextValue("Only in a file of rejected rows: why the row was rejected. Ignored on import.")}); err != nil {
		return err
	}
	return wr.Close()
}

func docRow(header, name string, c customer.Column) []Value {
	kind := "text"
	switch {
	case c.Number:
		kind = "number"
	case name == "groups":
		kind = "boolean"
	case c.Field.Kind != customer.KindList:
		kind = c.Field.Kind.String()
	}
	return []Value{TextValue(header), TextValue(kind), TextValue(strings.Join(c.Field.Values, ", ")), TextValue(columnDoc(name))}
}

func columnDoc(name string) string {
	if d, ok := columnDocs[name]; ok {
		return d
	}
	return fmt.Sprintf("The customer's %s.", name)
}
