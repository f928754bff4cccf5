package postgres_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

type deliveryArgs struct {
	Delivery uuid.UUID `json:"delivery"`
}

func (deliveryArgs) Kind() string { return "test.delivery" }

func TestInbox(t *testing.T) {
	s, pool := pgtest.NewStoreAndPool(t)
	ctx := t.Context()
	at := time.Now().UTC().Truncate(time.Microsecond)
	newDelivery := func(key string) ports.Delivery {
		return ports.Delivery{ID: uuid.Must(uuid.NewV7()), Connector: "webstore", Key: key, ReceivedAt: at,
			Headers: map[string]string{"Webhook-Id": key}, Body: []byte(`{"a":1}`)}
	}
	d := newDelivery("msg_1")
	got, dup, err := s.Receive(ctx, d, ports.Job{Args: deliveryArgs{d.ID}})
	if err != nil || dup || got.ID != d.ID || got.Status != ports.DeliveryReceived {
		t.Fatalf("receive: %+v %v %v", got, dup, err)
	}
	// A replay finds the first and stores neither a delivery nor a job.
	again := newDelivery("msg_1")
	got, dup, err = s.Receive(ctx, again, ports.Job{Args: deliveryArgs{again.ID}})
	if err != nil || !dup || got.ID != d.ID {
		t.Fatalf("replay: %+v %v %v", got, dup, err)
	}
	if n := jobsOfKind(t, pool, "test.delivery"); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
	// The same key at another connector is another delivery.
	other := newDelivery("msg_1")
	other.Connector = "reservation"
	if _, dup, err := s.Receive(ctx, other, ports.Job{Args: deliveryArgs{other.ID}}); err != nil || dup {
		t.Fatalf("another connector: %v %v", dup, err)
	}
	// Too large a body is refused before the database.
	big := newDelivery("msg_big")
	big.Body = make([]byte, ports.MaxDeliveryBody+1)
	if _, _, err := s.Receive(ctx, big, ports.Job{Args: deliveryArgs{big.ID}}); err == nil {
		t.Error("a body over the limit was stored")
	}

	read, err := s.Delivery(ctx, d.ID)
	if err != nil || string(read.Body) != `{"a":1}` || read.Headers["Webhook-Id"] != "msg_1" || !read.ReceivedAt.Equal(at) {
		t.Fatalf("read back %+v %v", read, err)
	}
	var nf *fault.NotFound
	if _, err := s.Delivery(ctx, uuid.Must(uuid.NewV7())); !errors.As(err, &nf) {
		t.Errorf("missing delivery: %v", err)
	}

	// Not a dead letter yet: no retry.
	var cf *fault.Conflict
	if _, err := s.RetryDelivery(ctx, "webstore", d.ID, ports.Job{Args: deliveryArgs{d.ID}}); !errors.As(err, &cf) {
		t.Errorf("retry of a received delivery: %v", err)
	}
	if err := s.Attempted(ctx, d.ID, "register down"); err != nil {
		t.Fatal(err)
	}
	h, err := s.InboxHealth(ctx, "webstore")
	if err != nil || h.Backlog != 1 || h.DeadLetters != 0 || !h.LastDelivery.Equal(at) {
		t.Errorf("health %+v %v", h, err)
	}
	if err := s.FinishDelivery(ctx, d.ID, ports.DeliveryRejected, "", "email: not an email address", at); err != nil {
		t.Fatal(err)
	}
	dead, err := s.DeadLetters(ctx, "webstore", 10)
	if err != nil || len(dead) != 1 || dead[0].ID != d.ID || dead[0].Status != ports.DeliveryRejected ||
		dead[0].LastError != "email: not an email address" || dead[0].Attempts != 2 || len(dead[0].Body) != 0 {
		t.Fatalf("dead letters %+v %v", dead, err)
	}
	h, _ = s.InboxHealth(ctx, "webstore")
	if h.Backlog != 0 || h.DeadLetters != 1 {
		t.Errorf("health %+v", h)
	}
	// A retry of another connector's name finds nothing.
	if _, err := s.RetryDelivery(ctx, "reservation", d.ID, ports.Job{Args: deliveryArgs{d.ID}}); !errors.As(err, &nf) {
		t.Errorf("retry under another connector: %v", err)
	}
	r, err := s.RetryDelivery(ctx, "webstore", d.ID, ports.Job{Args: deliveryArgs{d.ID}})
	if err != nil || r.Status != ports.DeliveryReceived {
		t.Fatalf("retry: %+v %v", r, err)
	}
	if n := jobsOfKind(t, pool, "test.delivery"); n != 3 {
		t.Errorf("%d jobs after the retry, want 3", n)
	}
	if dead, _ := s.DeadLetters(ctx, "webstore", 10); len(dead) != 0 {
		t.Errorf("still dead: %+v", dead)
	}

	// Processed, the delivery keeps no body or headers (its data live in
	// the customer now, where an erasure reaches them), only its key: a
	// replay is still recognised.
	if err := s.FinishDelivery(ctx, d.ID, ports.DeliveryProcessed, "created", "", at); err != nil {
		t.Fatal(err)
	}
	if read, err := s.Delivery(ctx, d.ID); err != nil || len(read.Body) != 0 || len(read.Headers) != 0 {
		t.Errorf("a processed delivery still holds %q %v (%v)", read.Body, read.Headers, err)
	}
	if _, dup, err := s.Receive(ctx, newDelivery("msg_1"), ports.Job{Args: deliveryArgs{uuid.Must(uuid.NewV7())}}); err != nil || !dup {
		t.Errorf("a replay after processing: dup %v, %v", dup, err)
	}
	// Housekeeping deletes what is no longer waiting once it is older than
	// the retention; a delivery still waiting stays.
	waiting := newDelivery("msg_waiting")
	if _, _, err := s.Receive(ctx, waiting, ports.Job{Args: deliveryArgs{waiting.ID}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeInbox(ctx, at.Add(postgres.InboxRetention-time.Minute)); err != nil || n != 0 {
		t.Errorf("purge before the retention: %d, %v", n, err)
	}
	if n, err := s.PurgeInbox(ctx, at.Add(postgres.InboxRetention+time.Minute)); err != nil || n != 1 {
		t.Errorf("purge after the retention: %d deleted, %v; want the processed one only", n, err)
	}
	if _, err := s.Delivery(ctx, d.ID); !errors.As(err, &nf) {
		t.Errorf("the processed delivery after the purge: %v", err)
	}
	if _, err := s.Delivery(ctx, waiting.ID); err != nil {
		t.Errorf("a waiting delivery was purged: %v", err)
	}
}
