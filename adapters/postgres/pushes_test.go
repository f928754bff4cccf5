package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
	"kirjuri/ports/porttest"
)

// TestChangeJobsContract runs the suite of jobs stored with changes
// against PostgreSQL (River's job table).
func TestChangeJobsContract(t *testing.T) {
	porttest.RunChangeJobs(t, func(t *testing.T) porttest.JobStores {
		s, pool := pgtest.NewStoreAndPool(t)
		return porttest.JobStores{Customers: s, Jobs: s, Ingest: s, Bulk: s, Stored: func(t *testing.T) []porttest.StoredJob {
			return storedJobs(t, pool)
		}}
	})
}

func storedJobs(t *testing.T, pool *pgxpool.Pool) []porttest.StoredJob {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT kind, queue, max_attempts, args FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []porttest.StoredJob
	for rows.Next() {
		var (
			kind, queue string
			attempts    int
			args        []byte
		)
		if err := rows.Scan(&kind, &queue, &attempts, &args); err != nil {
			t.Fatal(err)
		}
		if queue == "default" {
			queue = ""
		}
		j, err := porttest.DecodeJob(kind, queue, attempts, args)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// pushStates lists the states of the push jobs of customer id, by job id.
func pushStates(t *testing.T, pool *pgxpool.Pool, id uuid.UUID) []string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT state FROM river_job WHERE kind = $1 AND args->>'customer' = $2 ORDER BY id`,
		ports.PushJobKind, id.String())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func setState(t *testing.T, pool *pgxpool.Pool, id uuid.UUID, from, to string) {
	t.Helper()
	tag, err := pool.Exec(t.Context(), `UPDATE river_job SET state = $3::text::river_job_state,
			finalized_at = CASE WHEN $3::text IN ('discarded', 'cancelled', 'completed') THEN now() END
		WHERE kind = $1 AND args->>'customer' = $2 AND state = $4::text::river_job_state`, ports.PushJobKind, id.String(), to, from)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("set a push job from %s to %s: %v, %d rows", from, to, err, tag.RowsAffected())
	}
}

// A push job coalesces with one like it while it waits (available,
// scheduled, retryable, pending), on the single and the batch path, but
// not while it runs: the running push may have read the customer before
// the change, which then needs a push of its own.
func TestPushJobsCoalesceWhileWaitingNotWhileRunning(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	c := newTestCustomer(t, s, "yhdistetty@example.fi")
	change := func(name string) {
		t.Helper()
		if _, err := s.UpdateWithJobs(ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, []ports.Job, error) {
			events, err := cu.Apply(customer.Patch{FirstName: customer.Set(name)}, testChange())
			return events, []ports.Job{ports.PushJob("woocommerce", c.ID(), 5)}, err
		}); err != nil {
			t.Fatalf("UpdateWithJobs: %v", err)
		}
	}
	batch := func(name string) {
		t.Helper()
		before, err := s.Get(ctx, c.ID())
		if err != nil {
			t.Fatal(err)
		}
		after, _ := customer.FromStorage(before.Data())
		events, err := after.Apply(customer.Patch{FirstName: customer.Set(name)}, testChange())
		if err != nil {
			t.Fatal(err)
		}
		job := ports.PushJob("woocommerce", c.ID(), 5)
		// The same push twice in one batch is one push too.
		rej, err := s.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{{Customer: after, Before: before, Events: events, Jobs: []ports.Job{job, job}}}})
		if err != nil || len(rej) != 0 {
			t.Fatalf("WriteBatch: %v, %v", rej, err)
		}
	}
	want := func(what string, states ...string) {
		t.Helper()
		got := pushStates(t, pool, c.ID())
		if len(got) != len(states) {
			t.Fatalf("%s: push jobs in states %v, want %v", what, got, states)
		}
		for i := range got {
			if got[i] != states[i] {
				t.Fatalf("%s: push jobs in states %v, want %v", what, got, states)
			}
		}
	}

	change("Yksi")
	change("Kaksi")
	batch("Kolme")
	want("three changes while the push waits", "available")

	setState(t, pool, c.ID(), "available", "running")
	change("Neljä")
	want("a change while the push runs", "running", "available")
	batch("Viisi")
	want("another change, the new push waits", "running", "available")

	setState(t, pool, c.ID(), "running", "completed")
	setState(t, pool, c.ID(), "available", "running")
	batch("Kuusi")
	want("a batch while the second push runs", "completed", "running", "available")

	for _, st := range []string{"retryable", "scheduled", "pending"} {
		setState(t, pool, c.ID(), "available", st)
		change("Taas " + st)
		batch("Vielä " + st)
		want("changes while the push is "+st, "completed", "running", st)
		setState(t, pool, c.ID(), st, "available")
	}
	// Another connector's push is its own job.
	if _, err := s.UpdateWithJobs(ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, []ports.Job, error) {
		events, err := cu.Apply(customer.Patch{FirstName: customer.Set("Muu")}, testChange())
		return events, []ports.Job{ports.PushJob("mycashflow", c.ID(), 5)}, err
	}); err != nil {
		t.Fatal(err)
	}
	want("a push to another connector", "completed", "running", "available", "available")
}

// Failed pushes are listed as dead letters with their last error, counted
// in the health, and retried with their attempts from the first again.
func TestPushDeadLettersAndRetry(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	failed := newTestCustomer(t, s, "kaatunut@example.fi")
	refused := newTestCustomer(t, s, "torjuttu@example.fi")
	waiting := newTestCustomer(t, s, "odottaa@example.fi")
	other := newTestCustomer(t, s, "muu@example.fi")
	var ids []int64
	for _, j := range []ports.Job{
		ports.PushJob("woocommerce", failed.ID(), 5), ports.PushJob("woocommerce", refused.ID(), 5),
		ports.PushJob("woocommerce", waiting.ID(), 5), ports.PushJob("mycashflow", other.ID(), 5),
	} {
		e, err := s.Enqueue(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	giveUp := func(id int64, state string, attempt int, msg string) {
		t.Helper()
		e, _ := json.Marshal(map[string]any{"at": time.Now(), "attempt": attempt, "error": msg})
		if _, err := pool.Exec(ctx, `UPDATE river_job SET state = $2::text::river_job_state, attempt = $3, finalized_at = now(),
			errors = ARRAY[$4::jsonb, $5::jsonb] WHERE id = $1`, id, state, attempt, `{"error":"an earlier one"}`, e); err != nil {
			t.Fatal(err)
		}
	}
	giveUp(ids[0], "discarded", 5, "woocommerce: 503 Service Unavailable")
	giveUp(ids[1], "cancelled", 1, "JobCancelError: woocommerce: 400 Bad Request: billing.email is invalid")
	giveUp(ids[3], "discarded", 5, "mycashflow: down")

	dead, err := s.PushDeadLetters(ctx, "woocommerce", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 2 {
		t.Fatalf("dead letters %+v, want the failed and the refused push of woocommerce", dead)
	}
	byID := map[int64]ports.FailedPush{dead[0].ID: dead[0], dead[1].ID: dead[1]}
	if p := byID[ids[0]]; p.Status != ports.PushFailed || p.Customer != failed.ID() || p.Attempts != 5 ||
		p.LastError != "woocommerce: 503 Service Unavailable" || p.FinishedAt.IsZero() || p.QueuedAt.IsZero() || p.Connector != "woocommerce" {
		t.Errorf("the failed push: %+v", p)
	}
	if p := byID[ids[1]]; p.Status != ports.PushRejected || p.LastError != "woocommerce: 400 Bad Request: billing.email is invalid" {
		t.Errorf("the refused push: %+v", p)
	}
	h, err := s.PushHealth(ctx, "woocommerce")
	if err != nil || h.Backlog != 1 || h.DeadLetters != 2 || !h.LastPush.IsZero() {
		t.Errorf("health %+v, %v; want backlog 1, 2 dead letters, never pushed", h, err)
	}

	// Retry: attempts from the first again, available now.
	p, err := s.RetryPush(ctx, "woocommerce", ids[0])
	if err != nil || p.Status != ports.PushQueued || !p.FinishedAt.IsZero() || p.Customer != failed.ID() {
		t.Fatalf("RetryPush = %+v, %v", p, err)
	}
	var (
		state            string
		attempt, maxAtts int
	)
	if err := pool.QueryRow(ctx, `SELECT state, attempt, max_attempts FROM river_job WHERE id = $1`, ids[0]).Scan(&state, &attempt, &maxAtts); err != nil {
		t.Fatal(err)
	}
	if state != "available" || attempt != 0 || maxAtts != 5 {
		t.Errorf("the retried job: %s, attempt %d of %d; want available, 0 of 5", state, attempt, maxAtts)
	}
	// Again: it has not given up now. Another connector's, or none: not found.
	_, err = s.RetryPush(ctx, "woocommerce", ids[0])
	if c, ok := err.(*fault.Conflict); !ok || c.Field != "status" {
		t.Errorf("retrying a queued push: %v, want a conflict on status", err)
	}
	for _, id := range []int64{ids[3], 999999} {
		if _, err := s.RetryPush(ctx, "woocommerce", id); !fault.IsNotFound(err) {
			t.Errorf("RetryPush(woocommerce, %d): %v, want not found", id, err)
		}
	}

	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, a := range []time.Time{at, at.Add(-time.Hour)} { // never moves back
		if err := s.PushSucceeded(ctx, "woocommerce", waiting.ID(), a); err != nil {
			t.Fatal(err)
		}
	}
	h, err = s.PushHealth(ctx, "woocommerce")
	if err != nil || h.Backlog != 2 || h.DeadLetters != 1 || !h.LastPush.Equal(at) {
		t.Errorf("health after the retry %+v, %v; want backlog 2, 1 dead letter, last push %v", h, err, at)
	}

	// A later push of the refused customer went through: its dead letter
	// is superseded and goes; another connector's stays.
	if err := s.PushSucceeded(ctx, "woocommerce", refused.ID(), at); err != nil {
		t.Fatal(err)
	}
	if dead, err := s.PushDeadLetters(ctx, "woocommerce", 10); err != nil || len(dead) != 0 {
		t.Errorf("woocommerce's dead letters after the refused customer's push went through: %+v, %v; want none", dead, err)
	}
	if dead, err := s.PushDeadLetters(ctx, "mycashflow", 10); err != nil || len(dead) != 1 || dead[0].ID != ids[3] {
		t.Errorf("mycashflow's dead letters: %+v, %v; want its own, untouched", dead, err)
	}
}

// While a push holds its link, a draft of the link that awaits pushes
// waits for it, and then sees the echo the push recorded; one that does
// not await pushes, or of another link, does not wait.
func TestHoldLinkMakesDraftsOfTheLinkWait(t *testing.T) {
	s, _ := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	link := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "55"}
	n, err := s.NextNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, events, err := customer.New(uuid.Must(uuid.NewV7()), n, customer.Patch{FirstName: customer.Set("Pito"), LastName: customer.Set("Lukko"),
		ExternalSystems: customer.Set([]customer.ExternalLink{link})}, testChange())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c, events); err != nil {
		t.Fatal(err)
	}
	read := func(st ports.SourceTime) <-chan []byte {
		got := make(chan []byte, 1)
		go func() {
			// Sent once the update has committed, so that the test never
			// ends (cancelling ctx) while an update it started is still
			// committing.
			var echo []byte
			_, err := s.UpdateFromSource(ctx, c.ID(), st, func(_ *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error) {
				echo = kept.Echo
				return nil, nil, nil
			})
			if err != nil {
				t.Error(err)
			}
			got <- echo
		}()
		return got
	}
	echo := []byte("the echo of the push")
	held, done := make(chan struct{}), make(chan error, 1)
	var waiting <-chan []byte
	go func() {
		done <- s.HoldLink(ctx, link, func(ctx context.Context) error {
			close(held)
			// Drafts that do not await pushes, or of another link, go on.
			for _, st := range []ports.SourceTime{{Link: link}, {Link: customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "56"}, AwaitPush: true}} {
				select {
				case <-read(st):
				case <-time.After(10 * time.Second):
					t.Errorf("a draft %+v waited for the held link", st)
				}
			}
			waiting = read(ports.SourceTime{Link: link, AwaitPush: true})
			select {
			case e := <-waiting:
				t.Errorf("a draft that awaits pushes read %q while the link was held", e)
			case <-time.After(300 * time.Millisecond):
			}
			return s.RecordEcho(ctx, c.ID(), ports.SourceTime{Link: link}, echo)
		})
	}()
	<-held
	if err := <-done; err != nil {
		t.Fatalf("HoldLink: %v", err)
	}
	select {
	case e := <-waiting:
		if string(e) != string(echo) {
			t.Errorf("the waiting draft read echo %q, want the one recorded while it waited", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting draft never went on")
	}
	// fn's error is HoldLink's, and the lock is released with it.
	boom := errors.New("boom")
	if err := s.HoldLink(ctx, link, func(context.Context) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("HoldLink = %v, want fn's error", err)
	}
	select {
	case <-read(ports.SourceTime{Link: link, AwaitPush: true}):
	case <-time.After(10 * time.Second):
		t.Error("the link stayed held after HoldLink returned")
	}
}

// TestHoldLinkWithinASession: within a session, HoldLink takes the link's
// lock in the session's transaction and holds it to the session's end,
// and what fn writes with its context commits with the session.
func TestHoldLinkWithinASession(t *testing.T) {
	s, _ := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	link := customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "57"}
	n, err := s.NextNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, events, err := customer.New(uuid.Must(uuid.NewV7()), n, customer.Patch{FirstName: customer.Set("Pito"), LastName: customer.Set("Istunto"),
		ExternalSystems: customer.Set([]customer.ExternalLink{link})}, testChange())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, c, events); err != nil {
		t.Fatal(err)
	}
	echo := []byte("the echo of a push within a session")
	waiting := make(chan []byte, 1)
	err = s.Session(ctx, func(sctx context.Context) error {
		if err := s.HoldLink(sctx, link, func(ctx context.Context) error {
			return s.RecordEcho(ctx, c.ID(), ports.SourceTime{Link: link}, echo)
		}); err != nil {
			return err
		}
		go func() {
			var kept []byte
			_, err := s.UpdateFromSource(ctx, c.ID(), ports.SourceTime{Link: link, AwaitPush: true}, func(_ *customer.Customer, k ports.LinkSource) ([]consent.Event, []ports.Job, error) {
				kept = k.Echo
				return nil, nil, nil
			})
			if err != nil {
				t.Error(err)
			}
			waiting <- kept
		}()
		select {
		case e := <-waiting:
			t.Errorf("a draft that awaits pushes read %q while the session held the link", e)
		case <-time.After(300 * time.Millisecond):
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	select {
	case e := <-waiting:
		if string(e) != string(echo) {
			t.Errorf("the waiting draft read echo %q, want the one recorded in the session", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting draft never went on after the session")
	}
}
