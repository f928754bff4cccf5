package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// Pulls: POST /v1/connectors/{name}/sync starts a backfill or catch-up of
// a connector that pulls (inbound.Puller) as a job, and GET .../syncs/{id}
// follows it. The job (app.SyncWorker) stores the progress after each page.

// SyncRejection is one customer of a sync that the register refused.
type SyncRejection struct {
	Link   string `json:"link" doc:"The customer's id in the connector's system (its external-system link)."`
	Reason string `json:"reason" doc:"Why the register refused it: the fields that are wrong, never their values."`
}

// SyncJob is a sync: its job's state and progress.
type SyncJob struct {
	ID        string `json:"id" format:"uuid"`
	Connector string `json:"connector"`
	Status    string `json:"status" enum:"queued,running,succeeded,failed" doc:"queued until a worker takes it; running (also while it waits for the other system's rate limit or for a retry, see lastError); succeeded: the last page was fetched and the connector's cursor moved on; failed: see error."`
	Mode      string `json:"mode" enum:"catch-up,full" doc:"catch-up: from where the last successful sync ended; full: from the first page."`
	From      string `json:"from" doc:"The cursor it started from (the connector's own text: a page, an id, a time); empty: the first page."`
	Cursor    string `json:"cursor" doc:"Where the next page starts: the cursor reached. A sync resumed after a restart starts here."`
	PagesDone int64  `json:"pagesDone" doc:"Pages fetched and applied."`
	// CustomersTotal is a pointer: null when the system does not say.
	CustomersTotal      *int64          `json:"customersTotal" doc:"How many customers the system says it has (WooCommerce's X-WP-Total); null when it does not say."`
	CustomersDone       int64           `json:"customersDone" doc:"Customers of the pages done: created + updated + unchanged + stale + rejected."`
	Created             int64           `json:"created"`
	Updated             int64           `json:"updated"`
	Unchanged           int64           `json:"unchanged"`
	Stale               int64           `json:"stale" doc:"The register holds newer data of the customer from the same system: nothing changed."`
	Rejected            int64           `json:"rejected" doc:"Customers the register refused (invalid data, a value another customer holds); the sync goes on."`
	Rejections          []SyncRejection `json:"rejections" doc:"The first 20 rejected customers, with the reason."`
	RejectionsTruncated bool            `json:"rejectionsTruncated" doc:"More were rejected than rejections lists."`
	LastError           string          `json:"lastError" doc:"While it runs: the error of the last attempt, which will be retried (the system down, its rate limit); empty once a page succeeds after it."`
	Error               string          `json:"error" doc:"Why a failed sync failed (the system refused the credentials, every attempt failed)."`
	CreatedBy           string          `json:"createdBy" doc:"The API key that started it."`
	CreatedAt           time.Time       `json:"createdAt"`
	StartedAt           *time.Time      `json:"startedAt" doc:"When a worker first took it; null while queued."`
	FinishedAt          *time.Time      `json:"finishedAt" doc:"When it succeeded or failed; null until then."`
	UpdatedAt           time.Time       `json:"updatedAt"`
}

func syncJob(s ports.Sync) SyncJob {
	p := s.Progress
	j := SyncJob{
		ID: s.ID.String(), Connector: s.Connector, Status: string(s.Status), Mode: string(s.Mode),
		From: s.From, Cursor: p.Cursor, PagesDone: p.Pages, CustomersDone: p.Customers(),
		Created: p.Created, Updated: p.Updated, Unchanged: p.Unchanged, Stale: p.Stale, Rejected: p.Rejected,
		Rejections:          make([]SyncRejection, len(p.Rejections)),
		RejectionsTruncated: p.Rejected > int64(len(p.Rejections)),
		LastError:           p.LastError, Error: s.Error,
		CreatedBy: strings.TrimPrefix(s.Actor, "apikey:"), CreatedAt: s.Created, UpdatedAt: s.Updated,
	}
	if p.Total >= 0 {
		t := p.Total
		j.CustomersTotal = &t
	}
	for i, r := range p.Rejections {
		j.Rejections[i] = SyncRejection(r)
	}
	if !s.Started.IsZero() {
		t := s.Started
		j.StartedAt = &t
	}
	if !s.Finished.IsZero() {
		t := s.Finished
		j.FinishedAt = &t
	}
	return j
}

// SyncRequest is the optional body of POST .../sync.
type SyncRequest struct {
	Mode string `json:"mode,omitempty" enum:"catch-up,full" doc:"catch-up (the default): from where the last successful sync of the connector ended, or from the start when none has; full: from the first page, whatever was pulled before."`
}

type startSyncInput struct {
	Name string       `path:"name" maxLength:"40" doc:"A connector that pulls: woocommerce, mycashflow."`
	Body *SyncRequest `doc:"Optional; without it the sync is a catch-up."`
}

type syncOutput struct {
	Status   int
	Location string `header:"Location"`
	Body     SyncJob
}

type syncIDInput struct {
	Name string `path:"name" maxLength:"40"`
	ID   string `path:"id" format:"uuid" doc:"The sync's id."`
}

type syncGetOutput struct {
	Body SyncJob
}

type syncListInput struct {
	Name  string `path:"name" maxLength:"40"`
	Limit int    `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"At most this many, newest first."`
}

type syncList struct {
	Body struct {
		Items []SyncJob `json:"items"`
	}
}

func (a *API) registerSyncs() {
	handle(a, a.operation(huma.Operation{
		OperationID: "startConnectorSync",
		Method:      http.MethodPost,
		Path:        "/v1/connectors/{name}/sync",
		Summary:     "Start a pull of a connector",
		Description: "Starts a backfill or catch-up of a connector that pulls customers from its system page by page " +
			"(woocommerce, mycashflow), as a job; 202 with the sync, followed at Location. Each customer goes through the " +
			"register's matching, merging and validation, as a webhook's would; one the register refuses is counted and listed, " +
			"and the sync goes on. The progress (the cursor reached and the counts) is stored after each page: a restart resumes " +
			"after the last page finished, and the other system's rate limit (429 and Retry-After) is waited out. " +
			"A connector has one sync at a time: 409 naming the one queued or running (its id in the detail, its address in " +
			"Location). An unknown or disabled connector is 404; one that cannot pull is 422.",
		Tags:          []string{tagConnectors},
		DefaultStatus: http.StatusAccepted,
		Errors:        []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, access.Admin), a.startSync)

	handle(a, a.operation(huma.Operation{
		OperationID: "getConnectorSync",
		Method:      http.MethodGet,
		Path:        "/v1/connectors/{name}/syncs/{id}",
		Summary:     "Follow a pull of a connector",
		Description: "The sync's status and progress while it runs (pages and customers done, the cursor reached, the total " +
			"when the system says it), then its outcome: customers created, updated, unchanged, stale and rejected, the first " +
			"rejections with their reasons, and the error of a failed sync.",
		Tags:   []string{tagConnectors},
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.Admin), a.getSync)

	handle(a, a.operation(huma.Operation{
		OperationID: "listConnectorSyncs",
		Method:      http.MethodGet,
		Path:        "/v1/connectors/{name}/syncs",
		Summary:     "List the pulls of a connector",
		Description: "The connector's syncs, newest first, with their progress.",
		Tags:        []string{tagConnectors},
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.Admin), a.listSyncs)
}

// puller checks that name is an enabled connector that pulls: 404 when it
// is not enabled, 422 naming it when it cannot pull.
func (a *API) puller(name string) error {
	c, ok := a.conns[name]
	if !ok || a.connDeps.Syncs == nil {
		return huma.Error404NotFound(fmt.Sprintf("no connector named %q is enabled", name))
	}
	if _, ok := c.(inbound.Puller); !ok {
		pullers := []string{}
		for _, n := range slicesSortedKeys(a.conns) {
			if _, ok := a.conns[n].(inbound.Puller); ok {
				pullers = append(pullers, n)
			}
		}
		enabled := "none of the enabled connectors pulls"
		if len(pullers) > 0 {
			enabled = "enabled connectors that pull: " + strings.Join(pullers, ", ")
		}
		return huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{
			Location: "path.name", Value: name,
			Message: fmt.Sprintf("connector %s cannot pull (its system sends its customers to the webhook); %s", name, enabled),
		})
	}
	return nil
}

func syncLocation(s ports.Sync) string {
	return "/v1/connectors/" + s.Connector + "/syncs/" + s.ID.String()
}

func (a *API) startSync(ctx context.Context, in *startSyncInput) (*syncOutput, error) {
	if err := a.puller(in.Name); err != nil {
		return nil, err
	}
	mode := ports.SyncCatchUp
	if in.Body != nil && in.Body.Mode != "" {
		mode = ports.SyncMode(in.Body.Mode)
	}
	if mode != ports.SyncCatchUp && mode != ports.SyncFull {
		// Huma's enum check comes first; this holds without it too.
		return nil, huma.Error422UnprocessableEntity("validation failed",
			&huma.ErrorDetail{Location: "body.mode", Message: "must be catch-up or full"})
	}
	id := uuid.Must(uuid.NewV7())
	s, err := a.connDeps.Syncs.CreateSync(ctx, ports.Sync{
		ID: id, Connector: in.Name, Mode: mode, Actor: "apikey:" + keyOf(ctx).Name,
		Created: a.clock.Now().UTC().Truncate(time.Microsecond),
	}, ports.Job{
		Args:        inbound.SyncArgs{Connector: in.Name, Sync: id.String()},
		MaxAttempts: ports.SyncAttempts,
	})
	var busy *ports.SyncInProgress
	if errors.As(err, &busy) {
		return nil, huma.ErrorWithHeaders(huma.Error409Conflict(fmt.Sprintf(
			"connector %s has sync %s %s; follow it at %s, and start another once it has finished",
			in.Name, busy.Sync.ID, busy.Sync.Status, syncLocation(busy.Sync))),
			http.Header{"Location": []string{syncLocation(busy.Sync)}})
	}
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	a.log.Info("connector sync queued", zap.String("request_id", requestIDFrom(ctx)), zap.String("connector", in.Name),
		zap.String("sync", s.ID.String()), zap.String("mode", string(s.Mode)))
	return &syncOutput{Status: http.StatusAccepted, Location: syncLocation(s), Body: syncJob(s)}, nil
}

func (a *API) getSync(ctx context.Context, in *syncIDInput) (*syncGetOutput, error) {
	if err := a.puller(in.Name); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(in.ID)
	if err != nil {
		return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "path.id", Message: "must be a UUID"})
	}
	s, err := a.connDeps.Syncs.Sync(ctx, in.Name, id)
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	return &syncGetOutput{Body: syncJob(s)}, nil
}

func (a *API) listSyncs(ctx context.Context, in *syncListInput) (*syncList, error) {
	if err := a.puller(in.Name); err != nil {
		return nil, err
	}
	ss, err := a.connDeps.Syncs.Syncs(ctx, in.Name, in.Limit)
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	out := &syncList{}
	out.Body.Items = make([]SyncJob, len(ss))
	for i, s := range ss {
		out.Body.Items[i] = syncJob(s)
	}
	return out, nil
}

// pullHealth adds what a connector that pulls shows in GET /v1/connectors:
// the capability pull and the end of its last successful sync.
func (a *API) pullHealth(ctx context.Context, c inbound.Connector, v *ConnectorView) error {
	if _, ok := c.(inbound.Puller); !ok {
		return nil
	}
	v.Capabilities = append(v.Capabilities, "pull")
	if a.connDeps.Syncs == nil {
		return nil
	}
	p, err := a.connDeps.Syncs.ConnectorPull(ctx, c.Name())
	if err != nil {
		return err
	}
	if !p.LastPull.IsZero() {
		t := p.LastPull
		v.LastPull = &t
	}
	return nil
}
