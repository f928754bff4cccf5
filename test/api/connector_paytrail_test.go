package api

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/app"
	"kirjuri/connectors/paytrail"
)

// The test merchant of Paytrail's documentation.
const (
	paytrailMerchant = "375917"
	paytrailSecret   = "SAIPPUAKAUPPIAS"
)

// paytrailPayment is the fixture (Paytrail's documented callback and
// payment request) with change applied to its decoded form, the callback
// signed again as Paytrail would.
func paytrailPayment(t *testing.T, change func(cb map[string]string, payment map[string]any)) []byte {
	t.Helper()
	b, err := os.ReadFile("../../connectors/paytrail/testdata/callback_ok.json")
	if err != nil {
		t.Fatal(err)
	}
	if change == nil {
		return b
	}
	var d struct {
		Callback map[string]string `json:"callback"`
		Payment  map[string]any    `json:"payment"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	change(d.Callback, d.Payment)
	sig, err := paytrail.Sign("sha256", []byte(paytrailSecret), d.Callback, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Callback["signature"] = sig
	if b, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	return b
}

// forwardPaytrail posts a body to the Paytrail webhook as the merchant's
// integration forwards a callback, signed with key.
func (e *env) forwardPaytrail(body []byte, key string, at time.Time) *response {
	e.t.Helper()
	h := paytrail.SignForward([]byte(key), paytrailMerchant, "nonce-"+at.Format(time.RFC3339Nano), at, body)
	header := map[string]string{}
	for k := range h {
		header[k] = h.Get(k)
	}
	return e.do(req{method: http.MethodPost, path: "/v1/connectors/paytrail/webhook", body: body, header: header})
}

func TestPaytrailPayerEndToEnd(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) {
		c.Connectors = map[string]map[string]any{
			"paytrail": {"enabled": true, "merchantId": paytrailMerchant, "secretKey": paytrailSecret},
		}
	})
	now := time.Now()

	// The payer is a customer already, from an authoritative door.
	existing := e.create(person("Erja", "Virtanen", obj{"email": "Erja.Esimerkki@example.org", "marketingEmail": true}))
	eventsBefore := len(e.outbox(existing.ID))

	// Not authentic: 401, nothing stored.
	body := paytrailPayment(t, nil)
	e.want(e.forwardPaytrail(body, "not the merchant's key", now), http.StatusUnauthorized)
	e.want(e.forwardPaytrail(body, paytrailSecret, now.Add(-10*time.Minute)), http.StatusUnauthorized)
	tampered := []byte(strings.Replace(string(body), `"checkout-amount": "2964"`, `"checkout-amount": "2965"`, 1))
	r := e.want(e.forwardPaytrail(tampered, paytrailSecret, now), http.StatusUnauthorized)
	if !strings.Contains(string(r.Body), "callback parameter signature") {
		t.Errorf("401 does not say which signature: %s", r.Body)
	}
	if n := e.count(`SELECT count(*) FROM connector_inbox`); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	// The callback of an ok payment: the payer fills what the customer
	// lacks and overwrites nothing; consents are untouched.
	e.want(e.forwardPaytrail(body, paytrailSecret, now), http.StatusAccepted)
	eventually(t, "the delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed'`) == 1
	})
	c := e.customer(existing.ID)
	if c.FirstName != "Erja" || c.LastName != "Virtanen" || c.Email != "Erja.Esimerkki@example.org" || !c.MarketingEmail {
		t.Errorf("the observation overwrote the customer: %+v", c)
	}
	if len(c.ExternalSystems) != 1 || c.ExternalSystems[0] != (ExternalLink{SystemID: 4, Identifier: "4b300af6-9a22-11e8-9184-abb6de7fd2d0"}) {
		t.Errorf("links %+v", c.ExternalSystems)
	}
	if len(c.PhoneNumbers) != 1 || c.PhoneNumbers[0] != "+358501234567" || len(c.Addresses) != 2 {
		t.Errorf("phones %v addresses %+v: the empty lists are not filled", c.PhoneNumbers, c.Addresses)
	}
	if n := len(e.outbox(existing.ID)); n != eventsBefore {
		t.Errorf("%d consent events after the payment, %d before", n, eventsBefore)
	}

	// The same callback again (Paytrail calls its URLs more than once):
	// 200, nothing changes.
	r = e.want(e.forwardPaytrail(body, paytrailSecret, now.Add(time.Second)), http.StatusOK)
	if !strings.Contains(string(r.Body), `"already received"`) {
		t.Errorf("replay answered %s", r.Body)
	}
	if after := e.customer(existing.ID); after.Version != c.Version {
		t.Errorf("the replay changed the customer: version %d, was %d", after.Version, c.Version)
	}

	// A payment that is not ok: processed, no customer.
	pending := paytrailPayment(t, func(cb map[string]string, p map[string]any) {
		cb["checkout-transaction-id"] = "tx-pending"
		cb["checkout-status"] = "pending"
		p["customer"] = map[string]any{"email": "pending.payer@example.org", "firstName": "Paula", "lastName": "Pending"}
	})
	e.want(e.forwardPaytrail(pending, paytrailSecret, now), http.StatusAccepted)

	// A new payer becomes a customer linked by the transaction.
	fresh := paytrailPayment(t, func(cb map[string]string, p map[string]any) {
		cb["checkout-transaction-id"] = "tx-2"
		p["customer"] = map[string]any{"email": "matti.meikalainen@example.org", "firstName": "Matti", "lastName": "Meikäläinen",
			"phone": "358401234567", "vatId": "FI12345671", "companyName": "Esimerkki Oy"}
	})
	e.want(e.forwardPaytrail(fresh, paytrailSecret, now), http.StatusAccepted)
	var payer Customer
	eventually(t, "the new payer", func() bool {
		r := e.get("/v1/customers/by-external/4/tx-2", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &payer) == nil
	})
	if payer.Type != "company" || payer.CompanyName != "Esimerkki Oy" || payer.BusinessID != "1234567-1" || payer.Email != "matti.meikalainen@example.org" ||
		payer.FirstName != "Matti" || payer.MarketingEmail || payer.MarketingSMS || len(payer.PhoneNumbers) != 1 || payer.PhoneNumbers[0] != "+358401234567" {
		t.Errorf("new payer %+v", payer)
	}
	eventually(t, "every delivery processed", func() bool {
		return e.count(`SELECT count(*) FROM connector_inbox WHERE status = 'processed'`) == 3
	})
	if n := e.count(`SELECT count(*) FROM connector_inbox WHERE delivery_key = 'tx-pending/pending' AND outcome = ''`); n != 1 {
		t.Errorf("the pending payment: %d deliveries processed with no outcome, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM customers`); n != 2 {
		t.Errorf("%d customers, want 2 (the pending payer is not one)", n)
	}
}
