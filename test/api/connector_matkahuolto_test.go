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

// matkahuoltoSecret signs the Matkahuolto connector's deliveries in these tests.
const matkahuoltoSecret = "matkahuolto-e2e-secret-0123456789abcdef01"

// deliverMatkahuolto posts a shipment request to the Matkahuolto
// connector, as XML, signed with secret at at.
func (e *env) deliverMatkahuolto(secret string, body []byte, at time.Time) *response {
	e.t.Helper()
	h := delivery.SignCarrier([]byte(secret), at, body)
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/matkahuolto/webhook", body: body,
		header: map[string]string{"Content-Type": "text/xml; charset=UTF-8", delivery.HeaderCarrierSignature: h.Get(delivery.HeaderCarrierSignature)}})
}

func TestMatkahuoltoReceiverEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{
			"matkahuolto": {"enabled": true, "secret": matkahuoltoSecret},
		}
	})
	request, err := os.ReadFile("../../connectors/matkahuolto/testdata/shipment_request.xml")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	// Matti Virtanen (the second shipment's contact) is a customer of an
	// authoritative door already, with a consent.
	existing := e.create(person("Matti", "Virtanen", obj{"email": "MATTI@example.fi", "marketingSms": true,
		"addresses": []obj{{"type": "Delivery", "streetAddress1": "Kotikuja 1", "postalCode": "00100", "city": "Helsinki"}}}))
	eventsBefore := len(e.outbox(existing.ID))

	// Not authentic: 401, nothing stored.
	r := e.want(e.deliverMatkahuolto("another-secret-0123456789abcdef0123456789", request, now), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "Kirjuri-Signature") {
		t.Errorf("401 does not say why: %s", r.Body)
	}
	tampered := []byte(strings.Replace(string(request), "Teollisuustie", "Teollisuuskatu", 1))
	e.want(e.deliverMatkahuolto(matkahuoltoSecret, request, now.Add(-10*time.Minute)), http.StatusUnauthorized)
	h := delivery.SignCarrier([]byte(matkahuoltoSecret), now, request)
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/matkahuolto/webhook", body: tampered,
		header: map[string]string{delivery.HeaderCarrierSignature: h.Get(delivery.HeaderCarrierSignature)}}), http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	// Two shipments in one request: the new receiver becomes a customer
	// linked by the SenderReference, its one-string name split (the
	// default); the known one is matched by email and only filled in.
	r = e.want(e.deliverMatkahuolto(matkahuoltoSecret, request, now), http.StatusAccepted)
	var receipt struct{ DeliveryID string }
	_ = json.Unmarshal(r.Body, &receipt)
	var c Customer
	eventually(t, "the receiver", func() bool {
		if e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'rejected'`) > 0 {
			r := e.get("/v1/connectors/matkahuolto/dead-letters", bootstrapSecret)
			t.Fatalf("the delivery was rejected: %s", r.Body)
		}
		r := e.get("/v1/customers/by-external/3/10001", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &c) == nil
	})
	if c.FirstName != "Maija" || c.LastName != "Meikäläinen" || c.Email != "maija@example.fi" || c.MarketingEmail || c.MarketingSMS {
		t.Errorf("customer %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 3, Identifier: "10001"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || c.PhoneNumbers[0] != "+358401234567" {
		t.Errorf("phones %v", c.PhoneNumbers)
	}
	// The receiver's address; the pickup point (DestinationPlaceCode) is
	// not one.
	if len(c.Addresses) != 1 || c.Addresses[0] != (Address{Type: "Delivery", StreetAddress1: "Esimerkkikatu 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}) {
		t.Errorf("addresses %+v", c.Addresses)
	}
	if ev := e.outbox(c.ID); len(ev) != 0 {
		t.Errorf("consent events from an observation: %+v", ev)
	}
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed'`) == 1
	})
	got := e.customer(existing.ID)
	if got.FirstName != "Matti" || got.LastName != "Virtanen" || got.Email != "MATTI@example.fi" || !got.MarketingSMS || got.MarketingEmail {
		t.Errorf("the observation overwrote the customer: %+v", got)
	}
	if len(got.Addresses) != 1 || got.Addresses[0].StreetAddress1 != "Kotikuja 1" {
		t.Errorf("addresses %+v: an observation adds none of a type the customer has", got.Addresses)
	}
	if len(got.PhoneNumbers) != 1 || got.PhoneNumbers[0] != "+358501234567" {
		t.Errorf("phones %v: the empty list is filled", got.PhoneNumbers)
	}
	if len(got.ExternalSystems) != 1 || got.ExternalSystems[0] != (ExternalLink{SystemID: 3, Identifier: "10002"}) {
		t.Errorf("links %+v", got.ExternalSystems)
	}
	if n := len(e.outbox(existing.ID)); n != eventsBefore {
		t.Errorf("%d consent events after the shipment, %d before", n, eventsBefore)
	}

	// The same request again, signed anew: 200, nothing changes.
	r = e.want(e.deliverMatkahuolto(matkahuoltoSecret, request, now.Add(2*time.Second)), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) || !strings.Contains(string(r.Body), receipt.DeliveryID) {
		t.Errorf("replay answered %s", r.Body)
	}
	if after := e.customer(existing.ID); after.Version != got.Version {
		t.Errorf("the replay changed the customer: version %d, was %d", after.Version, got.Version)
	}
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers, want 2", n)
	}
}
