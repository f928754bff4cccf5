package postgres_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/ports"
)

// BenchmarkWriteBatch measures the store's batch path (WriteBatch: checks
// of every unique value, then COPY of the customers, their cards and links
// and the consent events) on new customers with two
// addresses, two phone numbers, a card, a link and an email consent, in
// batches of 1,000 and 5,000, beside the floor: COPY of the same rows
// straight into customers, nothing else. It reports both rates and their
// ratio. Building the customers (the core's work, phone parsing included)
// is not timed. KIRJURI_BENCH_BATCH_ROWS sets the number of customers
// (default 100,000):
//
//	KIRJURI_BENCH_BATCH_ROWS=100000 go test -run '^$' -bench WriteBatch -benchtime 1x -timeout 30m ./adapters/postgres/
func BenchmarkWriteBatch(b *testing.B) {
	n := 100_000
	if s := os.Getenv("KIRJURI_BENCH_BATCH_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("KIRJURI_BENCH_BATCH_ROWS=%q: want a positive number", s)
		}
		n = v
	}
	for _, size := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var write, floor time.Duration
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b)
				cs, events := benchCustomers(b, e, n)
				b.StartTimer()
				start := time.Now()
				for lo := 0; lo < n; lo += size {
					hi := min(lo+size, n)
					writes := make([]ports.BatchWrite, 0, hi-lo)
					for i := lo; i < hi; i++ {
						writes = append(writes, ports.BatchWrite{Customer: cs[i], Events: events[i]})
					}
					rej, err := e.store.WriteBatch(e.ctx, ports.Batch{Writes: writes})
					if err != nil || len(rej) > 0 {
						b.Fatalf("WriteBatch: %v, %d rejected", err, len(rej))
					}
				}
				write += time.Since(start)
				b.StopTimer()

				f := newEnv(b)
				start = time.Now()
				for lo := 0; lo < n; lo += size {
					if err := f.store.CopyFloor(f.ctx, cs[lo:min(lo+size, n)]); err != nil {
						b.Fatal(err)
					}
				}
				floor += time.Since(start)
				b.StartTimer()
			}
			rate := func(d time.Duration) float64 { return float64(n*b.N) / d.Seconds() }
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(rate(write), "customers/s")
			b.ReportMetric(rate(floor), "floor-customers/s")
			b.ReportMetric(write.Seconds()/floor.Seconds(), "x-floor")
			b.Logf("%d customers in batches of %d: WriteBatch %s, COPY alone %s, %.1f× the floor",
				n, size, write.Round(time.Millisecond), floor.Round(time.Millisecond), write.Seconds()/floor.Seconds())
		})
	}
}

// benchCustomers builds n new customers as an import would: two addresses,
// two phones, a card, a link, the email consent (one event each).
func benchCustomers(b *testing.B, e *env, n int) ([]*customer.Customer, [][]consent.Event) {
	b.Helper()
	nums, err := e.store.NextNumbers(e.ctx, n)
	if err != nil {
		b.Fatal(err)
	}
	ch := customer.Change{At: bulkAt, Origin: consent.Origin{Source: consent.SourceImport, ImportID: "bench", RequestID: "bench"}, NewID: v7{}.New}
	cs := make([]*customer.Customer, n)
	events := make([][]consent.Event, n)
	for i := range n {
		p := customer.Patch{
			FirstName:      customer.Set("Aino"),
			LastName:       customer.Set(fmt.Sprintf("Ahonen%d", i)),
			Email:          customer.Set(fmt.Sprintf("aino.ahonen.%d@example.fi", i)),
			MarketingEmail: customer.Set(true),
			CustomerCards:  customer.Set([]string{fmt.Sprintf("K%08d", i)}),
			ExternalSystems: customer.Set([]customer.ExternalLink{
				{SystemID: customer.WooCommerce, Identifier: fmt.Sprintf("wc-%d", i)},
			}),
			Addresses: customer.Set([]customer.Address{
				{Type: customer.Invoice, StreetAddress1: fmt.Sprintf("Mannerheimintie %d", i%200+1), PostalCode: "00100", City: "Helsinki"},
				{Type: customer.Delivery, StreetAddress1: fmt.Sprintf("Hämeenkatu %d", i%90+1), PostalCode: "33100", City: "Tampere"},
			}),
			PhoneNumbers: customer.Set([]string{fmt.Sprintf("+35840%07d", i), fmt.Sprintf("+35850%07d", i)}),
		}
		c, evs, err := customer.New(v7{}.New(), nums[i], p, ch)
		if err != nil {
			b.Fatal(err)
		}
		cs[i], events[i] = c, evs
	}
	return cs, events
}
