// Package httpapi is the HTTP API of kirjuri (api.md): Huma v2 operations on
// the standard library's HTTP types, RFC 9457 problem details, API-key
// authentication with scopes, idempotent writes, request ids, Prometheus
// metrics, health checks and the OpenAPI 3.1 document with a docs page.
//
// The layers of one request, outermost first:
//
//	API.ServeHTTP   request id, access log, metrics, recovery from panics
//	idempotent      Idempotency-Key on POST/PUT/PATCH/DELETE
//	router          path patterns; literal segments win over wildcards
//	Huma            authorize, checkQuery, checkBody, parameters,
//	                validation, body limit, handler
//
// Handlers call the core's register.Service and turn its typed errors into
// problems with one function (problem).
package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"kirjuri/core/access"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// Defaults of Config.
const (
	DefaultAddr         = "127.0.0.1:8080"
	DefaultMaxBodyBytes = 1 << 20 // 1 MiB
)

// Config configures the API and its server.
type Config struct {
	// Addr is the listen address; DefaultAddr when empty.
	Addr string
	// Version is shown in the OpenAPI document.
	Version string
	// MaxBodyBytes is the default request body limit; DefaultMaxBodyBytes
	// when zero. An operation that needs another limit sets its own.
	MaxBodyBytes int64
	// WebhookContracts are the JSON contracts of our own that connectors
	// receive (the generic web store, the reservation system), published as
	// the webhook's request body whether or not they are enabled. The
	// application gives them (adapters do not import connectors).
	WebhookContracts []WebhookContract
}

// WebhookContract is one published webhook body: the connector, the name of
// its schema, a value of its Go type (the schema is made from it) and an
// example event.
type WebhookContract struct {
	Connector string
	Schema    string
	Payload   any
	Example   []byte
}

// Deps are the ports and services the API uses.
type Deps struct {
	Register    *register.Service
	Keys        ports.KeyStore
	Idempotency ports.Idempotency
	// Audit is the consent audit log. It may be nil: the audit endpoints
	// then answer 503 "audit log not configured".
	Audit ports.ConsentAudit
	// Ready are the dependencies /readyz checks.
	Ready []ports.Readiness
	// Log is the logger; a no-op logger when nil.
	Log *zap.Logger
	// Metrics registers the API's metrics, and Gatherer serves /metrics. When
	// Gatherer is nil and Metrics is also a Gatherer (a
	// *prometheus.Registry), Metrics serves; when both are nil the API keeps
	// a registry of its own.
	Metrics  prometheus.Registerer
	Gatherer prometheus.Gatherer
	// Clock stamps exports; the wall clock when nil.
	Clock ports.Clock
	// Sheets writes the spreadsheet of GET /v1/exports/customers.xlsx; when
	// nil that operation answers 503.
	Sheets  ports.CustomerSheets
	Imports ImportDeps // the import operations (imports.go)
	// Connectors are the enabled connectors and their inbox
	// (connectors.go); without any, every connector name is 404.
	Connectors ConnectorDeps
}

// API is the HTTP API. It is an http.Handler.
type API struct {
	cfg     Config
	reg     *register.Service
	audit   ports.ConsentAudit
	idem    ports.Idempotency
	ready   []ports.Readiness
	log     *zap.Logger
	clock   ports.Clock
	sheets  ports.CustomerSheets
	imports ImportDeps
	// connDeps and conns (by name) serve the connector operations.
	connDeps ConnectorDeps
	conns    map[string]inbound.Connector

	keys     *keyCache
	metrics  *metrics
	gatherer prometheus.Gatherer
	router   *router
	huma     huma.API
	chain    http.Handler
	// maxBody is the largest body limit of any operation: the idempotency
	// middleware, which reads bodies before routing, reads no more.
	maxBody int64
	// historyPage is the page size an export reads the consent history
	// with; exportHistoryPage when zero (tests make it small).
	historyPage int
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now().UTC() }

// New builds the API and registers every operation.
func New(cfg Config, d Deps) (*API, error) {
	switch {
	case d.Register == nil:
		return nil, errors.New("httpapi: Deps.Register is required")
	case d.Keys == nil:
		return nil, errors.New("httpapi: Deps.Keys is required")
	case d.Idempotency == nil:
		return nil, errors.New("httpapi: Deps.Idempotency is required")
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("httpapi: Config.MaxBodyBytes must not be negative")
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	overrideHumaErrors()

	a := &API{
		cfg:     cfg,
		reg:     d.Register,
		audit:   d.Audit,
		idem:    d.Idempotency,
		ready:   d.Ready,
		log:     d.Log,
		clock:   d.Clock,
		sheets:  d.Sheets,
		imports: d.Imports,

		connDeps: d.Connectors,
	}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if a.clock == nil {
		a.clock = wallClock{}
	}
	a.keys = newKeyCache(d.Keys, time.Now)

	regs, gath := d.Metrics, d.Gatherer
	if gath == nil {
		if g, ok := regs.(prometheus.Gatherer); ok {
			gath = g
		}
	}
	if regs == nil && gath == nil {
		r := prometheus.NewRegistry()
		regs, gath = r, r
	}
	if regs == nil || gath == nil {
		return nil, errors.New("httpapi: Deps.Metrics and Deps.Gatherer must both be set, or neither")
	}
	m, err := newMetrics(regs)
	if err != nil {
		return nil, err
	}
	a.metrics, a.gatherer = m, gath

	a.router = newRouter()
	a.huma = humago.New(a.router, a.humaConfig())
	// After authentication: the query and the body are looked at only for
	// a caller the API knows.
	a.huma.UseMiddleware(a.authorize, a.checkQuery, a.checkBody)

	a.registerHealth()
	a.registerCustomers()
	a.registerContacts()
	a.registerGroups()
	a.registerAudit()
	a.registerExport()
	a.registerImports()
	a.registerConnectors()
	a.registerSyncs()
	a.registerDocs()
	a.router.Handle("GET /metrics", promhttp.HandlerFor(a.gatherer, promhttp.HandlerOpts{}))

	a.chain = a.idempotent(a.router)
	a.warm()
	return a, nil
}

func (a *API) humaConfig() huma.Config {
	hc := huma.DefaultConfig("Kirjuri customer register", a.cfg.Version)
	// No $schema members and Link headers in responses, and no /schemas
	// route: the OpenAPI document has every schema.
	hc.CreateHooks = nil
	hc.SchemasPath = ""
	// The docs page is our own (docs.go): Huma's loads its script from a
	// public CDN.
	hc.DocsPath = ""
	// Relative to the document: whatever address the server is reached at.
	hc.Servers = []*huma.Server{{URL: "/", Description: "The server that serves this document."}}
	hc.Tags = []*huma.Tag{
		{Name: tagCustomers, Description: "Customers: create, read, change, find, consents, GDPR restriction, erasure and access export."},
		{Name: tagContacts, Description: "Contact persons of company customers."},
		{Name: tagGroups, Description: "Customer groups."},
		{Name: tagExports, Description: "Customers as a spreadsheet in the import format, streamed."},
		{Name: tagImports, Description: "Customers from a spreadsheet: upload, follow the job, the report and the rejected rows, the template."},
		{Name: tagConnectors, Description: "External systems enabled by configuration: their inbound webhooks (authenticated by each system's own signature, not an API key), health and dead letters."},
		{Name: tagAudit, Description: "The consent audit log: every change of a marketing consent, restriction or erasure, kept in ClickHouse."},
		{Name: tagHealth, Description: "Liveness and readiness probes; they need no API key."},
	}
	// A misspelt filter must not list every customer.
	hc.RejectUnknownQueryParameters = true
	hc.Info.Description = "The master record of a merchant's customers: customers, contacts, " +
		"groups, marketing consents and their audit log. Errors are RFC 9457 problem details. " +
		"Send the API key as `Authorization: Bearer <key>`. " +
		"Request bodies are UTF-8 JSON labelled `Content-Type: application/json` (400 for bytes that are not UTF-8, " +
		"415 for another media type or charset); a member given twice, an unknown member, or null where a value is needed is 422. " +
		"A query parameter given empty or more than once is 422, never ignored."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityScheme: {
			Type:        "http",
			Scheme:      "bearer",
			Description: "An API key. Its scopes are listed with each operation.",
		},
	}
	return hc
}

// Handler is the API as an http.Handler.
func (a *API) Handler() http.Handler { return a }

// ServeHTTP serves one request: it gives the request its id, recovers from a
// panic below, and records the access-log line and the metrics.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rid := r.Header.Get("X-Request-Id")
	if !saneRequestID(rid) {
		rid = newRequestID()
	}
	w.Header().Set("X-Request-Id", rid)
	ex := &exchange{w: w, requestID: rid}
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, ex))
	a.metrics.inFlight.Inc()
	defer func() {
		a.metrics.inFlight.Dec()
		p := recover()
		if p == nil {
			a.observe(ex, r.Method, start)
			return
		}
		if p == http.ErrAbortHandler { //nolint:errorlint // a sentinel panic value
			a.observe(ex, r.Method, start)
			panic(p)
		}
		started := ex.wroteHeader()
		a.recovered(ex, p)
		a.observe(ex, r.Method, start)
		if started {
			// Half a response has gone out: break the connection rather
			// than let the client take it for a whole one.
			panic(http.ErrAbortHandler)
		}
	}()
	a.chain.ServeHTTP(ex, r)
}

// operation fills in what every operation shares: its scopes and its body
// limit.
func (a *API) operation(op huma.Operation, scopes ...access.Scope) huma.Operation {
	if len(scopes) > 0 {
		security(&op, scopes...)
	}
	limit := a.cfg.MaxBodyBytes
	if op.MaxBodyBytes > 0 {
		limit = op.MaxBodyBytes
	}
	// Huma refuses a body that reaches MaxBodyBytes; the limit is meant
	// inclusively.
	op.MaxBodyBytes = limit + 1
	a.maxBody = max(a.maxBody, limit)
	return op
}

// warm builds Huma's cached OpenAPI documents before the first request, so
// that concurrent first requests do not race on Huma's lazy caches.
func (a *API) warm() {
	for _, p := range []string{"/openapi.json", "/openapi.yaml", "/openapi-3.0.json", "/openapi-3.0.yaml"} {
		r, _ := http.NewRequest(http.MethodGet, p, nil)
		a.router.ServeHTTP(discard{h: http.Header{}}, r)
	}
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// handle registers an operation with Huma and tidies what Huma documents
// for it.
func handle[I, O any](a *API, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	huma.Register(a.huma, op, h)
	registered := findOperation(a.huma.OpenAPI(), op.Method, op.Path)
	if registered == nil {
		return
	}
	intEnumParams(registered)
	if registered.RequestBody != nil {
		// checkBody's answers.
		documentError(registered, http.StatusBadRequest)
		documentError(registered, http.StatusUnsupportedMediaType)
	}
	if rb := registered.RequestBody; rb != nil && len(rb.Content) > 1 {
		// A RawBody input adds an application/octet-stream body; the
		// operations that read their body raw document JSON instead.
		delete(rb.Content, "application/octet-stream")
	}
}

func findOperation(oapi *huma.OpenAPI, method, path string) *huma.Operation {
	item := oapi.Paths[path]
	if item == nil {
		return nil
	}
	switch method {
	case http.MethodGet:
		return item.Get
	case http.MethodPost:
		return item.Post
	case http.MethodPut:
		return item.Put
	case http.MethodPatch:
		return item.Patch
	case http.MethodDelete:
		return item.Delete
	}
	return nil
}

// intEnumParams makes the enum values of integer parameters int64. Huma
// reads enum tags as JSON (float64) but parses integer parameters to int64
// and compares the two as they are, so without this no integer parameter
// with an enum would ever be valid. The schema is the one Huma validates
// with and the one the document shows.
func intEnumParams(op *huma.Operation) {
	for _, p := range op.Parameters {
		s := p.Schema
		if s == nil || s.Type != huma.TypeInteger || len(s.Enum) == 0 {
			continue
		}
		for i, v := range s.Enum {
			if f, ok := v.(float64); ok {
				s.Enum[i] = int64(f)
			}
		}
		s.PrecomputeMessages()
	}
}
