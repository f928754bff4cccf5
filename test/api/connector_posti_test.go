package api

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/app"
	"kirjuri/ports/delivery"
)

// postiSecret signs the Posti connector's deliveries in these tests.
const postiSecret = "posti-e2e-secret-0123456789abcdef0123456789"

// deliverPosti posts an order to the Posti connector, signed with secret at at.
func (e *env) deliverPosti(secret string, body []byte, at time.Time) *response {
	e.t.Helper()
	h := delivery.SignCarrier([]byte(secret), at, body)
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/posti/webhook", body: body,
		header: map[string]string{delivery.HeaderCarrierSignature: h.Get(delivery.HeaderCarrierSignature)}})
}

func TestPostiReceiverEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{
			"posti": {"enabled": true, "secret": postiSecret},
		}
	})
	order, err := os.ReadFile("../../connectors/posti/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	// Not authentic: 401 saying why, nothing stored.
	r := e.want(e.deliverPosti("another-secret-0123456789abcdef0123456789", order, now), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "no v1 signature of header Kirjuri-Signature matches the body") {
		t.Errorf("401 does not say why: %s", r.Body)
	}
	e.want(e.deliverPosti(postiSecret, order, now.Add(-10*time.Minute)), http.StatusUnauthorized)
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/posti/webhook", body: order}), http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	// A new receiver becomes a customer linked by the order's externalId,
	// with the delivery address (not the pickup point) and no consents.
	r = e.want(e.deliverPosti(postiSecret, order, now), http.StatusAccepted)
	var receipt struct{ DeliveryID, Status string }
	if err := json.Unmarshal(r.Body, &receipt); err != nil || receipt.Status != "received" {
		t.Fatalf("receipt %s", r.Body)
	}
	var c Customer
	eventually(t, "the receiver", func() bool {
		r := e.get("/v1/customers/by-external/2/10001", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &c) == nil
	})
	if c.FirstName != "Maija" || c.LastName != "Meikäläinen" || c.Email != "maija@example.fi" || c.MarketingEmail || c.MarketingSMS {
		t.Errorf("customer %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 2, Identifier: "10001"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || c.PhoneNumbers[0] != "+358401234567" {
		t.Errorf("phones %v", c.PhoneNumbers)
	}
	if len(c.Addresses) != 1 || c.Addresses[0] != (Address{Type: "Delivery", StreetAddress1: "Toimituskuja 5", PostalCode: "33100", City: "Tampere", Country: "FI"}) {
		t.Errorf("addresses %+v", c.Addresses)
	}
	if ev := e.outbox(c.ID); len(ev) != 0 {
		t.Errorf("consent events from an observation: %+v", ev)
	}

	// The same order again, signed anew (the sender's retry): 200, the
	// same delivery, nothing changes.
	r = e.want(e.deliverPosti(postiSecret, order, now.Add(time.Second)), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) || !strings.Contains(string(r.Body), receipt.DeliveryID) {
		t.Errorf("replay answered %s", r.Body)
	}
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed' AND outcome LIKE 'created %'`) == 1
	})
	if after := e.customer(c.ID); after.Version != c.Version {
		t.Errorf("the replay changed the customer: version %d, was %d", after.Version, c.Version)
	}

	// A customer of an authoritative door receives a parcel: the receiver
	// data fill only what is empty, overwrite nothing and leave consents.
	existing := e.create(person("Erja", "Virtanen", obj{"email": "Erja.Esimerkki@example.org", "marketingEmail": true,
		"phoneNumbers": []string{"+358501111111"}}))
	eventsBefore := len(e.outbox(existing.ID))
	second := []byte(`{"externalId":"10002","orderDate":"2024-03-02T09:00:00.000+02:00",
		"recipient":{"name":"E. Virtanen-Esimerkki","email":"erja.esimerkki@example.org","telephone":"0407654321"},
		"deliveryAddress":{"name":"E. Virtanen-Esimerkki","streetAddress":"Kotikatu 2","postalCode":"00200","postOffice":"Helsinki","country":"FI"},
		"pickupPointId":"0099999"}`)
	e.want(e.deliverPosti(postiSecret, second, now), http.StatusAccepted)
	eventually(t, "the second delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed'`) == 2
	})
	got := e.customer(existing.ID)
	if got.FirstName != "Erja" || got.LastName != "Virtanen" || got.Email != "Erja.Esimerkki@example.org" || !got.MarketingEmail {
		t.Errorf("the observation overwrote the customer: %+v", got)
	}
	if len(got.PhoneNumbers) != 1 || got.PhoneNumbers[0] != "+358501111111" {
		t.Errorf("phones %v: an observation adds none to a customer who has one", got.PhoneNumbers)
	}
	if len(got.Addresses) != 1 || got.Addresses[0].StreetAddress1 != "Kotikatu 2" || got.Addresses[0].Type != "Delivery" {
		t.Errorf("addresses %+v: the empty list is filled with the delivery address", got.Addresses)
	}
	if len(got.ExternalSystems) != 1 || got.ExternalSystems[0] != (ExternalLink{SystemID: 2, Identifier: "10002"}) {
		t.Errorf("links %+v", got.ExternalSystems)
	}
	if n := len(e.outbox(existing.ID)); n != eventsBefore {
		t.Errorf("%d consent events after the shipment, %d before", n, eventsBefore)
	}
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers, want 2", n)
	}
}
