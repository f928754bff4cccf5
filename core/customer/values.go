package customer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Type is a person or a company.
type Type string

const (
	Person  Type = "person"
	Company Type = "company"
)

// Types lists the allowed types.
var Types = []Type{Person, Company}

func (t Type) Valid() bool { return t == Person || t == Company }

// VATStatus is the VAT treatment of the customer's sales (Tehden's
// vatstatus_id). Values 2–6 are for companies only.
type VATStatus int

const (
	VATDomestic                VATStatus = 1
	VATConstruction            VATStatus = 2
	VATEUGoods                 VATStatus = 3
	VATEUServices              VATStatus = 4
	VATEUOther                 VATStatus = 5
	VATEUTriangulation         VATStatus = 6
	VATOutsideEU               VATStatus = 7
	DefaultVATStatus                     = VATDomestic
	minVATStatus, maxVATStatus           = VATDomestic, VATOutsideEU
)

// VATStatuses lists the allowed values.
var VATStatuses = []VATStatus{1, 2, 3, 4, 5, 6, 7}

func (s VATStatus) Valid() bool { return s >= minVATStatus && s <= maxVATStatus }

// CompanyOnly reports whether the status needs a company customer.
func (s VATStatus) CompanyOnly() bool { return s >= VATConstruction && s <= VATEUTriangulation }

// Language is the customer's language for communication.
type Language string

const (
	Finnish         Language = "fi"
	Swedish         Language = "sv"
	English         Language = "en"
	DefaultLanguage          = Finnish
)

// Languages lists the allowed languages.
var Languages = []Language{Finnish, Swedish, English}

func (l Language) Valid() bool { return l == Finnish || l == Swedish || l == English }

// SystemID names an external system a customer can be linked to.
type SystemID int

const (
	Maestro     SystemID = 1
	Posti       SystemID = 2
	Matkahuolto SystemID = 3
	Paytrail    SystemID = 4 // Checkout Finland, now Paytrail
	MyCashFlow  SystemID = 5
	WooCommerce SystemID = 6
	Webstore    SystemID = 7
	Reservation SystemID = 22
)

// SystemIDs lists the allowed external systems in order.
var SystemIDs = []SystemID{Maestro, Posti, Matkahuolto, Paytrail, MyCashFlow, WooCommerce, Webstore, Reservation}

var systemNames = map[SystemID]string{
	Maestro: "Maestro", Posti: "Posti", Matkahuolto: "Matkahuolto",
	Paytrail: "Checkout Finland (Paytrail)", MyCashFlow: "MyCashFlow",
	WooCommerce: "WooCommerce", Webstore: "Generic webstore", Reservation: "Generic reservation system",
}

func (s SystemID) Valid() bool { _, ok := systemNames[s]; return ok }

// Name is the system's display name.
func (s SystemID) Name() string { return systemNames[s] }

// AllowedSystemIDs is the list for error messages: "1 (Maestro), 2 (Posti), …".
func AllowedSystemIDs() string {
	parts := make([]string, len(SystemIDs))
	for i, s := range SystemIDs {
		parts[i] = strconv.Itoa(int(s)) + " (" + s.Name() + ")"
	}
	return strings.Join(parts, ", ")
}

// MaxIdentifierLen bounds external identifiers, ids and card numbers.
const MaxIdentifierLen = 255

// ExternalLink ties the customer to its record in an external system. A pair
// belongs to at most one customer.
type ExternalLink struct {
	SystemID   SystemID
	Identifier string
}

func (l ExternalLink) String() string { return fmt.Sprintf("%d/%s", l.SystemID, l.Identifier) }

// AddressType is what an address is used for.
type AddressType string

const (
	Invoice  AddressType = "Invoice"
	Delivery AddressType = "Delivery"
	Home     AddressType = "Home"
)

// AddressTypes lists the allowed address types.
var AddressTypes = []AddressType{Invoice, Delivery, Home}

func (t AddressType) Valid() bool { return t == Invoice || t == Delivery || t == Home }

// Address is a postal address.
type Address struct {
	Type           AddressType
	StreetAddress1 string
	StreetAddress2 string
	PostalCode     string
	City           string
	Country        string // ISO 3166-1 alpha-2, default FI
}

// EInvoiceMode says how invoices are sent electronically.
type EInvoiceMode string

const (
	EInvoiceNone   EInvoiceMode = ""
	EInvoiceBroker EInvoiceMode = "Broker"
	EInvoiceEmail  EInvoiceMode = "Email"
)

// EInvoiceModes lists the allowed modes.
var EInvoiceModes = []EInvoiceMode{EInvoiceNone, EInvoiceBroker, EInvoiceEmail}

func (m EInvoiceMode) Valid() bool {
	return m == EInvoiceNone || m == EInvoiceBroker || m == EInvoiceEmail
}

// EInvoice holds the e-invoice settings. Broker mode needs Broker (the
// operator id) and Address; Email mode needs a valid Email.
type EInvoice struct {
	Mode    EInvoiceMode
	Broker  string
	Address string
	Email   string
}

// Contact is a contact person of a company customer.
type Contact struct {
	ID    uuid.UUID
	Name  string
	Role  string
	Email string
	Phone string
}

// Group is a customer group. Customers refer to it by ExternalID.
type Group struct {
	ExternalID string
	Name       string
}
