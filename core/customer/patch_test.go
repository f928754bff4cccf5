package customer_test

import (
	"reflect"
	"testing"

	"kirjuri/core/customer"
)

func TestOpt(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name                string
		give                customer.Opt[string]
		wantKeep, wantClear bool
		wantSet             bool
		wantValue           string
	}{
		{name: "zero", give: customer.Opt[string]{}, wantKeep: true},
		{name: "keep", give: customer.Keep[string](), wantKeep: true},
		{name: "clear", give: customer.Clear[string](), wantClear: true},
		{name: "set", give: customer.Set("x"), wantSet: true, wantValue: "x"},
		{name: "set empty", give: customer.Set(""), wantSet: true},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			got := []any{tt.give.IsKeep(), tt.give.IsClear(), tt.give.IsSet(), tt.give.Value()}
			want := []any{tt.wantKeep, tt.wantClear, tt.wantSet, tt.wantValue}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("IsKeep, IsClear, IsSet, Value = %v, want %v", got, want)
			}
		})
	}
}

func TestPatchIsEmpty(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Patch
		want bool
	}{
		{name: "zero", give: customer.Patch{}, want: true},
		{name: "empty membership map", give: customer.Patch{GroupMembership: map[string]bool{}}, want: true},
		{name: "type", give: customer.Patch{Type: customer.Set(customer.Person)}, want: false},
		{name: "cleared text", give: customer.Patch{NetvisorID: customer.Clear[string]()}, want: false},
		{name: "flag", give: customer.Patch{CreditAllowed: customer.Set(false)}, want: false},
		{name: "list", give: customer.Patch{PhoneNumbers: customer.Clear[[]string]()}, want: false},
		{name: "membership", give: customer.Patch{GroupMembership: map[string]bool{"a": false}}, want: false},
		{name: "e-invoice email", give: customer.Patch{EInvoiceEmail: customer.Set("")}, want: false},
		{name: "every field", give: fullCompany(), want: false},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			if got := tt.give.IsEmpty(); got != tt.want {
				t.Errorf("IsEmpty() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestApplyKeep: a patch of Keeps changes nothing at all.
func TestApplyKeep(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  customer.Data
	}{
		{name: "zero patch on a company", start: fullCompany(), give: customer.Patch{}, want: fullCompanyData()},
		{name: "zero patch on a person", start: fullPerson(), give: customer.Patch{}, want: fullPersonData()},
		{name: "explicit keeps", start: fullCompany(), give: customer.Patch{
			Type: customer.Keep[customer.Type](), CompanyName: customer.Keep[string](),
			Email: customer.Keep[string](), PhoneNumbers: customer.Keep[[]string](),
			MarketingEmail: customer.Keep[bool](), VATStatus: customer.Keep[customer.VATStatus](),
			EInvoiceMode: customer.Keep[customer.EInvoiceMode](), GroupMembership: map[string]bool{},
		}, want: fullCompanyData()},
		{name: "every value set again as it is", start: fullCompany(), give: fullCompany(), want: fullCompanyData()},
		{name: "values set again in another input form", start: fullCompany(), give: customer.Patch{
			BusinessID:      customer.Set("2077474 0"),
			VATNumber:       customer.Set("fi20774740"),
			Email:           customer.Set("Laskut@KIRJURI.fi"),
			PhoneNumbers:    customer.Set([]string{"+358 40 123 4567", "0046701234567"}),
			Groups:          customer.Set([]string{"vip", "b2b", "vip"}),
			GroupMembership: map[string]bool{"vip": true, "absent": false},
		}, want: fullCompanyData()},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			events, err := c.Apply(tt.give, noIDs(t, t1))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if events != nil {
				t.Errorf("events = %+v, want none", events)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestApplyClear: Clear empties a field or resets it to its default, and
// nothing else changes; the version grows by one.
func TestApplyClear(t *testing.T) {
	t.Parallel()

	changed := func(mods ...func(*customer.Data)) []func(*customer.Data) {
		return append([]func(*customer.Data){func(d *customer.Data) { d.Version = 2; d.UpdatedAt = t1 }}, mods...)
	}

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  customer.Data
	}{
		{name: "vatNumber", start: fullCompany(), give: customer.Patch{VATNumber: customer.Clear[string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.VATNumber = "" })...)},
		{name: "vatStatus back to domestic", start: fullCompany(), give: customer.Patch{VATStatus: customer.Clear[customer.VATStatus]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.VATStatus = customer.VATDomestic })...)},
		{name: "email", start: fullCompany(), give: customer.Patch{Email: customer.Clear[string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.Email = "" })...)},
		{name: "language back to fi", start: fullCompany(), give: customer.Patch{Language: customer.Clear[customer.Language]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.Language = customer.Finnish })...)},
		{name: "ssn", start: fullPerson(), give: customer.Patch{SSN: customer.Clear[string]()},
			want: fullPersonData(changed(func(d *customer.Data) { d.SSN = "" })...)},
		{name: "creditAllowed", start: fullCompany(), give: customer.Patch{CreditAllowed: customer.Clear[bool]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.CreditAllowed = false })...)},
		{name: "externalId", start: fullCompany(), give: customer.Patch{ExternalID: customer.Clear[string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.ExternalID = "" })...)},
		{name: "netvisorId", start: fullCompany(), give: customer.Patch{NetvisorID: customer.Clear[string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.NetvisorID = "" })...)},
		{name: "externalSystems", start: fullCompany(), give: customer.Patch{ExternalSystems: customer.Clear[[]customer.ExternalLink]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.ExternalSystems = nil })...)},
		{name: "customerCards", start: fullCompany(), give: customer.Patch{CustomerCards: customer.Clear[[]string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.CustomerCards = nil })...)},
		{name: "groups", start: fullCompany(), give: customer.Patch{Groups: customer.Clear[[]string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.Groups = nil })...)},
		{name: "addresses", start: fullCompany(), give: customer.Patch{Addresses: customer.Clear[[]customer.Address]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.Addresses = nil })...)},
		{name: "phoneNumbers", start: fullCompany(), give: customer.Patch{PhoneNumbers: customer.Clear[[]string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.PhoneNumbers = nil })...)},
		{name: "e-invoice mode, details kept", start: fullCompany(), give: customer.Patch{EInvoiceMode: customer.Clear[customer.EInvoiceMode]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.EInvoice.Mode = customer.EInvoiceNone })...)},
		{name: "e-invoice email while mode is Broker", start: fullCompany(), give: customer.Patch{EInvoiceEmail: customer.Clear[string]()},
			want: fullCompanyData(changed(func(d *customer.Data) { d.EInvoice.Email = "" })...)},
		{name: "e-invoice entirely", start: fullCompany(), give: customer.Patch{
			EInvoiceMode: customer.Clear[customer.EInvoiceMode](), EInvoiceBroker: customer.Clear[string](),
			EInvoiceAddress: customer.Clear[string](), EInvoiceEmail: customer.Clear[string](),
		}, want: fullCompanyData(changed(func(d *customer.Data) { d.EInvoice = customer.EInvoice{} })...)},
		{name: "every optional field of a company", start: fullCompany(), give: customer.Patch{
			VATNumber: customer.Clear[string](), VATStatus: customer.Clear[customer.VATStatus](),
			Email: customer.Clear[string](), Language: customer.Clear[customer.Language](),
			SSN: customer.Clear[string](), MarketingEmail: customer.Clear[bool](), MarketingSMS: customer.Clear[bool](),
			GDPRRestricted: customer.Clear[bool](), CreditAllowed: customer.Clear[bool](),
			ExternalID: customer.Clear[string](), NetvisorID: customer.Clear[string](),
			ExternalSystems: customer.Clear[[]customer.ExternalLink](), CustomerCards: customer.Clear[[]string](),
			Groups: customer.Clear[[]string](), Addresses: customer.Clear[[]customer.Address](),
			PhoneNumbers: customer.Clear[[]string](), EInvoiceMode: customer.Clear[customer.EInvoiceMode](),
			EInvoiceBroker: customer.Clear[string](), EInvoiceAddress: customer.Clear[string](),
			EInvoiceEmail: customer.Clear[string](), FirstName: customer.Clear[string](), LastName: customer.Clear[string](),
		}, want: companyData(changed()...)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			if _, err := c.Apply(tt.give, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestApplyClearRequired: what a customer cannot be without cannot be
// cleared, and a failed Apply leaves the customer untouched.
func TestApplyClearRequired(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  []string
	}{
		{name: "type of a person", start: fullPerson(), give: customer.Patch{Type: customer.Clear[customer.Type]()}, want: []string{"type"}},
		{name: "type of a company", start: fullCompany(), give: customer.Patch{Type: customer.Clear[customer.Type]()}, want: []string{"type"}},
		{name: "firstName", start: fullPerson(), give: customer.Patch{FirstName: customer.Clear[string]()}, want: []string{"firstName"}},
		{name: "lastName", start: fullPerson(), give: customer.Patch{LastName: customer.Clear[string]()}, want: []string{"lastName"}},
		{name: "both names", start: fullPerson(), give: customer.Patch{FirstName: customer.Clear[string](), LastName: customer.Set("")}, want: []string{"firstName", "lastName"}},
		{name: "companyName", start: fullCompany(), give: customer.Patch{CompanyName: customer.Clear[string]()}, want: []string{"companyName"}},
		{name: "businessId", start: fullCompany(), give: customer.Patch{BusinessID: customer.Clear[string]()}, want: []string{"businessId"}},
		{name: "e-invoice broker in Broker mode", start: fullCompany(), give: customer.Patch{EInvoiceBroker: customer.Clear[string]()}, want: []string{"eInvoice.broker"}},
		{name: "e-invoice address in Broker mode", start: fullCompany(), give: customer.Patch{EInvoiceAddress: customer.Set("")}, want: []string{"eInvoice.address"}},
		{name: "e-invoice email in Email mode", start: fullPerson(), give: customer.Patch{EInvoiceEmail: customer.Clear[string]()}, want: []string{"eInvoice.email"}},
		{name: "company becomes a person keeping company fields", start: fullCompany(), give: customer.Patch{
			Type: customer.Set(customer.Person), FirstName: customer.Set("Matti"), LastName: customer.Set("M"),
		}, want: []string{"businessId", "companyName", "vatNumber", "vatStatus"}},
		{name: "person becomes a company keeping the ssn", start: fullPerson(), give: customer.Patch{
			Type: customer.Set(customer.Company), CompanyName: customer.Set("Oy"), BusinessID: customer.Set("2332748-7"),
		}, want: []string{"ssn"}},
		{name: "person becomes a company without its fields", start: fullPerson(), give: customer.Patch{
			Type: customer.Set(customer.Company), SSN: customer.Clear[string](),
		}, want: []string{"businessId", "companyName"}},
		{name: "businessId changed away from the vatNumber", start: fullCompany(), give: customer.Patch{
			BusinessID: customer.Set("2332748-7"),
		}, want: []string{"vatNumber"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			before := c.Data()
			events, err := c.Apply(tt.give, noIDs(t, t1))
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
			if events != nil {
				t.Errorf("events = %+v, want none", events)
			}
			if after := c.Data(); !reflect.DeepEqual(after, before) {
				t.Errorf("a failed Apply changed the customer:\n%+v\nwas\n%+v", after, before)
			}
		})
	}
}

// TestApplyTypeChange: a customer can change type when the patch brings
// the new type's fields and removes the old one's.
func TestApplyTypeChange(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  customer.Data
	}{
		{
			name: "company to person",
			start: company(func(p *customer.Patch) {
				p.VATNumber = customer.Set("FI20774740")
				p.VATStatus = customer.Set(customer.VATEUGoods)
			}),
			give: customer.Patch{
				Type: customer.Set(customer.Person), FirstName: customer.Set("Matti"), LastName: customer.Set("Meikäläinen"),
				CompanyName: customer.Clear[string](), BusinessID: customer.Set(""), VATNumber: customer.Clear[string](),
				VATStatus: customer.Clear[customer.VATStatus](),
			},
			want: personData(func(d *customer.Data) { d.Version = 2; d.UpdatedAt = t1 }),
		},
		{
			name:  "person to company",
			start: person(func(p *customer.Patch) { p.SSN = customer.Set("131052-308T") }),
			give: customer.Patch{
				Type: customer.Set(customer.Company), CompanyName: customer.Set("Kirjuri Oy"), BusinessID: customer.Set("20774740"),
				SSN: customer.Clear[string](),
			},
			// The names may stay on a company.
			want: companyData(func(d *customer.Data) {
				d.FirstName = "Matti"
				d.LastName = "Meikäläinen"
				d.Version = 2
				d.UpdatedAt = t1
			}),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			if _, err := c.Apply(tt.give, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := c.Data(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestApplySetEmptyIsClear: for every text field, Set("") and Set of blanks
// do exactly what Clear does, success or failure alike.
func TestApplySetEmptyIsClear(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		start       customer.Patch
		field       func(*customer.Patch) *customer.Opt[string]
		wantErr     []string
		wantVersion int64
	}{
		{name: "firstName", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.FirstName }, wantErr: []string{"firstName"}, wantVersion: 1},
		{name: "lastName", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.LastName }, wantErr: []string{"lastName"}, wantVersion: 1},
		{name: "firstName of a company", start: company(func(p *customer.Patch) { p.FirstName = customer.Set("Yhteys") }), field: func(p *customer.Patch) *customer.Opt[string] { return &p.FirstName }, wantVersion: 2},
		{name: "lastName of a company", start: company(func(p *customer.Patch) { p.LastName = customer.Set("Henkilö") }), field: func(p *customer.Patch) *customer.Opt[string] { return &p.LastName }, wantVersion: 2},
		{name: "companyName", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.CompanyName }, wantErr: []string{"companyName"}, wantVersion: 1},
		{name: "businessId", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.BusinessID }, wantErr: []string{"businessId"}, wantVersion: 1},
		{name: "vatNumber", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.VATNumber }, wantVersion: 2},
		{name: "email", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.Email }, wantVersion: 2},
		{name: "ssn", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.SSN }, wantVersion: 2},
		{name: "externalId", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.ExternalID }, wantVersion: 2},
		{name: "netvisorId", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.NetvisorID }, wantVersion: 2},
		{name: "eInvoice.broker", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.EInvoiceBroker }, wantErr: []string{"eInvoice.broker"}, wantVersion: 1},
		{name: "eInvoice.address", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.EInvoiceAddress }, wantErr: []string{"eInvoice.address"}, wantVersion: 1},
		{name: "eInvoice.email in Broker mode", start: fullCompany(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.EInvoiceEmail }, wantVersion: 2},
		{name: "eInvoice.email in Email mode", start: fullPerson(), field: func(p *customer.Patch) *customer.Opt[string] { return &p.EInvoiceEmail }, wantErr: []string{"eInvoice.email"}, wantVersion: 1},
		{name: "eInvoice.broker without a mode", start: company(func(p *customer.Patch) { p.EInvoiceBroker = customer.Set("PAGERO") }), field: func(p *customer.Patch) *customer.Opt[string] { return &p.EInvoiceBroker }, wantVersion: 2},
	}

	for _, tt := range tests {
		for _, give := range []string{"", "   ", "\t\n\u00a0"} {
			t.Run(tt.name+"/"+give, func(t *testing.T) {
				t.Parallel()

				cleared, set := mustNew(t, tt.start), mustNew(t, tt.start)
				var pc, ps customer.Patch
				*tt.field(&pc) = customer.Clear[string]()
				*tt.field(&ps) = customer.Set(give)
				evc, errc := cleared.Apply(pc, change(t1))
				evs, errs := set.Apply(ps, change(t1))
				if got := errFields(errc); !reflect.DeepEqual(got, tt.wantErr) {
					t.Errorf("Clear: error fields %q, want %q (%v)", got, tt.wantErr, errc)
				}
				if !reflect.DeepEqual(errs, errc) || !reflect.DeepEqual(evs, evc) {
					t.Errorf("Set(%q) = %v, %v; Clear = %v, %v", give, evs, errs, evc, errc)
				}
				if !reflect.DeepEqual(set.Data(), cleared.Data()) {
					t.Errorf("after Set(%q):\n%+v\nafter Clear:\n%+v", give, set.Data(), cleared.Data())
				}
				if got := cleared.Version(); got != tt.wantVersion {
					t.Errorf("version = %d, want %d", got, tt.wantVersion)
				}
			})
		}
	}
}

// TestApplyListsReplacedWhole: a list in a patch is the whole new list.
func TestApplyListsReplacedWhole(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give customer.Patch
		want customer.Data
	}{
		{
			name: "phones",
			give: customer.Patch{PhoneNumbers: customer.Set([]string{"050 7654321"})},
			want: fullCompanyData(func(d *customer.Data) { d.PhoneNumbers = []string{"+358507654321"} }),
		},
		{
			name: "phones emptied by an empty list",
			give: customer.Patch{PhoneNumbers: customer.Set([]string{})},
			want: fullCompanyData(func(d *customer.Data) { d.PhoneNumbers = nil }),
		},
		{
			name: "phones emptied by a nil list",
			give: customer.Patch{PhoneNumbers: customer.Set[[]string](nil)},
			want: fullCompanyData(func(d *customer.Data) { d.PhoneNumbers = nil }),
		},
		{
			name: "cards",
			give: customer.Patch{CustomerCards: customer.Set([]string{"CARD-2", "CARD-3"})},
			want: fullCompanyData(func(d *customer.Data) { d.CustomerCards = []string{"CARD-2", "CARD-3"} }),
		},
		{
			name: "groups",
			give: customer.Patch{Groups: customer.Set([]string{"new"})},
			want: fullCompanyData(func(d *customer.Data) { d.Groups = []string{"new"} }),
		},
		{
			name: "links",
			give: customer.Patch{ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.Maestro, Identifier: "M-1"}})},
			want: fullCompanyData(func(d *customer.Data) {
				d.ExternalSystems = []customer.ExternalLink{{SystemID: customer.Maestro, Identifier: "M-1"}}
			}),
		},
		{
			name: "addresses",
			give: customer.Patch{Addresses: customer.Set([]customer.Address{{Type: customer.Home, StreetAddress1: "Uusi 1", PostalCode: "90100", City: "Oulu"}})},
			want: fullCompanyData(func(d *customer.Data) {
				d.Addresses = []customer.Address{{Type: customer.Home, StreetAddress1: "Uusi 1", PostalCode: "90100", City: "Oulu", Country: "FI"}}
			}),
		},
		{
			name: "list order is kept",
			give: customer.Patch{CustomerCards: customer.Set([]string{"CARD-2", "CARD-1"})},
			want: fullCompanyData(func(d *customer.Data) { d.CustomerCards = []string{"CARD-2", "CARD-1"} }),
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, fullCompany())
			if _, err := c.Apply(tt.give, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := tt.want
			want.Version, want.UpdatedAt = 2, t1
			if got := c.Data(); !reflect.DeepEqual(got, want) {
				t.Errorf("Data() =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestApplyGroupMembership: membership changes apply after Groups, one
// group at a time.
func TestApplyGroupMembership(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		start  []string
		groups customer.Opt[[]string]
		give   map[string]bool
		want   []string
	}{
		{name: "add", start: []string{"a"}, give: map[string]bool{"b": true}, want: []string{"a", "b"}},
		{name: "add present", start: []string{"a"}, give: map[string]bool{"a": true}, want: []string{"a"}},
		{name: "remove", start: []string{"a", "b", "c"}, give: map[string]bool{"b": false}, want: []string{"a", "c"}},
		{name: "remove absent", start: []string{"a"}, give: map[string]bool{"z": false}, want: []string{"a"}},
		{name: "remove last", start: []string{"a"}, give: map[string]bool{"a": false}, want: nil},
		{name: "add and remove, added in id order", start: []string{"m"}, give: map[string]bool{"z": true, "m": false, "b": true, "c": true}, want: []string{"b", "c", "z"}},
		{name: "ids trimmed", start: []string{"a"}, give: map[string]bool{" a ": false, " b": true}, want: []string{"b"}},
		{name: "after Groups", start: []string{"a"}, groups: customer.Set([]string{"x", "y"}), give: map[string]bool{"x": false, "a": true}, want: []string{"y", "a"}},
		{name: "after Groups cleared", start: []string{"a", "b"}, groups: customer.Clear[[]string](), give: map[string]bool{"b": true}, want: []string{"b"}},
		{name: "to the limit", start: numbered("g", customer.MaxListLen-1), give: map[string]bool{"last": true}, want: append(numbered("g", customer.MaxListLen-1), "last")},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, person(func(p *customer.Patch) { p.Groups = customer.Set(tt.start) }))
			if _, err := c.Apply(customer.Patch{Groups: tt.groups, GroupMembership: tt.give}, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := c.Data().Groups; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("groups = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestApplyEInvoiceMerge: the e-invoice settings are merged one field at a
// time and must hold together after the merge.
func TestApplyEInvoiceMerge(t *testing.T) {
	t.Parallel()

	broker := customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "003723327487", Address: "003720774740"}
	startBroker := company(func(p *customer.Patch) {
		p.EInvoiceMode = customer.Set(broker.Mode)
		p.EInvoiceBroker = customer.Set(broker.Broker)
		p.EInvoiceAddress = customer.Set(broker.Address)
	})

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  customer.EInvoice
	}{
		{
			name:  "broker alone changes the broker",
			start: startBroker,
			give:  customer.Patch{EInvoiceBroker: customer.Set("OKOYFIHH")},
			want:  customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "OKOYFIHH", Address: "003720774740"},
		},
		{
			name:  "address alone changes the address",
			start: startBroker,
			give:  customer.Patch{EInvoiceAddress: customer.Set("FI4950009420028730")},
			want:  customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "003723327487", Address: "FI4950009420028730"},
		},
		{
			name:  "email added while Broker",
			start: startBroker,
			give:  customer.Patch{EInvoiceEmail: customer.Set("laskut@kirjuri.fi")},
			want:  customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "003723327487", Address: "003720774740", Email: "laskut@kirjuri.fi"},
		},
		{
			name:  "switch to Email with an email",
			start: startBroker,
			give:  customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceEmail), EInvoiceEmail: customer.Set("laskut@kirjuri.fi")},
			want:  customer.EInvoice{Mode: customer.EInvoiceEmail, Broker: "003723327487", Address: "003720774740", Email: "laskut@kirjuri.fi"},
		},
		{
			name:  "mode set to none",
			start: startBroker,
			give:  customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceNone)},
			want:  customer.EInvoice{Broker: "003723327487", Address: "003720774740"},
		},
		{
			name:  "details first, then mode",
			start: company(func(p *customer.Patch) { p.EInvoiceEmail = customer.Set("laskut@kirjuri.fi") }),
			give:  customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceEmail)},
			want:  customer.EInvoice{Mode: customer.EInvoiceEmail, Email: "laskut@kirjuri.fi"},
		},
		{
			name:  "details cleared with the mode",
			start: startBroker,
			give:  customer.Patch{EInvoiceMode: customer.Clear[customer.EInvoiceMode](), EInvoiceBroker: customer.Clear[string](), EInvoiceAddress: customer.Set("")},
			want:  customer.EInvoice{},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			if _, err := c.Apply(tt.give, change(t1)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := c.Data().EInvoice; got != tt.want {
				t.Errorf("eInvoice = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestApplyEInvoiceMergeRejects(t *testing.T) {
	t.Parallel()

	startBroker := company(func(p *customer.Patch) {
		p.EInvoiceMode = customer.Set(customer.EInvoiceBroker)
		p.EInvoiceBroker = customer.Set("003723327487")
		p.EInvoiceAddress = customer.Set("003720774740")
	})

	tests := []struct {
		name  string
		start customer.Patch
		give  customer.Patch
		want  []string
	}{
		{name: "switch to Email without an email", start: startBroker, give: customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceEmail)}, want: []string{"eInvoice.email"}},
		{name: "switch to Broker with nothing", start: company(), give: customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceBroker)}, want: []string{"eInvoice.address", "eInvoice.broker"}},
		{name: "switch to Broker with a broker only", start: company(), give: customer.Patch{EInvoiceMode: customer.Set(customer.EInvoiceBroker), EInvoiceBroker: customer.Set("PAGERO")}, want: []string{"eInvoice.address"}},
		{name: "broker removed in Broker mode", start: startBroker, give: customer.Patch{EInvoiceBroker: customer.Clear[string]()}, want: []string{"eInvoice.broker"}},
		{name: "invalid email in Broker mode", start: startBroker, give: customer.Patch{EInvoiceEmail: customer.Set("not-an-email")}, want: []string{"eInvoice.email"}},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			c := mustNew(t, tt.start)
			_, err := c.Apply(tt.give, change(t1))
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}
