package app_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"kirjuri/app"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// fakeInbox holds one delivery and records what the processor does.
type fakeInbox struct {
	ports.Inbox
	d                       ports.Delivery
	status                  ports.DeliveryStatus
	reason, outcome, failed string
}

func (f *fakeInbox) Delivery(context.Context, uuid.UUID) (ports.Delivery, error) { return f.d, nil }
func (f *fakeInbox) Attempted(_ context.Context, _ uuid.UUID, err string) error {
	f.failed = err
	return nil
}
func (f *fakeInbox) FinishDelivery(_ context.Context, _ uuid.UUID, s ports.DeliveryStatus, outcome, reason string, _ time.Time) error {
	f.status, f.outcome, f.reason = s, outcome, reason
	return nil
}

// recordingIngest answers every draft with err, or creates a customer.
type recordingIngest struct {
	err     error
	origins []consent.Origin
}

func (r *recordingIngest) Ingest(_ context.Context, _ intake.Draft, o consent.Origin) (intake.Result, error) {
	r.origins = append(r.origins, o)
	return intake.Result{Outcome: intake.Created}, r.err
}

type stubConnector struct{ parseErr error }

func (stubConnector) Name() string                                { return "stub" }
func (stubConnector) SystemID() customer.SystemID                 { return customer.Webstore }
func (stubConnector) Verify(http.Header, []byte, time.Time) error { return nil }
func (stubConnector) DeliveryKey(http.Header, []byte) string      { return "" }
func (stubConnector) KeptHeaders() []string                       { return nil }
func (s stubConnector) Parse(http.Header, []byte) ([]intake.Draft, error) {
	return []intake.Draft{{Link: customer.ExternalLink{SystemID: 7, Identifier: "C-1"}}}, s.parseErr
}

func TestProcessor(t *testing.T) {
	id := uuid.Must(uuid.NewV7())
	run := func(conn inbound.Connector, ingErr error, attempt int) (*fakeInbox, *recordingIngest, error) {
		inbox := &fakeInbox{d: ports.Delivery{ID: id, Connector: "stub", Status: ports.DeliveryReceived}}
		ing := &recordingIngest{err: ingErr}
		set, err := inbound.NewSet([]inbound.Connector{conn})
		if err != nil {
			t.Fatal(err)
		}
		p := &app.DeliveryProcessor{Inbox: inbox, Ingest: ing, Connectors: set, Log: zap.NewNop()}
		err = p.Work(t.Context(), ports.RunningJob{Args: []byte(`{"delivery":"` + id.String() + `"}`), Attempt: attempt, MaxAttempts: 3})
		return inbox, ing, err
	}

	inbox, ing, err := run(stubConnector{}, nil, 1)
	if err != nil || inbox.status != ports.DeliveryProcessed || inbox.outcome != "created" {
		t.Errorf("processed: %v %+v", err, inbox)
	}
	if o := ing.origins[0]; o.Source != consent.SourceConnector || o.SourceSystemID != 7 || o.Actor != "connector:stub" || o.RequestID != id.String() {
		t.Errorf("origin %+v", o)
	}

	// Does not parse: rejected, the job ends (no retry), the register never sees it.
	inbox, ing, err = run(stubConnector{parseErr: errors.New("invalid JSON at byte 3")}, nil, 1)
	if err != nil || inbox.status != ports.DeliveryRejected || inbox.reason != "invalid JSON at byte 3" || len(ing.origins) != 0 {
		t.Errorf("unparsable: %v %+v", err, inbox)
	}

	// The register refuses: rejected with the reason, not retried.
	inbox, _, err = run(stubConnector{}, fault.Invalid("email", "not an email address"), 1)
	if err != nil || inbox.status != ports.DeliveryRejected || inbox.reason != "invalid input: email: not an email address" {
		t.Errorf("refused: %v %+v", err, inbox)
	}

	// The register is down: the attempt is recorded and the job retried…
	down := errors.New("postgres: connection refused")
	inbox, _, err = run(stubConnector{}, down, 2)
	if !errors.Is(err, down) || inbox.status != "" || inbox.failed != down.Error() {
		t.Errorf("down: %v %+v", err, inbox)
	}
	// …until the last attempt makes it a dead letter.
	inbox, _, err = run(stubConnector{}, down, 3)
	if !errors.Is(err, down) || inbox.status != ports.DeliveryFailed || inbox.reason != down.Error() {
		t.Errorf("down at the last attempt: %v %+v", err, inbox)
	}

	// A receiver that does not verify is refused.
	if _, err := inbound.NewSet([]inbound.Connector{unverified{}}); err == nil {
		t.Error("a receiver without a verifier was accepted")
	}
}

type unverified struct{}

func (unverified) Name() string                                      { return "u" }
func (unverified) SystemID() customer.SystemID                       { return customer.Webstore }
func (unverified) DeliveryKey(http.Header, []byte) string            { return "" }
func (unverified) KeptHeaders() []string                             { return nil }
func (unverified) Parse(http.Header, []byte) ([]intake.Draft, error) { return nil, nil }
