package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"kirjuri/core/consent"
	"kirjuri/core/fault"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// DeliveryProcessor is the job worker of deliveries: it parses a stored delivery
// into drafts and hands each to the register (ports.Ingest), then records
// the outcome in the inbox.
type DeliveryProcessor struct {
	Inbox      ports.Inbox
	Ingest     ports.Ingest
	Connectors inbound.Set
	Clock      ports.Clock
	Log        *zap.Logger
}

var _ ports.JobWorker = (*DeliveryProcessor)(nil)

// Kind is the kind of DeliveryArgs.
func (*DeliveryProcessor) Kind() string { return inbound.DeliveryArgs{}.Kind() }

// Work processes one delivery. A delivery that does not parse, or that the
// register refuses (invalid data, a value another customer holds), is
// rejected with the reason and the job ends without error: the inbox, not
// the queue, keeps dead letters, and retrying cannot help. Other errors are
// retried with the queue's backoff; after the last attempt the delivery is
// failed.
func (p *DeliveryProcessor) Work(ctx context.Context, job ports.RunningJob) error {
	var args inbound.DeliveryArgs
	if err := job.Decode(&args); err != nil {
		return ports.CancelJob(err)
	}
	d, err := p.Inbox.Delivery(ctx, args.Delivery)
	var nf *fault.NotFound
	if errors.As(err, &nf) {
		return ports.CancelJob(fmt.Errorf("delivery %s is not in the inbox", args.Delivery))
	}
	if err != nil {
		return err
	}
	if d.Status != ports.DeliveryReceived {
		return nil // finished already (a job run twice)
	}
	log := p.Log.With(zap.String("connector", d.Connector), zap.Stringer("delivery", d.ID))
	c, ok := p.Connectors[d.Connector]
	recv, isRecv := c.(inbound.Receiver)
	if !ok || !isRecv {
		return p.failed(ctx, job, d, fmt.Errorf("connector %s is not enabled, or receives no webhooks", d.Connector))
	}
	header := http.Header{}
	for k, v := range d.Headers {
		header.Set(k, v)
	}
	drafts, err := recv.Parse(header, d.Body)
	if err != nil {
		log.Info("connector delivery rejected: it does not parse")
		return p.finish(ctx, d, ports.DeliveryRejected, "", err.Error())
	}
	origin := consent.Origin{
		Source:         consent.SourceConnector,
		SourceSystemID: int(c.SystemID()),
		Actor:          inbound.Actor(c),
		RequestID:      d.ID.String(),
	}
	outcomes := make([]string, 0, len(drafts))
	for i, dr := range drafts {
		res, err := p.Ingest.Ingest(ctx, dr, origin)
		if err != nil {
			var (
				v  *fault.Validation
				cf *fault.Conflict
			)
			if errors.As(err, &v) || errors.As(err, &cf) {
				reason := err.Error()
				if len(drafts) > 1 {
					reason = fmt.Sprintf("customer %d (%s): %s", i+1, dr.Link, reason)
				}
				log.Info("connector delivery rejected by the register")
				return p.finish(ctx, d, ports.DeliveryRejected, strings.Join(outcomes, "; "), reason)
			}
			return p.failed(ctx, job, d, err)
		}
		o := string(res.Outcome)
		if res.Customer != nil {
			o += " " + res.Customer.ID().String()
		}
		outcomes = append(outcomes, o)
	}
	return p.finish(ctx, d, ports.DeliveryProcessed, strings.Join(outcomes, "; "), "")
}

func (p *DeliveryProcessor) finish(ctx context.Context, d ports.Delivery, status ports.DeliveryStatus, outcome, reason string) error {
	return p.Inbox.FinishDelivery(ctx, d.ID, status, outcome, reason, p.now())
}

// failed records an attempt that failed; on the last one the delivery
// becomes a dead letter (failed). The error goes back to the queue.
func (p *DeliveryProcessor) failed(ctx context.Context, job ports.RunningJob, d ports.Delivery, err error) error {
	var rerr error
	if job.MaxAttempts > 0 && job.Attempt >= job.MaxAttempts {
		rerr = p.Inbox.FinishDelivery(ctx, d.ID, ports.DeliveryFailed, "", err.Error(), p.now())
	} else {
		rerr = p.Inbox.Attempted(ctx, d.ID, err.Error())
	}
	return errors.Join(err, rerr)
}

func (p *DeliveryProcessor) now() time.Time {
	if p.Clock == nil {
		return time.Now().UTC()
	}
	return p.Clock.Now()
}
