package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/ports"
)

const (
	tagAudit = "Consent audit"

	// defaultSummaryPeriod is the period of a summary without from.
	defaultSummaryPeriod = 30 * 24 * time.Hour
)

// ConsentEventPage is one page of consent events.
type ConsentEventPage struct {
	Items      []ConsentEvent `json:"items" nullable:"false"`
	NextCursor string         `json:"nextCursor" doc:"Continues the listing; empty on the last page."`
}

type eventPageOutput struct {
	Body *ConsentEventPage
}

type historyInput struct {
	ID     string `path:"id" format:"uuid" doc:"Customer id."`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"nextCursor of the previous page."`
}

type eventsInput struct {
	From       time.Time `query:"from" doc:"Events at or after this time (RFC 3339)."`
	To         time.Time `query:"to" doc:"Events before this time (RFC 3339)."`
	Consent    string    `query:"consent" enum:"marketingEmail,marketingSms,gdprRestricted,erased"`
	Source     string    `query:"source" enum:"api,import,connector,erasure"`
	SystemID   int       `query:"systemId" enum:"1,2,3,4,5,6,7,22" doc:"External system the change came from."`
	Actor      string    `query:"actor" maxLength:"300" doc:"API key (apikey:<name>) or user that made the change."`
	CustomerID string    `query:"customerId" format:"uuid"`
	Limit      int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor     string    `query:"cursor" maxLength:"1000" doc:"nextCursor of the previous page."`
}

type stateInput struct {
	CustomerID string    `query:"customerId" format:"uuid" required:"true"`
	At         time.Time `query:"at" doc:"The moment (RFC 3339); now when left out."`
}

// ConsentState is the value of each consent of a customer at a moment.
type ConsentState struct {
	CustomerID string         `json:"customerId" format:"uuid"`
	At         time.Time      `json:"at"`
	Consents   []ConsentValue `json:"consents" nullable:"false"`
}

// ConsentValue is one consent's value and the event that set it.
type ConsentValue struct {
	Consent string        `json:"consent" enum:"marketingEmail,marketingSms,gdprRestricted,erased"`
	Value   bool          `json:"value"`
	SetBy   *ConsentEvent `json:"setBy,omitempty" doc:"Left out when the consent had never changed by then."`
}

type stateOutput struct {
	Body *ConsentState
}

type summaryInput struct {
	From time.Time `query:"from" doc:"Start of the period (RFC 3339); 30 days before to when left out."`
	To   time.Time `query:"to" doc:"End of the period, exclusive (RFC 3339); now when left out."`
}

// ConsentSummary counts grants and withdrawals per day (UTC), source and
// consent in [from, to).
type ConsentSummary struct {
	From time.Time       `json:"from"`
	To   time.Time       `json:"to"`
	Rows []ConsentCounts `json:"rows" nullable:"false"`
}

// ConsentCounts is one day's changes of one consent from one source.
type ConsentCounts struct {
	Day         string `json:"day" format:"date"`
	Source      string `json:"source" enum:"api,import,connector,erasure"`
	Consent     string `json:"consent" enum:"marketingEmail,marketingSms,gdprRestricted,erased"`
	Grants      int64  `json:"grants"`
	Withdrawals int64  `json:"withdrawals"`
}

type summaryOutput struct {
	Body *ConsentSummary
}

func (a *API) registerAudit() {
	unavailable := []int{http.StatusServiceUnavailable}
	handle(a, a.operation(huma.Operation{
		OperationID: "consentHistory",
		Method:      http.MethodGet,
		Path:        "/v1/customers/{id}/consent-history",
		Summary:     "A customer's consent history",
		Description: "The customer's consent events, newest first. The history of an erased customer stays.",
		Tags:        []string{tagAudit},
		Errors:      unavailable,
	}, access.AuditRead), a.consentHistory)

	handle(a, a.operation(huma.Operation{
		OperationID: "listConsentEvents",
		Method:      http.MethodGet,
		Path:        "/v1/audit/consent-events",
		Summary:     "Consent changes in a period",
		Description: "Compliance query: every consent change in [from, to) matching the filters, oldest first, paged.",
		Tags:        []string{tagAudit},
		Errors:      unavailable,
	}, access.AuditRead), a.consentEvents)

	handle(a, a.operation(huma.Operation{
		OperationID: "consentState",
		Method:      http.MethodGet,
		Path:        "/v1/audit/consent-state",
		Summary:     "A customer's consents at a moment",
		Description: "Each consent's value at the moment at (now when left out) and the event that set it, from the audit log.",
		Tags:        []string{tagAudit},
		Errors:      unavailable,
	}, access.AuditRead), a.consentState)

	handle(a, a.operation(huma.Operation{
		OperationID: "consentSummary",
		Method:      http.MethodGet,
		Path:        "/v1/audit/consent-summary",
		Summary:     "Grants and withdrawals per day and source",
		Description: "Counts of grants and withdrawals per day (UTC), source and consent in [from, to); the last 30 days when from is left out.",
		Tags:        []string{tagAudit},
		Errors:      unavailable,
	}, access.AuditRead), a.consentSummary)
}

func (a *API) auditLog() (ports.ConsentAudit, error) {
	if a.audit == nil {
		return nil, huma.Error503ServiceUnavailable("audit log not configured")
	}
	return a.audit, nil
}

func (a *API) consentHistory(ctx context.Context, in *historyInput) (*eventPageOutput, error) {
	log, err := a.auditLog()
	if err != nil {
		return nil, err
	}
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	page, err := log.History(ctx, id, ports.AuditPageRequest{Limit: in.Limit, Cursor: in.Cursor})
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	return &eventPageOutput{Body: &ConsentEventPage{Items: eventViews(page.Items), NextCursor: page.NextCursor}}, nil
}

func (a *API) consentEvents(ctx context.Context, in *eventsInput) (*eventPageOutput, error) {
	log, err := a.auditLog()
	if err != nil {
		return nil, err
	}
	if !in.From.IsZero() && !in.To.IsZero() && !in.From.Before(in.To) {
		return nil, queryInvalid("to", "must be after from")
	}
	q := ports.AuditQuery{
		From:             in.From,
		To:               in.To,
		Consent:          consent.Kind(in.Consent),
		Source:           consent.Source(in.Source),
		SystemID:         in.SystemID,
		Actor:            in.Actor,
		AuditPageRequest: ports.AuditPageRequest{Limit: in.Limit, Cursor: in.Cursor},
	}
	if in.CustomerID != "" {
		id, err := uuid.Parse(in.CustomerID)
		if err != nil {
			return nil, queryInvalid("customerId", "must be a UUID")
		}
		q.CustomerID = id
	}
	page, err := log.Events(ctx, q)
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	return &eventPageOutput{Body: &ConsentEventPage{Items: eventViews(page.Items), NextCursor: page.NextCursor}}, nil
}

func (a *API) consentState(ctx context.Context, in *stateInput) (*stateOutput, error) {
	log, err := a.auditLog()
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(in.CustomerID)
	if err != nil {
		return nil, queryInvalid("customerId", "must be a UUID")
	}
	at := in.At
	if at.IsZero() {
		at = a.clock.Now().UTC()
	}
	st, err := log.State(ctx, id, at)
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	out := &ConsentState{CustomerID: id.String(), At: at, Consents: make([]ConsentValue, 0, len(consent.Kinds))}
	for _, k := range consent.Kinds {
		v := ConsentValue{Consent: string(k), Value: st.Values[k]}
		if e := st.SetBy[k]; e != nil {
			ev := eventView(*e)
			v.SetBy = &ev
		}
		out.Consents = append(out.Consents, v)
	}
	return &stateOutput{Body: out}, nil
}

func (a *API) consentSummary(ctx context.Context, in *summaryInput) (*summaryOutput, error) {
	log, err := a.auditLog()
	if err != nil {
		return nil, err
	}
	to := in.To
	if to.IsZero() {
		to = a.clock.Now().UTC()
	}
	from := in.From
	if from.IsZero() {
		from = to.Add(-defaultSummaryPeriod)
	}
	if !from.Before(to) {
		return nil, queryInvalid("to", "must be after from")
	}
	rows, err := log.Summary(ctx, from, to)
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	out := &ConsentSummary{From: from, To: to, Rows: make([]ConsentCounts, len(rows))}
	for i, r := range rows {
		out.Rows[i] = ConsentCounts{
			Day:         r.Day.UTC().Format(time.DateOnly),
			Source:      string(r.Source),
			Consent:     string(r.Consent),
			Grants:      r.Grants,
			Withdrawals: r.Withdrawals,
		}
	}
	return &summaryOutput{Body: out}, nil
}

func queryInvalid(param, msg string) error {
	return huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query." + param, Message: msg})
}
