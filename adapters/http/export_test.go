package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kirjuri/adapters/excel"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

// How the export streams: these tests run the API over real HTTP
// (httptest.Server) on the in-memory store, whose export a test can hold up
// or break every 500 rows; test/api checks the file's content on
// PostgreSQL.

// pagedStore is the in-memory store with a hook before every 500th row of
// an export (n counts the calls from 1: before rows 0, 500, 1000, ...).
type pagedStore struct {
	*memstore.Store
	calls  atomic.Int32
	before func(ctx context.Context, n int) error
}

func (s *pagedStore) Export(ctx context.Context, q ports.ExportQuery, start func(ports.ExportShape) error, row func(*customer.Customer) error) error {
	i := 0
	return s.Store.Export(ctx, q, start, func(c *customer.Customer) error {
		if i%500 == 0 {
			if err := s.before(ctx, int(s.calls.Add(1))); err != nil {
				return err
			}
		}
		i++
		return row(c)
	})
}

func withSheets(s ports.CustomerSheets) harnessOption { return func(d *Deps) { d.Sheets = s } }

// exportServer serves an API over a store of n customers (each with a
// phone number and a card) whose Find runs before first.
func exportServer(t *testing.T, n int, before func(ctx context.Context, n int) error, writeTimeout time.Duration) (*harness, *httptest.Server) {
	t.Helper()
	var ps *pagedStore
	h := newHarness(t, withSheets(excel.NewCustomerSheets()), withCustomerStore(func(st *memstore.Store) ports.CustomerStore {
		ps = &pagedStore{Store: st, before: func(context.Context, int) error { return nil }}
		return ps
	}))
	reg := register.New(h.store, &clock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, ids{})
	for i := range n {
		_, err := reg.Create(t.Context(), customer.Patch{
			FirstName: customer.Set(fmt.Sprintf("Etu%d", i)), LastName: customer.Set("Suku"),
			Email:         customer.Set(fmt.Sprintf("asiakas%d@example.fi", i)),
			PhoneNumbers:  customer.Set([]string{fmt.Sprintf("+35840%07d", i)}),
			CustomerCards: customer.Set([]string{fmt.Sprintf("CARD-%06d", i)}),
		}, register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "test"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ps.before = before
	srv := httptest.NewUnstartedServer(h.api)
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(srv.Close)
	return h, srv
}

func getExport(t *testing.T, srv *httptest.Server, key string) *http.Response {
	t.Helper()
	rq, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/exports/customers.xlsx", nil)
	rq.Header.Set("Authorization", "Bearer "+secret(key))
	resp, err := srv.Client().Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return resp
}

func countRows(t *testing.T, b []byte) int {
	t.Helper()
	rd, err := excel.NewReader(bytes.NewReader(b), int64(len(b)), excel.Limits{})
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	defer rd.Close()
	n := 0
	for rd.Next() {
		n++
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return n - 1
}

// The first bytes of a 5,000-customer export reach the client while the
// store has not even read the 1,001st row: nothing buffers the file.
func TestExportStreams(t *testing.T) {
	const customers = 5000
	release := make(chan struct{})
	_, srv := exportServer(t, customers, func(ctx context.Context, n int) error {
		if n != 3 {
			return nil
		}
		select {
		case <-release:
			return nil
		case <-time.After(20 * time.Second):
			return errors.New("test: the client never read the first bytes")
		}
	}, 0)
	resp := getExport(t, srv, "reader")
	if got := resp.Header.Get("X-Total-Count"); got != "5000" {
		t.Errorf("X-Total-Count %q", got)
	}

	first := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 32<<10)
		n, _ := io.ReadAtLeast(resp.Body, buf, 4<<10)
		first <- buf[:n]
	}()
	var head []byte
	select {
	case head = <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no bytes of the export arrived while its 1,001st row was held up: the response is buffered")
	}
	if !bytes.HasPrefix(head, []byte("PK\x03\x04")) {
		t.Fatalf("the export does not start as a zip: %q", head[:min(len(head), 8)])
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := countRows(t, append(head, rest...)); got != customers {
		t.Errorf("%d rows, want %d", got, customers)
	}
}

// A failure once the file has started breaks the connection: the client
// sees a failed download, never a shorter workbook that looks whole.
func TestExportFailureBreaksTheDownload(t *testing.T) {
	h, srv := exportServer(t, 1200, func(_ context.Context, n int) error {
		if n == 2 {
			return errors.New("test: the database went away")
		}
		return nil
	}, 0)
	resp := getExport(t, srv, "reader")
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Fatalf("the download of %d bytes ended cleanly after a failure", len(b))
	}
	if _, err := excel.NewReader(bytes.NewReader(b), int64(len(b)), excel.Limits{}); err == nil {
		t.Error("what the client got reads as a workbook")
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.logs.FilterMessageSnippet("export aborted").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the aborted export was not logged")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The server's WriteTimeout bounds a whole response; an export moves its
// own write deadline on as it writes, so it runs as long as the client
// reads.
func TestExportOutlivesTheServerWriteTimeout(t *testing.T) {
	const customers = 2500 // 5 stops of 150 ms
	_, srv := exportServer(t, customers, func(context.Context, int) error {
		time.Sleep(150 * time.Millisecond)
		return nil
	}, 300*time.Millisecond)
	resp := getExport(t, srv, "reader")
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the export was cut: %v", err)
	}
	if got := countRows(t, b); got != customers {
		t.Errorf("%d rows, want %d", got, customers)
	}
}

// Without a spreadsheet writer the operation says so before any file.
func TestExportNotConfigured(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: http.MethodGet, path: "/v1/exports/customers.xlsx", key: "reader"})
	r.want(t, http.StatusServiceUnavailable)
}

// A customer that gains a phone number while the export streams is written
// as it was when the export began, in the columns planned for it: the
// download completes (the export that paged through Find broke it off),
// with exactly X-Total-Count rows.
func TestExportIsOneSnapshot(t *testing.T) {
	const customers = 1200
	var h *harness
	h, srv := exportServer(t, customers, func(ctx context.Context, n int) error {
		if n != 2 {
			return nil
		}
		reg := register.New(h.store, &clock{now: time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC)}, ids{})
		page, err := reg.Find(ctx, ports.CustomerQuery{Email: fmt.Sprintf("asiakas%d@example.fi", customers-1)}, register.Caller{})
		if err != nil || len(page.Items) != 1 {
			return fmt.Errorf("test: find the last customer: %v", err)
		}
		_, err = reg.Update(ctx, page.Items[0].ID(), customer.Patch{PhoneNumbers: customer.Set([]string{"+358401111111", "+358502222222"})}, 0,
			register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "test"}})
		return err
	}, 0)
	resp := getExport(t, srv, "reader")
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("the download broke off: %v", err)
	}
	if got := resp.Header.Get("X-Total-Count"); got != fmt.Sprint(customers) {
		t.Errorf("X-Total-Count %q", got)
	}
	rd, err := excel.NewReader(bytes.NewReader(b), int64(len(b)), excel.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rows := 0
	var last []string
	for rd.Next() {
		rows++
		last = last[:0]
		for _, c := range rd.Row().Cells {
			last = append(last, c.Text)
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if rows-1 != customers {
		t.Errorf("%d rows, want %d", rows-1, customers)
	}
	if !slices.Contains(last, "+35840"+fmt.Sprintf("%07d", customers-1)) || slices.Contains(last, "+358502222222") {
		t.Errorf("the last row shows the change made during the export: %q", last)
	}
	if calls := h.logs.FilterMessageSnippet("export aborted").Len(); calls != 0 {
		t.Errorf("the export was aborted")
	}
}

// An export so small that it is read whole before the response starts
// (its planning and its end come together) is still sent whole: the
// response never takes the end for a failure before the plan and answers
// 200 with no body (once in a CI run of TestExportCommand). Many at once,
// so that a handler is now and then held up between starting the export
// and waiting for its plan.
func TestExportReadWholeBeforeTheResponse(t *testing.T) {
	for _, customers := range []int{0, 2} {
		_, srv := exportServer(t, customers, func(context.Context, int) error { return nil }, 0)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					rq, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/exports/customers.xlsx", nil)
					rq.Header.Set("Authorization", "Bearer "+secret("reader"))
					resp, err := srv.Client().Do(rq)
					if err != nil {
						errs <- err
						return
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK || len(b) == 0 {
						errs <- fmt.Errorf("%d customers, export %d: status %d, %d bytes, %v", customers, i, resp.StatusCode, len(b), err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}
