package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/excel"
	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// copyBatch is how many customers one COPY of the floor carries.
const copyBatch = 10_000

// copyColumns are the columns the floor fills: those of the store's
// customers rows that the generated customers use (the rest take their
// defaults, as they would in the store's own encoding of these customers).
var copyColumns = []string{
	"id", "number", "type", "first_name", "last_name", "email", "language",
	"marketing_email", "marketing_sms", "credit_allowed", "external_id",
	"customer_cards", "groups", "addresses", "phone_numbers", "e_invoice",
	"version", "created_at", "updated_at", "search",
}

// copyFloorResult is COPY of n customers alone.
type copyFloorResult struct {
	rows int
	took time.Duration // the COPYs only; building the rows is not timed
	// bare is the same COPY into a table of the same columns without any
	// index or constraint: the heap alone (the "0.9 s" floor).
	bare time.Duration
}

// copyFloor COPYs the n generated customers, as the store would encode
// them (two addresses as JSON, the phones in E.164, the card, the groups,
// the search text), in batches of 10,000 into table, which has the
// customers table's columns, constraints and indexes. Only the COPYs are
// timed.
func (b *bench) copyFloor(ctx context.Context, table string, n int) (time.Duration, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	return copyRows(ctx, conn.Conn(), table, n)
}

func copyRows(ctx context.Context, conn *pgx.Conn, table string, n int) (time.Duration, error) {
	var took time.Duration
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rows := make([][]any, 0, copyBatch)
	for lo := 0; lo < n; lo += copyBatch {
		rows = rows[:0]
		for i := lo; i < min(lo+copyBatch, n); i++ {
			rows = append(rows, copyRow(gen(i), int64(10000+i), at))
		}
		start := time.Now()
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{table}, copyColumns, pgx.CopyFromRows(rows)); err != nil {
			return 0, fmt.Errorf("COPY into %s: %w", table, err)
		}
		took += time.Since(start)
	}
	return took, nil
}

type addressJSON struct {
	Type           string `json:"type"`
	StreetAddress1 string `json:"streetAddress1,omitempty"`
	PostalCode     string `json:"postalCode,omitempty"`
	City           string `json:"city,omitempty"`
	Country        string `json:"country,omitempty"`
}

type eInvoiceJSON struct {
	Mode    string `json:"mode,omitempty"`
	Broker  string `json:"broker,omitempty"`
	Address string `json:"address,omitempty"`
}

func copyRow(r genRow, number int64, at time.Time) []any {
	p1, p2 := benchkit.Places[r.place1], benchkit.Places[r.place2]
	addrs, _ := json.Marshal([]addressJSON{
		{Type: "Invoice", StreetAddress1: r.street1, PostalCode: p1.Code, City: p1.City, Country: "FI"},
		{Type: "Delivery", StreetAddress1: r.street2, PostalCode: p2.Code, City: p2.City, Country: "FI"},
	})
	var ei eInvoiceJSON
	if r.eInvoice {
		ei = eInvoiceJSON{Mode: "Broker", Broker: broker, Address: r.eInvoiceAddress}
	}
	eiJSON, _ := json.Marshal(ei)
	search := strings.ToLower(strings.Join([]string{r.first, r.last, r.email,
		r.phone1E164, r.phone1E164[1:], r.phone2E164, r.phone2E164[1:], strconv.FormatInt(number, 10)}, " "))
	return []any{
		uuid.Must(uuid.NewV7()), number, "person", r.first, r.last, r.email, "fi",
		r.mEmail, r.mSMS, r.credit, r.externalID,
		[]string{r.card}, r.groups(), string(addrs), []string{r.phone1E164, r.phone2E164}, string(eiJSON),
		int64(1), at, at, search,
	}
}

// measureCopyFloor times COPY of the n customers into a scratch table
// shaped like customers (LIKE customers INCLUDING ALL: the same
// constraints and indexes), and into one with the columns alone (no index,
// no constraint), then drops them.
func (b *bench) measureCopyFloor(ctx context.Context, n int) (copyFloorResult, error) {
	res := copyFloorResult{rows: n}
	for _, f := range []struct {
		like string
		took *time.Duration
	}{{"INCLUDING ALL", &res.took}, {"INCLUDING DEFAULTS", &res.bare}} {
		if _, err := b.pool.Exec(ctx, `DROP TABLE IF EXISTS floor_customers; CREATE TABLE floor_customers (LIKE customers `+f.like+`)`); err != nil {
			return res, err
		}
		b.quiet.Wait(fmt.Sprintf("COPY floor of %s customers (%s)", benchkit.Thousands(float64(n)), f.like))
		took, err := b.copyFloor(ctx, "floor_customers", n)
		_, _ = b.pool.Exec(context.Background(), `DROP TABLE IF EXISTS floor_customers`)
		if err != nil {
			return res, err
		}
		*f.took = took
	}
	benchkit.Logf("COPY floor: %s customers in %s (%s/s); into a table without indexes %s",
		benchkit.Thousands(float64(n)), secs(res.took), benchkit.Thousands(float64(n)/res.took.Seconds()), secs(res.bare))
	return res, nil
}

// seedCustomers fills the register with the n generated customers by COPY
// (and their groups and cards), for an export when the import endpoint is
// not there to do it.
func (b *bench) seedCustomers(ctx context.Context, n int) error {
	if err := b.emptyRegister(ctx); err != nil {
		return err
	}
	// As the store's bulk path does: the search text's copies are made
	// after the rows, here in one statement (the copy trigger is off on
	// this connection meanwhile).
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `SELECT set_config('kirjuri.search_deferred', 'on', false)`)
	if err == nil {
		_, err = copyRows(ctx, conn.Conn(), "customers", n)
	}
	if _, rerr := conn.Exec(context.WithoutCancel(ctx), `SELECT set_config('kirjuri.search_deferred', 'off', false)`); rerr != nil {
		conn.Conn().Close(context.Background()) // never hand the setting on
	}
	conn.Release()
	if err != nil {
		return err
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO customer_search (customer_id, customer_number, version, search) SELECT id, number, version, search FROM customers`); err != nil {
		return err
	}
	for _, g := range groupIDs {
		if _, err := b.pool.Exec(ctx, `INSERT INTO customer_groups (external_id, name) VALUES ($1, $1) ON CONFLICT DO NOTHING`, g); err != nil {
			return err
		}
	}
	if _, err := b.pool.Exec(ctx, `INSERT INTO customer_cards (card, customer_id) SELECT customer_cards[1], id FROM customers`); err != nil {
		return err
	}
	_, err = b.pool.Exec(ctx, `VACUUM ANALYZE customers`)
	return err
}

// phoneResult is the cost of parsing the file's phone numbers with the
// core's NormalizePhone (the libphonenumber port).
type phoneResult struct {
	phones           int
	serial, parallel time.Duration
	workers          int
	invalid          int
}

func (b *bench) measurePhones() (*phoneResult, error) {
	n := b.opts.phones
	phones := make([]string, 0, n)
	for i := 0; len(phones) < n; i++ {
		r := gen(i)
		phones = append(phones, r.phone1)
		if len(phones) < n {
			phones = append(phones, r.phone2)
		}
	}
	res := &phoneResult{phones: n, workers: runtime.GOMAXPROCS(0)}
	b.quiet.Wait(fmt.Sprintf("parsing %s phone numbers", benchkit.Thousands(float64(n))))
	start := time.Now()
	for i, p := range phones {
		e164, err := customer.NormalizePhone(p)
		if err != nil {
			res.invalid++
			continue
		}
		if want := gen(i / 2); (i%2 == 0 && e164 != want.phone1E164) || (i%2 == 1 && e164 != want.phone2E164) {
			return nil, fmt.Errorf("NormalizePhone(%q) = %q, want the generator's E.164 form", p, e164)
		}
	}
	res.serial = time.Since(start)
	var wg sync.WaitGroup
	start = time.Now()
	per := (n + res.workers - 1) / res.workers
	for w := range res.workers {
		lo, hi := w*per, min((w+1)*per, n)
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range phones[lo:hi] {
				_, _ = customer.NormalizePhone(p)
			}
		}()
	}
	wg.Wait()
	res.parallel = time.Since(start)
	b.rep.Check(fmt.Sprintf("every generated phone number parses (%s)", benchkit.Thousands(float64(n))), res.invalid == 0,
		fmt.Sprintf("%d invalid", res.invalid))
	benchkit.Logf("phones: %s through NormalizePhone in %s on one goroutine (%.1f µs each), %s on %d",
		benchkit.Thousands(float64(n)), secs(res.serial), float64(res.serial.Microseconds())/float64(n), secs(res.parallel), res.workers)
	return res, nil
}

// writeFloorResult is the spreadsheet writer writing the export's rows
// from memory.
type writeFloorResult struct {
	rows  int
	took  time.Duration
	bytes int64
}

// poolRows is how many distinct customers the write floor cycles through
// (far more than DEFLATE's 32 KiB window sees, so the compression is that
// of distinct rows).
const poolRows = 10_000

// measureWriteFloor writes n customers with the export's columns and the
// export's sheet writer (adapters/excel.CustomerSheets, the same as GET
// /v1/exports/customers.xlsx uses) to a byte counter: the export without
// the database and the network.
func (b *bench) measureWriteFloor(n int) (*writeFloorResult, error) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pool := make([]customer.Data, min(n, poolRows))
	for i := range pool {
		r := gen(i)
		p1, p2 := benchkit.Places[r.place1], benchkit.Places[r.place2]
		d := customer.Data{
			ID: uuid.Must(uuid.NewV7()), Number: int64(10000 + i), Type: customer.Person,
			FirstName: r.first, LastName: r.last, Email: r.email, Language: customer.DefaultLanguage,
			VATStatus: customer.DefaultVATStatus, MarketingEmail: r.mEmail, MarketingSMS: r.mSMS, CreditAllowed: r.credit,
			ExternalID: r.externalID, CustomerCards: []string{r.card}, Groups: r.groups(),
			Addresses: []customer.Address{
				{Type: customer.Invoice, StreetAddress1: r.street1, PostalCode: p1.Code, City: p1.City, Country: "FI"},
				{Type: customer.Delivery, StreetAddress1: r.street2, PostalCode: p2.Code, City: p2.City, Country: "FI"},
			},
			PhoneNumbers: []string{r.phone1E164, r.phone2E164},
			CreatedAt:    at, UpdatedAt: at, Version: 1,
		}
		if r.eInvoice {
			d.EInvoice = customer.EInvoice{Mode: customer.EInvoiceBroker, Broker: broker, Address: r.eInvoiceAddress}
		}
		pool[i] = d
	}
	cols := register.ExportColumns(ports.ExportShape{Customers: int64(n), CustomerCards: 1, Addresses: 2, PhoneNumbers: 2}, groupIDs, false)
	b.quiet.Wait(fmt.Sprintf("write floor of %s rows", benchkit.Thousands(float64(n))))
	out := &countWriter{}
	start := time.Now()
	sheet, err := excel.NewCustomerSheets().NewCustomerSheet(out, cols)
	if err != nil {
		return nil, err
	}
	for i := range n {
		d := pool[i%len(pool)]
		d.Number = int64(10000 + i)
		if err := sheet.Write(d); err != nil {
			return nil, err
		}
	}
	if err := sheet.Close(); err != nil {
		return nil, err
	}
	res := &writeFloorResult{rows: n, took: time.Since(start), bytes: out.n}
	benchkit.Logf("write floor: %s rows in %s (%.1f MB)", benchkit.Thousands(float64(n)), secs(res.took), float64(out.n)/1e6)
	return res, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
