package clickhouse_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/core/consent"
	"kirjuri/ports"
)

// partInfo is one active part of a partition.
type partInfo struct {
	name string
	rows uint64
}

// activeParts lists the active parts of table by partition id.
func activeParts(t *testing.T, conn driver.Conn, table string) map[string][]partInfo {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT partition_id, name, rows FROM system.parts
		WHERE database = currentDatabase() AND table = ? AND active ORDER BY partition_id, name`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]partInfo{}
	for rows.Next() {
		var id string
		var p partInfo
		if err := rows.Scan(&id, &p.name, &p.rows); err != nil {
			t.Fatal(err)
		}
		out[id] = append(out[id], p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// answers is everything the queries say about a small audit log.
type answers struct {
	History map[uuid.UUID][]consent.Event
	State   map[uuid.UUID][]ports.ConsentState
	Events  []consent.Event
	Window  []consent.Event
	ByCust  map[uuid.UUID][]consent.Event
	Summary []ports.SummaryRow
}

func readAnswers(t *testing.T, a *clickhouse.Audit, customers []uuid.UUID, moments []time.Time) answers {
	t.Helper()
	ctx := context.Background()
	out := answers{
		History: map[uuid.UUID][]consent.Event{},
		State:   map[uuid.UUID][]ports.ConsentState{},
		ByCust:  map[uuid.UUID][]consent.Event{},
	}
	for _, c := range customers {
		out.History[c] = allHistory(t, a, c, 2)
		out.ByCust[c] = allEvents(t, a, ports.AuditQuery{CustomerID: c, AuditPageRequest: ports.AuditPageRequest{Limit: 3}})
		for _, at := range moments {
			s, err := a.State(ctx, c, at)
			if err != nil {
				t.Fatal(err)
			}
			out.State[c] = append(out.State[c], s)
		}
	}
	out.Events = allEvents(t, a, ports.AuditQuery{AuditPageRequest: ports.AuditPageRequest{Limit: 4}})
	out.Window = allEvents(t, a, ports.AuditQuery{From: moments[1], To: moments[3], AuditPageRequest: ports.AuditPageRequest{Limit: 4}})
	s, err := a.Summary(ctx, moments[0], moments[len(moments)-1])
	if err != nil {
		t.Fatal(err)
	}
	out.Summary = s
	return out
}

func TestCompactMergesClosedMonthsOnly(t *testing.T) {
	t.Parallel()
	// Merges keep running here (Compact needs them), but young parts are
	// merged in the background only when there are about five of a size:
	// no partition below gets more than four, so the parts the test sees
	// are those its inserts made, until Compact runs.
	url := chtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	a := clickhouse.New(conn)

	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	c1, c2, c3 := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	customers := []uuid.UUID{c1, c2, c3}
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
	}
	dec := []consent.Event{ // a closed month of one part: left alone
		ev(c1, time.Date(2025, 12, 30, 8, 0, 0, 0, time.UTC), consent.MarketingEmail, true, consent.SourceAPI),
	}
	jan := []consent.Event{
		ev(c1, at(1, 3, 9), consent.MarketingSMS, true, consent.SourceAPI),
		ev(c2, at(1, 4, 10), consent.MarketingEmail, true, consent.SourceImport),
		ev(c1, at(1, 20, 11), consent.MarketingEmail, false, consent.SourceConnector),
		ev(c3, at(1, 31, 23), consent.GDPRRestricted, true, consent.SourceAPI),
	}
	feb := []consent.Event{
		ev(c2, at(2, 1, 0), consent.MarketingEmail, false, consent.SourceAPI),
		ev(c3, at(2, 14, 12), consent.MarketingSMS, true, consent.SourceAPI),
		ev(c1, at(2, 28, 23), consent.Erased, true, consent.SourceErasure),
	}
	mar := []consent.Event{ // the current month
		ev(c2, at(3, 1, 1), consent.MarketingSMS, true, consent.SourceAPI),
		ev(c3, at(3, 9, 8), consent.MarketingSMS, false, consent.SourceImport),
	}
	// Each insert makes a part in every month it touches; the re-sent ones
	// store copies. Per partition: December 1 part, January 3, February 2,
	// March 3.
	inserts := [][]consent.Event{
		slices.Concat(dec, jan, feb, mar),
		{jan[0], jan[1], jan[3], mar[1]},
		{jan[2], feb[0], feb[2], mar[0], mar[1]},
	}
	for _, b := range inserts {
		if err := a.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	moments := []time.Time{at(1, 1, 0), at(1, 15, 0), at(2, 10, 0), at(3, 5, 0), at(4, 1, 0)}
	before := readAnswers(t, a, customers, moments)
	if got := len(before.Events); got != len(dec)+len(jan)+len(feb)+len(mar) {
		t.Fatalf("listing has %d events before compacting", got)
	}

	tables := []string{"consent_events", "consent_events_by_time"}
	partsBefore := map[string]map[string][]partInfo{}
	for _, table := range tables {
		p := activeParts(t, conn, table)
		for id, want := range map[string]int{"202512": 1, "202601": 3, "202602": 2, "202603": 3} {
			if len(p[id]) != want {
				t.Fatalf("%s: partition %s has %d active parts before compacting, want %d (merged in the background?)", table, id, len(p[id]), want)
			}
		}
		partsBefore[table] = p
	}

	n, err := a.Compact(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("Compact merged %d partitions, want 4 (January and February of both tables)", n)
	}

	for _, table := range tables {
		p := activeParts(t, conn, table)
		for id, events := range map[string][]consent.Event{"202601": jan, "202602": feb} {
			if len(p[id]) != 1 || p[id][0].rows != uint64(len(events)) {
				t.Errorf("%s: closed month %s is %v after compacting, want one part of %d rows (copies dropped)", table, id, p[id], len(events))
			}
		}
		for _, id := range []string{"202512", "202603"} {
			if !slices.Equal(p[id], partsBefore[table][id]) {
				t.Errorf("%s: partition %s changed: %v, was %v", table, id, p[id], partsBefore[table][id])
			}
		}
	}

	if after := readAnswers(t, a, customers, moments); !reflect.DeepEqual(after, before) {
		t.Errorf("answers changed by compacting\n got %+v\nwant %+v", after, before)
	}

	// Nothing left to do; a month that gets a part again is merged again.
	if n, err := a.Compact(ctx, now); err != nil || n != 0 {
		t.Errorf("second Compact: %d partitions, %v; want 0", n, err)
	}
	if err := a.Append(ctx, []consent.Event{jan[1]}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Compact(ctx, now); err != nil || n != 2 {
		t.Errorf("Compact after a late copy in January: %d partitions, %v; want 2", n, err)
	}
	// In April, March is closed too.
	if n, err := a.Compact(ctx, at(4, 1, 0)); err != nil || n != 2 {
		t.Errorf("Compact in April: %d partitions, %v; want 2 (March of both tables)", n, err)
	}
	for _, table := range tables {
		if p := activeParts(t, conn, table)["202603"]; len(p) != 1 || p[0].rows != uint64(len(mar)) {
			t.Errorf("%s: March is %v after compacting in April, want one part of %d rows", table, p, len(mar))
		}
	}
	if after := readAnswers(t, a, customers, moments); !reflect.DeepEqual(after, before) {
		t.Errorf("answers changed by compacting March\n got %+v\nwant %+v", after, before)
	}
}
