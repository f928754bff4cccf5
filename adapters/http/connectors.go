package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/ports"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

const tagConnectors = "Connectors"

// webhookRoute is the inbound webhook of every connector. Its body is read
// raw and verified by the connector before anything parses it: no API key,
// no idempotency layer (the inbox deduplicates by the sender's delivery
// key), no JSON checks of checkBody.
const webhookRoute = "/v1/connectors/{name}/webhook"

// MaxWebhookBytes bounds a webhook's body (413 beyond).
const MaxWebhookBytes = ports.MaxDeliveryBody

// ConnectorDeps are what the connector operations need: the enabled
// connectors and, when any is enabled, the inbox; the pushes' store
// (pushes.go), when there is one.
type ConnectorDeps struct {
	Connectors []inbound.Connector
	Inbox      ports.Inbox
	Pushes     ports.Pushes
	// Syncs keeps the pulls of the connectors that pull (sync.go).
	Syncs ports.SyncStore
}

type webhookInput struct {
	Name string `path:"name" maxLength:"40" doc:"The connector: webstore, reservation, woocommerce, …"`

	req *http.Request
}

func (in *webhookInput) Resolve(ctx huma.Context) []error {
	in.req, _ = humago.Unwrap(ctx)
	return nil
}

// WebhookReceipt is the answer to a delivery.
type WebhookReceipt struct {
	DeliveryID string `json:"deliveryId,omitempty" format:"uuid" doc:"The delivery in the connector's inbox (its dead letters name it); none for a handshake."`
	Status     string `json:"status" enum:"received,already received,handshake" doc:"received: stored now, processed in the background; already received: a delivery with this key was stored before, nothing changed; handshake: the system's unsigned set-up request (WooCommerce's ping), answered 200, nothing stored."`
}

type webhookOutput struct {
	Status int
	Body   WebhookReceipt
}

// ConnectorView is an enabled connector and its health.
type ConnectorView struct {
	Name         string     `json:"name"`
	SystemID     int        `json:"systemId" doc:"The external system its links name."`
	Capabilities []string   `json:"capabilities" doc:"webhook: receives POST /v1/connectors/{name}/webhook; push: sends the changes of its customers back to its system; pull: fetches its system's customers page by page (POST /v1/connectors/{name}/sync)."`
	LastDelivery *time.Time `json:"lastDelivery" doc:"When the last delivery was received; null: never."`
	Backlog      int64      `json:"backlog" doc:"Deliveries received and not processed yet."`
	DeadLetters  int64      `json:"deadLetters" doc:"Deliveries rejected or failed, and pushes that gave up (GET .../dead-letters)."`
	LastPush     *time.Time `json:"lastPush" doc:"When a push to its system last succeeded; null: never, or the connector does not push."`
	PushBacklog  int64      `json:"pushBacklog" doc:"Pushes to its system waiting or running."`
	LastPull     *time.Time `json:"lastPull" doc:"When its last successful sync (POST .../sync) ended; null: never, or the connector does not pull."`
}

type connectorList struct {
	Body struct {
		Items []ConnectorView `json:"items"`
	}
}

// DeadLetter is an inbound delivery that was rejected or failed every
// attempt, or a push to the connector's system that gave up.
type DeadLetter struct {
	ID          string     `json:"id" maxLength:"36" doc:"A delivery's id (a UUID), or a push's (a number); POST .../dead-letters/{id}/retry takes either."`
	Kind        string     `json:"kind" enum:"delivery,push" doc:"delivery: an inbound delivery of the connector's system; push: a push of a customer's state to that system."`
	Connector   string     `json:"connector"`
	DeliveryKey string     `json:"deliveryKey,omitempty" doc:"A delivery: the sender's delivery id (webhook-id)."`
	Customer    string     `json:"customer,omitempty" format:"uuid" doc:"A push: the customer it sends."`
	Status      string     `json:"status" enum:"received,processed,rejected,failed,queued" doc:"rejected: a delivery that does not parse or whose data the register refused, or a push that the other system refused (a 4xx) or whose connector no longer pushes; not retried by themselves. failed: every attempt failed. received: a delivery queued again; queued: a push queued again."`
	ReceivedAt  time.Time  `json:"receivedAt" doc:"When the delivery was received, or the push queued by its change."`
	ProcessedAt *time.Time `json:"processedAt" doc:"When it was given up; null once queued again."`
	Attempts    int        `json:"attempts"`
	Reason      string     `json:"reason" doc:"Why it was rejected, or the last attempt's error."`
}

func deadLetter(d ports.Delivery) DeadLetter {
	v := DeadLetter{ID: d.ID.String(), Kind: deadDelivery, Connector: d.Connector, DeliveryKey: d.Key, Status: string(d.Status),
		ReceivedAt: d.ReceivedAt, Attempts: d.Attempts, Reason: d.LastError}
	if !d.ProcessedAt.IsZero() {
		t := d.ProcessedAt
		v.ProcessedAt = &t
	}
	return v
}

type connectorNameInput struct {
	Name  string `path:"name" maxLength:"40"`
	Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100" doc:"At most this many, newest first."`
}

type deadLetterList struct {
	Body struct {
		Items []DeadLetter `json:"items"`
	}
}

type retryInput struct {
	Name string `path:"name" maxLength:"40"`
	ID   string `path:"id" maxLength:"36" doc:"The dead letter's id: a delivery's UUID, or a push's number."`
}

type retryOutput struct {
	Status int
	Body   DeadLetter
}

func (a *API) registerConnectors() {
	a.conns = map[string]inbound.Connector{}
	for _, c := range a.connDeps.Connectors {
		a.conns[c.Name()] = c
	}
	handle(a, a.operation(huma.Operation{
		OperationID: "receiveConnectorWebhook",
		Method:      http.MethodPost,
		Path:        webhookRoute,
		Summary:     "Receive a connector's webhook",
		Description: "The inbound door of the connectors enabled by configuration. No API key: the delivery is authenticated by the " +
			"connector's own scheme (webstore and reservation: Standard Webhooks, the headers webhook-id, webhook-timestamp and " +
			"webhook-signature `v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` under the secret " +
			"`whsec_…`, the timestamp within five minutes of the server's time; woocommerce: X-WC-Webhook-Signature, the " +
			"base64 HMAC-SHA256 of the body, and its unsigned ping answered 200 as a handshake; paytrail: the merchant's " +
			"forward of a payment callback, signed with Paytrail's own checkout-* headers and signature; posti and " +
			"matkahuolto: Kirjuri-Signature `t=<unix>,v1=<hex HMAC-SHA256 of \"{t}.{body}\">`). The raw body (at most 1 MiB, 413 beyond) is " +
			"verified before anything parses it: a missing or wrong signature or a timestamp out of tolerance is 401 saying which, " +
			"and nothing is stored. An authentic delivery is stored in the connector's inbox under its delivery key (webhook-id) " +
			"and answered 202 at once; it is processed in the background, its customer going through the register's matching, " +
			"merging and validation. The same delivery key again is 200 \"already received\" and changes nothing. A delivery " +
			"that does not parse or that the register refuses is rejected with the reason (GET .../dead-letters). " +
			"An unknown or disabled connector is 404.",
		Tags:          []string{tagConnectors},
		Security:      noKey,
		DefaultStatus: http.StatusAccepted,
		MaxBodyBytes:  MaxWebhookBytes,
		Errors:        []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusRequestEntityTooLarge},
	}), a.receiveWebhook)
	a.documentWebhook()

	handle(a, a.operation(huma.Operation{
		OperationID: "listConnectors",
		Method:      http.MethodGet,
		Path:        "/v1/connectors",
		Summary:     "List the enabled connectors and their health",
		Description: "Each connector enabled by configuration, with the time of its last delivery, its backlog (deliveries " +
			"waiting to be processed) and its dead letters; a connector that pushes changes back to its system also shows " +
			"its last successful push and its waiting pushes. Secrets are never shown.",
		Tags: []string{tagConnectors},
	}, access.Admin), a.listConnectors)

	handle(a, a.operation(huma.Operation{
		OperationID: "listConnectorDeadLetters",
		Method:      http.MethodGet,
		Path:        "/v1/connectors/{name}/dead-letters",
		Summary:     "List a connector's dead letters",
		Description: "Deliveries that were rejected (they do not parse, or the register refused their data) or failed every " +
			"attempt, and pushes to the connector's system that gave up (the other system refused the data, or was down " +
			"for every attempt), newest first, with the reason; kind tells them apart. Bodies are not shown; a push names " +
			"its customer by id. Failed pushes are kept 30 days.",
		Tags:   []string{tagConnectors},
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.Admin), a.listDeadLetters)

	handle(a, a.operation(huma.Operation{
		OperationID: "retryConnectorDeadLetter",
		Method:      http.MethodPost,
		Path:        "/v1/connectors/{name}/dead-letters/{id}/retry",
		Summary:     "Retry a dead letter",
		Description: "Queues a rejected or failed delivery again (after the cause was fixed: the register's data, the connector's " +
			"configuration); 202 with the delivery, now received. A push (id a number) is queued again with its attempts " +
			"from the first, and sends the customer as it is then; 202 with the push, now queued. 409 when it is not a " +
			"dead letter; 404 when the connector has none with the id; 422 when the id is neither a UUID nor a number.",
		Tags:          []string{tagConnectors},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, access.Admin), a.retryDeadLetter)
}

// documentWebhook gives the document the webhook's body and headers. They
// are documented only: the operation Huma runs has no body schema, so that
// Huma and checkBody leave the raw body to the handler.
func (a *API) documentWebhook() {
	oapi := a.huma.OpenAPI()
	item := oapi.Paths[webhookRoute]
	if item == nil || item.Post == nil {
		return
	}
	doc := *item.Post
	var (
		oneOf    []*huma.Schema
		examples = map[string]*huma.Example{}
	)
	for _, c := range a.cfg.WebhookContracts {
		s := oapi.Components.Schemas.Schema(reflect.TypeOf(c.Payload), true, c.Schema)
		oneOf = append(oneOf, s)
		var ex any
		if err := json.Unmarshal(c.Example, &ex); err == nil {
			examples[c.Connector] = &huma.Example{Summary: "An event of the " + c.Connector + " connector", Value: ex}
		}
	}
	bodySchema := &huma.Schema{OneOf: oneOf}
	if len(oneOf) == 1 {
		bodySchema = oneOf[0]
	}
	doc.RequestBody = &huma.RequestBody{
		Required: true,
		Description: "The connector's own payload, as its system sends it. The generic contracts are documented here: " +
			"webstore (WebstoreEvent, systemId 7) and reservation (ReservationEvent, systemId 22), told apart by spec.",
		Content: map[string]*huma.MediaType{
			"application/json": {Schema: bodySchema, Examples: examples},
		},
	}
	for _, h := range []struct{ name, doc string }{
		{"webhook-id", "Standard Webhooks (webstore, reservation): the message id, the same on the sender's retries; the delivery key."},
		{"webhook-timestamp", "Standard Webhooks: Unix seconds when the message was signed; within five minutes of the server's time."},
		{"webhook-signature", "Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256>` signatures of `{webhook-id}.{webhook-timestamp}.{body}`; one must match."},
	} {
		doc.Parameters = append(slices.Clone(doc.Parameters), &huma.Param{
			Name: h.name, In: "header", Description: h.doc, Schema: &huma.Schema{Type: huma.TypeString},
		})
	}
	item.Post = &doc
}

func (a *API) receiver(name string) (inbound.Receiver, inbound.Verifier, error) {
	c, ok := a.conns[name]
	recv, isRecv := c.(inbound.Receiver)
	ver, isVer := c.(inbound.Verifier)
	if !ok || !isRecv || !isVer || a.connDeps.Inbox == nil {
		return nil, nil, huma.Error404NotFound(fmt.Sprintf("no connector named %q receives webhooks here (unknown, or not enabled)", name))
	}
	return recv, ver, nil
}

func (a *API) receiveWebhook(ctx context.Context, in *webhookInput) (*webhookOutput, error) {
	recv, ver, err := a.receiver(in.Name)
	if err != nil {
		return nil, err
	}
	if in.req == nil {
		return nil, huma.Error500InternalServerError("no request")
	}
	body, err := io.ReadAll(io.LimitReader(in.req.Body, MaxWebhookBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, huma.Error413RequestEntityTooLarge(fmt.Sprintf("request body is larger than the limit of %d bytes", MaxWebhookBytes))
		}
		return nil, huma.Error400BadRequest("cannot read the request body")
	}
	if len(body) > MaxWebhookBytes {
		return nil, huma.Error413RequestEntityTooLarge(fmt.Sprintf("request body is larger than the limit of %d bytes", MaxWebhookBytes))
	}
	if h, ok := recv.(inbound.Handshaker); ok && h.IsHandshake(in.req.Header, body) {
		return &webhookOutput{Status: http.StatusOK, Body: WebhookReceipt{Status: "handshake"}}, nil
	}
	now := a.clock.Now()
	if err := ver.Verify(in.req.Header, body, now); err != nil {
		var ve *delivery.VerifyError
		if errors.As(err, &ve) {
			return nil, huma.Error401Unauthorized(ve.Reason)
		}
		return nil, huma.Error401Unauthorized("the delivery is not authentic")
	}
	key := recv.DeliveryKey(in.req.Header, body)
	if key == "" {
		sum := sha256.Sum256(body)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	headers := map[string]string{}
	for _, h := range recv.KeptHeaders() {
		if v := in.req.Header.Get(h); v != "" {
			headers[http.CanonicalHeaderKey(h)] = v
		}
	}
	id := uuid.Must(uuid.NewV7())
	stored, dup, err := a.connDeps.Inbox.Receive(ctx, ports.Delivery{
		ID: id, Connector: in.Name, Key: key, ReceivedAt: now.UTC().Truncate(time.Microsecond),
		Headers: headers, Body: body,
	}, inbound.DrainJob(in.Name))
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	if dup {
		return &webhookOutput{Status: http.StatusOK, Body: WebhookReceipt{DeliveryID: stored.ID.String(), Status: "already received"}}, nil
	}
	return &webhookOutput{Status: http.StatusAccepted, Body: WebhookReceipt{DeliveryID: stored.ID.String(), Status: "received"}}, nil
}

func (a *API) listConnectors(ctx context.Context, _ *struct{}) (*connectorList, error) {
	out := &connectorList{}
	out.Body.Items = []ConnectorView{}
	for _, name := range slicesSortedKeys(a.conns) {
		c := a.conns[name]
		v := ConnectorView{Name: name, SystemID: int(c.SystemID()), Capabilities: []string{}}
		if _, ok := c.(inbound.Receiver); ok {
			v.Capabilities = append(v.Capabilities, "webhook")
		}
		if a.connDeps.Inbox != nil {
			h, err := a.connDeps.Inbox.InboxHealth(ctx, name)
			if err != nil {
				return nil, a.problem(ctx, err, inBody)
			}
			if !h.LastDelivery.IsZero() {
				t := h.LastDelivery
				v.LastDelivery = &t
			}
			v.Backlog, v.DeadLetters = h.Backlog, h.DeadLetters
		}
		if err := a.pushHealth(ctx, c, &v); err != nil {
			return nil, a.problem(ctx, err, inBody)
		}
		if err := a.pullHealth(ctx, c, &v); err != nil {
			return nil, a.problem(ctx, err, inBody)
		}
		out.Body.Items = append(out.Body.Items, v)
	}
	return out, nil
}

func (a *API) enabled(name string) error {
	if _, ok := a.conns[name]; !ok || a.connDeps.Inbox == nil {
		return huma.Error404NotFound(fmt.Sprintf("no connector named %q is enabled", name))
	}
	return nil
}

func (a *API) listDeadLetters(ctx context.Context, in *connectorNameInput) (*deadLetterList, error) {
	if err := a.enabled(in.Name); err != nil {
		return nil, err
	}
	ds, err := a.connDeps.Inbox.DeadLetters(ctx, in.Name, in.Limit)
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	out := &deadLetterList{}
	out.Body.Items = make([]DeadLetter, len(ds))
	for i, d := range ds {
		out.Body.Items[i] = deadLetter(d)
	}
	if out.Body.Items, err = a.withPushDeadLetters(ctx, in.Name, in.Limit, out.Body.Items); err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	return out, nil
}

func (a *API) retryDeadLetter(ctx context.Context, in *retryInput) (*retryOutput, error) {
	if err := a.enabled(in.Name); err != nil {
		return nil, err
	}
	id, push, err := deadLetterID(in.ID)
	if err != nil {
		return nil, err
	}
	if push != 0 {
		return a.retryPush(ctx, in.Name, push)
	}
	d, err := a.connDeps.Inbox.RetryDelivery(ctx, in.Name, id, inbound.DrainJob(in.Name))
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	return &retryOutput{Status: http.StatusAccepted, Body: deadLetter(d)}, nil
}

func slicesSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
