package customer

// Opt is one field of a patch: keep the current value, clear it, or set it.
// Every door into the core speaks in these three values: an absent JSON field
// or spreadsheet column is Keep, a JSON null or an emptied cell is Clear, a
// value is Set.
type Opt[T any] struct {
	state optState
	value T
}

type optState uint8

const (
	optKeep optState = iota
	optClear
	optSet
)

// Keep leaves the field as it is (the zero Opt is Keep).
func Keep[T any]() Opt[T] { return Opt[T]{} }

// Clear empties the field: "" for text, false for a flag, an empty list, or
// the field's default where it has one.
func Clear[T any]() Opt[T] { return Opt[T]{state: optClear} }

// Set gives the field a value.
func Set[T any](v T) Opt[T] { return Opt[T]{state: optSet, value: v} }

func (o Opt[T]) IsKeep() bool  { return o.state == optKeep }
func (o Opt[T]) IsClear() bool { return o.state == optClear }
func (o Opt[T]) IsSet() bool   { return o.state == optSet }

// Value is the value of a Set; the zero value otherwise.
func (o Opt[T]) Value() T { return o.value }

// Patch is a change to a customer. The zero Patch changes nothing. Creating a
// customer applies a Patch to an empty customer with the defaults of
// domain.md.
type Patch struct {
	Type           Opt[Type]
	FirstName      Opt[string]
	LastName       Opt[string]
	CompanyName    Opt[string]
	BusinessID     Opt[string]
	VATNumber      Opt[string]
	VATStatus      Opt[VATStatus]
	Email          Opt[string]
	Language       Opt[Language]
	SSN            Opt[string]
	MarketingEmail Opt[bool]
	MarketingSMS   Opt[bool]
	GDPRRestricted Opt[bool]
	CreditAllowed  Opt[bool]
	ExternalID     Opt[string]
	NetvisorID     Opt[string]

	// Lists are replaced whole.
	ExternalSystems Opt[[]ExternalLink]
	CustomerCards   Opt[[]string]
	Groups          Opt[[]string]
	Addresses       Opt[[]Address]
	PhoneNumbers    Opt[[]string]

	// GroupMembership adds (true) or removes (false) single groups, after
	// Groups has been applied. The spreadsheet's group:{id} columns use it.
	GroupMembership map[string]bool

	// The e-invoice settings are patched field by field, as a JSON merge
	// patch of the eInvoice object and the spreadsheet's columns both do.
	EInvoiceMode    Opt[EInvoiceMode]
	EInvoiceBroker  Opt[string]
	EInvoiceAddress Opt[string]
	EInvoiceEmail   Opt[string]

	// EmptyEInvoice records the e-invoice cells of a spreadsheet row that
	// were there and empty. Such a cell changes nothing, except that
	// excel.md makes it a row error when the e-invoice mode after the row
	// needs the value: an empty eInvoiceBroker or eInvoiceAddress with mode
	// Broker, an empty einvoiceEmail with mode Email (the merchant who
	// empties the cell to remove the value learns that the mode still needs
	// it, rather than seeing it silently kept).
	EmptyEInvoice EmptyEInvoice
}

// EmptyEInvoice names the e-invoice cells that were present and empty.
type EmptyEInvoice struct{ Broker, Address, Email bool }

// IsEmpty reports whether the patch would change nothing whatever it is
// applied to.
func (p Patch) IsEmpty() bool {
	return p.Type.IsKeep() && p.FirstName.IsKeep() && p.LastName.IsKeep() &&
		p.CompanyName.IsKeep() && p.BusinessID.IsKeep() && p.VATNumber.IsKeep() &&
		p.VATStatus.IsKeep() && p.Email.IsKeep() && p.Language.IsKeep() &&
		p.SSN.IsKeep() && p.MarketingEmail.IsKeep() && p.MarketingSMS.IsKeep() &&
		p.GDPRRestricted.IsKeep() && p.CreditAllowed.IsKeep() &&
		p.ExternalID.IsKeep() && p.NetvisorID.IsKeep() &&
		p.ExternalSystems.IsKeep() && p.CustomerCards.IsKeep() &&
		p.Groups.IsKeep() && p.Addresses.IsKeep() && p.PhoneNumbers.IsKeep() &&
		len(p.GroupMembership) == 0 && p.EInvoiceMode.IsKeep() &&
		p.EInvoiceBroker.IsKeep() && p.EInvoiceAddress.IsKeep() && p.EInvoiceEmail.IsKeep()
}
