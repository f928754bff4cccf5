package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/postgres"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

// Benchmarks of the store at scale, with figures and the targets they are
// held to (a figure under its target fails the benchmark). They load
// hundreds of thousands of rows, so they run only when asked for, on the
// test servers like the tests:
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./adapters/postgres/
//
// (-bench OutboxRelay or -bench Find for one of them; BenchmarkFind runs
// each kind of query for -benchtime, default 1 s, after the load.)
// KIRJURI_PERF_ROWS sets the number of customers BenchmarkFind loads
// (default 1,000,000). KIRJURI_PERF_DB names a database to load once and
// keep, for looking at query plans afterwards; the customers are loaded
// only when it has none.

// BenchmarkOutboxRelay measures how fast the outbox relay hands events on,
// the PostgreSQL side alone (the ship callback does nothing), in batches of
// 5,000 with one relay and with two; the target is 20,000 events/s. Each
// round seeds 200,000 events (not timed), one an outbox row as API changes
// write them (the relay's dearest case: an import's batch is one row of
// thousands), and drains them. The relay into a
// real ClickHouse is measured by `go tool task bench:audit`.
func BenchmarkOutboxRelay(b *testing.B) {
	const total, batch = 200_000, 5_000
	for _, relays := range []int{1, 2} {
		b.Run(fmt.Sprintf("relays=%d", relays), func(b *testing.B) {
			e := newEnv(b)
			var (
				shippedAll int
				took       time.Duration
			)
			for b.Loop() {
				b.StopTimer()
				for range total / 50_000 {
					seedEvents(b, e.ctx, e.pool, 50_000, 1)
				}
				if _, err := e.pool.Exec(e.ctx, "VACUUM ANALYZE consent_outbox_batches"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				var (
					mu      sync.Mutex
					shipped int
					wg      sync.WaitGroup
				)
				for range relays {
					wg.Go(func() {
						for {
							n, err := e.store.Relay(e.ctx, batch, func(_ context.Context, events []consent.Event) error {
								return nil
							})
							if err != nil {
								b.Error(err)
								return
							}
							mu.Lock()
							shipped += n
							mu.Unlock()
							if n == 0 {
								return
							}
						}
					})
				}
				wg.Wait()
				took += time.Since(start)
				if shipped != total {
					b.Errorf("shipped %d events, want %d", shipped, total)
				}
				shippedAll += shipped
			}
			rate := float64(shippedAll) / took.Seconds()
			b.ReportMetric(rate, "events/s")
			b.Logf("%d relays shipped %d events in %s: %.0f events/s", relays, shippedAll, took.Round(time.Millisecond), rate)
			if rate < 20_000 {
				b.Errorf("%.0f events/s, want at least 20,000", rate)
			}
		})
	}
}

var (
	firstNames   = strings.Fields("Matti Maija Juha Anna Mikko Liisa Timo Tiina Jari Sari Pekka Aino Antti Eeva Ville Helmi Jukka Kaisa Kari Leena Markku Minna Sami Outi Janne Päivi Heikki Ritva Ari Sanna Eetu Emilia Onni Venla Lauri Iida Elias Aada Väinö Siiri")
	lastNames    = strings.Fields("Virtanen Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen Lehtonen Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen Salonen Turunen Salo Laitinen Tuominen Rantanen Karjalainen Jokinen Mattila Savolainen Lahtinen Ahonen Leppänen Hiltunen Kallio Miettinen Leinonen Pesonen Rissanen Lindholm Aaltonen Väisänen Manninen Hakala Laaksonen Lindroos Ojala Anttila Kettunen Hirvonen Harju Toivonen Vainio Hyvönen Seppälä Koivisto Sjöberg Kauppinen Äijälä Björklund Öhman Östman")
	companyWords = strings.Fields("Sähkö Rakennus Kuljetus Puutarha Konsultointi Ravintola Kauppa Tekniikka Media Autohuolto Kiinteistö Metalli Design Data Energia Lounas Kahvila Putki Maalaus Siivous")
	domains      = strings.Fields("gmail.com outlook.com hotmail.com kolumbus.fi luukku.com yahoo.com example.fi saunalahti.fi")
)

// businessID makes a valid Y-tunnus from seven digits.
func businessID(n int) (string, bool) {
	s := fmt.Sprintf("%07d", n%10_000_000)
	w := []int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 7 {
		sum += int(s[i]-'0') * w[i]
	}
	r := sum % 11
	switch r {
	case 0:
		return s + "-0", true
	case 1:
		return "", false
	default:
		return s + "-" + strconv.Itoa(11-r), true
	}
}

// loadCustomers copies n synthetic customers straight into the table, with
// the search column the store would write, and rebuilds the indexes after.
func loadCustomers(t testing.TB, e *env, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	cols := []string{"id", "number", "type", "first_name", "last_name", "company_name", "business_id",
		"email", "phone_numbers", "groups", "gdpr_restricted", "version", "created_at", "updated_at", "search"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := e.pool.Exec(e.ctx, `INSERT INTO customer_groups (external_id, name) VALUES ('vip', 'VIP'), ('b2b', 'B2B')`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(e.ctx, `DROP INDEX customer_search_idx, customers_groups_idx`); err != nil {
		t.Fatal(err)
	}
	// The copies of the search text are made below, in one statement, as
	// the bulk path leaves them to its job: the copy trigger is off on
	// this connection.
	conn, err := e.pool.Acquire(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(e.ctx, `SELECT set_config('kirjuri.search_deferred', 'on', false)`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.Exec(e.ctx, `SELECT set_config('kirjuri.search_deferred', 'off', false)`) }()
	const chunk = 100_000
	for off := 0; off < n; off += chunk {
		rows := make([][]any, 0, chunk)
		for i := off; i < min(off+chunk, n); i++ {
			d := customer.Data{ID: uuid.Must(uuid.NewV7()), Number: int64(customer.FirstNumber + i), Type: customer.Person}
			if rng.IntN(10) < 3 {
				d.Type = customer.Company
				d.CompanyName = companyWords[rng.IntN(len(companyWords))] + " " + lastNames[rng.IntN(len(lastNames))] + " " + []string{"Oy", "Ab", "Tmi", "Ky"}[rng.IntN(4)]
				for d.BusinessID == "" {
					d.BusinessID, _ = businessID(rng.IntN(10_000_000))
				}
			} else {
				d.FirstName = firstNames[rng.IntN(len(firstNames))]
				d.LastName = lastNames[rng.IntN(len(lastNames))]
			}
			if rng.IntN(10) < 8 {
				name := strings.ToLower(d.FirstName + "." + d.LastName)
				if d.Type == customer.Company {
					name = "info"
				}
				d.Email = fmt.Sprintf("%s.%d@%s", name, d.Number, domains[rng.IntN(len(domains))])
			}
			if rng.IntN(10) < 7 {
				d.PhoneNumbers = []string{fmt.Sprintf("+358%s%07d", []string{"40", "50", "44", "45"}[rng.IntN(4)], rng.IntN(10_000_000))}
			}
			var groups []string
			if rng.IntN(20) == 0 {
				groups = []string{"vip"}
			}
			if d.Type == customer.Company && rng.IntN(2) == 0 {
				groups = append(groups, "b2b")
			}
			at := base.Add(time.Duration(i) * time.Minute)
			var email *string
			if d.Email != "" {
				email = &d.Email
			}
			rows = append(rows, []any{d.ID, d.Number, string(d.Type), d.FirstName, d.LastName, d.CompanyName, d.BusinessID,
				email, nonNil(d.PhoneNumbers), nonNil(groups), rng.IntN(100) == 0, int64(1), at, at, postgres.SearchText(d)})
		}
		if _, err := conn.CopyFrom(e.ctx, pgx.Identifier{"customers"}, cols, pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`SET maintenance_work_mem = '512MB'`,
		`INSERT INTO customer_search (customer_id, customer_number, version, search) SELECT id, number, version, search FROM customers`,
		`CREATE INDEX customer_search_idx ON customer_search USING gin (search gin_trgm_ops)`,
		`CREATE INDEX customers_groups_idx ON customers USING gin (groups)`,
		// Links: a third of the customers in WooCommerce, a handful in
		// Matkahuolto. (The jsonb copy on the row is left empty: only the
		// filter is measured.)
		`INSERT INTO customer_links (system_id, identifier, customer_id)
			SELECT 6, 'woo-' || number, id FROM customers WHERE number % 3 = 0`,
		`INSERT INTO customer_links (system_id, identifier, customer_id)
			SELECT 3, 'mh-' || number, id FROM customers WHERE number % 20000 = 7`,
		`VACUUM ANALYZE customers`,
		`VACUUM ANALYZE customer_search`,
		`VACUUM ANALYZE customer_links`,
	} {
		if _, err := conn.Exec(e.ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// BenchmarkFind measures finds at a million customers, one sub-benchmark
// per kind of query, with p50 and p95 in ms; the target is a p95 well under
// 50 ms (35 ms here, as the API adds its own work; see BenchmarkFind's
// known slow kinds). The API's find through HTTP is measured by
// `go tool task bench`.
func BenchmarkFind(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("KIRJURI_PERF_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("KIRJURI_PERF_ROWS=%q: want a positive number", s)
		}
	}
	var e *env
	if url := os.Getenv("KIRJURI_PERF_DB"); url != "" {
		// A kept database, loaded once, for looking at plans afterwards.
		e = envOn(b, url)
	} else {
		e = newEnv(b)
	}
	var loaded int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM customers`).Scan(&loaded); err != nil {
		b.Fatal(err)
	}
	if loaded == 0 {
		start := time.Now()
		loadCustomers(b, e, n)
		b.Logf("loaded %d customers in %s", n, time.Since(start).Round(time.Second))
	} else {
		n = loaded
	}

	rng := rand.New(rand.NewPCG(3, 4))
	// A phone number and an email that exist.
	var phone, email string
	if err := e.pool.QueryRow(e.ctx, `SELECT phone_numbers[1], email FROM customers WHERE number = $1`, customer.FirstNumber+n/2+1).Scan(&phone, &email); err != nil {
		// Not every customer has both; take any that has.
		if err := e.pool.QueryRow(e.ctx, `SELECT phone_numbers[1], email FROM customers WHERE cardinality(phone_numbers) > 0 AND email IS NOT NULL AND number > $1 ORDER BY number LIMIT 1`, customer.FirstNumber+n/2).Scan(&phone, &email); err != nil {
			b.Fatal(err)
		}
	}
	local := "0" + strings.TrimPrefix(phone, "+358")
	cursorPage, err := e.store.Find(e.ctx, ports.CustomerQuery{Q: "virtanen", Limit: 50})
	if err != nil {
		b.Fatal(err)
	}
	queries := []struct {
		name string
		q    func() ports.CustomerQuery
	}{
		{"list first page", func() ports.CustomerQuery { return ports.CustomerQuery{} }},
		{"q common last name", func() ports.CustomerQuery { return ports.CustomerQuery{Q: lastNames[rng.IntN(len(lastNames))]} }},
		{"q first and last name", func() ports.CustomerQuery {
			return ports.CustomerQuery{Q: firstNames[rng.IntN(len(firstNames))] + " " + lastNames[rng.IntN(len(lastNames))]}
		}},
		{"q rare (no match)", func() ports.CustomerQuery { return ports.CustomerQuery{Q: fmt.Sprintf("zq%dx", rng.IntN(1000))} }},
		{"q email part", func() ports.CustomerQuery { return ports.CustomerQuery{Q: strings.Split(email, "@")[0]} }},
		{"q email domain", func() ports.CustomerQuery { return ports.CustomerQuery{Q: "@" + domains[rng.IntN(len(domains))]} }},
		{"q phone local form", func() ports.CustomerQuery { return ports.CustomerQuery{Q: local} }},
		{"q phone part", func() ports.CustomerQuery { return ports.CustomerQuery{Q: fmt.Sprintf("%06d", rng.IntN(1_000_000))} }},
		{"q number", func() ports.CustomerQuery {
			return ports.CustomerQuery{Q: strconv.Itoa(customer.FirstNumber + rng.IntN(n))}
		}},
		{"q company word", func() ports.CustomerQuery {
			return ports.CustomerQuery{Q: companyWords[rng.IntN(len(companyWords))] + " oy"}
		}},
		{"q short", func() ports.CustomerQuery { return ports.CustomerQuery{Q: "ma"} }},
		{"q next page", func() ports.CustomerQuery { return ports.CustomerQuery{Q: "virtanen", Cursor: cursorPage.NextCursor} }},
		{"q with restricted", func() ports.CustomerQuery {
			return ports.CustomerQuery{Q: lastNames[rng.IntN(len(lastNames))], IncludeRestricted: true}
		}},
		{"email", func() ports.CustomerQuery { return ports.CustomerQuery{Email: strings.ToUpper(email)} }},
		{"phone", func() ports.CustomerQuery { return ports.CustomerQuery{Phone: local} }},
		{"group vip", func() ports.CustomerQuery { return ports.CustomerQuery{Group: "vip"} }},
		{"type company", func() ports.CustomerQuery { return ports.CustomerQuery{Type: customer.Company} }},
		{"business id", func() ports.CustomerQuery {
			var b string
			_ = e.pool.QueryRow(e.ctx, `SELECT business_id FROM customers WHERE type = 'company' AND number > $1 ORDER BY number LIMIT 1`, customer.FirstNumber+rng.IntN(n)).Scan(&b)
			return ports.CustomerQuery{BusinessID: b}
		}},
		{"updated since recently", func() ports.CustomerQuery {
			return ports.CustomerQuery{UpdatedSince: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n-500) * time.Minute)}
		}},
		{"system common", func() ports.CustomerQuery { return ports.CustomerQuery{SystemID: customer.WooCommerce} }},
		{"system rare", func() ports.CustomerQuery { return ports.CustomerQuery{SystemID: customer.Matkahuolto} }},
		{"system and identifier", func() ports.CustomerQuery {
			return ports.CustomerQuery{SystemID: customer.WooCommerce, Identifier: fmt.Sprintf("woo-%d", customer.FirstNumber+2+3*rng.IntN(n/3-1))}
		}},
		// A change feed that asks for a large, recent share of a big
		// register is slow: PostgreSQL has no index ordered by number that
		// can also bound updated_at, so it either walks the number index
		// past the old customers or sorts every match.
		{"updated since, last 1%", func() ports.CustomerQuery {
			return ports.CustomerQuery{UpdatedSince: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n*99/100) * time.Minute)}
		}},
		{"updated since, last 10%", func() ports.CustomerQuery {
			return ports.CustomerQuery{UpdatedSince: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n*9/10) * time.Minute)}
		}},
		{"updated since, last 50%", func() ports.CustomerQuery {
			return ports.CustomerQuery{UpdatedSince: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n/2) * time.Minute)}
		}},
		{"deep page", func() ports.CustomerQuery {
			return ports.CustomerQuery{Cursor: postgres.CursorFor(int64(customer.FirstNumber + rng.IntN(n)))}
		}},
		{"q common name, max page", func() ports.CustomerQuery {
			return ports.CustomerQuery{Q: lastNames[rng.IntN(len(lastNames))], Limit: 500}
		}},
	}
	// Known to miss the target, measured for the record only.
	knownSlow := map[string]bool{"updated since, last 10%": true, "updated since, last 50%": true}
	for _, qq := range queries {
		b.Run(qq.name, func(b *testing.B) {
			var took []time.Duration
			var found, runs int
			for b.Loop() {
				q := qq.q()
				s := time.Now()
				page, err := e.store.Find(e.ctx, q)
				d := time.Since(s)
				if err != nil {
					b.Fatalf("%s: %v", qq.name, err)
				}
				// The first runs warm the cache and the statement cache.
				if runs++; runs > 3 {
					took = append(took, d)
				}
				found += len(page.Items)
			}
			if len(took) == 0 {
				b.Fatalf("%s: too few runs to measure (raise -benchtime, e.g. -benchtime 60x)", qq.name)
			}
			slices.Sort(took)
			p50, p95 := took[len(took)/2], took[len(took)*95/100]
			b.ReportMetric(ms(p50), "p50-ms")
			b.ReportMetric(ms(p95), "p95-ms")
			b.ReportMetric(float64(found)/float64(runs), "rows/page")
			if p95 > 35*time.Millisecond && !knownSlow[qq.name] {
				b.Errorf("%s: p95 %s, want well under 50 ms", qq.name, p95)
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
