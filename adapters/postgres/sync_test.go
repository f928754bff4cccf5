package postgres_test

import (
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

type syncArgs struct {
	Sync uuid.UUID `json:"sync"`
}

func (syncArgs) Kind() string { return "test.sync" }

func TestSyncStore(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	newSync := func(connector string, mode ports.SyncMode) ports.Sync {
		return ports.Sync{ID: uuid.Must(uuid.NewV7()), Connector: connector, Mode: mode, Actor: "apikey:admin", Created: at}
	}
	create := func(sy ports.Sync) ports.Sync {
		t.Helper()
		got, err := s.CreateSync(ctx, sy, ports.Job{Args: syncArgs{sy.ID}})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		return got
	}

	// Never pulled: a catch-up starts from the first page.
	if p, err := s.ConnectorPull(ctx, "woocommerce"); err != nil || p != (ports.ConnectorPull{}) {
		t.Fatalf("pull of a connector that never pulled: %+v %v", p, err)
	}
	first := create(newSync("woocommerce", ports.SyncCatchUp))
	if first.Status != ports.SyncQueued || first.From != "" || first.Progress.Total != -1 || first.Progress.Rejections == nil {
		t.Errorf("created %+v", first)
	}
	if n := jobsOfKind(t, pool, "test.sync"); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
	read, err := s.Sync(ctx, "woocommerce", first.ID)
	if err != nil || read.Status != ports.SyncQueued || read.Mode != ports.SyncCatchUp || read.Actor != "apikey:admin" ||
		!read.Created.Equal(at) || !read.Started.IsZero() || !read.Finished.IsZero() {
		t.Fatalf("read back %+v %v", read, err)
	}
	// Another connector's id, or an unknown one: not found.
	if _, err := s.Sync(ctx, "mycashflow", first.ID); !fault.IsNotFound(err) {
		t.Errorf("another connector's sync: %v", err)
	}

	// A second sync while the first is queued: refused, naming the first;
	// nothing stored. Another connector may sync meanwhile.
	var busy *ports.SyncInProgress
	if _, err := s.CreateSync(ctx, newSync("woocommerce", ports.SyncFull), ports.Job{Args: syncArgs{}}); !errors.As(err, &busy) || busy.Sync.ID != first.ID {
		t.Fatalf("second sync: %v", err)
	}
	if n := jobsOfKind(t, pool, "test.sync"); n != 1 {
		t.Errorf("%d jobs after a refused sync, want 1", n)
	}
	other := create(newSync("mycashflow", ports.SyncFull))

	// Running: started once.
	started, err := s.StartSync(ctx, first.ID, at.Add(time.Second))
	if err != nil || started.Status != ports.SyncRunning || !started.Started.Equal(at.Add(time.Second)) {
		t.Fatalf("start %+v %v", started, err)
	}
	again, err := s.StartSync(ctx, first.ID, at.Add(time.Hour))
	if err != nil || !again.Started.Equal(started.Started) {
		t.Errorf("started again: %+v %v", again, err)
	}
	if _, err := s.CreateSync(ctx, newSync("woocommerce", ports.SyncFull), ports.Job{Args: syncArgs{}}); !errors.As(err, &busy) || busy.Sync.Status != ports.SyncRunning {
		t.Fatalf("sync while one runs: %v", err)
	}

	// A page: stored when the run holds the pages it read.
	p1 := ports.SyncProgress{Cursor: "page:2", Pages: 1, Total: 250, Created: 90, Updated: 5, Unchanged: 3, Stale: 1, Rejected: 1,
		Rejections: []ports.SyncRejection{{Link: "17", Reason: "invalid input: email: not an email address"}}}
	if err := s.SaveSyncProgress(ctx, first.ID, 0, p1, false, at.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The same page saved again by a run that read the sync before: moved.
	if err := s.SaveSyncProgress(ctx, first.ID, 0, p1, false, at.Add(3*time.Second)); !errors.Is(err, ports.ErrSyncMoved) {
		t.Errorf("a page saved twice: %v", err)
	}
	if err := s.SyncAttempted(ctx, first.ID, "rate limited (429), retry after 30s", at.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	read, err = s.Sync(ctx, "woocommerce", first.ID)
	want := p1
	want.LastError = "rate limited (429), retry after 30s"
	if err != nil || !equalProgress(read.Progress, want) || !read.Updated.Equal(at.Add(4*time.Second)) {
		t.Errorf("progress %+v %v, want %+v", read.Progress, err, want)
	}
	if read.Progress.Customers() != 100 {
		t.Errorf("customers %d, want 100", read.Progress.Customers())
	}

	// The last page: succeeded, and the connector's cursor moves with it.
	p2 := p1
	p2.Cursor, p2.Pages, p2.Created, p2.LastError = "modified_after:2025-06-01T00:00:00Z", 2, 240, ""
	done := at.Add(5 * time.Second)
	if err := s.SaveSyncProgress(ctx, first.ID, 1, p2, true, done); err != nil {
		t.Fatal(err)
	}
	read, _ = s.Sync(ctx, "woocommerce", first.ID)
	if read.Status != ports.SyncSucceeded || !read.Finished.Equal(done) || !equalProgress(read.Progress, p2) {
		t.Errorf("succeeded %+v", read)
	}
	pull, err := s.ConnectorPull(ctx, "woocommerce")
	if err != nil || pull.Cursor != p2.Cursor || !pull.LastPull.Equal(done) || pull.Sync != first.ID {
		t.Errorf("connector pull %+v %v", pull, err)
	}
	// A finished sync takes no more pages, and does not fail.
	if err := s.SaveSyncProgress(ctx, first.ID, 2, p2, false, done); !errors.Is(err, ports.ErrSyncMoved) {
		t.Errorf("a page after the end: %v", err)
	}
	if err := s.FailSync(ctx, first.ID, "too late", done); err != nil {
		t.Fatal(err)
	}
	if read, _ = s.Sync(ctx, "woocommerce", first.ID); read.Status != ports.SyncSucceeded || read.Error != "" {
		t.Errorf("a finished sync was failed: %+v", read)
	}

	// Catch-up starts from the stored cursor; full from the first page.
	catchUp := create(newSync("woocommerce", ports.SyncCatchUp))
	if catchUp.From != p2.Cursor || catchUp.Progress.Cursor != p2.Cursor {
		t.Errorf("catch-up from %q (progress %q), want %q", catchUp.From, catchUp.Progress.Cursor, p2.Cursor)
	}
	if err := s.FailSync(ctx, catchUp.ID, "401 Unauthorized: check the consumer key", at.Add(6*time.Second)); err != nil {
		t.Fatal(err)
	}
	read, _ = s.Sync(ctx, "woocommerce", catchUp.ID)
	if read.Status != ports.SyncFailed || read.Error != "401 Unauthorized: check the consumer key" || !read.Finished.Equal(at.Add(6*time.Second)) {
		t.Errorf("failed %+v", read)
	}
	if pull, _ := s.ConnectorPull(ctx, "woocommerce"); pull.Cursor != p2.Cursor || pull.Sync != first.ID {
		t.Errorf("a failed sync moved the cursor: %+v", pull)
	}
	full := create(newSync("woocommerce", ports.SyncFull))
	if full.From != "" || full.Progress.Cursor != "" {
		t.Errorf("full from %q", full.From)
	}

	// Newest first, at most limit, only the connector's.
	list, err := s.Syncs(ctx, "woocommerce", 2)
	if err != nil || len(list) != 2 || list[0].ID != full.ID || list[1].ID != catchUp.ID {
		t.Errorf("list %v %v", ids(list), err)
	}
	list, _ = s.Syncs(ctx, "woocommerce", 0)
	if len(list) != 3 {
		t.Errorf("list without a limit: %v", ids(list))
	}
	if list, _ = s.Syncs(ctx, "nosuch", 10); list == nil || len(list) != 0 {
		t.Errorf("list of a connector without syncs: %v", list)
	}

	// A sync whose job has ended without finishing it (discarded after
	// its process died) does not block the next one: it is failed.
	if _, err := pool.Exec(ctx, `UPDATE river_job SET state = 'discarded', finalized_at = now()
		WHERE kind = 'test.sync' AND args->>'sync' = $1`, other.ID.String()); err != nil {
		t.Fatal(err)
	}
	next := create(newSync("mycashflow", ports.SyncCatchUp))
	read, _ = s.Sync(ctx, "mycashflow", other.ID)
	if read.Status != ports.SyncFailed || read.Error != "its job ended without finishing the sync" {
		t.Errorf("orphaned sync %+v", read)
	}
	if read, _ := s.Sync(ctx, "mycashflow", next.ID); read.Status != ports.SyncQueued {
		t.Errorf("the next sync %+v", read)
	}
}

// Many requests at once for one connector: one sync is stored, the others
// are told which.
func TestSyncStoreOneAtATime(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	const n = 8
	var (
		wg      sync.WaitGroup
		gate    = make(chan struct{})
		created = make([]ports.Sync, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			sy := ports.Sync{ID: uuid.Must(uuid.NewV7()), Connector: "woocommerce", Mode: ports.SyncFull, Actor: "apikey:admin", Created: time.Now()}
			created[i], errs[i] = s.CreateSync(ctx, sy, ports.Job{Args: syncArgs{sy.ID}})
		}()
	}
	close(gate)
	wg.Wait()
	var winner uuid.UUID
	for i, err := range errs {
		if err == nil {
			if winner != uuid.Nil {
				t.Fatalf("two syncs stored: %s and %s", winner, created[i].ID)
			}
			winner = created[i].ID
		}
	}
	if winner == uuid.Nil {
		t.Fatalf("no sync stored: %v", errs)
	}
	for _, err := range errs {
		var busy *ports.SyncInProgress
		if err != nil && (!errors.As(err, &busy) || busy.Sync.ID != winner) {
			t.Errorf("refusal %v does not name %s", err, winner)
		}
	}
	if got := jobsOfKind(t, pool, "test.sync"); got != 1 {
		t.Errorf("%d jobs, want 1", got)
	}
}

func equalProgress(a, b ports.SyncProgress) bool { return reflect.DeepEqual(a, b) }

func ids(list []ports.Sync) []uuid.UUID {
	out := make([]uuid.UUID, len(list))
	for i, sy := range list {
		out[i] = sy.ID
	}
	return out
}
