package postgres_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

// TestCopyBinaryStoresWhatSQLStores writes the same customers and events
// to two databases, through the one-customer SQL path (Create and Update:
// writeArgs, encoded by pgx) and through WriteBatch (binary COPY into
// customers, the staging table, cards, links and the outbox), and compares
// the stored rows column by column as text. The customers cover every
// field and every kind of value: NULLs and empty lists, non-ASCII and
// characters JSON escapes, times with nanoseconds and before 1970 and
// 2000, other time zones, identity codes, an erased customer.
func TestCopyBinaryStoresWhatSQLStores(t *testing.T) {
	sqlEnv, binEnv := newEnv(t), newEnv(t)
	groups := []customer.Group{{ExternalID: "vip", Name: "VIP"}, {ExternalID: "ryhmä ö", Name: "Ryhmä"}, {ExternalID: "b2b", Name: "B2B"}}
	for _, g := range groups {
		if err := sqlEnv.store.CreateGroup(sqlEnv.ctx, g); err != nil {
			t.Fatal(err)
		}
	}

	created := copyBinCustomers(t)
	writes := make([]ports.BatchWrite, len(created))
	for i, c := range created {
		events := copyBinEvents(c, i)
		if err := sqlEnv.store.Create(sqlEnv.ctx, c, events); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
		writes[i] = ports.BatchWrite{Customer: c, Events: events}
	}
	writeAll(t, binEnv, ports.Batch{Writes: writes, Groups: groups})
	compareStored(t, sqlEnv, binEnv, created)

	// Every customer changes: the full ones lose what they had (NULLs
	// again, cards and links given up), the bare one gets everything, the
	// company is erased.
	full, company, bare, erased := created[0], created[1], created[2], created[3]
	updated := []*customer.Customer{
		change(t, full, func(d *customer.Data) {
			*d = customer.Data{ID: d.ID, Number: d.Number, Type: customer.Person, FirstName: "Väinö", LastName: "Ö",
				VATStatus: customer.DefaultVATStatus, Language: customer.English, CreatedAt: d.CreatedAt}
		}),
		change(t, company, func(d *customer.Data) {
			at := time.Date(1969, 7, 20, 20, 17, 40, 999_999_999, time.UTC)
			*d = customer.Data{ID: d.ID, Number: d.Number, Type: customer.Company, VATStatus: customer.DefaultVATStatus,
				Language: customer.DefaultLanguage, GDPRRestricted: true, CreatedAt: d.CreatedAt, ErasedAt: &at}
		}),
		change(t, bare, func(d *customer.Data) {
			f := full.Data()
			f.ID, f.Number, f.CreatedAt, f.SSN = d.ID, d.Number, d.CreatedAt, "010101A123N"
			f.Email, f.ExternalID, f.NetvisorID = "toinen@example.fi", "ext-toinen", "NV-toinen"
			f.CustomerCards = []string{"KORTTI-Ö"}
			f.ExternalSystems = []customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-toinen"}}
			*d = f
		}),
	}
	writes = writes[:0]
	for i, c := range updated {
		before := created[i]
		if i == 2 {
			before = bare
		}
		events := copyBinEvents(c, 10+i)
		if _, err := sqlEnv.store.Update(sqlEnv.ctx, c.ID(), func(stored *customer.Customer) ([]consent.Event, error) {
			*stored = *c
			return events, nil
		}); err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		writes = append(writes, ports.BatchWrite{Customer: c, Before: before, Events: events})
	}
	writeAll(t, binEnv, ports.Batch{Writes: writes})
	compareStored(t, sqlEnv, binEnv, append(updated, erased))
}

// writeAll stores a batch with WriteBatch, failing on any rejection.
func writeAll(t *testing.T, e *env, b ports.Batch) {
	t.Helper()
	rej, err := e.store.WriteBatch(e.ctx, b)
	if err != nil || len(rej) > 0 {
		t.Fatalf("WriteBatch: %v, rejected %+v", err, rej)
	}
}

// change is c changed by fn, one version on.
func change(t *testing.T, c *customer.Customer, fn func(*customer.Data)) *customer.Customer {
	t.Helper()
	d := c.Data()
	fn(&d)
	d.Version = c.Version() + 1
	d.UpdatedAt = time.Date(2031, 12, 31, 23, 59, 59, 999_999_000, time.FixedZone("EET", 2*3600))
	out, err := customer.FromStorage(d)
	if err != nil {
		t.Fatalf("FromStorage: %v", err)
	}
	return out
}

// copyBinCustomers are a person with every field set, a company with
// contacts, a bare person and an erased customer.
func copyBinCustomers(t *testing.T) []*customer.Customer {
	t.Helper()
	nanos := time.Date(2025, 3, 4, 5, 6, 7, 891_011_121, time.UTC)
	helsinki := time.FixedZone("EEST", 3*3600)
	erasedAt := time.Date(1999, 12, 31, 23, 59, 59, 999_999_000, time.UTC)
	ds := []customer.Data{{
		Type: customer.Person, FirstName: `Väinö "Väiski"`, LastName: `Mäkelä\Öhman 😀`, VATStatus: customer.VATOutsideEU,
		Email: "Vaino.Makela@Example.FI", Language: customer.Swedish, SSN: "131052-308T",
		MarketingEmail: true, MarketingSMS: true, GDPRRestricted: true, CreditAllowed: true,
		ExternalID: "ext-1 ä", NetvisorID: "NV-1",
		ExternalSystems: []customer.ExternalLink{
			{SystemID: customer.WooCommerce, Identifier: "wc-1"},
			{SystemID: customer.Reservation, Identifier: `varaus "1/2" \ ✓`},
		},
		CustomerCards: []string{"CARD-Ä-2", "CARD-1", `CARD "3"`},
		Groups:        []string{"vip", "ryhmä ö"},
		Addresses: []customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Mannerheimintie 1 A 2", StreetAddress2: "c/o \"Mäkelä\" <&>\ttab\nline",
				PostalCode: "00100", City: "Helsinki"},
			{Type: customer.Delivery, StreetAddress1: "Storgatan 1", PostalCode: "111 22", City: "Stockholm", Country: "SE"},
		},
		PhoneNumbers: []string{"+358401234567", "+46701234567"},
		EInvoice:     customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: "003721291126", Address: "FI2112345600000785"},
		CreatedAt:    nanos, UpdatedAt: nanos.In(helsinki),
	}, {
		Type: customer.Company, CompanyName: "Esimerkki Oy & Co", BusinessID: "2077474-0", VATNumber: "FI20774740",
		VATStatus: customer.VATEUServices, Email: "laskut@esimerkki.fi", Language: customer.English,
		Groups:          []string{"b2b"},
		ExternalSystems: []customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "wc-company"}},
		EInvoice:        customer.EInvoice{Mode: customer.EInvoiceEmail, Email: "verkkolaskut@esimerkki.fi"},
		Contacts: []customer.Contact{
			{ID: uuid.Must(uuid.NewV7()), Name: "Maija \"M\" Mallikas", Role: "talous\\johtaja", Email: "maija@esimerkki.fi", Phone: "+358501112223"},
			{ID: uuid.Must(uuid.NewV7()), Name: "Ville Vallaton"},
		},
		CreatedAt: time.Date(1999, 12, 31, 23, 59, 59, 123_456_789, helsinki), UpdatedAt: nanos,
	}, {
		Type: customer.Person, FirstName: "Aino", LastName: "A", VATStatus: customer.DefaultVATStatus,
		Language: customer.DefaultLanguage, CreatedAt: nanos, UpdatedAt: nanos,
	}, {
		Type: customer.Person, VATStatus: customer.DefaultVATStatus, Language: customer.DefaultLanguage,
		GDPRRestricted: true, CreatedAt: nanos, UpdatedAt: nanos, ErasedAt: &erasedAt,
	}}
	out := make([]*customer.Customer, len(ds))
	for i, d := range ds {
		d.ID, d.Number, d.Version = uuid.Must(uuid.NewV7()), int64(500_000+i), int64(1+i)
		c, err := customer.FromStorage(d)
		if err != nil {
			t.Fatalf("customer %d: %v", i, err)
		}
		out[i] = c
	}
	return out
}

// copyBinEvents are two events of c with every field set (none for the
// erased customer: i 3).
func copyBinEvents(c *customer.Customer, i int) []consent.Event {
	if i == 3 {
		return nil
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 123_456_789, time.FixedZone("EEST", 3*3600))
	return []consent.Event{{
		ID: uuid.Must(uuid.NewV7()), OccurredAt: at, CustomerID: c.ID(), CustomerNumber: c.Number(),
		Consent: consent.MarketingEmail, OldValue: false, NewValue: true, Source: consent.SourceConnector,
		SourceSystemID: int(customer.WooCommerce), Actor: "käyttäjä", RequestID: fmt.Sprintf("req-%d", i),
		ImportID: "import \"1\"", Evidence: "lomake ✓\nrivi 2",
	}, {
		ID: uuid.Must(uuid.NewV7()), OccurredAt: at.Add(-30 * 365 * 24 * time.Hour), CustomerID: c.ID(),
		CustomerNumber: c.Number(), Consent: consent.MarketingSMS, OldValue: true, Source: consent.SourceAPI,
	}}
}

// compareStored compares what the two databases hold: the rows of the
// customers, cards, links and outbox, column by column as text, and the
// customers as the store reads them (the identity code is sealed with a
// random nonce, so its ciphertext is compared by opening it).
func compareStored(t *testing.T, want, got *env, cs []*customer.Customer) {
	t.Helper()
	tables := []struct {
		table, key, drop string
	}{
		{"customers", "x.id::text", "'ssn_enc'"},
		{"customer_cards", "x.card", "'{}'::text[]"},
		{"customer_links", "x.system_id || '/' || x.identifier", "'{}'::text[]"},
		{"consent_outbox", "x.event_id::text", "'{seq,created_at}'::text[]"},
	}
	for _, tt := range tables {
		w, g := tableText(t, want, tt.table, tt.key, tt.drop), tableText(t, got, tt.table, tt.key, tt.drop)
		if len(w) == 0 {
			t.Errorf("%s: nothing stored", tt.table)
		}
		for key, wantRow := range w {
			gotRow, ok := g[key]
			if !ok {
				t.Errorf("%s %s: missing in the batch's database", tt.table, key)
				continue
			}
			for col, v := range wantRow {
				if !reflect.DeepEqual(gotRow[col], v) {
					t.Errorf("%s %s column %s: batch stored %s, SQL %s", tt.table, key, col, show(gotRow[col]), show(v))
				}
			}
		}
		for key := range g {
			if _, ok := w[key]; !ok {
				t.Errorf("%s %s: only in the batch's database", tt.table, key)
			}
		}
	}
	for _, c := range cs {
		w, err := want.store.Get(want.ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		g, err := got.store.Get(got.ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g.Data(), w.Data()) {
			t.Errorf("customer %d reads back as\n%+v\nnot\n%+v", c.Number(), g.Data(), w.Data())
		}
	}
}

// tableText reads every row of table as its columns' text (jsonb's forms:
// timestamps to the microsecond, bytea in hex), keyed by key, without the
// columns drop lists.
func tableText(t *testing.T, e *env, table, key, drop string) map[string]map[string]*string {
	t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT `+key+`, j.key, j.value FROM `+table+` x,
		jsonb_each_text(to_jsonb(x) - `+drop+`) j`)
	if err != nil {
		t.Fatalf("read %s: %v", table, err)
	}
	defer rows.Close()
	out := map[string]map[string]*string{}
	for rows.Next() {
		var k, col string
		var v *string
		if err := rows.Scan(&k, &col, &v); err != nil {
			t.Fatal(err)
		}
		if out[k] == nil {
			out[k] = map[string]*string{}
		}
		out[k][col] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func show(s *string) string {
	if s == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", *s)
}

// BenchmarkCopyEncode encodes 2,000 new customers with every field a
// person has (bulkPerson), without and with an identity code, as binary
// COPY tuples of customers: as pgx's CopyFrom did (writeArgs, every value
// boxed and encoded through pgx's type map) and as WriteBatch does now
// (straight into one reused buffer). Sealing and hashing the codes is
// the same work in both.
//
//	go test -run '^$' -bench CopyEncode -benchmem ./adapters/postgres/
func BenchmarkCopyEncode(b *testing.B) {
	cipher, err := postgres.NewSSNCipher(testKey)
	if err != nil {
		b.Fatal(err)
	}
	s := postgres.New(nil, cipher)
	for _, ssn := range []bool{false, true} {
		ds := make([]customer.Data, 2000)
		for i := range ds {
			p := bulkPerson(i % 100) // its phone numbers have room for two digits
			if ssn {
				p.SSN = customer.Set("131052-308T")
			}
			c, _, err := customer.New(v7{}.New(), int64(10_000+i), p, bulkChange())
			if err != nil {
				b.Fatal(err)
			}
			ds[i] = c.Data()
		}
		var buf []byte
		b.Run(fmt.Sprintf("pgx/ssn=%v", ssn), func(b *testing.B) {
			m := pgtype.NewMap()
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = s.PgxCopyTuples(m, buf[:0], ds); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("binary/ssn=%v", ssn), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = s.CopyTuples(buf[:0], ds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
