package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// drainArgs stands for a connector's drain job (inbound.DrainArgs, which
// the adapter does not know).
type drainArgs struct {
	Connector string     `json:"connector"`
	Due       *time.Time `json:"due,omitempty"`
}

func (drainArgs) Kind() string { return "test.drain" }

func drainJob(connector string) ports.Job { return ports.Job{Args: drainArgs{Connector: connector}} }

func retryJob(connector string) func(time.Time) ports.Job {
	return func(at time.Time) ports.Job {
		return ports.Job{Args: drainArgs{Connector: connector, Due: &at}, RunAt: at, Unique: true}
	}
}

func newDelivery(connector, key string, at time.Time) ports.Delivery {
	return ports.Delivery{ID: uuid.Must(uuid.NewV7()), Connector: connector, Key: key, ReceivedAt: at,
		Headers: map[string]string{"Webhook-Id": key}, Body: []byte(`{"a":1}`)}
}

// drainRequested reads whether a drain of connector is requested.
func drainRequested(t *testing.T, pool *pgxpool.Pool, connector string) bool {
	t.Helper()
	var at *time.Time
	err := pool.QueryRow(t.Context(), `SELECT requested_at FROM connector_drains WHERE connector = $1`, connector).Scan(&at)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	return at != nil
}

func TestInbox(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)

	d := newDelivery("webstore", "msg_1", at)
	got, dup, err := s.Receive(ctx, d, drainJob("webstore"))
	if err != nil || dup || got.ID != d.ID || got.Status != ports.DeliveryReceived || !got.NextAttempt.Equal(at) {
		t.Fatalf("receive: %+v %v %v", got, dup, err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 1 || !drainRequested(t, pool, "webstore") {
		t.Fatalf("%d drain jobs after the first delivery, want 1 and the drain requested", n)
	}
	// A replay finds the first and stores neither a delivery nor a job.
	if got, dup, err := s.Receive(ctx, newDelivery("webstore", "msg_1", at), drainJob("webstore")); err != nil || !dup || got.ID != d.ID {
		t.Fatalf("replay: %+v %v %v", got, dup, err)
	}
	// Another delivery while the drain is requested needs no job.
	d2 := newDelivery("webstore", "msg_2", at.Add(time.Millisecond))
	if _, dup, err := s.Receive(ctx, d2, drainJob("webstore")); err != nil || dup {
		t.Fatalf("second delivery: %v %v", dup, err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 1 {
		t.Errorf("%d drain jobs after a replay and a second delivery, want 1", n)
	}
	// The same key at another connector is another delivery, with a drain
	// of its own.
	if _, dup, err := s.Receive(ctx, newDelivery("reservation", "msg_1", at), drainJob("reservation")); err != nil || dup {
		t.Fatalf("another connector: %v %v", dup, err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 2 {
		t.Errorf("%d drain jobs, want one per connector", n)
	}
	// Too large a body is refused before the database.
	big := newDelivery("webstore", "msg_big", at)
	big.Body = make([]byte, ports.MaxDeliveryBody+1)
	if _, _, err := s.Receive(ctx, big, drainJob("webstore")); err == nil {
		t.Error("a body over the limit was stored")
	}

	read, err := s.Delivery(ctx, d.ID)
	if err != nil || string(read.Body) != `{"a":1}` || read.Headers["Webhook-Id"] != "msg_1" || !read.ReceivedAt.Equal(at) || !read.NextAttempt.Equal(at) {
		t.Fatalf("read back %+v %v", read, err)
	}
	var nf *fault.NotFound
	if _, err := s.Delivery(ctx, uuid.Must(uuid.NewV7())); !errors.As(err, &nf) {
		t.Errorf("missing delivery: %v", err)
	}
	// Not a dead letter yet: no retry.
	var cf *fault.Conflict
	if _, err := s.RetryDelivery(ctx, "webstore", d.ID, drainJob("webstore")); !errors.As(err, &cf) || cf.Field != "status" {
		t.Errorf("retry of a received delivery: %v", err)
	}

	// A delivery not attempted yet is due whatever the drain's clock says
	// (it may have been stamped by another instance's clock, or after the
	// drain read its own): the drain is handed both, oldest first, though
	// its clock is before their arrival. The first fails an attempt, the
	// second is rejected.
	next := at.Add(time.Minute)
	n, err := s.Drain(ctx, "webstore", 10, at.Add(-time.Second), func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		if len(ds) != 2 || ds[0].ID != d.ID || ds[1].ID != d2.ID || string(ds[0].Body) != `{"a":1}` {
			t.Errorf("claimed %+v", ds)
			return nil
		}
		return []ports.DeliveryResult{
			{ID: d.ID, Status: ports.DeliveryReceived, Reason: "register down", NextAttempt: next},
			{ID: d2.ID, Status: ports.DeliveryRejected, Reason: "email: not an email address", At: at},
		}
	})
	if err != nil || n != 2 {
		t.Fatalf("drain: %d, %v", n, err)
	}
	if r, _ := s.Delivery(ctx, d.ID); r.Status != ports.DeliveryReceived || r.Attempts != 1 || r.LastError != "register down" || !r.NextAttempt.Equal(next) {
		t.Errorf("after a failed attempt: %+v", r)
	}
	h, err := s.InboxHealth(ctx, "webstore")
	if err != nil || h.Backlog != 1 || h.DeadLetters != 1 || !h.LastDelivery.Equal(at.Add(time.Millisecond)) {
		t.Errorf("health %+v %v", h, err)
	}
	dead, err := s.DeadLetters(ctx, "webstore", 10)
	if err != nil || len(dead) != 1 || dead[0].ID != d2.ID || dead[0].Status != ports.DeliveryRejected ||
		dead[0].LastError != "email: not an email address" || dead[0].Attempts != 1 || len(dead[0].Body) != 0 || !dead[0].ProcessedAt.Equal(at) {
		t.Fatalf("dead letters %+v %v", dead, err)
	}

	// The drain ends: nothing is due until the next attempt, which gets a
	// drain of its own then.
	ended, err := s.EndDrain(ctx, "webstore", at.Add(time.Second), retryJob("webstore"))
	if err != nil || !ended || drainRequested(t, pool, "webstore") {
		t.Fatalf("end of the drain: %v %v, still requested %v", ended, err, drainRequested(t, pool, "webstore"))
	}
	var runAt time.Time
	if err := pool.QueryRow(ctx, `SELECT scheduled_at FROM river_job WHERE kind = 'test.drain' AND args ? 'due'`).Scan(&runAt); err != nil || !runAt.Equal(next) {
		t.Errorf("the retry's drain runs at %v (%v), want %v", runAt, err, next)
	}
	// Ending again schedules that drain once.
	if ended, err := s.EndDrain(ctx, "webstore", at.Add(time.Second), retryJob("webstore")); err != nil || !ended {
		t.Fatalf("end again: %v %v", ended, err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 3 {
		t.Errorf("%d drain jobs, want 3 (two connectors', the retry's)", n)
	}
	// Ended, a drain is requested by the next delivery.
	d3 := newDelivery("webstore", "msg_3", at.Add(2*time.Millisecond))
	if _, _, err := s.Receive(ctx, d3, drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 4 || !drainRequested(t, pool, "webstore") {
		t.Errorf("%d drain jobs after a delivery to an ended drain, want 4", n)
	}
	// A drain that finds a delivery due does not end.
	if ended, err := s.EndDrain(ctx, "webstore", at.Add(time.Second), retryJob("webstore")); err != nil || ended || !drainRequested(t, pool, "webstore") {
		t.Errorf("end with a delivery due: %v %v", ended, err)
	}

	// Once due, the failed one is claimed again with d3; the last attempt
	// fails it, d3 is processed and keeps no body or headers (its data live
	// in the customer now, where an erasure reaches them), only its key.
	n, err = s.Drain(ctx, "webstore", 10, next, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		if len(ds) != 2 || ds[0].ID != d.ID || ds[0].Attempts != 1 || ds[1].ID != d3.ID {
			t.Errorf("claimed again %+v", ds)
			return nil
		}
		return []ports.DeliveryResult{
			{ID: d.ID, Status: ports.DeliveryFailed, Reason: "register down", At: next},
			{ID: d3.ID, Status: ports.DeliveryProcessed, Outcome: "created 1", At: next},
		}
	})
	if err != nil || n != 2 {
		t.Fatalf("drain again: %d, %v", n, err)
	}
	if r, err := s.Delivery(ctx, d3.ID); err != nil || r.Status != ports.DeliveryProcessed || r.Outcome != "created 1" || len(r.Body) != 0 || len(r.Headers) != 0 || r.Attempts != 1 {
		t.Errorf("processed: %+v (%v)", r, err)
	}
	if _, dup, err := s.Receive(ctx, newDelivery("webstore", "msg_3", at), drainJob("webstore")); err != nil || !dup {
		t.Errorf("a replay after processing: dup %v, %v", dup, err)
	}
	if r, _ := s.Delivery(ctx, d.ID); r.Status != ports.DeliveryFailed || r.Attempts != 2 || r.LastError != "register down" || len(r.Body) == 0 {
		t.Errorf("failed: %+v", r)
	}

	// An admin's retry: received again, due now, its attempts counted
	// afresh (RetryBase), the drain requested with a job whatever the
	// request was.
	jobs := jobsOfKind(t, pool, "test.drain")
	// A retry of another connector's name finds nothing.
	if _, err := s.RetryDelivery(ctx, "reservation", d.ID, drainJob("reservation")); !errors.As(err, &nf) {
		t.Errorf("retry under another connector: %v", err)
	}
	r, err := s.RetryDelivery(ctx, "webstore", d.ID, drainJob("webstore"))
	if err != nil || r.Status != ports.DeliveryReceived || r.Attempts != 2 || r.RetryBase != 2 || !r.ProcessedAt.IsZero() || time.Since(r.NextAttempt) > time.Minute {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != jobs+1 {
		t.Errorf("%d drain jobs after the retry, want %d", n, jobs+1)
	}
	if dead, _ := s.DeadLetters(ctx, "webstore", 10); len(dead) != 1 || dead[0].ID != d2.ID {
		t.Errorf("dead letters after the retry: %+v", dead)
	}
	if read, _ := s.Delivery(ctx, d.ID); read.RetryBase != 2 || read.Attempts != 2 || read.Status != ports.DeliveryReceived {
		t.Errorf("read after the retry: %+v", read)
	}

	// Housekeeping deletes what is no longer waiting once it is older than
	// the retention; a delivery still waiting stays.
	if n, err := s.PurgeInbox(ctx, at.Add(postgres.InboxRetention-time.Minute)); err != nil || n != 0 {
		t.Errorf("purge before the retention: %d, %v", n, err)
	}
	if n, err := s.PurgeInbox(ctx, at.Add(postgres.InboxRetention+time.Minute)); err != nil || n != 2 {
		t.Errorf("purge after the retention: %d deleted, %v; want the processed and the rejected one", n, err)
	}
	if _, err := s.Delivery(ctx, d3.ID); !errors.As(err, &nf) {
		t.Errorf("the processed delivery after the purge: %v", err)
	}
	if _, err := s.Delivery(ctx, d.ID); err != nil {
		t.Errorf("a waiting delivery was purged: %v", err)
	}
}

func TestInboxDrainResults(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	d := newDelivery("webstore", "msg_1", at)
	other := newDelivery("webstore", "msg_2", at)
	for _, x := range []ports.Delivery{d, other} {
		if _, _, err := s.Receive(ctx, x, drainJob("webstore")); err != nil {
			t.Fatal(err)
		}
	}
	// Results the drain cannot take are refused, and nothing of the batch
	// is recorded.
	for name, bad := range map[string][]ports.DeliveryResult{
		"a delivery not claimed":  {{ID: uuid.Must(uuid.NewV7()), Status: ports.DeliveryProcessed}},
		"two results for one":     {{ID: d.ID, Status: ports.DeliveryProcessed}, {ID: d.ID, Status: ports.DeliveryRejected}},
		"received without a time": {{ID: d.ID, Status: ports.DeliveryReceived}},
		"an unknown status":       {{ID: d.ID, Status: "lost"}},
	} {
		_, err := s.Drain(ctx, "webstore", 1, at, func(context.Context, []ports.Delivery) []ports.DeliveryResult { return bad })
		if err == nil {
			t.Errorf("%s: recorded", name)
		}
	}
	if r, _ := s.Delivery(ctx, d.ID); r.Status != ports.DeliveryReceived || r.Attempts != 0 {
		t.Errorf("after refused results: %+v", r)
	}
	// A delivery without a result is let go as it was, not attempted; the
	// next drain gets it.
	n, err := s.Drain(ctx, "webstore", 10, at, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		return []ports.DeliveryResult{{ID: ds[1].ID, Status: ports.DeliveryProcessed, At: at}}
	})
	if err != nil || n != 2 {
		t.Fatalf("drain: %d %v", n, err)
	}
	if r, _ := s.Delivery(ctx, d.ID); r.Status != ports.DeliveryReceived || r.Attempts != 0 || r.LastError != "" {
		t.Errorf("a delivery without a result: %+v", r)
	}
	var again []uuid.UUID
	if _, err := s.Drain(ctx, "webstore", 10, at, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		for _, x := range ds {
			again = append(again, x.ID)
		}
		return nil
	}); err != nil || len(again) != 1 || again[0] != d.ID {
		t.Errorf("claimed again: %v %v", again, err)
	}
	// A request of a drain made long ago is taken for lost: the next
	// delivery makes it again, with a job.
	if _, err := pool.Exec(ctx, `UPDATE connector_drains SET requested_at = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	before := jobsOfKind(t, pool, "test.drain")
	if _, _, err := s.Receive(ctx, newDelivery("webstore", "msg_3", at), drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != before+1 {
		t.Errorf("%d drain jobs after a delivery to a lost request, want %d", n, before+1)
	}
	// RequestDrain makes a request whatever there is.
	if err := s.RequestDrain(ctx, "webstore", drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != before+2 {
		t.Errorf("%d drain jobs after RequestDrain, want %d", n, before+2)
	}
}

// TestInboxConcurrentDrains: drains at once (two instances) never get the
// same delivery, and between them get every one.
func TestInboxConcurrentDrains(t *testing.T) {
	s, _ := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	const total = 400
	for i := range total {
		if _, _, err := s.Receive(ctx, newDelivery("webstore", fmt.Sprintf("msg_%d", i), at.Add(time.Duration(i)*time.Microsecond)), drainJob("webstore")); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu     sync.Mutex
		seen   = map[uuid.UUID]int{}
		wg     sync.WaitGroup
		errs   = make(chan error, 4)
		counts [4]int
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n, err := s.Drain(ctx, "webstore", 25, at.Add(time.Second), func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
					out := make([]ports.DeliveryResult, 0, len(ds))
					mu.Lock()
					for _, d := range ds {
						seen[d.ID]++
						out = append(out, ports.DeliveryResult{ID: d.ID, Status: ports.DeliveryProcessed, Outcome: fmt.Sprintf("drain %d", w), At: at})
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond) // the register at work, while another drain claims
					return out
				})
				if err != nil {
					errs <- err
					return
				}
				if n == 0 {
					return
				}
				counts[w] += n
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Errorf("%d deliveries drained, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s drained %d times", id, n)
		}
	}
	busy := 0
	for _, c := range counts {
		if c > 0 {
			busy++
		}
	}
	if busy < 2 {
		t.Errorf("the drains' shares %v: the drains did not run side by side", counts)
	}
	if h, _ := s.InboxHealth(ctx, "webstore"); h.Backlog != 0 {
		t.Errorf("backlog %d after the drains", h.Backlog)
	}
}

// TestInboxDrainRequests runs the drain protocol as the service does, with
// deliveries stored all the while: runners take the drain jobs from the
// queue and drain until EndDrain ends the request. Whatever the timing, no
// delivery is left behind without a drain to come, and the jobs stay few.
func TestInboxDrainRequests(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	const (
		receivers   = 6
		perReceiver = 150
	)
	var (
		received atomic.Bool
		wg       sync.WaitGroup
		errs     = make(chan error, receivers+2)
		drains   atomic.Int64
	)
	// takeJob takes an available drain job off the queue (the runners
	// stand for River's workers on two instances).
	takeJob := func() (bool, error) {
		var args []byte
		err := pool.QueryRow(ctx, `DELETE FROM river_job WHERE id = (SELECT id FROM river_job
			WHERE kind = 'test.drain' AND state = 'available' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING args`).Scan(&args)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var a drainArgs
		if err := json.Unmarshal(args, &a); err != nil || a.Connector != "webstore" {
			return false, fmt.Errorf("drain job args %s: %v", args, err)
		}
		return true, nil
	}
	process := func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		out := make([]ports.DeliveryResult, len(ds))
		for i, d := range ds {
			out[i] = ports.DeliveryResult{ID: d.ID, Status: ports.DeliveryProcessed, At: time.Now()}
		}
		return out
	}
	runner := func() error {
		for {
			took, err := takeJob()
			if err != nil {
				return err
			}
			if !took {
				if received.Load() {
					// Once every delivery is stored, a drain job that
					// still comes is taken by a runner that is still
					// working; this one may stop.
					return nil
				}
				time.Sleep(time.Millisecond)
				continue
			}
			drains.Add(1)
			for {
				n, err := s.Drain(ctx, "webstore", 20, time.Now(), process)
				if err != nil {
					return err
				}
				if n > 0 {
					continue
				}
				ended, err := s.EndDrain(ctx, "webstore", time.Now(), retryJob("webstore"))
				if err != nil {
					return err
				}
				if ended {
					break
				}
			}
		}
	}
	for r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perReceiver {
				d := newDelivery("webstore", fmt.Sprintf("msg_%d_%d", r, i), time.Now().UTC())
				if _, _, err := s.Receive(ctx, d, drainJob("webstore")); err != nil {
					errs <- err
					return
				}
				// Paced so that drains often catch up and end while
				// deliveries keep coming: the race the request is for.
				time.Sleep(time.Duration(rand.IntN(10_000)) * time.Microsecond)
			}
		}()
	}
	var runners sync.WaitGroup
	for range 2 {
		runners.Add(1)
		go func() {
			defer runners.Done()
			if err := runner(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	received.Store(true)
	runners.Wait()
	// The last drain job may have been stored after both runners looked:
	// one more round of a runner takes it, as a River worker would.
	if err := runner(); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h, err := s.InboxHealth(ctx, "webstore")
	if err != nil || h.Backlog != 0 {
		t.Fatalf("backlog %d (%v) with no drain job left: a delivery was stored without a drain to come", h.Backlog, err)
	}
	var processed int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM connector_inbox WHERE status = 'processed'`).Scan(&processed); err != nil || processed != receivers*perReceiver {
		t.Errorf("%d processed (%v), want %d", processed, err, receivers*perReceiver)
	}
	if drainRequested(t, pool, "webstore") {
		t.Error("a drain is still requested after the last ended")
	}
	t.Logf("%d deliveries, %d drain jobs", receivers*perReceiver, drains.Load())
	if n := drains.Load(); n < 10 {
		t.Errorf("%d drain jobs: the drains never caught up, the test did not race ends against deliveries", n)
	}
}

// TestInboxEndDrainWaitsForReceive: a delivery stored while a drain is
// requested stores no job, so the drain's end must see it, even when the
// drain looks while the delivery's transaction is committing. The commit
// is held up (in this test's own database) by a deferred trigger.
func TestInboxEndDrainWaitsForReceive(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	if _, _, err := s.Receive(ctx, newDelivery("webstore", "msg_0", at), drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drain(ctx, "webstore", 10, at, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		return []ports.DeliveryResult{{ID: ds[0].ID, Status: ports.DeliveryProcessed, At: at}}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END $$;
		CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON connector_inbox
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`); err != nil {
		t.Fatal(err)
	}
	d := newDelivery("webstore", "msg_1", at)
	stored := make(chan error, 1)
	go func() {
		_, _, err := s.Receive(ctx, d, drainJob("webstore"))
		stored <- err
	}()
	time.Sleep(100 * time.Millisecond) // the Receive has looked at the request and is committing
	start := time.Now()
	ended, err := s.EndDrain(ctx, "webstore", at.Add(time.Second), retryJob("webstore"))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	if ended {
		t.Fatal("the drain ended while a delivery stored without a job of its own was committing: it would be left behind")
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("EndDrain returned after %s, before the delivery's commit", waited)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 1 {
		t.Errorf("%d drain jobs, want the first only", n)
	}
	if n, err := s.Drain(ctx, "webstore", 10, at.Add(time.Second), func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		if len(ds) != 1 || ds[0].ID != d.ID {
			t.Errorf("claimed %+v", ds)
		}
		return nil
	}); err != nil || n != 1 {
		t.Errorf("the delivery after the drain went on: %d %v", n, err)
	}
}

// TestInboxReceiveAfterEndDrain: a delivery stored while a drain is ending
// waits for the end and then sees it, so that it requests a drain with its
// job. (Were the request read by a statement begun before the lock was
// granted, it would see the request the drain was ending, store no job,
// and be left behind.) The drain's end is held up by a trigger.
func TestInboxReceiveAfterEndDrain(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	if _, _, err := s.Receive(ctx, newDelivery("webstore", "msg_0", at), drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Drain(ctx, "webstore", 10, at, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		return []ports.DeliveryResult{{ID: ds[0].ID, Status: ports.DeliveryProcessed, At: at}}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION slow_end() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN IF NEW.requested_at IS NULL THEN PERFORM pg_sleep(0.3); END IF; RETURN NEW; END $$;
		CREATE TRIGGER slow_end BEFORE UPDATE ON connector_drains FOR EACH ROW EXECUTE FUNCTION slow_end()`); err != nil {
		t.Fatal(err)
	}
	type endResult struct {
		ended bool
		err   error
	}
	done := make(chan endResult, 1)
	go func() {
		ended, err := s.EndDrain(ctx, "webstore", at.Add(time.Second), retryJob("webstore"))
		done <- endResult{ended, err}
	}()
	time.Sleep(100 * time.Millisecond) // the drain holds the lock and is ending its request
	if _, _, err := s.Receive(ctx, newDelivery("webstore", "msg_1", at), drainJob("webstore")); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil || !r.ended {
		t.Fatalf("end of the drain: %v %v", r.ended, r.err)
	}
	if n := jobsOfKind(t, pool, "test.drain"); n != 2 || !drainRequested(t, pool, "webstore") {
		t.Errorf("%d drain jobs after a delivery stored while the drain ended, want 2 and a drain requested", n)
	}
}

// TestInboxDrainProcessesInItsTransaction: fn runs in the drain's
// transaction. What the register writes with fn's context commits with
// the results, unseen by others until then, and is rolled back when the
// results cannot be recorded; a Session within fn rolls back alone, also
// when the drain's context ends in it (a shutdown).
func TestInboxDrainProcessesInItsTransaction(t *testing.T) {
	s, _ := pgtest.NewStoreAndPool(t)
	reg := register.New(s, wallClock{}, v7{})
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	seq := 0
	receive := func() ports.Delivery {
		t.Helper()
		seq++
		d := newDelivery("webstore", fmt.Sprintf("msg_%d", seq), at.Add(time.Duration(seq)*time.Microsecond))
		if _, _, err := s.Receive(ctx, d, drainJob("webstore")); err != nil {
			t.Fatal(err)
		}
		return d
	}
	create := func(ctx context.Context, last string) *customer.Customer {
		t.Helper()
		c, err := reg.Create(ctx, person("Toimitus", last), caller)
		if err != nil {
			t.Fatalf("Create within the drain: %v", err)
		}
		return c
	}
	stored := func(c *customer.Customer) bool {
		t.Helper()
		_, err := s.Get(ctx, c.ID())
		if err != nil && !fault.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	processed := func(d ports.Delivery) ports.DeliveryResult {
		return ports.DeliveryResult{ID: d.ID, Status: ports.DeliveryProcessed, Outcome: "created", At: at}
	}

	// Committed with the results, and seen by nobody before.
	first := receive()
	var made *customer.Customer
	n, err := s.Drain(ctx, "webstore", 10, at, func(ctx context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		made = create(ctx, "Yhdessä")
		if stored(made) {
			t.Error("another connection sees what the drain wrote before it committed")
		}
		if _, err := s.Get(ctx, made.ID()); err != nil {
			t.Errorf("the drain's context does not see what it wrote: %v", err)
		}
		return []ports.DeliveryResult{processed(ds[0])}
	})
	if err != nil || n != 1 {
		t.Fatalf("drain: %d, %v", n, err)
	}
	if !stored(made) {
		t.Error("what fn wrote was not committed with the results")
	}
	if d, _ := s.Delivery(ctx, first.ID); d.Status != ports.DeliveryProcessed {
		t.Errorf("the delivery: %+v", d)
	}

	// Results the drain refuses: nothing fn wrote is kept.
	second := receive()
	backlog, _, err := s.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lost *customer.Customer
	if _, err := s.Drain(ctx, "webstore", 10, at, func(ctx context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		lost = create(ctx, "Hukassa")
		return []ports.DeliveryResult{{ID: uuid.Must(uuid.NewV7()), Status: ports.DeliveryProcessed, At: at}}
	}); err == nil {
		t.Fatal("a result for a delivery the drain does not hold was recorded")
	}
	if stored(lost) {
		t.Error("what fn wrote was kept although the results were not recorded")
	}
	if b, _, _ := s.Backlog(ctx); b != backlog {
		t.Errorf("the outbox holds %d events after a drain that recorded nothing, want %d", b, backlog)
	}
	if d, _ := s.Delivery(ctx, second.ID); d.Status != ports.DeliveryReceived || d.Attempts != 0 {
		t.Errorf("the delivery of a refused drain: %+v", d)
	}

	// Sessions within fn: a failing one and one cut short by the end of
	// the drain's context roll back alone; the results of the others and
	// what they wrote are recorded all the same.
	third := receive()
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	boom := errors.New("boom")
	var undone, kept, cut *customer.Customer
	n, err = s.Drain(dctx, "webstore", 10, at, func(ctx context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		if len(ds) != 2 || ds[0].ID != second.ID || ds[1].ID != third.ID {
			t.Fatalf("claimed %+v", ds)
		}
		if err := s.Session(ctx, func(ctx context.Context) error {
			undone = create(ctx, "Peruttu")
			return boom
		}); !errors.Is(err, boom) {
			t.Errorf("a failing Session within fn = %v, want its fn's error", err)
		}
		if err := s.Session(ctx, func(ctx context.Context) error {
			kept = create(ctx, "Pysyvä")
			return nil
		}); err != nil {
			t.Errorf("Session within fn: %v", err)
		}
		if err := s.Session(ctx, func(ctx context.Context) error {
			cut = create(ctx, "Kesken")
			cancel()
			return ctx.Err()
		}); !errors.Is(err, context.Canceled) {
			t.Errorf("a Session cut short = %v, want context.Canceled", err)
		}
		return []ports.DeliveryResult{
			{ID: second.ID, Status: ports.DeliveryReceived, Reason: "boom", NextAttempt: at.Add(time.Minute)},
			processed(third),
		}
	})
	if err != nil || n != 2 {
		t.Fatalf("drain with sessions: %d, %v", n, err)
	}
	if !stored(kept) {
		t.Error("what a Session within fn wrote was not committed")
	}
	if stored(undone) || stored(cut) {
		t.Errorf("a Session within fn that failed (stored %v) or was cut short (stored %v) kept what it wrote", stored(undone), stored(cut))
	}
	if d, _ := s.Delivery(ctx, second.ID); d.Status != ports.DeliveryReceived || d.Attempts != 1 || d.LastError != "boom" {
		t.Errorf("the failed delivery: %+v", d)
	}
	if d, _ := s.Delivery(ctx, third.ID); d.Status != ports.DeliveryProcessed {
		t.Errorf("the processed delivery: %+v", d)
	}
}

// TestInboxDrainRenewsItsRequest: a drain at work renews its connector's
// request now and then, so that it is not taken for lost; a drain that
// finds the request being renewed by another (which holds its row to the
// end of its batch) neither waits for it nor renews it again.
func TestInboxDrainRenewsItsRequest(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	for i := range 2 {
		if _, _, err := s.Receive(ctx, newDelivery("webstore", fmt.Sprintf("msg_%d", i), at), drainJob("webstore")); err != nil {
			t.Fatal(err)
		}
	}
	age := func() time.Duration {
		t.Helper()
		var secs float64
		if err := pool.QueryRow(ctx, `SELECT extract(epoch FROM now() - requested_at) FROM connector_drains WHERE connector = 'webstore'`).Scan(&secs); err != nil {
			t.Fatal(err)
		}
		return time.Duration(secs * float64(time.Second))
	}
	if _, err := pool.Exec(ctx, `UPDATE connector_drains SET requested_at = now() - interval '2 minutes'`); err != nil {
		t.Fatal(err)
	}
	n, err := s.Drain(ctx, "webstore", 1, at, func(_ context.Context, ds []ports.Delivery) []ports.DeliveryResult {
		// Another drain meanwhile claims the other delivery at once,
		// without waiting for this one's renewal.
		done := make(chan error, 1)
		go func() {
			_, err := s.Drain(ctx, "webstore", 1, at, func(context.Context, []ports.Delivery) []ports.DeliveryResult { return nil })
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("the other drain: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("a drain waited for another's renewal of the request")
		}
		return []ports.DeliveryResult{{ID: ds[0].ID, Status: ports.DeliveryProcessed, At: at}}
	})
	if err != nil || n != 1 {
		t.Fatalf("drain: %d %v", n, err)
	}
	if a := age(); a > time.Minute {
		t.Errorf("the request is %s old after a drain, want renewed", a)
	}
}
