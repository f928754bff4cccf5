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

// reservationSecret signs the booking system's deliveries in these tests.
const reservationSecret = "whsec_cmVzZXJ2YXRpb24tc2VjcmV0LTIyMjI="

// deliverReservation posts a body to the reservation connector's webhook,
// signed with the given secret.
func (e *env) deliverReservation(secret, id string, body []byte, at time.Time) *response {
	e.t.Helper()
	key, err := delivery.ParseSecret(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	h := delivery.SignStandardWebhook(key, id, at, body)
	header := map[string]string{}
	for k := range h {
		header[k] = h.Get(k)
	}
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/reservation/webhook", body: body, header: header})
}

// The booker becomes the customer with the booking system's link and
// consents; a guest is an observation that overwrites nothing of the
// customer it matches and leaves its consents alone; a replay and an older
// event change nothing; a wrong signature is 401.
func TestReservationDeliveryEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{
			"reservation": {"enabled": true, "signingSecret": reservationSecret, "ingestGuests": true},
		}
	})
	body, err := os.ReadFile("../../connectors/reservation/testdata/reservation_upserted.json")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()

	// The guest U-56 (pekka@example.fi) is already a customer, with
	// another first name and an email consent given here.
	guest := e.create(person("Petri", "Pelaaja", obj{"email": "Pekka@Example.fi", "marketingEmail": true}))
	guestEvents := len(e.outbox(guest.ID))

	// Signed with another secret: 401 saying why, nothing stored.
	r := e.want(e.deliverReservation(webstoreSecret, "msg_r0", body, now), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "no signature of header webhook-signature matches the body") {
		t.Errorf("401 does not say why: %s", r.Body)
	}
	e.want(e.deliverReservation(reservationSecret, "msg_r0", body, now.Add(-6*time.Minute)), http.StatusUnauthorized)
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	r = e.want(e.deliverReservation(reservationSecret, "msg_r1", body, now), http.StatusAccepted)
	var receipt struct{ DeliveryID, Status string }
	if err := json.Unmarshal(r.Body, &receipt); err != nil || receipt.Status != "received" {
		t.Fatalf("receipt %s", r.Body)
	}
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed'`) == 1
	})
	if n := e.count(`SELECT count(*) FROM connector_inbox WHERE outcome LIKE 'created %; updated %'`); n != 1 {
		t.Errorf("outcome: want the booker created and the guest's customer updated (%d)", n)
	}

	// The booker: an organisation, linked by systemId 22 and its id.
	c := decode[Customer](t, e.want(e.get("/v1/customers/by-external/22/U-55", bootstrapSecret), http.StatusOK))
	if c.Type != "company" || c.CompanyName != "Esimerkkiseura ry" || c.BusinessID != "2077474-0" ||
		c.FirstName != "Matti" || c.LastName != "Virtanen" || c.Email != "matti@example.fi" || c.Language != "fi" ||
		!c.MarketingEmail || c.MarketingSMS {
		t.Errorf("booker %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 22, Identifier: "U-55"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || c.PhoneNumbers[0] != "+358501234567" ||
		len(c.Addresses) != 1 || c.Addresses[0] != (Address{Type: "Invoice", StreetAddress1: "Seurakatu 3", PostalCode: "00200", City: "Helsinki", Country: "FI"}) {
		t.Errorf("phones %v addresses %+v", c.PhoneNumbers, c.Addresses)
	}
	var granted bool
	for _, ev := range e.outbox(c.ID) {
		if ev.Consent == "marketingEmail" && ev.New {
			granted = true
			if ev.Source != "connector" || ev.Actor != "connector:reservation" || ev.RequestID != receipt.DeliveryID ||
				!strings.Contains(ev.Evidence, "booking_form_checkbox") || !strings.Contains(ev.Evidence, "reservation R-778") {
				t.Errorf("consent event %+v", ev)
			}
		}
	}
	if !granted {
		t.Error("no consent event of the booker's email grant")
	}

	// The guest: matched by email, its link added, nothing overwritten,
	// consents untouched, no consent event.
	g := e.customer(guest.ID)
	if g.FirstName != "Petri" || g.LastName != "Pelaaja" || !g.MarketingEmail || g.MarketingSMS {
		t.Errorf("the observation changed the guest's customer: %+v", g)
	}
	if len(g.ExternalSystems) != 1 || g.ExternalSystems[0] != (ExternalLink{SystemID: 22, Identifier: "U-56"}) {
		t.Errorf("guest links %+v", g.ExternalSystems)
	}
	if n := len(e.outbox(guest.ID)); n != guestEvents {
		t.Errorf("%d consent events of the guest, want %d", n, guestEvents)
	}
	// Guests without an id or without contact details are no one.
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers, want the booker and the guest's", n)
	}

	// The same webhook-id again: 200, nothing changes.
	r = e.want(e.deliverReservation(reservationSecret, "msg_r1", body, now), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) {
		t.Errorf("replay answered %s", r.Body)
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'connector.drain'`); n != 1 {
		t.Errorf("%d drain jobs, want the first delivery's only", n)
	}

	// An older event (sent late, under a new id) changes nothing.
	older := strings.Replace(strings.Replace(string(body), `"occurred_at": "2024-03-02T09:00:00Z"`, `"occurred_at": "2024-03-01T09:00:00Z"`, 1),
		`"first_name": "Matti"`, `"first_name": "Mikko"`, 1)
	if older == string(body) || !strings.Contains(older, "Mikko") || !strings.Contains(older, "2024-03-01T09") {
		t.Fatal("the fixture changed: the older event is not older")
	}
	e.want(e.deliverReservation(reservationSecret, "msg_r2", []byte(older), now), http.StatusAccepted)
	eventually(t, "the older delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE delivery_key = 'msg_r2' AND status = 'processed' AND outcome LIKE 'stale%'`) == 1
	})
	if c2 := e.customer(c.ID); c2.FirstName != "Matti" || c2.Version != c.Version {
		t.Errorf("an older event changed the booker: %+v", c2)
	}
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers after the replay and the older event, want 2", n)
	}
}
