package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/customer"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// The sync routes run over the real PostgreSQL sync store; the job that
// drives a sync is app.SyncWorker's (tested in app), so progress is
// written here through the store, as the worker writes it.

// puller is a connector that pulls; the routes never call Pull.
type puller struct{ name string }

func (p puller) Name() string              { return p.name }
func (puller) SystemID() customer.SystemID { return customer.WooCommerce }
func (puller) Pull(context.Context, string) (inbound.Page, error) {
	return inbound.Page{}, nil
}

// hooksOnly is a connector that does not pull.
type hooksOnly struct{}

func (hooksOnly) Name() string                { return "webstore" }
func (hooksOnly) SystemID() customer.SystemID { return customer.Webstore }

func newSyncHarness(t *testing.T) (*harness, *postgres.Store, *pgxpool.Pool) {
	t.Helper()
	store, pool := pgtest.NewStoreAndPool(t)
	h := newHarness(t, func(d *Deps) {
		d.Connectors = ConnectorDeps{Connectors: []inbound.Connector{puller{"woocommerce"}, puller{"mycashflow"}, hooksOnly{}}, Inbox: store, Syncs: store}
	})
	return h, store, pool
}

func (r resp) sync(t testing.TB) SyncJob {
	t.Helper()
	var s SyncJob
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("response is not a sync: %v\n%s", err, r.body)
	}
	return s
}

func TestSyncRoutes(t *testing.T) {
	h, store, pool := newSyncHarness(t)
	ctx := t.Context()
	post := func(name, body string) resp {
		return h.do(req{method: http.MethodPost, path: "/v1/connectors/" + name + "/sync", key: "admin", body: body})
	}
	get := func(path string) resp { return h.do(req{method: http.MethodGet, path: path, key: "admin"}) }

	// No body: a catch-up, queued, followed at Location.
	r := post("woocommerce", "").want(t, http.StatusAccepted)
	first := r.sync(t)
	loc := "/v1/connectors/woocommerce/syncs/" + first.ID
	if r.header.Get("Location") != loc {
		t.Errorf("Location %q, want %q", r.header.Get("Location"), loc)
	}
	if first.Status != "queued" || first.Mode != "catch-up" || first.From != "" || first.CreatedBy != "admin" ||
		first.StartedAt != nil || first.FinishedAt != nil || first.CustomersTotal != nil || first.Rejections == nil {
		t.Errorf("queued sync %+v", first)
	}
	if got := get(loc).want(t, http.StatusOK).sync(t); got.ID != first.ID || got.Status != "queued" {
		t.Errorf("GET %+v", got)
	}
	var jobs int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'connector.sync' AND args->>'sync' = $1`, first.ID).Scan(&jobs); err != nil || jobs != 1 {
		t.Errorf("%d sync jobs, want 1 (%v)", jobs, err)
	}

	// One at a time: 409 naming the one queued, with its address.
	r = post("woocommerce", `{"mode":"full"}`)
	wantProblem(t, r, http.StatusConflict)
	if !strings.Contains(string(r.body), first.ID) || r.header.Get("Location") != loc {
		t.Errorf("409 does not name the sync queued: %s (Location %q)", r.body, r.header.Get("Location"))
	}
	// Another connector is not held up.
	other := post("mycashflow", `{"mode":"full"}`).want(t, http.StatusAccepted).sync(t)
	if other.Mode != "full" || other.Connector != "mycashflow" {
		t.Errorf("other connector's sync %+v", other)
	}

	// Progress written by the job shows while it runs.
	id := uuid.MustParse(first.ID)
	at := time.Now().UTC().Truncate(time.Microsecond)
	if _, err := store.StartSync(ctx, id, at); err != nil {
		t.Fatal(err)
	}
	p := ports.SyncProgress{Cursor: "page:3", Pages: 2, Total: 250, Created: 180, Updated: 10, Unchanged: 5, Stale: 2, Rejected: 3,
		Rejections: []ports.SyncRejection{{Link: "17", Reason: "invalid input: email: not an email address"}}}
	if err := store.SaveSyncProgress(ctx, id, 0, p, false, at); err != nil {
		t.Fatal(err)
	}
	if err := store.SyncAttempted(ctx, id, "rate limited (429), retry after 30s; waiting 30s", at); err != nil {
		t.Fatal(err)
	}
	running := get(loc).want(t, http.StatusOK).sync(t)
	if running.Status != "running" || running.PagesDone != 2 || running.Cursor != "page:3" || running.CustomersTotal == nil ||
		*running.CustomersTotal != 250 || running.CustomersDone != 200 || running.Created != 180 || running.Stale != 2 ||
		running.Rejected != 3 || len(running.Rejections) != 1 || running.Rejections[0].Link != "17" || !running.RejectionsTruncated ||
		running.LastError != "rate limited (429), retry after 30s; waiting 30s" || running.StartedAt == nil {
		t.Errorf("running sync %+v", running)
	}
	wantProblem(t, post("woocommerce", ""), http.StatusConflict)

	// Done: succeeded, and the connector shows its last pull.
	p.Pages, p.Cursor = 3, "since:2025-06-01T00:00:00Z"
	if err := store.SaveSyncProgress(ctx, id, 2, p, true, at.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	done := get(loc).want(t, http.StatusOK).sync(t)
	if done.Status != "succeeded" || done.FinishedAt == nil || !done.FinishedAt.Equal(at.Add(time.Second)) {
		t.Errorf("succeeded sync %+v", done)
	}
	var list struct{ Items []ConnectorView }
	if err := json.Unmarshal(get("/v1/connectors").want(t, http.StatusOK).body, &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Items {
		switch c.Name {
		case "woocommerce":
			if len(c.Capabilities) != 1 || c.Capabilities[0] != "pull" || c.LastPull == nil || !c.LastPull.Equal(at.Add(time.Second)) {
				t.Errorf("woocommerce %+v", c)
			}
		case "mycashflow":
			if c.LastPull != nil {
				t.Errorf("mycashflow never pulled: %+v", c)
			}
		case "webstore":
			if len(c.Capabilities) != 0 || c.LastPull != nil {
				t.Errorf("webstore %+v", c)
			}
		}
	}

	// A catch-up starts where the last success ended; full from the start.
	catchUp := post("woocommerce", `{"mode":"catch-up"}`).want(t, http.StatusAccepted).sync(t)
	if catchUp.From != p.Cursor || catchUp.Cursor != p.Cursor {
		t.Errorf("catch-up from %q, want %q", catchUp.From, p.Cursor)
	}
	if err := store.FailSync(ctx, uuid.MustParse(catchUp.ID), "401 Unauthorized", at); err != nil {
		t.Fatal(err)
	}
	failed := get("/v1/connectors/woocommerce/syncs/"+catchUp.ID).want(t, http.StatusOK).sync(t)
	if failed.Status != "failed" || failed.Error != "401 Unauthorized" {
		t.Errorf("failed sync %+v", failed)
	}
	full := post("woocommerce", `{"mode":"full"}`).want(t, http.StatusAccepted).sync(t)
	if full.From != "" || full.Mode != "full" {
		t.Errorf("full sync %+v", full)
	}

	// The list: newest first, limited.
	var syncs struct{ Items []SyncJob }
	if err := json.Unmarshal(get("/v1/connectors/woocommerce/syncs").want(t, http.StatusOK).body, &syncs); err != nil {
		t.Fatal(err)
	}
	if len(syncs.Items) != 3 || syncs.Items[0].ID != full.ID || syncs.Items[1].ID != catchUp.ID || syncs.Items[2].ID != first.ID {
		t.Errorf("list %+v", syncs.Items)
	}
	if err := json.Unmarshal(get("/v1/connectors/woocommerce/syncs?limit=1").want(t, http.StatusOK).body, &syncs); err != nil || len(syncs.Items) != 1 {
		t.Errorf("limit 1: %+v %v", syncs.Items, err)
	}

	// A sync of another connector is not found under this one.
	wantProblem(t, get("/v1/connectors/woocommerce/syncs/"+other.ID), http.StatusNotFound)
	wantProblem(t, get("/v1/connectors/woocommerce/syncs/"+uuid.Must(uuid.NewV7()).String()), http.StatusNotFound)
}

func TestSyncRoutesRefuse(t *testing.T) {
	h, store, _ := newSyncHarness(t)
	sync := "/v1/connectors/woocommerce/sync"
	tests := []struct {
		name      string
		give      req
		code      int
		locations []string
		says      string
	}{
		{"unknown connector", req{method: "POST", path: "/v1/connectors/nosuch/sync", key: "admin"}, 404, nil, `no connector named \"nosuch\" is enabled`},
		{"unknown connector, its syncs", req{method: "GET", path: "/v1/connectors/nosuch/syncs", key: "admin"}, 404, nil, "nosuch"},
		{"unknown connector, a sync", req{method: "GET", path: "/v1/connectors/nosuch/syncs/" + uuid.Must(uuid.NewV7()).String(), key: "admin"}, 404, nil, "nosuch"},
		{"a connector that cannot pull", req{method: "POST", path: "/v1/connectors/webstore/sync", key: "admin"}, 422, []string{"path.name"},
			"connector webstore cannot pull (its system sends its customers to the webhook); enabled connectors that pull: mycashflow, woocommerce"},
		{"its syncs", req{method: "GET", path: "/v1/connectors/webstore/syncs", key: "admin"}, 422, []string{"path.name"}, "cannot pull"},
		{"a name too long", req{method: "POST", path: "/v1/connectors/" + strings.Repeat("w", 41) + "/sync", key: "admin"}, 422, []string{"path.name"}, ""},
		{"no key", req{method: "POST", path: sync}, 401, nil, ""},
		{"not an admin", req{method: "POST", path: sync, key: "writer"}, 403, nil, ""},
		{"bad JSON", req{method: "POST", path: sync, key: "admin", body: `{"mode":`}, 400, nil, ""},
		{"not an object", req{method: "POST", path: sync, key: "admin", body: `["full"]`}, 422, []string{"body"}, ""},
		{"unknown member", req{method: "POST", path: sync, key: "admin", body: `{"mode":"full","from":"page:3"}`}, 422, []string{"body.from"}, ""},
		{"wrong mode", req{method: "POST", path: sync, key: "admin", body: `{"mode":"everything"}`}, 422, []string{"body.mode"}, ""},
		{"mode not a string", req{method: "POST", path: sync, key: "admin", body: `{"mode":1}`}, 422, []string{"body.mode"}, ""},
		{"null mode", req{method: "POST", path: sync, key: "admin", body: `{"mode":null}`}, 422, []string{"body.mode"}, ""},
		{"mode twice", req{method: "POST", path: sync, key: "admin", body: `{"mode":"full","mode":"catch-up"}`}, 422, []string{"body.mode"}, ""},
		{"not JSON", req{method: "POST", path: sync, key: "admin", body: `mode=full`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 415, []string{"header.Content-Type"}, ""},
		{"bad id", req{method: "GET", path: "/v1/connectors/woocommerce/syncs/not-a-uuid", key: "admin"}, 422, []string{"path.id"}, ""},
		{"limit 0", req{method: "GET", path: "/v1/connectors/woocommerce/syncs?limit=0", key: "admin"}, 422, []string{"query.limit"}, ""},
		{"limit not a number", req{method: "GET", path: "/v1/connectors/woocommerce/syncs?limit=ten", key: "admin"}, 422, []string{"query.limit"}, ""},
		{"limit empty", req{method: "GET", path: "/v1/connectors/woocommerce/syncs?limit=", key: "admin"}, 422, []string{"query.limit"}, ""},
		{"unknown parameter", req{method: "GET", path: "/v1/connectors/woocommerce/syncs?status=running", key: "admin"}, 422, []string{"query.status"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.give)
			wantProblem(t, r, tt.code, tt.locations...)
			if tt.says != "" && !strings.Contains(string(r.body), tt.says) {
				t.Errorf("the problem does not say %q:\n%s", tt.says, r.body)
			}
		})
	}
	// None of them stored a sync.
	list, err := store.Syncs(t.Context(), "woocommerce", 10)
	if err != nil || len(list) != 0 {
		t.Errorf("syncs stored by refused requests: %d %v", len(list), err)
	}
	for _, l := range h.logs.All() {
		if l.Level >= 2 { // error
			t.Errorf("logged an error: %s %v", l.Message, l.ContextMap())
		}
	}
}
