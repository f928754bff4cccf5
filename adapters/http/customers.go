package httpapi

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/finnish"
	"kirjuri/core/register"
	"kirjuri/ports"
)

const tagCustomers = "Customers"

// --- inputs and outputs ---

type customerOutput struct {
	ETag string `header:"ETag" doc:"The customer's version."`
	Body *Customer
}

type createdCustomerOutput struct {
	ETag     string `header:"ETag" doc:"The customer's version."`
	Location string `header:"Location" doc:"/v1/customers/{id}"`
	Body     *Customer
}

type createCustomerInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
	RawBody        []byte
}

type getCustomerInput struct {
	ID string `path:"id" format:"uuid" doc:"Customer id."`
}

// readCustomerInput reads one customer by id, conditionally.
type readCustomerInput struct {
	ID string `path:"id" format:"uuid" doc:"Customer id."`
	ConditionalRead
}

// ConditionalRead is the If-None-Match precondition of a read (RFC 9110
// 13.1.2): when the customer's ETag matches, the answer is 304 Not
// Modified with the ETag and no body.
type ConditionalRead struct {
	IfNoneMatch string `header:"If-None-Match" doc:"ETags the client holds (\"3\", W/\"3\", a list, or *): when the customer's ETag matches one of them (weak comparison), the answer is 304 Not Modified without a body."`
}

// Resolve reads every If-None-Match field line: a list may be split over
// several (RFC 9110 5.3), and Huma reads only the first.
func (c *ConditionalRead) Resolve(ctx huma.Context) []error {
	var lines []string
	ctx.EachHeader(func(name, value string) {
		if strings.EqualFold(name, "If-None-Match") {
			lines = append(lines, value)
		}
	})
	if len(lines) > 0 {
		c.IfNoneMatch = strings.Join(lines, ", ")
	}
	return nil
}

// readCustomerOutput is a customer read: 200 with the customer, or 304
// without it.
type readCustomerOutput struct {
	Status int
	ETag   string `header:"ETag" doc:"The customer's version."`
	Body   *Customer
}

type patchCustomerInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
	RawBody        []byte
}

type eraseCustomerInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
}

type findCustomersInput struct {
	CustomerFilters
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"nextCursor of the previous page."`
}

// CustomerFilters are the filters of a find, and of an export (export.go).
// Exported so that Huma reads the parameters of the embedded struct.
type CustomerFilters struct {
	Q                 string    `query:"q" maxLength:"200" doc:"Free text over names, company name, email, phone and customer number."`
	Email             string    `query:"email" maxLength:"254" doc:"Exact email, case-insensitive."`
	Phone             string    `query:"phone" maxLength:"40" doc:"Phone number; Finnish numbers without a country code are accepted."`
	Number            int64     `query:"number" minimum:"1" doc:"Customer number."`
	BusinessID        string    `query:"businessId" maxLength:"20" doc:"Finnish business id."`
	Group             string    `query:"group" maxLength:"100" doc:"External id of a group."`
	Type              string    `query:"type" enum:"person,company"`
	SystemID          int       `query:"systemId" enum:"1,2,3,4,5,6,7,22" doc:"Customers linked to this external system; with identifier, that exact link."`
	Identifier        string    `query:"identifier" maxLength:"255" doc:"External identifier; needs systemId."`
	UpdatedSince      time.Time `query:"updatedSince" doc:"Customers changed at or after this time (RFC 3339)."`
	IncludeRestricted bool      `query:"includeRestricted" doc:"List restricted customers too; needs the admin scope."`
}

// CustomerPage is one page of a listing.
type CustomerPage struct {
	Items      []*Customer `json:"items" nullable:"false"`
	NextCursor string      `json:"nextCursor" doc:"Continues the listing; empty on the last page."`
}

type customerPageOutput struct {
	Body *CustomerPage
}

type byNumberInput struct {
	Number int64 `path:"number" minimum:"1" doc:"Customer number."`
	ConditionalRead
}

type byExternalInput struct {
	SystemID   int    `path:"systemId" enum:"1,2,3,4,5,6,7,22" doc:"External system."`
	Identifier string `path:"identifier" minLength:"1" maxLength:"255" doc:"The customer's identifier in that system."`
	ConditionalRead
}

// ConsentsBody sets marketing consents. A consent is changed only by an
// explicit true or false: null is refused (422), since a body that sets
// nothing must never be taken for a withdrawal, nor a withdrawal for a body
// that sets nothing.
type ConsentsBody struct {
	MarketingEmail *bool  `json:"marketingEmail,omitempty" doc:"true gives the consent, false withdraws it; left as it is when absent. null is refused."`
	MarketingSMS   *bool  `json:"marketingSms,omitempty" doc:"true gives the consent, false withdraws it; left as it is when absent. null is refused."`
	Evidence       string `json:"evidence,omitempty" maxLength:"1000" doc:"How and where the customer gave or withdrew consent; kept in the audit log."`
}

type consentsInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
	Body           ConsentsBody
}

// RestrictionBody gives the reason of a restriction or of lifting it.
type RestrictionBody struct {
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Kept in the audit log."`
}

type restrictionInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
	Body           *RestrictionBody
}

// CustomerExport is everything held about one customer (GDPR access).
type CustomerExport struct {
	GeneratedAt    time.Time             `json:"generatedAt"`
	Customer       *Customer             `json:"customer"`
	ConsentHistory *ExportConsentHistory `json:"consentHistory" doc:"The customer's consent events from the audit log."`
}

// Statuses of ExportConsentHistory.
const (
	historyComplete      = "complete"
	historyUnavailable   = "unavailable"
	historyNotConfigured = "notConfigured"
)

// ExportConsentHistory is a customer's whole consent history in an export,
// or a plain statement of why it is not there.
type ExportConsentHistory struct {
	Status string         `json:"status" enum:"complete,unavailable,notConfigured" doc:"complete: events is the whole history. unavailable: the audit log could not be read just now; retry the export later. notConfigured: this server keeps no audit log. Only complete carries events."`
	Notice string         `json:"notice,omitempty" doc:"Why the history is not included, when it is not."`
	Events []ConsentEvent `json:"events" nullable:"true" doc:"Every consent event of the customer, newest first (as GET /v1/customers/{id}/consent-history); null unless status is complete."`
}

type exportOutput struct {
	Body *CustomerExport
}

// --- registration ---

func (a *API) registerCustomers() {
	createOp := a.operation(huma.Operation{
		OperationID:   "createCustomer",
		Method:        http.MethodPost,
		Path:          "/v1/customers",
		Summary:       "Create a customer",
		Description:   "Creates a customer. Every field is optional; a new customer is a person with VAT status 1, language fi and no consents unless the body says otherwise. Unknown fields are refused.",
		Tags:          []string{tagCustomers},
		DefaultStatus: http.StatusCreated,
		RequestBody:   a.customerBody("CustomerWrite", reflect.TypeFor[CustomerWrite](), "application/json"),
		// The body is decoded by decodeCustomerPatch, not by Huma.
		SkipValidateBody: true,
		Errors:           []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity},
	}, access.CustomersWrite)
	handle(a, createOp, a.createCustomer)

	handle(a, a.operation(huma.Operation{
		OperationID: "getCustomer",
		Method:      http.MethodGet,
		Path:        "/v1/customers/{id}",
		Summary:     "Read a customer",
		Description: "A restricted customer is found only with the admin scope.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound},
	}, access.CustomersRead), a.getCustomer)
	documentNotModified(a.huma.OpenAPI(), "/v1/customers/{id}")

	handle(a, a.operation(huma.Operation{
		OperationID: "updateCustomer",
		Method:      http.MethodPatch,
		Path:        "/v1/customers/{id}",
		Summary:     "Change a customer (JSON Merge Patch)",
		Description: "JSON Merge Patch (RFC 7396): an absent field is kept, null clears it, a value sets it. " +
			"Lists (addresses, phoneNumbers, customerCards, groups, externalSystems) are replaced whole; " +
			"eInvoice is merged field by field. Unknown and read-only fields are refused. A patch that changes nothing keeps the version.",
		Tags: []string{tagCustomers},
		RequestBody: a.customerBody("CustomerPatch", reflect.TypeFor[CustomerPatch](),
			"application/merge-patch+json", "application/json"),
		SkipValidateBody: true,
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}, access.CustomersWrite), a.updateCustomer)

	handle(a, a.operation(huma.Operation{
		OperationID: "eraseCustomer",
		Method:      http.MethodDelete,
		Path:        "/v1/customers/{id}",
		Summary:     "Erase a customer (GDPR)",
		Description: "Removes the customer's personal data: the record is anonymised, its identifiers released, its consents withdrawn, and the erasure is recorded in the audit log. " +
			"The number and id stay. Answers with the erased record.",
		Tags:   []string{tagCustomers},
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed},
	}, access.CustomersWrite), a.eraseCustomer)

	handle(a, a.operation(huma.Operation{
		OperationID: "findCustomers",
		Method:      http.MethodGet,
		Path:        "/v1/customers",
		Summary:     "Find customers",
		Description: "Lists customers in customer-number order, one page at a time. Restricted customers are left out unless includeRestricted is set (admin scope). Erased customers are never listed.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusUnprocessableEntity},
	}, access.CustomersRead), a.findCustomers)

	handle(a, a.operation(huma.Operation{
		OperationID: "getCustomerByNumber",
		Method:      http.MethodGet,
		Path:        "/v1/customers/by-number/{number}",
		Summary:     "Read a customer by customer number",
		Description: "The same as reading by id, addressed by the customer number. A restricted customer is found only with the admin scope.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.CustomersRead), a.getCustomerByNumber)
	documentNotModified(a.huma.OpenAPI(), "/v1/customers/by-number/{number}")

	handle(a, a.operation(huma.Operation{
		OperationID: "getCustomerByExternal",
		Method:      http.MethodGet,
		Path:        "/v1/customers/by-external/{systemId}/{identifier}",
		Summary:     "Read a customer by its external-system link",
		Description: "Finds the customer linked to identifier in the external system systemId (externalSystems). Restricted customers are not found this way.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.CustomersRead), a.getCustomerByExternal)
	documentNotModified(a.huma.OpenAPI(), "/v1/customers/by-external/{systemId}/{identifier}")

	handle(a, a.operation(huma.Operation{
		OperationID: "setConsents",
		Method:      http.MethodPut,
		Path:        "/v1/customers/{id}/consents",
		Summary:     "Set marketing consents",
		Description: "Sets marketingEmail and marketingSms; a consent left out stays as it is. Every change is recorded in the consent audit log with the evidence.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite), a.setConsents)

	handle(a, a.operation(huma.Operation{
		OperationID: "restrictCustomer",
		Method:      http.MethodPut,
		Path:        "/v1/customers/{id}/restriction",
		Summary:     "Restrict processing (GDPR)",
		Description: "Sets gdprRestricted: the customer is left out of listings, searches and exports and is never pushed to external systems. Reading it and lifting the restriction need the admin scope.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite), a.restrictCustomer)

	handle(a, a.operation(huma.Operation{
		OperationID: "liftRestriction",
		Method:      http.MethodDelete,
		Path:        "/v1/customers/{id}/restriction",
		Summary:     "Lift the restriction of processing",
		Description: "Clears gdprRestricted; needs the admin scope. The change is recorded in the consent audit log with the reason.",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite, access.Admin), a.liftRestriction)

	handle(a, a.operation(huma.Operation{
		OperationID: "exportCustomer",
		Method:      http.MethodGet,
		Path:        "/v1/customers/{id}/export",
		Summary:     "Everything held about a customer (GDPR access)",
		Description: "The whole record of one customer as the register holds it, for a GDPR access request, " +
			"with the customer's whole consent history from the audit log (consentHistory). " +
			"When the audit log cannot be read the export still answers, and consentHistory.status says so (events is then null).",
		Tags:   []string{tagCustomers},
		Errors: []int{http.StatusNotFound},
	}, access.CustomersRead), a.exportCustomer)
}

// customerBody documents a customer body that the handler decodes itself
// (see mergepatch.go): Huma does not validate it.
func (a *API) customerBody(name string, t reflect.Type, contentTypes ...string) *huma.RequestBody {
	reg := a.huma.OpenAPI().Components.Schemas
	ref := reg.Schema(t, true, name)
	if name == "CustomerPatch" {
		// eInvoice: an EInvoicePatch or null. Huma does not mark objects
		// nullable, so the property is written out here.
		s := reg.SchemaFromRef(ref.Ref)
		if p := s.Properties["eInvoice"]; p != nil {
			s.Properties["eInvoice"] = &huma.Schema{
				Description: p.Description,
				OneOf:       []*huma.Schema{{Ref: p.Ref}, {Type: "null"}},
			}
		}
	}
	rb := &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{}}
	for _, ct := range contentTypes {
		rb.Content[ct] = &huma.MediaType{Schema: ref}
	}
	return rb
}

// --- handlers ---

func (a *API) createCustomer(ctx context.Context, in *createCustomerInput) (*createdCustomerOutput, error) {
	p, err := decodeCustomerPatch(in.RawBody)
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	c, err := a.reg.Create(ctx, p, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	return &createdCustomerOutput{
		ETag:     etag(c),
		Location: "/v1/customers/" + c.ID().String(),
		Body:     view(c, keyOf(ctx).Has(access.PIIRead)),
	}, nil
}

func (a *API) getCustomer(ctx context.Context, in *readCustomerInput) (*readCustomerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	cond, err := parseIfNoneMatch(in.IfNoneMatch)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.Get(ctx, id, caller(ctx, ""))
	return a.readResult(ctx, c, err, cond)
}

func (a *API) updateCustomer(ctx context.Context, in *patchCustomerInput) (*customerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	p, err := decodeCustomerPatch(in.RawBody)
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	c, err := a.reg.Update(ctx, id, p, v, caller(ctx, ""))
	return a.customerResult(ctx, c, err, inBody)
}

func (a *API) eraseCustomer(ctx context.Context, in *eraseCustomerInput) (*customerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.Erase(ctx, id, v, caller(ctx, ""))
	return a.customerResult(ctx, c, err, inPath)
}

func (a *API) findCustomers(ctx context.Context, in *findCustomersInput) (*customerPageOutput, error) {
	k := keyOf(ctx)
	q, err := in.query(k)
	if err != nil {
		return nil, err
	}
	q.Limit, q.Cursor = in.Limit, in.Cursor
	page, err := a.reg.Find(ctx, q, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	pii := k.Has(access.PIIRead)
	out := &CustomerPage{Items: make([]*Customer, len(page.Items)), NextCursor: page.NextCursor}
	for i, c := range page.Items {
		out.Items[i] = view(c, pii)
	}
	return &customerPageOutput{Body: out}, nil
}

// query is the store query of the filters, for a caller with key k:
// includeRestricted without the admin scope is 403, a phone number or
// business id that cannot be one is 422.
func (in *CustomerFilters) query(k access.Key) (ports.CustomerQuery, error) {
	if in.IncludeRestricted && !k.Has(access.Admin) {
		return ports.CustomerQuery{}, huma.Error403Forbidden("includeRestricted needs the admin scope")
	}
	q := ports.CustomerQuery{
		Q:                 strings.TrimSpace(in.Q),
		Email:             strings.TrimSpace(in.Email),
		Number:            in.Number,
		Group:             strings.TrimSpace(in.Group),
		Type:              customer.Type(in.Type),
		SystemID:          customer.SystemID(in.SystemID),
		Identifier:        strings.TrimSpace(in.Identifier),
		UpdatedSince:      in.UpdatedSince,
		IncludeRestricted: in.IncludeRestricted,
	}
	if in.Phone != "" {
		phone, err := customer.NormalizePhone(in.Phone)
		if err != nil {
			return q, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query.phone", Message: err.Error()})
		}
		q.Phone = phone
	}
	if in.BusinessID != "" {
		bid, err := finnish.ParseBusinessID(in.BusinessID)
		if err != nil {
			return q, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query.businessId", Message: err.Error()})
		}
		q.BusinessID = bid
	}
	return q, nil
}

func (a *API) getCustomerByNumber(ctx context.Context, in *byNumberInput) (*readCustomerOutput, error) {
	cond, err := parseIfNoneMatch(in.IfNoneMatch)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.ByNumber(ctx, in.Number, caller(ctx, ""))
	return a.readResult(ctx, c, err, cond)
}

func (a *API) getCustomerByExternal(ctx context.Context, in *byExternalInput) (*readCustomerOutput, error) {
	cond, err := parseIfNoneMatch(in.IfNoneMatch)
	if err != nil {
		return nil, err
	}
	link := customer.ExternalLink{SystemID: customer.SystemID(in.SystemID), Identifier: in.Identifier}
	c, err := a.reg.ByExternal(ctx, link, caller(ctx, ""))
	return a.readResult(ctx, c, err, cond)
}

// readResult answers a read: 304 with the ETag when If-None-Match matches
// the customer's, otherwise the customer.
func (a *API) readResult(ctx context.Context, c *customer.Customer, err error, cond ifNoneMatch) (*readCustomerOutput, error) {
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	tag := etag(c)
	if cond.matches(tag) {
		return &readCustomerOutput{Status: http.StatusNotModified, ETag: tag}, nil
	}
	return &readCustomerOutput{Status: http.StatusOK, ETag: tag, Body: view(c, keyOf(ctx).Has(access.PIIRead))}, nil
}

func (a *API) setConsents(ctx context.Context, in *consentsInput) (*customerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	email, sms := customer.Keep[bool](), customer.Keep[bool]()
	if in.Body.MarketingEmail != nil {
		email = customer.Set(*in.Body.MarketingEmail)
	}
	if in.Body.MarketingSMS != nil {
		sms = customer.Set(*in.Body.MarketingSMS)
	}
	c, err := a.reg.SetConsents(ctx, id, email, sms, v, caller(ctx, in.Body.Evidence))
	return a.customerResult(ctx, c, err, inBody)
}

func (a *API) restrictCustomer(ctx context.Context, in *restrictionInput) (*customerOutput, error) {
	return a.restrict(ctx, in, true)
}

func (a *API) liftRestriction(ctx context.Context, in *restrictionInput) (*customerOutput, error) {
	return a.restrict(ctx, in, false)
}

func (a *API) restrict(ctx context.Context, in *restrictionInput, restricted bool) (*customerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	var reason string
	if in.Body != nil {
		reason = in.Body.Reason
	}
	c, err := a.reg.Restrict(ctx, id, restricted, v, caller(ctx, reason))
	return a.customerResult(ctx, c, err, inBody)
}

func (a *API) exportCustomer(ctx context.Context, in *getCustomerInput) (*exportOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.Get(ctx, id, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	history, err := a.exportHistory(ctx, id)
	if err != nil {
		return nil, err
	}
	return &exportOutput{Body: &CustomerExport{
		GeneratedAt:    a.clock.Now().UTC(),
		Customer:       view(c, keyOf(ctx).Has(access.PIIRead)),
		ConsentHistory: history,
	}}, nil
}

// exportHistoryPage is the page size an export reads the audit log with.
const exportHistoryPage = 500

// exportHistory reads the customer's whole consent history from the audit
// log, page by page. When the log cannot be read, the export says so
// instead of showing an empty history.
func (a *API) exportHistory(ctx context.Context, id uuid.UUID) (*ExportConsentHistory, error) {
	if a.audit == nil {
		return &ExportConsentHistory{Status: historyNotConfigured,
			Notice: "This server keeps no consent audit log, so the consent history is not included."}, nil
	}
	unavailable := &ExportConsentHistory{Status: historyUnavailable,
		Notice: "The consent audit log could not be read just now, so the consent history is not included. " +
			"Retry the export later, or read GET /v1/customers/" + id.String() + "/consent-history."}
	size := a.historyPage
	if size <= 0 {
		size = exportHistoryPage
	}
	events := []ConsentEvent{}
	cursor := ""
	for {
		page, err := a.audit.History(ctx, id, ports.AuditPageRequest{Limit: size, Cursor: cursor})
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, a.problem(ctx, err, inPath)
		case fault.IsUnavailable(err):
			a.log.Warn("export: consent audit log unavailable", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
			return unavailable, nil
		default:
			a.log.Error("export: cannot read the consent history", zap.String("request_id", requestIDFrom(ctx)), zap.Error(err))
			return unavailable, nil
		}
		for _, e := range page.Items {
			events = append(events, eventView(e))
		}
		if page.NextCursor == "" {
			return &ExportConsentHistory{Status: historyComplete, Events: events}, nil
		}
		if page.NextCursor == cursor || len(page.Items) == 0 {
			a.log.Error("export: the consent history does not advance", zap.String("request_id", requestIDFrom(ctx)))
			return unavailable, nil
		}
		cursor = page.NextCursor
	}
}

// customerResult answers with a customer and its ETag, or the problem.
func (a *API) customerResult(ctx context.Context, c *customer.Customer, err error, loc fieldLocation) (*customerOutput, error) {
	if err != nil {
		return nil, a.problem(ctx, err, loc)
	}
	return &customerOutput{ETag: etag(c), Body: view(c, keyOf(ctx).Has(access.PIIRead))}, nil
}

// documentNotModified adds the 304 answer of a conditional read to the
// OpenAPI document (Huma documents only the default status).
func documentNotModified(oapi *huma.OpenAPI, path string) {
	op := findOperation(oapi, http.MethodGet, path)
	if op == nil {
		return
	}
	documentError(op, http.StatusBadRequest) // a malformed If-None-Match
	op.Responses["304"] = &huma.Response{
		Description: "Not Modified: the customer's ETag matches If-None-Match. No body.",
		Headers: map[string]*huma.Param{
			"ETag": {Description: "The customer's version.", Schema: &huma.Schema{Type: huma.TypeString}},
		},
	}
}

// ifNoneMatch is a parsed If-None-Match: "*" or a list of entity tags.
type ifNoneMatch struct {
	any  bool
	tags []string // opaque tags with their quotes, W/ dropped
}

// matches compares with the weak comparison RFC 9110 13.1.2 prescribes for
// If-None-Match: W/"3" matches "3".
func (m ifNoneMatch) matches(current string) bool {
	return m.any || slices.Contains(m.tags, current)
}

// parseIfNoneMatch reads If-None-Match = "*" / #entity-tag, entity-tag =
// [ W/ ] DQUOTE *etagc DQUOTE (RFC 9110 8.8.3). A malformed header is 400,
// like a malformed If-Match.
func parseIfNoneMatch(h string) (ifNoneMatch, error) {
	var m ifNoneMatch
	h = strings.TrimSpace(h)
	if h == "" {
		return m, nil
	}
	if h == "*" {
		m.any = true
		return m, nil
	}
	bad := huma.Error400BadRequest("malformed If-None-Match", &huma.ErrorDetail{Location: "header.If-None-Match",
		Message: `must be * or a list of ETags in double quotes, as in "3" or W/"3", "4"`})
	for i := 0; i < len(h); {
		switch h[i] {
		case ' ', '\t', ',':
			i++
			continue
		}
		if strings.HasPrefix(h[i:], "W/") {
			i += 2
		}
		if i >= len(h) || h[i] != '"' {
			return m, bad
		}
		end := strings.IndexByte(h[i+1:], '"')
		if end < 0 {
			return m, bad
		}
		opaque := h[i : i+end+2]
		for j := 1; j < len(opaque)-1; j++ {
			if c := opaque[j]; c < 0x21 || c == 0x7f {
				return m, bad
			}
		}
		m.tags = append(m.tags, opaque)
		i += end + 2
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
		if i < len(h) && h[i] != ',' {
			return m, bad
		}
	}
	if len(m.tags) == 0 {
		return m, bad
	}
	return m, nil
}

func etag(c *customer.Customer) string {
	return `"` + strconv.FormatInt(c.Version(), 10) + `"`
}

// parseID reads a path id (Huma has checked its form already).
func parseID(s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "path.id", Message: "must be a UUID"})
	}
	return id, nil
}

// parseIfMatch reads an If-Match precondition: a customer's ETag ("3"). An
// empty header is no precondition. "*" asks only that the customer exists,
// which every change asks anyway. Weak tags never match (RFC 9110 compares
// If-Match strongly), and several tags are not supported.
func parseIfMatch(h string) (register.IfVersion, error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, nil
	}
	bad := func(msg string) error {
		return huma.Error400BadRequest("malformed If-Match", &huma.ErrorDetail{Location: "header.If-Match", Message: msg})
	}
	if strings.HasPrefix(h, "W/") {
		return 0, bad(`weak ETags cannot be used with If-Match; send the customer's ETag, as in "3"`)
	}
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return 0, bad(`must be the customer's ETag in double quotes, as in "3"`)
	}
	n, err := strconv.ParseInt(h[1:len(h)-1], 10, 64)
	if err != nil || n < 1 {
		return 0, bad(`must be the customer's ETag: a positive version number in double quotes, as in "3"`)
	}
	return register.IfVersion(n), nil
}
