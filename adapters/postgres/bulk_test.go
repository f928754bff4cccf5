package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// bulkAt is when the customers of these tests are made: UTC, in whole
// microseconds, as PostgreSQL keeps it.
var bulkAt = time.Date(2025, 3, 4, 5, 6, 7, 891011000, time.UTC)

func bulkChange() customer.Change {
	return customer.Change{At: bulkAt, Origin: consent.Origin{Source: consent.SourceImport, ImportID: "bulk-test"}, NewID: v7{}.New}
}

// build makes a new customer from p with a number taken from the store.
func (e *env) build(p customer.Patch) *customer.Customer {
	e.t.Helper()
	nums, err := e.store.NextNumbers(e.ctx, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	c, _, err := customer.New(v7{}.New(), nums[0], p, bulkChange())
	if err != nil {
		e.t.Fatalf("customer.New: %v", err)
	}
	return c
}

// writeNew stores new customers with WriteBatch, all or nothing, and
// returns the rejection of the first write refused.
func (e *env) writeNew(cs []*customer.Customer) error {
	e.t.Helper()
	writes := make([]ports.BatchWrite, len(cs))
	for i, c := range cs {
		writes[i] = ports.BatchWrite{Customer: c}
	}
	rej, err := e.store.WriteBatch(e.ctx, ports.Batch{Writes: writes, AllOrNothing: true})
	if err != nil {
		return err
	}
	if len(rej) > 0 {
		return rej[0].Err
	}
	return nil
}

func (e *env) groups(ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		if err := e.store.CreateGroup(e.ctx, customer.Group{ExternalID: id, Name: id}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// bulkPerson sets every field a person can have, except the consents and
// the restriction (so that it has no events).
func bulkPerson(i int) customer.Patch {
	return customer.Patch{
		FirstName:  customer.Set("Väinö"),
		LastName:   customer.Set(fmt.Sprintf("Mäkelä%d", i)),
		VATStatus:  customer.Set(customer.VATOutsideEU),
		Email:      customer.Set(fmt.Sprintf("Vaino.Makela.%d@Example.FI", i)),
		Language:   customer.Set(customer.Swedish),
		ExternalID: customer.Set(fmt.Sprintf("ext-%d", i)),
		NetvisorID: customer.Set(fmt.Sprintf("NV-%d", i)),
		ExternalSystems: customer.Set([]customer.ExternalLink{
			{SystemID: customer.WooCommerce, Identifier: fmt.Sprintf("wc-%d", i)},
			{SystemID: customer.Reservation, Identifier: fmt.Sprintf("varaus %d/2", i)},
		}),
		CustomerCards: customer.Set([]string{fmt.Sprintf("CARD-%d-B", i), fmt.Sprintf("CARD-%d-A", i)}),
		Groups:        customer.Set([]string{"vip", "b2c"}),
		CreditAllowed: customer.Set(true),
		Addresses: customer.Set([]customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 1 A 2", StreetAddress2: "c/o Mäkelä", PostalCode: "00100", City: "Helsinki"},
			{Type: customer.Delivery, StreetAddress1: "Storgatan 1", PostalCode: "111 22", City: "Stockholm", Country: "SE"},
		}),
		PhoneNumbers:    customer.Set([]string{fmt.Sprintf("040 12345%02d", i), "+46 70 123 45 67"}),
		EInvoiceMode:    customer.Set(customer.EInvoiceBroker),
		EInvoiceBroker:  customer.Set("003721291126"),
		EInvoiceAddress: customer.Set("FI2112345600000785"),
	}
}

// bulkWorld is a batch covering every field: two full persons with
// identity codes, a company with contacts and a bare person.
func bulkWorld(e *env) []*customer.Customer {
	e.t.Helper()
	e.groups("vip", "b2c", "b2b")
	p1 := bulkPerson(1)
	p1.SSN = customer.Set("131052-308T")
	p2 := bulkPerson(2)
	p2.SSN = customer.Set("100190-999P")
	co := customer.Patch{
		Type:            customer.Set(customer.Company),
		CompanyName:     customer.Set("Esimerkki Oy"),
		BusinessID:      customer.Set("FI 2077474-0"),
		VATNumber:       customer.Set("FI20774740"),
		VATStatus:       customer.Set(customer.VATEUServices),
		Email:           customer.Set("laskut@esimerkki.fi"),
		Language:        customer.Set(customer.English),
		Groups:          customer.Set([]string{"b2b"}),
		EInvoiceMode:    customer.Set(customer.EInvoiceEmail),
		EInvoiceEmail:   customer.Set("verkkolaskut@esimerkki.fi"),
		ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-company"}}),
	}
	first, second := e.build(p1), e.build(p2)
	company := e.build(co)
	for _, ct := range []customer.Contact{
		{ID: v7{}.New(), Name: "Maija Mallikas", Role: "talousjohtaja", Email: "maija@esimerkki.fi", Phone: "050 1112223"},
		{ID: v7{}.New(), Name: "Ville Vallaton"},
	} {
		if err := company.AddContact(ct, bulkChange()); err != nil {
			e.t.Fatal(err)
		}
	}
	return []*customer.Customer{first, second, company, e.build(person("Aino", "Ahonen"))}
}

func TestWriteBatchRoundTrip(t *testing.T) {
	e := newEnv(t)
	batch := bulkWorld(e)
	if err := e.writeNew(batch); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	for _, c := range batch {
		want := c.Data()
		got, err := e.store.Get(e.ctx, c.ID())
		if err != nil {
			t.Fatalf("Get(%d): %v", want.Number, err)
		}
		assertSame(t, "Get", got.Data(), want)
		got, err = e.store.GetByNumber(e.ctx, c.Number())
		if err != nil {
			t.Fatalf("GetByNumber(%d): %v", want.Number, err)
		}
		assertSame(t, "GetByNumber", got.Data(), want)
		for _, l := range want.ExternalSystems {
			got, err := e.store.GetByExternal(e.ctx, l)
			if err != nil {
				t.Fatalf("GetByExternal(%s): %v", l, err)
			}
			assertSame(t, "GetByExternal "+l.String(), got.Data(), want)
		}
	}

	tests := []struct {
		name string
		give ports.CustomerQuery
		want []int // indexes into batch
	}{
		{"q last name", ports.CustomerQuery{Q: "mäkelä2"}, []int{1}},
		{"q first name", ports.CustomerQuery{Q: "väinö"}, []int{0, 1}},
		{"q phone typed locally", ports.CustomerQuery{Q: "040 1234501"}, []int{0}},
		{"q email", ports.CustomerQuery{Q: "vaino.makela.2@"}, []int{1}},
		{"q number", ports.CustomerQuery{Q: fmt.Sprint(batch[3].Number())}, []int{3}},
		{"email", ports.CustomerQuery{Email: "VAINO.MAKELA.1@example.fi"}, []int{0}},
		{"phone", ports.CustomerQuery{Phone: "+358401234502"}, []int{1}},
		{"group", ports.CustomerQuery{Group: "b2c"}, []int{0, 1}},
		{"business id", ports.CustomerQuery{BusinessID: "2077474-0"}, []int{2}},
		{"link", ports.CustomerQuery{SystemID: customer.Reservation, Identifier: "varaus 2/2"}, []int{1}},
		{"system", ports.CustomerQuery{SystemID: customer.WooCommerce}, []int{0, 1, 2}},
		{"all", ports.CustomerQuery{}, []int{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		page, err := e.store.Find(e.ctx, tt.give)
		if err != nil {
			t.Fatalf("%s: Find: %v", tt.name, err)
		}
		var got []int
		for _, c := range page.Items {
			i := slices.IndexFunc(batch, func(b *customer.Customer) bool { return b.ID() == c.ID() })
			got = append(got, i)
			if i >= 0 {
				assertSame(t, tt.name+": Find", c.Data(), batch[i].Data())
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: Find found %v, want %v", tt.name, got, tt.want)
		}
	}
	if n := e.unshipped(); n != 0 {
		t.Errorf("WriteBatch recorded %d consent events, want none", n)
	}
}

// TestWriteBatchEncodesAsCreate stores the same customers with Create in
// one database and with WriteBatch in another, and compares the rows and
// side tables column by column.
func TestWriteBatchEncodesAsCreate(t *testing.T) {
	one, many := newEnv(t), newEnv(t)
	batch := bulkWorld(many)
	one.groups("vip", "b2c", "b2b")
	for _, c := range batch {
		if err := one.store.Create(one.ctx, c, nil); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if err := many.writeNew(batch); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	// ssn_enc has a random nonce; its decryption is checked by the round
	// trip, its presence here.
	queries := []string{
		`SELECT to_jsonb(c) - 'ssn_enc' || jsonb_build_object('ssn_enc', ssn_enc IS NOT NULL) FROM customers c ORDER BY number`,
		`SELECT to_jsonb(l) FROM customer_links l ORDER BY system_id, identifier`,
		`SELECT to_jsonb(k) FROM customer_cards k ORDER BY card`,
	}
	for _, q := range queries {
		a, b := rowsJSON(t, one, q), rowsJSON(t, many, q)
		if len(a) == 0 {
			t.Fatalf("%s: no rows", q)
		}
		if !slices.Equal(a, b) {
			t.Errorf("%s:\nCreate wrote     %v\nWriteBatch wrote %v", q, a, b)
		}
	}
}

func rowsJSON(t *testing.T, e *env, q string) []string {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteBatchAllOrNothing(t *testing.T) {
	tests := []struct {
		name      string
		give      func(e *env) []*customer.Customer
		wantField string // of the *fault.Conflict or *fault.Validation
	}{
		{
			name: "email held by a stored customer",
			give: func(e *env) []*customer.Customer {
				p := person("Aino", "Ahonen")
				p.Email = customer.Set("vaino.makela.1@example.fi")
				return []*customer.Customer{e.build(person("Eino", "Ahonen")), e.build(p)}
			},
			wantField: "email",
		},
		{
			name: "link twice in the batch",
			give: func(e *env) []*customer.Customer {
				p := person("Aino", "Ahonen")
				p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.Posti, Identifier: "P-1"}})
				return []*customer.Customer{e.build(p), e.build(p)}
			},
			wantField: "externalSystems",
		},
		{
			name: "link held by a stored customer",
			give: func(e *env) []*customer.Customer {
				p := person("Aino", "Ahonen")
				p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-2"}})
				return []*customer.Customer{e.build(p)}
			},
			wantField: "externalSystems",
		},
		{
			name: "card held by a stored customer",
			give: func(e *env) []*customer.Customer {
				p := person("Aino", "Ahonen")
				p.CustomerCards = customer.Set([]string{"CARD-1-A"})
				return []*customer.Customer{e.build(p)}
			},
			wantField: "customerCards",
		},
		{
			name: "group that does not exist",
			give: func(e *env) []*customer.Customer {
				p := person("Aino", "Ahonen")
				p.Groups = customer.Set([]string{"nope"})
				return []*customer.Customer{e.build(p)}
			},
			wantField: "groups",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			stored := bulkWorld(e)
			if err := e.writeNew(stored); err != nil {
				t.Fatalf("WriteBatch: %v", err)
			}
			before := counts(t, e)
			err := e.writeNew(tt.give(e))
			var field string
			var conflict *fault.Conflict
			var invalid *fault.Validation
			switch {
			case errors.As(err, &conflict):
				field = conflict.Field
			case errors.As(err, &invalid) && len(invalid.Fields) > 0:
				field = invalid.Fields[0].Field
			}
			if field != tt.wantField {
				t.Fatalf("WriteBatch: %v (field %q), want a fault on %q", err, field, tt.wantField)
			}
			if after := counts(t, e); after != before {
				t.Errorf("a rejected batch left rows behind: %v, before %v", after, before)
			}
		})
	}
}

func counts(t *testing.T, e *env) [3]int {
	t.Helper()
	var n [3]int
	err := e.pool.QueryRow(e.ctx, `SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM customer_links),
		(SELECT count(*) FROM customer_cards)`).Scan(&n[0], &n[1], &n[2])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWriteBatchEmpty(t *testing.T) {
	e := newEnv(t)
	if rej, err := e.store.WriteBatch(e.ctx, ports.Batch{}); err != nil || len(rej) > 0 {
		t.Fatal(rej, err)
	}
}

func TestNextNumbers(t *testing.T) {
	e := newEnv(t)
	first, err := e.store.NextNumber(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.store.NextNumbers(e.ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{first + 1, first + 2, first + 3}; !slices.Equal(got, want) {
		t.Errorf("NextNumbers(3) = %v, want %v", got, want)
	}
}

// TestWriteBatchLarge stores a batch of the size the bench and imports use
// and reads a sample back.
func TestWriteBatchLarge(t *testing.T) {
	e := newEnv(t)
	const n = 5000
	nums, err := e.store.NextNumbers(e.ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]*customer.Customer, n)
	for i := range batch {
		p := person("Aino", fmt.Sprintf("Ahonen%d", i))
		p.Email = customer.Set(fmt.Sprintf("aino.%d@example.fi", i))
		p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: fmt.Sprintf("wc-%d", nums[i])}})
		c, _, err := customer.New(uuid.Must(uuid.NewV7()), nums[i], p, bulkChange())
		if err != nil {
			t.Fatal(err)
		}
		batch[i] = c
	}
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	e.ctx = ctx
	if err := e.writeNew(batch); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, e); got != [3]int{n, n, 0} {
		t.Errorf("counts %v, want %d customers and links", got, n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		got, err := e.store.GetByExternal(e.ctx, customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: fmt.Sprintf("wc-%d", nums[i])})
		if err != nil {
			t.Fatal(err)
		}
		assertSame(t, "GetByExternal", got.Data(), batch[i].Data())
	}
}

// assertSame compares two customers field by field; times as instants.
func assertSame(t *testing.T, what string, got, want customer.Data) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("%s: customer %d: times %s/%s, want %s/%s", what, want.Number, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		if g, w := gv.Field(i).Interface(), wv.Field(i).Interface(); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: customer %d: %s = %#v, want %#v", what, want.Number, gv.Type().Field(i).Name, g, w)
		}
	}
}

// TestWriteBatchOptimistic: a batch first writes without the checks the
// unique indexes make anyway; when a value is taken it runs again with
// them, rejects exactly the rows the checks would, and the next batches
// check first until one finds nothing.
func TestWriteBatchOptimistic(t *testing.T) {
	e := newEnv(t)
	e.groups("vip", "b2c")
	held := e.build(bulkPerson(1))
	if err := e.writeNew([]*customer.Customer{held}); err != nil {
		t.Fatal(err)
	}
	defer postgres.SetCheckFirst(postgres.SetCheckFirst(false))

	tests := []struct {
		name      string
		give      customer.Patch
		wantField string
	}{
		{"email, other case", customer.Patch{FirstName: customer.Set("A"), LastName: customer.Set("Kopio"), Email: customer.Set("VAINO.makela.1@example.fi")}, "email"},
		{"external id", customer.Patch{FirstName: customer.Set("B"), LastName: customer.Set("Kopio"), ExternalID: customer.Set("ext-1")}, "externalId"},
		{"Netvisor id", customer.Patch{FirstName: customer.Set("C"), LastName: customer.Set("Kopio"), NetvisorID: customer.Set("NV-1")}, "netvisorId"},
		{"card", customer.Patch{FirstName: customer.Set("D"), LastName: customer.Set("Kopio"), CustomerCards: customer.Set([]string{"CARD-1-A"})}, "customerCards"},
		{"link", customer.Patch{FirstName: customer.Set("E"), LastName: customer.Set("Kopio"), ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-1"}})}, "externalSystems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			postgres.SetCheckFirst(false)
			clash, fine := e.build(tt.give), e.build(person("Vapaa", tt.name))
			rej, err := e.store.WriteBatch(e.ctx, ports.Batch{Writes: []ports.BatchWrite{{Customer: clash}, {Customer: fine}}})
			if err != nil {
				t.Fatal(err)
			}
			var c *fault.Conflict
			if len(rej) != 1 || rej[0].Index != 0 || rej[0].Earlier != -1 || !errors.As(rej[0].Err, &c) || c.Field != tt.wantField {
				t.Fatalf("rejections %+v, want write 0 as a conflict on %s", rej, tt.wantField)
			}
			if _, err := e.store.Get(e.ctx, fine.ID()); err != nil {
				t.Errorf("the write that broke nothing was not stored: %v", err)
			}
			if _, err := e.store.Get(e.ctx, clash.ID()); !fault.IsNotFound(err) {
				t.Errorf("the conflicting write: %v, want not stored", err)
			}
			if !postgres.CheckFirst() {
				t.Error("after a conflict the next batch does not check first")
			}
		})
	}
	if err := e.writeNew([]*customer.Customer{e.build(person("Taas", "Hyvä"))}); err != nil {
		t.Fatal(err)
	}
	if postgres.CheckFirst() {
		t.Error("a checked batch that rejected nothing left the next one checking first")
	}
}
