package httpapi

import (
	"context"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/core/customer"
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
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours return the first response and change nothing."`
	RawBody        []byte
}

func (in *createCustomerInput) Resolve(ctx huma.Context) []error {
	return checkJSONBody(ctx.Header("Content-Type"))
}

type getCustomerInput struct {
	ID string `path:"id" format:"uuid" doc:"Customer id."`
}

type patchCustomerInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours return the first response and change nothing."`
	RawBody        []byte
}

func (in *patchCustomerInput) Resolve(ctx huma.Context) []error {
	return checkJSONBody(ctx.Header("Content-Type"))
}

type eraseCustomerInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours return the first response and change nothing."`
}

type findCustomersInput struct {
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
	Limit             int       `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size."`
	Cursor            string    `query:"cursor" maxLength:"1000" doc:"nextCursor of the previous page."`
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
}

type byExternalInput struct {
	SystemID   int    `path:"systemId" enum:"1,2,3,4,5,6,7,22" doc:"External system."`
	Identifier string `path:"identifier" minLength:"1" maxLength:"255" doc:"The customer's identifier in that system."`
}

// ConsentsBody sets marketing consents.
type ConsentsBody struct {
	MarketingEmail *bool  `json:"marketingEmail,omitempty" doc:"Left as it is when absent."`
	MarketingSMS   *bool  `json:"marketingSms,omitempty" doc:"Left as it is when absent."`
	Evidence       string `json:"evidence,omitempty" maxLength:"1000" doc:"How and where the customer gave or withdrew consent; kept in the audit log."`
}

type consentsInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours return the first response and change nothing."`
	Body           ConsentsBody
}

// RestrictionBody gives the reason of a restriction or of lifting it.
type RestrictionBody struct {
	Reason string `json:"reason,omitempty" maxLength:"1000" doc:"Kept in the audit log."`
}

type restrictionInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours return the first response and change nothing."`
	Body           *RestrictionBody
}

// CustomerExport is everything held about one customer (GDPR access).
type CustomerExport struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Customer    *Customer `json:"customer"`
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
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.CustomersRead), a.getCustomerByNumber)

	handle(a, a.operation(huma.Operation{
		OperationID: "getCustomerByExternal",
		Method:      http.MethodGet,
		Path:        "/v1/customers/by-external/{systemId}/{identifier}",
		Summary:     "Read a customer by its external-system link",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, access.CustomersRead), a.getCustomerByExternal)

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
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusBadRequest, http.StatusNotFound, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite, access.Admin), a.liftRestriction)

	handle(a, a.operation(huma.Operation{
		OperationID: "exportCustomer",
		Method:      http.MethodGet,
		Path:        "/v1/customers/{id}/export",
		Summary:     "Everything held about a customer (GDPR access)",
		Tags:        []string{tagCustomers},
		Errors:      []int{http.StatusNotFound},
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

// checkJSONBody accepts the media types of the customer bodies: JSON and
// JSON Merge Patch (no Content-Type is taken as JSON).
func checkJSONBody(contentType string) []error {
	if contentType == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err == nil && (mt == "application/json" || mt == "application/merge-patch+json") {
		return nil
	}
	return []error{&statusDetail{
		status: http.StatusUnsupportedMediaType,
		detail: huma.ErrorDetail{
			Location: "header.Content-Type",
			Message:  "send application/json or application/merge-patch+json",
		},
	}}
}

// statusDetail is an error detail that also sets the response status (Huma
// uses the status of the last such error of a request).
type statusDetail struct {
	status int
	detail huma.ErrorDetail
}

func (e *statusDetail) GetStatus() int                 { return e.status }
func (e *statusDetail) Error() string                  { return e.detail.Message }
func (e *statusDetail) ErrorDetail() *huma.ErrorDetail { return &e.detail }

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

func (a *API) getCustomer(ctx context.Context, in *getCustomerInput) (*customerOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.Get(ctx, id, caller(ctx, ""))
	return a.customerResult(ctx, c, err, inPath)
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
	if in.IncludeRestricted && !k.Has(access.Admin) {
		return nil, huma.Error403Forbidden("includeRestricted needs the admin scope")
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
		Limit:             in.Limit,
		Cursor:            in.Cursor,
	}
	if in.Phone != "" {
		phone, err := customer.NormalizePhone(in.Phone)
		if err != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query.phone", Message: err.Error()})
		}
		q.Phone = phone
	}
	if in.BusinessID != "" {
		bid, err := finnish.ParseBusinessID(in.BusinessID)
		if err != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "query.businessId", Message: err.Error()})
		}
		q.BusinessID = bid
	}
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

func (a *API) getCustomerByNumber(ctx context.Context, in *byNumberInput) (*customerOutput, error) {
	c, err := a.reg.ByNumber(ctx, in.Number, caller(ctx, ""))
	return a.customerResult(ctx, c, err, inPath)
}

func (a *API) getCustomerByExternal(ctx context.Context, in *byExternalInput) (*customerOutput, error) {
	link := customer.ExternalLink{SystemID: customer.SystemID(in.SystemID), Identifier: in.Identifier}
	c, err := a.reg.ByExternal(ctx, link, caller(ctx, ""))
	return a.customerResult(ctx, c, err, inPath)
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
	return &exportOutput{Body: &CustomerExport{
		GeneratedAt: a.clock.Now().UTC(),
		Customer:    view(c, keyOf(ctx).Has(access.PIIRead)),
	}}, nil
}

// customerResult answers with a customer and its ETag, or the problem.
func (a *API) customerResult(ctx context.Context, c *customer.Customer, err error, loc fieldLocation) (*customerOutput, error) {
	if err != nil {
		return nil, a.problem(ctx, err, loc)
	}
	return &customerOutput{ETag: etag(c), Body: view(c, keyOf(ctx).Has(access.PIIRead))}, nil
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
