package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kirjuri/app"
)

// fakeShop plays a WooCommerce shop's REST API: the customers of the
// connector's fixture pages, listed page by page, and PUT of one customer,
// which it applies and answers with the whole customer, as WooCommerce does.
type fakeShop struct {
	t *testing.T

	mu        sync.Mutex
	pages     [][]map[string]any
	byID      map[string]map[string]any
	listed    []string         // page numbers asked for
	puts      []map[string]any // bodies of PUT /customers/{id}
	putAnswer []byte           // the last PUT's answer
	basicAuth bool             // a request came with HTTP Basic
}

func newFakeShop(t *testing.T) (*fakeShop, *httptest.Server) {
	s := &fakeShop{t: t, byID: map[string]map[string]any{}}
	for _, name := range []string{"customers_page1.json", "customers_page2.json", "customers_page3.json"} {
		var page []map[string]any
		if err := json.Unmarshal(wooFixture(t, name), &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			s.byID[strconv.Itoa(int(c["id"].(float64)))] = c
		}
		s.pages = append(s.pages, page)
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *fakeShop) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, ok := r.BasicAuth(); ok {
		s.basicAuth = true
	}
	// Over plain http WooCommerce takes OAuth 1.0a signatures only.
	if r.URL.Query().Get("oauth_consumer_key") == "" || r.URL.Query().Get("oauth_signature") == "" {
		http.Error(w, `{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":401}}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/wp-json/wc/v3/customers":
		page, err := strconv.Atoi(r.URL.Query().Get("page"))
		if err != nil || page < 1 {
			page = 1
		}
		s.listed = append(s.listed, strconv.Itoa(page))
		w.Header().Set("X-WP-Total", "5")
		w.Header().Set("X-WP-TotalPages", strconv.Itoa(len(s.pages)))
		out := []map[string]any{}
		if page <= len(s.pages) {
			for _, c := range s.pages[page-1] {
				out = append(out, s.byID[strconv.Itoa(int(c["id"].(float64)))])
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/wp-json/wc/v3/customers/"):
		id := strings.TrimPrefix(r.URL.Path, "/wp-json/wc/v3/customers/")
		c, ok := s.byID[id]
		if !ok {
			http.Error(w, `{"code":"woocommerce_rest_invalid_id","message":"Invalid ID.","data":{"status":404}}`, http.StatusNotFound)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var put map[string]any
		if err := json.Unmarshal(body, &put); err != nil {
			http.Error(w, `{"code":"rest_invalid_json"}`, http.StatusBadRequest)
			return
		}
		s.puts = append(s.puts, put)
		for k, v := range put {
			if sub, isObj := v.(map[string]any); isObj {
				have, _ := c[k].(map[string]any)
				if have == nil {
					have = map[string]any{}
				}
				for sk, sv := range sub {
					have[sk] = sv
				}
				c[k] = have
				continue
			}
			c[k] = v
		}
		c["date_modified_gmt"] = time.Now().UTC().Format("2006-01-02T15:04:05")
		s.putAnswer, _ = json.Marshal(c)
		_, _ = w.Write(s.putAnswer)
	default:
		http.Error(w, `{"code":"rest_no_route"}`, http.StatusNotFound)
	}
}

// TestWooCommerceSyncPushAndEcho runs the WooCommerce connector against a
// shop played by an httptest server, through the service: a backfill of
// the shop's customer pages (POST …/sync, followed to its end), a change
// made through the API pushed back to the shop, and the customer.updated
// webhook that the push sets off in the shop, which changes nothing.
func TestWooCommerceSyncPushAndEcho(t *testing.T) {
	shop, srv := newFakeShop(t)
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{"woocommerce": {
			"enabled": true, "webhookSecret": wooSecret,
			"baseUrl": srv.URL, "consumerKey": "ck_" + strings.Repeat("a", 40), "consumerSecret": "cs_" + strings.Repeat("b", 40),
			"pageSize": 2, "push": true,
		}}
	})

	// The backfill.
	r := e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/sync", key: bootstrapSecret, body: obj{"mode": "full"}}), http.StatusAccepted)
	var sync struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Pages    int    `json:"pagesDone"`
		Created  int    `json:"created"`
		Rejected int    `json:"rejected"`
	}
	if err := json.Unmarshal(r.Body, &sync); err != nil || sync.ID == "" {
		t.Fatalf("sync answer %s", r.Body)
	}
	if loc := r.Header.Get("Location"); loc != "/v1/connectors/woocommerce/syncs/"+sync.ID {
		t.Errorf("Location %q", loc)
	}
	eventually(t, "the sync to finish", func() bool {
		r := e.want(e.get("/v1/connectors/woocommerce/syncs/"+sync.ID, bootstrapSecret), http.StatusOK)
		return json.Unmarshal(r.Body, &sync) == nil && (sync.Status == "succeeded" || sync.Status == "failed")
	})
	if sync.Status != "succeeded" || sync.Pages != 3 || sync.Created != 4 || sync.Rejected != 0 {
		t.Errorf("sync %+v, want succeeded, 3 pages, 4 created (the shop manager left out)", sync)
	}
	shop.mu.Lock()
	if got := strings.Join(shop.listed, ","); got != "1,2,3" {
		t.Errorf("pages asked for: %s, want 1,2,3", got)
	}
	if shop.basicAuth {
		t.Error("HTTP Basic sent over plain http: the keys travelled in the clear")
	}
	shop.mu.Unlock()
	for _, id := range []string{"25", "26", "28", "29"} {
		e.want(e.get("/v1/customers/by-external/6/"+id, bootstrapSecret), http.StatusOK)
	}
	e.wantProblem(e.get("/v1/customers/by-external/6/27", bootstrapSecret), http.StatusNotFound, "")

	// A change through the API is pushed back, the customer as it now is.
	maija := decode[Customer](t, e.want(e.get("/v1/customers/by-external/6/25", bootstrapSecret), http.StatusOK))
	changed := decode[Customer](t, e.want(e.patch(maija.ID, obj{"lastName": "Korhonen"}, nil), http.StatusOK))
	var put map[string]any
	defer func() {
		if t.Failed() {
			t.Logf("dead letters: %s", e.get("/v1/connectors/woocommerce/dead-letters", bootstrapSecret).Body)
			t.Logf("push jobs: %d", e.count(`SELECT count(*) FROM river_job WHERE kind = 'connector.push'`))

		}
	}()
	eventually(t, "the push to reach the shop", func() bool {
		shop.mu.Lock()
		defer shop.mu.Unlock()
		if len(shop.puts) == 0 {
			return false
		}
		put = shop.puts[len(shop.puts)-1]
		return true
	})
	if put["last_name"] != "Korhonen" || put["first_name"] != "Maija" || put["email"] != changed.Email {
		t.Errorf("pushed %v", put)
	}
	if billing, _ := put["billing"].(map[string]any); billing == nil || billing["last_name"] != "Korhonen" {
		t.Errorf("pushed billing %v", put["billing"])
	}
	var view struct {
		Items []struct {
			Name         string     `json:"name"`
			Capabilities []string   `json:"capabilities"`
			LastPull     *time.Time `json:"lastPull"`
			LastPush     *time.Time `json:"lastPush"`
		} `json:"items"`
	}
	eventually(t, "the push to be recorded", func() bool {
		r := e.want(e.get("/v1/connectors", bootstrapSecret), http.StatusOK)
		return json.Unmarshal(r.Body, &view) == nil && len(view.Items) == 1 && view.Items[0].LastPush != nil
	})
	if it := view.Items[0]; !slices.Contains(it.Capabilities, "pull") || !slices.Contains(it.Capabilities, "push") || it.LastPull == nil {
		t.Errorf("connector view %+v", it)
	}

	// The shop sends customer.updated for the change the push made: the
	// echo. It is processed and changes nothing: no new version, no event.
	shop.mu.Lock()
	echo := shop.putAnswer
	shop.mu.Unlock()
	before := e.customer(maija.ID)
	events := len(e.outbox(maija.ID))
	r = e.want(e.deliverWoo(wooSecret, "customer.updated", "echo-1", echo), http.StatusAccepted)
	var receipt struct {
		DeliveryID string `json:"deliveryId"`
	}
	if err := json.Unmarshal(r.Body, &receipt); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the echo processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE id = $1 AND status = 'processed'`, receipt.DeliveryID) == 1
	})
	after := e.customer(maija.ID)
	if after.Version != before.Version || after.LastName != "Korhonen" {
		t.Errorf("the echo changed the customer: version %d → %d, last name %q", before.Version, after.Version, after.LastName)
	}
	if n := len(e.outbox(maija.ID)); n != events {
		t.Errorf("the echo recorded %d consent events", n-events)
	}
	// Nor is the echo pushed back again.
	time.Sleep(300 * time.Millisecond)
	shop.mu.Lock()
	if len(shop.puts) != 1 {
		t.Errorf("%d pushes, want 1", len(shop.puts))
	}
	shop.mu.Unlock()
}
