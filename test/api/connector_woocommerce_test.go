package api

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"kirjuri/app"
	"kirjuri/connectors/woocommerce"
)

// wooSecret is the shop's webhook secret in these tests.
const wooSecret = "wc-secret-of-sixteen-plus"

func wooFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../connectors/woocommerce/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliverWoo posts body as WooCommerce sends a webhook of topic, signed
// with secret.
func (e *env) deliverWoo(secret, topic, deliveryID string, body []byte) *response {
	e.t.Helper()
	resource, event, _ := strings.Cut(topic, ".")
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/webhook", body: body, header: map[string]string{
		"User-Agent":               "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)",
		"X-WC-Webhook-Source":      "https://kauppa.example.fi/",
		"X-WC-Webhook-Topic":       topic,
		"X-WC-Webhook-Resource":    resource,
		"X-WC-Webhook-Event":       event,
		"X-WC-Webhook-Signature":   woocommerce.Sign(secret, body),
		"X-WC-Webhook-ID":          "123",
		"X-WC-Webhook-Delivery-ID": deliveryID,
	}})
}

// A registered customer becomes a customer linked 6/<id>; a guest's order
// is an observation that overwrites nothing of the customer it matches and
// leaves consents alone; the ping, a deletion and a replay change nothing;
// a wrong or missing signature is 401.
func TestWooCommerceDeliveryEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{"woocommerce": {"enabled": true, "webhookSecret": wooSecret}}
	})
	created := wooFixture(t, "customer_created.json")

	// Not authentic: 401 saying why, nothing stored.
	r := e.want(e.deliverWoo("another secret of 16+", "customer.created", "d0", created), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "X-WC-Webhook-Signature does not match the body") {
		t.Errorf("401 does not say why: %s", r.Body)
	}
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/webhook", body: created}), http.StatusUnauthorized)
	// An unsigned body shaped almost like the ping: 401.
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/webhook", body: "webhook_id=123&first_name=x",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}), http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	// The ping WooCommerce sends when a webhook is saved: unsigned, form
	// encoded, no X-WC-* header. A handshake: exactly 200 (WooCommerce
	// reports anything else to the admin), nothing stored, every time.
	ping := func() *response {
		return e.do(req{method: http.MethodPost, path: "/v1/connectors/woocommerce/webhook", body: wooFixture(t, "ping.txt"),
			header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8", "User-Agent": "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)"}})
	}
	for range 2 {
		if r := e.want(ping(), http.StatusOK); !strings.Contains(string(r.Body), `"handshake"`) {
			t.Errorf("the ping's answer: %s", r.Body)
		}
	}
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Errorf("%d deliveries after two pings, want none", n)
	}

	// A guest (matti.virtanen@example.fi) is already a customer, with
	// another last name, no phone, and an email consent given here.
	guest := e.create(person("Matti", "Virtanen-Aho", obj{"email": "Matti.Virtanen@example.fi", "marketingEmail": true}))
	guestEvents := len(e.outbox(guest.ID))

	// customer.created: the customer appears with its link.
	r = e.want(e.deliverWoo(wooSecret, "customer.created", "8c3e1b0d2f7a4e5b", created), http.StatusAccepted)
	var receipt struct{ DeliveryID, Status string }
	if err := json.Unmarshal(r.Body, &receipt); err != nil || receipt.Status != "received" {
		t.Fatalf("receipt %s", r.Body)
	}
	var c Customer
	eventually(t, "the customer of the delivery", func() bool {
		r := e.get("/v1/customers/by-external/6/25", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &c) == nil
	})
	if c.FirstName != "Maija" || c.LastName != "Meikäläinen" || c.Email != "maija.meikalainen@example.fi" || c.MarketingEmail || c.MarketingSMS {
		t.Errorf("customer %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 6, Identifier: "25"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || c.PhoneNumbers[0] != "+358401234567" || len(c.Addresses) != 2 {
		t.Errorf("phones %v addresses %+v", c.PhoneNumbers, c.Addresses)
	}
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed' AND outcome LIKE 'created %'`) == 1
	})

	// A replay: 200, nothing changes, no second job.
	r = e.want(e.deliverWoo(wooSecret, "customer.created", "8c3e1b0d2f7a4e5b", created), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) || !strings.Contains(string(r.Body), receipt.DeliveryID) {
		t.Errorf("replay answered %s", r.Body)
	}
	// The same delivery id (the same second) with another body is another
	// delivery: the update, newer, is taken.
	e.want(e.deliverWoo(wooSecret, "customer.updated", "8c3e1b0d2f7a4e5b", wooFixture(t, "customer_updated.json")), http.StatusAccepted)
	eventually(t, "the update taken", func() bool {
		return e.customer(c.ID).LastName == "Virtanen"
	})
	// The older created event again, under a new delivery id: stale.
	e.want(e.deliverWoo(wooSecret, "customer.created", "older", created), http.StatusAccepted)
	eventually(t, "the stale delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE delivery_key LIKE 'older/%' AND status = 'processed' AND outcome LIKE 'stale %'`) == 1
	})
	if c2 := e.customer(c.ID); c2.LastName != "Virtanen" || len(c2.PhoneNumbers) != 2 {
		t.Errorf("after the stale event: %+v", c2)
	}

	// A guest's order: matched by email, it fills what is empty (the
	// phone, the addresses, the guest-order link) and overwrites nothing;
	// consents untouched.
	e.want(e.deliverWoo(wooSecret, "order.created", "o1", wooFixture(t, "order_created_guest.json")), http.StatusAccepted)
	eventually(t, "the guest's order processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE delivery_key LIKE 'o1/%' AND status = 'processed'`) == 1
	})
	g := e.customer(guest.ID)
	if g.FirstName != "Matti" || g.LastName != "Virtanen-Aho" || g.Email != "Matti.Virtanen@example.fi" || !g.MarketingEmail {
		t.Errorf("the observation overwrote the customer: %+v", g)
	}
	if len(g.ExternalSystems) != 1 || g.ExternalSystems[0] != (ExternalLink{SystemID: 6, Identifier: "guest-order-1001"}) {
		t.Errorf("guest links %+v", g.ExternalSystems)
	}
	if len(g.PhoneNumbers) != 1 || g.PhoneNumbers[0] != "+358401112222" || len(g.Addresses) != 2 {
		t.Errorf("guest phones %v addresses %+v", g.PhoneNumbers, g.Addresses)
	}
	for _, ev := range e.outbox(guest.ID)[guestEvents:] {
		t.Errorf("a consent event from an observation: %+v", ev)
	}

	// The registered customer's order and the deletion of the customer in
	// the shop: recorded, nothing changes.
	before := e.customer(c.ID)
	e.want(e.deliverWoo(wooSecret, "order.created", "o2", wooFixture(t, "order_created_registered.json")), http.StatusAccepted)
	e.want(e.deliverWoo(wooSecret, "customer.deleted", "del", wooFixture(t, "customer_deleted.json")), http.StatusAccepted)
	eventually(t, "the order and the deletion processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE (delivery_key LIKE 'o2/%' OR delivery_key LIKE 'del/%') AND status = 'processed'`) == 2
	})
	if after := e.customer(c.ID); after.Version != before.Version || after.ErasedAt != nil || after.LastName != "Virtanen" {
		t.Errorf("changed by an order or the deletion: %+v", after)
	}
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers, want 2", n)
	}
	if n := e.count(`SELECT count(*) FROM connector_inbox WHERE status IN ('rejected', 'failed')`); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}
