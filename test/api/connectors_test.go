package api

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/app"
	"kirjuri/ports/delivery"
)

// webstoreSecret signs the web store's deliveries in these tests.
const webstoreSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newWebstoreEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{
			"webstore": {"enabled": true, "signingSecret": webstoreSecret},
		}
	})
}

// deliver posts a body to the web store's webhook, signed with headers as
// given (tweak changes them before sending).
func (e *env) deliver(id string, body []byte, at time.Time, tweak func(h http.Header)) *response {
	e.t.Helper()
	key, err := delivery.ParseSecret(webstoreSecret)
	if err != nil {
		e.t.Fatal(err)
	}
	h := delivery.SignStandardWebhook(key, id, at, body)
	if tweak != nil {
		tweak(h)
	}
	header := map[string]string{}
	for k := range h {
		header[k] = h.Get(k)
	}
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/webstore/webhook", body: body, header: header})
}

// rows counts rows of a table straight from PostgreSQL.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	pool := pgtest.NewPool(e.t, e.dbURL)
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// eventually polls until f is true, for at most 15 s.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebstoreDeliveryEndToEnd(t *testing.T) {
	e := newWebstoreEnv(t)
	body, err := os.ReadFile("../../connectors/webstore/testdata/customer_upserted.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	// Not authentic: 401 saying why, nothing stored.
	r := e.want(e.deliver("msg_bad", body, now, func(h http.Header) {
		h.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
	}), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "no signature of header webhook-signature matches the body") {
		t.Errorf("401 does not say why: %s", r.Body)
	}
	e.want(e.deliver("msg_old", body, now.Add(-10*time.Minute), nil), http.StatusUnauthorized)
	e.want(e.deliver("msg_nosig", body, now, func(h http.Header) { h.Del("webhook-signature") }), http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	// Unknown or disabled connector: 404.
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/webhook", body: body}), http.StatusNotFound)
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/nosuch/webhook", body: body}), http.StatusNotFound)

	// A signed delivery: 202 at once, then the customer appears.
	r = e.want(e.deliver("msg_1", body, now, nil), http.StatusAccepted)
	var receipt struct{ DeliveryID, Status string }
	if err := json.Unmarshal(r.Body, &receipt); err != nil || receipt.Status != "received" || receipt.DeliveryID == "" {
		t.Fatalf("receipt %s", r.Body)
	}
	var c Customer
	eventually(t, "the customer of the delivery", func() bool {
		r := e.get("/v1/customers/by-external/7/C-1001", bootstrapSecret)
		if r.Status != http.StatusOK {
			return false
		}
		return json.Unmarshal(r.Body, &c) == nil
	})
	if c.FirstName != "Maija" || c.LastName != "Meikäläinen" || c.Email != "maija@example.fi" || !c.MarketingEmail || c.MarketingSMS {
		t.Errorf("customer %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 7, Identifier: "C-1001"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || len(c.Addresses) != 2 {
		t.Errorf("phones %v addresses %+v", c.PhoneNumbers, c.Addresses)
	}
	events := e.outbox(c.ID)
	var granted bool
	for _, ev := range events {
		if ev.Consent == "marketingEmail" && ev.New {
			granted = true
			if ev.Source != "connector" || ev.Actor != "connector:webstore" || ev.RequestID != receipt.DeliveryID ||
				!strings.Contains(ev.Evidence, "checkout_checkbox") {
				t.Errorf("consent event %+v", ev)
			}
		}
	}
	if !granted {
		t.Errorf("no consent event of the email grant: %+v", events)
	}
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed' AND outcome LIKE 'created %'`) == 1
	})

	// The same webhook-id again: 200, nothing changes, no second job.
	r = e.want(e.deliver("msg_1", body, now, nil), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) || !strings.Contains(string(r.Body), receipt.DeliveryID) {
		t.Errorf("replay answered %s", r.Body)
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'connector.drain'`); n != 1 {
		t.Errorf("%d drain jobs, want the first delivery's only", n)
	}
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}

	// Health.
	r = e.want(e.get("/v1/connectors", bootstrapSecret), http.StatusOK)
	var list struct {
		Items []struct {
			Name         string
			SystemID     int
			LastDelivery *time.Time
			Backlog      int64
			DeadLetters  int64
		}
	}
	if err := json.Unmarshal(r.Body, &list); err != nil || len(list.Items) != 1 || list.Items[0].Name != "webstore" ||
		list.Items[0].SystemID != 7 || list.Items[0].LastDelivery == nil || list.Items[0].Backlog != 0 {
		t.Errorf("connectors %s", r.Body)
	}
	if strings.Contains(string(r.Body), "MfKQ") {
		t.Error("the connector list shows the secret")
	}
	e.want(e.get("/v1/connectors", writerSecret), http.StatusForbidden)
}

func TestWebstoreHostileDeliveries(t *testing.T) {
	e := newWebstoreEnv(t)
	now := time.Now()

	// Too large: 413, nothing stored.
	huge := []byte(`{"x":"` + strings.Repeat("a", 1<<20) + `"}`)
	e.want(e.deliver("msg_huge", huge, now, nil), http.StatusRequestEntityTooLarge)

	// Authentic but not JSON: stored, answered 202, then rejected with its
	// reason and shown among the dead letters; not retried.
	r := e.want(e.deliver("msg_broken", []byte(`{"spec": "kirjuri.webstore.v1", `), now, nil), http.StatusAccepted)
	var receipt struct{ DeliveryID string }
	_ = json.Unmarshal(r.Body, &receipt)
	// Authentic JSON the register refuses (an email that is not one).
	bad := `{"spec":"kirjuri.webstore.v1","event_id":"e2","event_type":"customer.upserted","occurred_at":"2024-03-01T10:15:30Z",` +
		`"customer":{"external_id":"C-2","email":"not an email"}}`
	e.want(e.deliver("msg_invalid", []byte(bad), now, nil), http.StatusAccepted)

	var dead struct {
		Items []struct {
			ID, Status, Reason, DeliveryKey string
			Attempts                        int
		}
	}
	eventually(t, "two dead letters", func() bool {
		r := e.want(e.get("/v1/connectors/webstore/dead-letters", bootstrapSecret), http.StatusOK)
		return json.Unmarshal(r.Body, &dead) == nil && len(dead.Items) == 2
	})
	byKey := map[string]int{}
	for i, d := range dead.Items {
		byKey[d.DeliveryKey] = i
		if d.Status != "rejected" || d.Attempts != 1 {
			t.Errorf("dead letter %+v", d)
		}
	}
	if d := dead.Items[byKey["msg_broken"]]; !strings.Contains(d.Reason, "not a webstore event") || d.ID != receipt.DeliveryID {
		t.Errorf("broken JSON: %+v", d)
	}
	if d := dead.Items[byKey["msg_invalid"]]; !strings.Contains(d.Reason, "email") {
		t.Errorf("invalid email: %+v", d)
	}
	if strings.Contains(dead.Items[byKey["msg_invalid"]].Reason, "not an email") {
		t.Logf("note: the reason echoes the value: %s", dead.Items[byKey["msg_invalid"]].Reason)
	}

	// An admin retries one: it is queued again and rejected again.
	r = e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/webstore/dead-letters/" + receipt.DeliveryID + "/retry", key: bootstrapSecret}), http.StatusAccepted)
	if !strings.Contains(string(r.Body), `"status":"received"`) {
		t.Errorf("retry answered %s", r.Body)
	}
	eventually(t, "the retried delivery rejected again", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE delivery_key = 'msg_broken' AND status = 'rejected' AND attempts = 2`) == 1
	})
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/webstore/dead-letters/0190a0a0-0000-7000-8000-000000000000/retry", key: bootstrapSecret}), http.StatusNotFound)
	e.want(e.get("/v1/connectors/nosuch/dead-letters", bootstrapSecret), http.StatusNotFound)
	if n := e.count(`SELECT count(*) FROM customers`); n != 0 {
		t.Errorf("%d customers from refused deliveries", n)
	}
}

// A disabled or absent connector costs nothing and answers 404.
func TestNoConnectorEnabled(t *testing.T) {
	e := newEnv(t)
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/webstore/webhook", body: `{}`}), http.StatusNotFound)
	r := e.want(e.get("/v1/connectors", bootstrapSecret), http.StatusOK)
	if strings.TrimSpace(string(r.Body)) != `{"items":[]}` {
		t.Errorf("connectors %s", r.Body)
	}
}
