package clickhouse_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/core/consent"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// openAudit gives a test its own migrated database. Merges are stopped on
// both tables, so copies of a re-sent event stay on disk and the queries
// have to collapse them themselves.
func openAudit(t *testing.T) (*clickhouse.Audit, driver.Conn) {
	t.Helper()
	url := chtest.NewDatabase(t)
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, table := range []string{"consent_events", "consent_events_by_time"} {
		if err := conn.Exec(ctx, "SYSTEM STOP MERGES "+table); err != nil {
			t.Fatalf("stop merges on %s: %v", table, err)
		}
	}
	return clickhouse.New(conn), conn
}

// ev makes an event; occurred is UTC.
func ev(customer uuid.UUID, occurred time.Time, kind consent.Kind, newValue bool, source consent.Source) consent.Event {
	return consent.Event{
		ID:             uuid.Must(uuid.NewV7()),
		OccurredAt:     occurred.UTC(),
		CustomerID:     customer,
		CustomerNumber: 10000 + int64(customer[15]),
		Consent:        kind,
		OldValue:       !newValue,
		NewValue:       newValue,
		Source:         source,
		Actor:          "key:test",
		RequestID:      "req-" + occurred.Format("150405.000000000"),
	}
}

func rawCount(t *testing.T, conn driver.Conn, table string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func ids(events []consent.Event) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

// allHistory pages through a customer's history.
func allHistory(t *testing.T, a *clickhouse.Audit, customer uuid.UUID, limit int) []consent.Event {
	t.Helper()
	var out []consent.Event
	req := ports.AuditPageRequest{Limit: limit}
	for range 1000 {
		page, err := a.History(context.Background(), customer, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(page.Items), limit)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		req.Cursor = page.NextCursor
	}
	t.Fatal("history does not end")
	return nil
}

// allEvents pages through a listing.
func allEvents(t *testing.T, a *clickhouse.Audit, q ports.AuditQuery) []consent.Event {
	t.Helper()
	var out []consent.Event
	for range 10000 {
		page, err := a.Events(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if q.Limit > 0 && len(page.Items) > q.Limit {
			t.Fatalf("page of %d items, limit %d", len(page.Items), q.Limit)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
	t.Fatal("listing does not end")
	return nil
}

func TestAppendRoundTrip(t *testing.T) {
	t.Parallel()
	a, _ := openAudit(t)
	ctx := context.Background()
	customer := uuid.Must(uuid.NewV7())
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)
	want := consent.Event{
		ID:             uuid.Must(uuid.NewV7()),
		OccurredAt:     at,
		CustomerID:     customer,
		CustomerNumber: 10042,
		Consent:        consent.MarketingSMS,
		OldValue:       false,
		NewValue:       true,
		Source:         consent.SourceConnector,
		SourceSystemID: 22,
		Actor:          "connector:reservation",
		RequestID:      "req-1",
		ImportID:       "imp-1",
		Evidence:       "kassalla, suullisesti – ”kyllä”",
	}
	if err := a.Append(ctx, []consent.Event{want}); err != nil {
		t.Fatal(err)
	}

	hist, err := a.History(ctx, customer, ports.AuditPageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Items) != 1 || hist.NextCursor != "" {
		t.Fatalf("history = %+v", hist)
	}
	if got := hist.Items[0]; got != want {
		t.Errorf("history event\n got %+v\nwant %+v", got, want)
	}

	list, err := a.Events(ctx, ports.AuditQuery{From: at.Add(-time.Second), To: at.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0] != want {
		t.Errorf("events = %+v", list.Items)
	}

	if err := a.Append(ctx, nil); err != nil {
		t.Errorf("append nothing: %v", err)
	}
}

func TestAppendRefusesWhatTheSchemaCannotHold(t *testing.T) {
	t.Parallel()
	a, conn := openAudit(t)
	good := ev(uuid.Must(uuid.NewV7()), time.Now(), consent.MarketingEmail, true, consent.SourceAPI)
	tests := []struct {
		name string
		give func(e *consent.Event)
	}{
		{"unknown consent", func(e *consent.Event) { e.Consent = "newsletter" }},
		{"unknown source", func(e *consent.Event) { e.Source = "fax" }},
		{"no event id", func(e *consent.Event) { e.ID = uuid.Nil }},
		{"no customer", func(e *consent.Event) { e.CustomerID = uuid.Nil }},
		{"system id too big", func(e *consent.Event) { e.SourceSystemID = 70000 }},
		{"before 1970", func(e *consent.Event) { e.OccurredAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := good
			tt.give(&bad)
			if err := a.Append(context.Background(), []consent.Event{good, bad}); err == nil {
				t.Error("no error")
			}
		})
	}
	if n := rawCount(t, conn, "consent_events"); n != 0 {
		t.Errorf("%d rows stored from refused batches", n)
	}
}

func TestQueriesAnswerEachEventOnce(t *testing.T) {
	t.Parallel()
	a, conn := openAudit(t)
	ctx := context.Background()
	c1, c2 := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	day := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	batch := []consent.Event{
		ev(c1, day.Add(9*time.Hour), consent.MarketingEmail, true, consent.SourceAPI),
		ev(c1, day.Add(9*time.Hour+time.Nanosecond), consent.MarketingSMS, true, consent.SourceAPI),
		ev(c1, day.Add(33*time.Hour), consent.MarketingEmail, false, consent.SourceImport),
		ev(c2, day.Add(10*time.Hour), consent.GDPRRestricted, true, consent.SourceConnector),
		ev(c2, day.Add(11*time.Hour), consent.Erased, true, consent.SourceErasure),
	}
	// The relay's retry: the whole batch again, then part of it in another
	// batch with something new.
	late := ev(c2, day.Add(34*time.Hour), consent.MarketingSMS, true, consent.SourceAPI)
	for _, b := range [][]consent.Event{batch, batch, {batch[2], late, batch[0]}} {
		if err := a.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := rawCount(t, conn, "consent_events"), uint64(2*len(batch)+3); got != want {
		t.Fatalf("consent_events holds %d rows, want %d (copies kept: merges are stopped)", got, want)
	}
	if got, want := rawCount(t, conn, "consent_events_by_time"), uint64(2*len(batch)+3); got != want {
		t.Fatalf("consent_events_by_time holds %d rows, want %d", got, want)
	}

	t.Run("history", func(t *testing.T) {
		for _, limit := range []int{1, 2, 50} {
			got := allHistory(t, a, c1, limit)
			want := []uuid.UUID{batch[2].ID, batch[1].ID, batch[0].ID}
			if !slices.Equal(ids(got), want) {
				t.Errorf("limit %d: history %v, want %v", limit, ids(got), want)
			}
		}
	})

	t.Run("events", func(t *testing.T) {
		for _, q := range []ports.AuditQuery{
			{},
			{From: day, To: day.Add(48 * time.Hour)},
			{From: day, AuditPageRequest: ports.AuditPageRequest{Limit: 1}},
			{To: day.Add(48 * time.Hour), AuditPageRequest: ports.AuditPageRequest{Limit: 2}},
		} {
			got := allEvents(t, a, q)
			want := []uuid.UUID{batch[0].ID, batch[1].ID, batch[3].ID, batch[4].ID, batch[2].ID, late.ID}
			if !slices.Equal(ids(got), want) {
				t.Errorf("%+v: events %v, want %v", q, ids(got), want)
			}
		}
		got := allEvents(t, a, ports.AuditQuery{CustomerID: c2, AuditPageRequest: ports.AuditPageRequest{Limit: 1}})
		if want := []uuid.UUID{batch[3].ID, batch[4].ID, late.ID}; !slices.Equal(ids(got), want) {
			t.Errorf("customer c2: events %v, want %v", ids(got), want)
		}
	})

	t.Run("state", func(t *testing.T) {
		s, err := a.State(ctx, c1, day.Add(72*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if s.Values[consent.MarketingEmail] || !s.Values[consent.MarketingSMS] {
			t.Errorf("values %v", s.Values)
		}
		if s.SetBy[consent.MarketingEmail] == nil || s.SetBy[consent.MarketingEmail].ID != batch[2].ID {
			t.Errorf("marketingEmail set by %+v, want %s", s.SetBy[consent.MarketingEmail], batch[2].ID)
		}
		s, err = a.State(ctx, c2, day.Add(72*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if !s.Values[consent.Erased] || s.SetBy[consent.Erased].ID != batch[4].ID {
			t.Errorf("erased: %v set by %+v", s.Values[consent.Erased], s.SetBy[consent.Erased])
		}
	})

	t.Run("summary", func(t *testing.T) {
		got, err := a.Summary(ctx, day, day.Add(48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		next := day.Add(24 * time.Hour)
		want := []ports.SummaryRow{
			{Day: day, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 1},
			{Day: day, Source: consent.SourceAPI, Consent: consent.MarketingSMS, Grants: 1},
			{Day: day, Source: consent.SourceConnector, Consent: consent.GDPRRestricted, Grants: 1},
			{Day: next, Source: consent.SourceAPI, Consent: consent.MarketingSMS, Grants: 1},
			{Day: next, Source: consent.SourceImport, Consent: consent.MarketingEmail, Withdrawals: 1},
		}
		if !slices.Equal(got, want) {
			t.Errorf("summary\n got %+v\nwant %+v", got, want)
		}
	})

	// Nothing above may have depended on a merge.
	if got := rawCount(t, conn, "consent_events"); got != uint64(2*len(batch)+3) {
		t.Errorf("rows merged away during the test (%d): the queries were not tested on copies", got)
	}
}

func TestStateAtMoments(t *testing.T) {
	t.Parallel()
	a, _ := openAudit(t)
	ctx := context.Background()
	customer := uuid.Must(uuid.NewV7())
	other := uuid.Must(uuid.NewV7())
	sec := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// Three changes of one consent within one second, sent in an order
	// unlike their own, and a later erasure.
	on1 := ev(customer, sec.Add(100), consent.MarketingEmail, true, consent.SourceAPI)
	off := ev(customer, sec.Add(200), consent.MarketingEmail, false, consent.SourceAPI)
	on2 := ev(customer, sec.Add(999_999_999), consent.MarketingEmail, true, consent.SourceImport)
	restrict := ev(customer, sec.Add(150), consent.GDPRRestricted, true, consent.SourceAPI)
	erased := ev(customer, sec.Add(time.Hour), consent.Erased, true, consent.SourceErasure)
	noise := ev(other, sec.Add(300), consent.MarketingEmail, true, consent.SourceAPI)
	if err := a.Append(ctx, []consent.Event{on2, erased, off, noise, restrict, on1}); err != nil {
		t.Fatal(err)
	}

	type want struct {
		values map[consent.Kind]bool
		setBy  map[consent.Kind]uuid.UUID
	}
	none := map[consent.Kind]bool{consent.MarketingEmail: false, consent.MarketingSMS: false, consent.GDPRRestricted: false, consent.Erased: false}
	with := func(kv ...any) map[consent.Kind]bool {
		m := cloneValues(none)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(consent.Kind)] = kv[i+1].(bool)
		}
		return m
	}
	tests := []struct {
		name string
		give time.Time
		want want
	}{
		{"long before", sec.Add(-24 * time.Hour), want{none, nil}},
		{"just before the first", sec.Add(99), want{none, nil}},
		{"at the first", sec.Add(100), want{with(consent.MarketingEmail, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: on1.ID}}},
		{"between first and restriction", sec.Add(149), want{with(consent.MarketingEmail, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: on1.ID}}},
		{"after the withdrawal", sec.Add(200), want{with(consent.GDPRRestricted, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: off.ID, consent.GDPRRestricted: restrict.ID}}},
		{"last nanosecond of the second", sec.Add(999_999_999), want{with(consent.MarketingEmail, true, consent.GDPRRestricted, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: on2.ID, consent.GDPRRestricted: restrict.ID}}},
		{"after the erasure", sec.Add(2 * time.Hour), want{with(consent.MarketingEmail, true, consent.GDPRRestricted, true, consent.Erased, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: on2.ID, consent.GDPRRestricted: restrict.ID, consent.Erased: erased.ID}}},
		{"in another time zone", sec.Add(150).In(time.FixedZone("EET", 2*3600)), want{with(consent.MarketingEmail, true, consent.GDPRRestricted, true), map[consent.Kind]uuid.UUID{consent.MarketingEmail: on1.ID, consent.GDPRRestricted: restrict.ID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.State(ctx, customer, tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if !got.At.Equal(tt.give) {
				t.Errorf("at %v, want %v", got.At, tt.give)
			}
			for _, k := range consent.Kinds {
				if got.Values[k] != tt.want.values[k] {
					t.Errorf("%s = %v, want %v", k, got.Values[k], tt.want.values[k])
				}
				var gotID uuid.UUID
				if e := got.SetBy[k]; e != nil {
					gotID = e.ID
					if e.NewValue != got.Values[k] || e.Consent != k {
						t.Errorf("%s set by %+v, value %v", k, e, got.Values[k])
					}
				}
				if gotID != tt.want.setBy[k] {
					t.Errorf("%s set by %s, want %s", k, gotID, tt.want.setBy[k])
				}
			}
		})
	}

	if _, err := a.State(ctx, customer, time.Time{}); !fault.IsValidation(err) {
		t.Errorf("zero moment: %v, want a validation error", err)
	}
}

func cloneValues(m map[consent.Kind]bool) map[consent.Kind]bool {
	out := make(map[consent.Kind]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestEventsFiltersAndPaging(t *testing.T) {
	t.Parallel()
	a, _ := openAudit(t)
	ctx := context.Background()
	customers := []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())}
	start := time.Date(2025, 12, 20, 22, 0, 0, 0, time.UTC)
	sources := consent.Sources
	var all []consent.Event
	// 400 events over ~80 days, unevenly: a burst of 100 within one second
	// (ordered by nanoseconds), then sparser and sparser.
	for i := range 400 {
		at := start.Add(time.Duration(i) * 7 * time.Nanosecond)
		if i >= 100 {
			at = start.Add(time.Duration(i-99) * time.Duration(i-99) * 2 * time.Minute)
		}
		e := ev(customers[i%3], at, consent.Kinds[i%4], i%5 != 0, sources[i%4])
		if i%7 == 0 {
			e.SourceSystemID = 6
		}
		if i%11 == 0 {
			e.Actor = "key:rare"
		}
		all = append(all, e)
	}
	// Shuffled into batches, the middle batch twice.
	shuffled := slices.Clone(all)
	for i := range shuffled {
		j := (i * 7919) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	for _, b := range [][]consent.Event{shuffled[:150], shuffled[150:300], shuffled[150:300], shuffled[300:]} {
		if err := a.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// all is already in (occurred_at, id) order except for ties, which
	// there are none of.
	slices.SortFunc(all, func(x, y consent.Event) int { return x.OccurredAt.Compare(y.OccurredAt) })

	mid := all[250].OccurredAt
	tests := []struct {
		name string
		give ports.AuditQuery
		keep func(e consent.Event) bool
	}{
		{"everything", ports.AuditQuery{}, func(consent.Event) bool { return true }},
		{"period", ports.AuditQuery{From: all[50].OccurredAt, To: mid}, func(e consent.Event) bool {
			return !e.OccurredAt.Before(all[50].OccurredAt) && e.OccurredAt.Before(mid)
		}},
		{"from only", ports.AuditQuery{From: mid}, func(e consent.Event) bool { return !e.OccurredAt.Before(mid) }},
		{"to only", ports.AuditQuery{To: mid}, func(e consent.Event) bool { return e.OccurredAt.Before(mid) }},
		{"consent", ports.AuditQuery{Consent: consent.MarketingSMS}, func(e consent.Event) bool { return e.Consent == consent.MarketingSMS }},
		{"source", ports.AuditQuery{Source: consent.SourceImport}, func(e consent.Event) bool { return e.Source == consent.SourceImport }},
		{"system", ports.AuditQuery{SystemID: 6}, func(e consent.Event) bool { return e.SourceSystemID == 6 }},
		{"rare actor", ports.AuditQuery{Actor: "key:rare"}, func(e consent.Event) bool { return e.Actor == "key:rare" }},
		{"customer", ports.AuditQuery{CustomerID: customers[1]}, func(e consent.Event) bool { return e.CustomerID == customers[1] }},
		{"customer and period", ports.AuditQuery{CustomerID: customers[2], From: all[10].OccurredAt, To: mid}, func(e consent.Event) bool {
			return e.CustomerID == customers[2] && !e.OccurredAt.Before(all[10].OccurredAt) && e.OccurredAt.Before(mid)
		}},
		{"all filters", ports.AuditQuery{Consent: consent.MarketingEmail, Source: consent.SourceAPI, Actor: "key:test", From: start}, func(e consent.Event) bool {
			return e.Consent == consent.MarketingEmail && e.Source == consent.SourceAPI && e.Actor == "key:test"
		}},
		{"nothing matches", ports.AuditQuery{Actor: "key:nobody"}, func(consent.Event) bool { return false }},
		{"empty period", ports.AuditQuery{From: start.Add(-48 * time.Hour), To: start.Add(-24 * time.Hour)}, func(consent.Event) bool { return false }},
	}
	for _, tt := range tests {
		var want []uuid.UUID
		for _, e := range all {
			if tt.keep(e) {
				want = append(want, e.ID)
			}
		}
		for _, limit := range []int{1, 7, 500} {
			t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
				q := tt.give
				q.Limit = limit
				got := ids(allEvents(t, a, q))
				if !slices.Equal(got, want) {
					t.Errorf("got %d events, want %d\n got %v\nwant %v", len(got), len(want), got, want)
				}
			})
		}
	}

	t.Run("default page", func(t *testing.T) {
		page, err := a.Events(ctx, ports.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 50 || page.NextCursor == "" {
			t.Errorf("%d items, cursor %q", len(page.Items), page.NextCursor)
		}
		if !slices.Equal(ids(page.Items), ids(all[:50])) {
			t.Error("first page is not the 50 oldest events")
		}
	})

	t.Run("bad input", func(t *testing.T) {
		hist, err := a.History(ctx, customers[0], ports.AuditPageRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []ports.AuditQuery{
			{AuditPageRequest: ports.AuditPageRequest{Cursor: "not-a-cursor"}},
			{AuditPageRequest: ports.AuditPageRequest{Cursor: hist.NextCursor}}, // another listing's
			{Consent: "newsletter"},
			{Source: "fax"},
			{SystemID: -1},
			{From: mid, To: mid},
		} {
			if _, err := a.Events(ctx, q); !fault.IsValidation(err) {
				t.Errorf("%+v: %v, want a validation error", q, err)
			}
		}
		if _, err := a.History(ctx, customers[0], ports.AuditPageRequest{Cursor: "%%%"}); !fault.IsValidation(err) {
			t.Errorf("history with a bad cursor: %v", err)
		}
	})
}

func TestSummaryDaysAndBounds(t *testing.T) {
	t.Parallel()
	a, _ := openAudit(t)
	ctx := context.Background()
	c := uuid.Must(uuid.NewV7())
	midnight := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	events := []consent.Event{
		ev(c, midnight.Add(-time.Nanosecond), consent.MarketingEmail, true, consent.SourceAPI), // Jan 31
		ev(c, midnight, consent.MarketingEmail, false, consent.SourceAPI),                      // Feb 1
		ev(c, midnight.Add(time.Hour), consent.MarketingEmail, true, consent.SourceAPI),
		ev(c, midnight.Add(2*time.Hour), consent.MarketingEmail, false, consent.SourceAPI),
		ev(c, midnight.Add(3*time.Hour), consent.MarketingSMS, true, consent.SourceImport),
		ev(c, midnight.Add(4*time.Hour), consent.Erased, true, consent.SourceErasure), // not counted
		ev(c, midnight.Add(24*time.Hour), consent.MarketingSMS, false, consent.SourceImport),
	}
	if err := a.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	jan31 := midnight.Add(-24 * time.Hour)
	feb2 := midnight.Add(24 * time.Hour)
	tests := []struct {
		name     string
		from, to time.Time
		want     []ports.SummaryRow
	}{
		{"two days", jan31, feb2, []ports.SummaryRow{
			{Day: jan31, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 1},
			{Day: midnight, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 1, Withdrawals: 2},
			{Day: midnight, Source: consent.SourceImport, Consent: consent.MarketingSMS, Grants: 1},
		}},
		{"to is exclusive to the nanosecond", jan31, midnight.Add(time.Hour), []ports.SummaryRow{
			{Day: jan31, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 1},
			{Day: midnight, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Withdrawals: 1},
		}},
		{"from is inclusive to the nanosecond", midnight.Add(-time.Nanosecond), midnight.Add(time.Nanosecond), []ports.SummaryRow{
			{Day: jan31, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Grants: 1},
			{Day: midnight, Source: consent.SourceAPI, Consent: consent.MarketingEmail, Withdrawals: 1},
		}},
		{"nothing", feb2.Add(time.Hour), feb2.Add(2 * time.Hour), []ports.SummaryRow{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := a.Summary(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, err := a.Summary(ctx, feb2, jan31); !fault.IsValidation(err) {
		t.Errorf("to before from: %v", err)
	}
	if _, err := a.Summary(ctx, time.Time{}, jan31); !fault.IsValidation(err) {
		t.Errorf("no from: %v", err)
	}
}
