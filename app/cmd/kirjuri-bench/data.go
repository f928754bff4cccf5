package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// The bench's customers are a pure function of their customer number, so
// that every run, and the load generator, knows what each one holds without
// asking the database.

// dataVersion names the generator in the database marker; change it when
// gen changes, so that an old data set is reloaded rather than reused.
const dataVersion = "v1"

// linkSystem is the external system every bench customer is linked to
// (WooCommerce), as "wc-<number>".
const linkSystem = customer.WooCommerce

var (
	companyWords = strings.Fields("Sähkö Rakennus Kuljetus Puutarha Konsultointi Ravintola Kauppa Tekniikka Media Autohuolto Kiinteistö Metalli Design Data Energia Lounas Kahvila Putki Maalaus Siivous")
	// Customers were made one a minute from here on.
	dataEpoch = time.Date(2019, 1, 1, 8, 0, 0, 0, time.UTC)
)

// mix is benchkit.Mix of a customer number and a salt, for the
// generator's choices.
func mix(n int64, salt uint64) uint64 { return benchkit.Mix(n, salt) }

// record is what the bench knows of a generated customer.
type record struct {
	Number    int64
	Company   bool
	First     string
	Last      string
	Email     string
	Phone     string // E.164, "" when none
	LocalForm string // the phone as a Finn types it: 040 1234567
}

// gen describes customer n: 90 % persons with Finnish names, 10 %
// companies; everyone has a unique email and the link wc-<n>; most have a
// mobile number.
func gen(n int64) record {
	r := record{Number: n, Company: mix(n, 1)%10 == 0}
	if r.Company {
		r.Last = benchkit.LastNames[mix(n, 2)%uint64(len(benchkit.LastNames))]
		r.Email = fmt.Sprintf("info.%d@%s", n, benchkit.Domains[mix(n, 4)%uint64(len(benchkit.Domains))])
	} else {
		r.First = benchkit.FirstNames[mix(n, 3)%uint64(len(benchkit.FirstNames))]
		r.Last = benchkit.LastNames[mix(n, 2)%uint64(len(benchkit.LastNames))]
		r.Email = fmt.Sprintf("%s.%s.%d@%s", ascii(r.First), ascii(r.Last), n, benchkit.Domains[mix(n, 4)%uint64(len(benchkit.Domains))])
	}
	if mix(n, 5)%100 < 85 {
		pre := benchkit.MobilePrefixes[mix(n, 6)%uint64(len(benchkit.MobilePrefixes))]
		digits := fmt.Sprintf("%07d", mix(n, 7)%10_000_000)
		r.Phone = "+358" + pre + digits
		r.LocalForm = "0" + pre + " " + digits
	}
	return r
}

// patch is the creation patch of customer n.
func (r record) patch() customer.Patch {
	n := r.Number
	p := customer.Patch{
		Email:           customer.Set(r.Email),
		ExternalSystems: customer.Set([]customer.ExternalLink{{SystemID: linkSystem, Identifier: "wc-" + strconv.FormatInt(n, 10)}}),
	}
	var groups []string
	if r.Company {
		p.Type = customer.Set(customer.Company)
		p.CompanyName = customer.Set(companyWords[mix(n, 8)%uint64(len(companyWords))] + " " + r.Last + " Oy")
		p.BusinessID = customer.Set(businessID(n))
		groups = append(groups, "b2b")
	} else {
		p.FirstName = customer.Set(r.First)
		p.LastName = customer.Set(r.Last)
		if mix(n, 9)%5 == 0 {
			p.SSN = customer.Set(hetu(n))
		}
	}
	if r.Phone != "" {
		p.PhoneNumbers = customer.Set([]string{r.Phone})
	}
	switch l := mix(n, 10) % 100; {
	case l < 6:
		p.Language = customer.Set(customer.Swedish)
	case l < 9:
		p.Language = customer.Set(customer.English)
	}
	if mix(n, 11)%100 < 60 {
		pl := benchkit.Places[mix(n, 12)%uint64(len(benchkit.Places))]
		p.Addresses = customer.Set([]customer.Address{{
			Type:           customer.Invoice,
			StreetAddress1: fmt.Sprintf("%s %d", benchkit.Streets[mix(n, 13)%uint64(len(benchkit.Streets))], 1+mix(n, 14)%80),
			PostalCode:     pl.Code,
			City:           pl.City,
		}})
	}
	if mix(n, 15)%20 == 0 {
		groups = append(groups, "vip")
	}
	if len(groups) > 0 {
		p.Groups = customer.Set(groups)
	}
	if mix(n, 16)%10 == 0 {
		p.CustomerCards = customer.Set([]string{fmt.Sprintf("KA-%08d", n)})
	}
	return p
}

var benchGroups = []customer.Group{{ExternalID: "vip", Name: "VIP"}, {ExternalID: "b2b", Name: "Yritysasiakkaat"}}

// build makes customer n through the core, as an import would.
func build(n int64) (*customer.Customer, error) {
	at := dataEpoch.Add(time.Duration(n-customer.FirstNumber) * time.Minute)
	ch := customer.Change{
		At:     at,
		Origin: consent.Origin{Source: consent.SourceImport, ImportID: "kirjuri-bench"},
		NewID:  func() uuid.UUID { return uuid.Nil }, // no consents, so no events
	}
	c, _, err := customer.New(idFor(n, at), n, gen(n).patch(), ch)
	if err != nil {
		return nil, fmt.Errorf("bench customer %d: %w", n, err)
	}
	return c, nil
}

// idFor is a UUID v7 for customer n made at at: deterministic, and time
// ordered like the ids the service makes.
func idFor(n int64, at time.Time) uuid.UUID {
	var id uuid.UUID
	ms := uint64(at.UnixMilli())
	binary.BigEndian.PutUint64(id[8:], mix(n, 17))
	binary.BigEndian.PutUint16(id[6:], uint16(mix(n, 18)))
	id[0], id[1], id[2], id[3], id[4], id[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	id[6] = 0x70 | id[6]&0x0f
	id[8] = 0x80 | id[8]&0x3f
	return id
}

// hetu is a valid, unique identity code for customer n (born 1945..1999).
func hetu(n int64) string {
	born := time.Date(1945, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%20000))
	ind := 2 + n/20000
	digits := fmt.Sprintf("%02d%02d%02d%03d", born.Day(), born.Month(), born.Year()%100, ind)
	v, _ := strconv.Atoi(digits)
	return digits[:6] + "-" + digits[6:] + string("0123456789ABCDEFHJKLMNPRSTUVWXY"[v%31])
}

// businessID is a valid Y-tunnus derived from n.
func businessID(n int64) string {
	for salt := uint64(20); ; salt++ {
		s := fmt.Sprintf("%07d", mix(n, salt)%10_000_000)
		w := []int{7, 9, 10, 5, 8, 4, 2}
		sum := 0
		for i := range 7 {
			sum += int(s[i]-'0') * w[i]
		}
		switch r := sum % 11; r {
		case 0:
			return s + "-0"
		case 1:
			continue
		default:
			return s + "-" + strconv.Itoa(11-r)
		}
	}
}

func ascii(s string) string {
	return strings.NewReplacer("ä", "a", "ö", "o", "å", "a", "Ä", "A", "Ö", "O", "Å", "A").Replace(strings.ToLower(s))
}

// --- the database ---

const benchDB = "kirjuri_bench"

// The marker is the database's comment, "kirjuri-bench <dataVersion>
// customers=<n> load=<duration>", set once a load has finished.
func readMarker(ctx context.Context, pool *pgxpool.Pool) (int64, time.Duration, error) {
	var comment *string
	err := pool.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()`).Scan(&comment)
	if err != nil || comment == nil {
		return 0, 0, err
	}
	rest, ok := strings.CutPrefix(*comment, "kirjuri-bench "+dataVersion+" customers=")
	if !ok {
		return 0, 0, nil
	}
	count, took, _ := strings.Cut(rest, " load=")
	n, _ := strconv.ParseInt(count, 10, 64)
	d, _ := time.ParseDuration(took)
	return n, d, nil
}

func writeMarker(ctx context.Context, pool *pgxpool.Pool, n int64, took time.Duration) error {
	text := "NULL"
	if n > 0 {
		text = fmt.Sprintf("'kirjuri-bench %s customers=%d load=%s'", dataVersion, n, took.Round(time.Second))
	}
	_, err := pool.Exec(ctx, "COMMENT ON DATABASE "+benchDB+" IS "+text)
	return err
}

// prepareData makes sure the bench database holds customers FirstNumber ..
// FirstNumber+n-1 made by gen, loading them when it does not. It returns
// how many bench customers there are (at least n), how long loading them
// took, and whether they were loaded by an earlier run.
func prepareData(ctx context.Context, pool *pgxpool.Pool, store *postgres.Store, n int64, batch int, reload bool) (int64, time.Duration, bool, error) {
	have, took, err := readMarker(ctx, pool)
	if err != nil {
		return 0, 0, false, err
	}
	if have >= n && !reload {
		// Drop what an interrupted run's create scenario may have added.
		if err := dropCreated(ctx, pool, have); err != nil {
			return 0, 0, false, err
		}
		logf("reusing %d bench customers in %s", have, benchDB)
		return have, took, true, nil
	}
	logf("loading %d customers into %s (had %d)", n, benchDB, have)
	if err := writeMarker(ctx, pool, 0, 0); err != nil {
		return 0, 0, false, err
	}
	for _, stmt := range []string{
		`TRUNCATE customers, customer_search, customer_search_pending, customer_search_pending_ranges, customer_links, customer_cards, customer_groups, consent_outbox_batches, idempotency_keys`,
		`ALTER SEQUENCE customer_number_seq RESTART`,
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			return 0, 0, false, fmt.Errorf("%s: %w", stmt, err)
		}
	}
	for _, g := range benchGroups {
		if err := store.CreateGroup(ctx, g); err != nil && !fault.IsConflict(err) {
			return 0, 0, false, err
		}
	}

	start := time.Now()
	type job struct {
		cs  []*customer.Customer
		err error
	}
	jobs := make(chan job, 2)
	// The generator runs ahead of the writer, so that building customers
	// (phone parsing, validation, JSON) overlaps with PostgreSQL's work.
	go func() {
		defer close(jobs)
		for done := int64(0); done < n; {
			size := min(int64(batch), n-done)
			nums, err := store.NextNumbers(ctx, int(size))
			if err != nil {
				jobs <- job{err: err}
				return
			}
			cs := make([]*customer.Customer, len(nums))
			for i, num := range nums {
				if want := customer.FirstNumber + done + int64(i); num != want {
					jobs <- job{err: fmt.Errorf("the number sequence gave %d, expected %d: is something else writing to %s?", num, want, benchDB)}
					return
				}
				if cs[i], err = build(num); err != nil {
					jobs <- job{err: err}
					return
				}
			}
			select {
			case jobs <- job{cs: cs}:
			case <-ctx.Done():
				return
			}
			done += size
		}
	}()
	var loaded int64
	last := time.Now()
	for j := range jobs {
		if j.err != nil {
			return 0, 0, false, j.err
		}
		if err := writeAll(ctx, store, j.cs); err != nil {
			return 0, 0, false, err
		}
		loaded += int64(len(j.cs))
		if loaded%100_000 < int64(batch) || loaded == n {
			el := time.Since(start)
			logf("  %7d / %d customers  %5.0f s  %6.0f customers/s (last batch %d in %s)",
				loaded, n, el.Seconds(), float64(loaded)/el.Seconds(), len(j.cs), time.Since(last).Round(time.Millisecond))
		}
		last = time.Now()
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, false, err
	}
	took = time.Since(start)
	// WriteBatch leaves the copies of the search text to a job: make them
	// now, so that the finds are measured on the register as it settles.
	copyStart := time.Now()
	if _, err := store.IndexSearch(ctx); err != nil {
		return 0, 0, false, err
	}
	logf("loaded %d customers in %s (%.0f/s), search texts copied in %s; vacuum analyze",
		n, took.Round(time.Second), float64(n)/took.Seconds(), time.Since(copyStart).Round(time.Second))
	for _, t := range []string{"customers", "customer_search", "customer_links", "customer_cards"} {
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+t); err != nil {
			return 0, 0, false, err
		}
	}
	if err := writeMarker(ctx, pool, n, took); err != nil {
		return 0, 0, false, err
	}
	return n, took, false, nil
}

// writeAll stores new customers, which have no consents and so no events,
// through the store's batch path (WriteBatch, the path of imports); a
// rejected one fails the load.
func writeAll(ctx context.Context, store *postgres.Store, cs []*customer.Customer) error {
	writes := make([]ports.BatchWrite, len(cs))
	for i, c := range cs {
		writes[i] = ports.BatchWrite{Customer: c}
	}
	rej, err := store.WriteBatch(ctx, ports.Batch{Writes: writes, AllOrNothing: true})
	if err != nil {
		return err
	}
	if len(rej) > 0 {
		return fmt.Errorf("customer %d was rejected: %w", cs[rej[0].Index].Number(), rej[0].Err)
	}
	return nil
}

// dropCreated deletes the customers the create scenario added beyond the
// loaded ones, and sets the number sequence back.
func dropCreated(ctx context.Context, pool *pgxpool.Pool, loaded int64) error {
	last := customer.FirstNumber + loaded - 1
	tag, err := pool.Exec(ctx, `DELETE FROM customers WHERE number > $1`, last)
	if err != nil {
		return fmt.Errorf("drop created customers: %w", err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM customer_search WHERE customer_number > $1`, last); err != nil {
		return fmt.Errorf("drop created customers' search texts: %w", err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM consent_outbox_batches`); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `SELECT setval('customer_number_seq', $1)`, last); err != nil {
		return err
	}
	if tag.RowsAffected() > 0 {
		logf("dropped the %d customers the create scenario added", tag.RowsAffected())
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) customers"); err != nil {
			return err
		}
	}
	return nil
}
