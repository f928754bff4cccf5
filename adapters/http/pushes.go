package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"kirjuri/core/fault"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// Pushes: a connector that pushes (inbound.Pusher) shows the capability
// push, its last successful push and its waiting pushes in GET
// /v1/connectors; its failed pushes are dead letters beside its failed
// deliveries, and retried by the same operation. A delivery's dead letter
// is named by its UUID, a push's by its job's number: the two never look
// alike, so one path parameter serves both.

// Dead letter kinds.
const (
	deadDelivery = "delivery"
	deadPush     = "push"
)

func pushDeadLetter(p ports.FailedPush) DeadLetter {
	v := DeadLetter{ID: strconv.FormatInt(p.ID, 10), Kind: deadPush, Connector: p.Connector, Customer: p.Customer.String(),
		Status: string(p.Status), ReceivedAt: p.QueuedAt, Attempts: p.Attempts, Reason: p.LastError}
	if !p.FinishedAt.IsZero() {
		t := p.FinishedAt
		v.ProcessedAt = &t
	}
	return v
}

// pushHealth adds what a connector that pushes shows in GET
// /v1/connectors: the capability push, its last successful push, its
// waiting pushes, and its failed pushes among its dead letters.
func (a *API) pushHealth(ctx context.Context, c inbound.Connector, v *ConnectorView) error {
	if _, ok := c.(inbound.Pusher); !ok {
		return nil
	}
	v.Capabilities = append(v.Capabilities, "push")
	if a.connDeps.Pushes == nil {
		return nil
	}
	h, err := a.connDeps.Pushes.PushHealth(ctx, c.Name())
	if err != nil {
		return err
	}
	if !h.LastPush.IsZero() {
		t := h.LastPush
		v.LastPush = &t
	}
	v.PushBacklog = h.Backlog
	v.DeadLetters += h.DeadLetters
	return nil
}

// withPushDeadLetters adds the connector's failed pushes to its failed
// deliveries: newest first (a push by when its change queued it), at
// most limit in all.
func (a *API) withPushDeadLetters(ctx context.Context, name string, limit int, items []DeadLetter) ([]DeadLetter, error) {
	if a.connDeps.Pushes == nil {
		return items, nil
	}
	ps, err := a.connDeps.Pushes.PushDeadLetters(ctx, name, limit)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		items = append(items, pushDeadLetter(p))
	}
	slices.SortStableFunc(items, func(x, y DeadLetter) int { return cmp.Compare(y.ReceivedAt.UnixNano(), x.ReceivedAt.UnixNano()) })
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items, nil
}

// deadLetterID reads the id of a dead letter: a delivery's UUID, or a
// push's number.
func deadLetterID(s string) (delivery uuid.UUID, push int64, err error) {
	if id, err := uuid.Parse(s); err == nil {
		return id, 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return uuid.Nil, n, nil
	}
	return uuid.Nil, 0, huma.Error422UnprocessableEntity("validation failed",
		&huma.ErrorDetail{Location: "path.id", Message: "must be a delivery's id (a UUID) or a push's (a positive number)"})
}

// retryPush queues a failed push of the connector again.
func (a *API) retryPush(ctx context.Context, name string, id int64) (*retryOutput, error) {
	if a.connDeps.Pushes == nil {
		return nil, huma.Error404NotFound(fmt.Sprintf("connector %s has no dead letter %d", name, id))
	}
	p, err := a.connDeps.Pushes.RetryPush(ctx, name, id)
	if fault.IsNotFound(err) {
		return nil, huma.Error404NotFound(fmt.Sprintf("connector %s has no dead letter %d", name, id))
	}
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	return &retryOutput{Status: http.StatusAccepted, Body: pushDeadLetter(p)}, nil
}
