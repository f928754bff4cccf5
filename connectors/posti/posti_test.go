package posti_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/posti"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

const (
	secret   = "posti-test-secret-0123456789abcdef0123456789"
	previous = "posti-previous-secret-0123456789abcdef012345"
)

func newConnector(t *testing.T, cfg posti.Config) *posti.Connector {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = delivery.DefaultTolerance // not Defaults: it would set SplitNames
	}
	c, err := posti.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	c := newConnector(t, posti.Config{})
	now := time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC)
	body := fixture(t)
	good := delivery.SignCarrier([]byte(secret), now, body)
	sig := good.Get(delivery.HeaderCarrierSignature)
	v1 := sig[strings.Index(sig, "v1="):]
	header := func(v string) http.Header {
		h := http.Header{}
		if v != "" {
			h.Set(delivery.HeaderCarrierSignature, v)
		}
		return h
	}
	changed := append([]byte(nil), body...)
	changed[20] = 'X'
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string // "" verifies
	}{
		{"correct", good, body, now, ""},
		{"4 min 59 s late", good, body, now.Add(299 * time.Second), ""},
		{"4 min 59 s early", good, body, now.Add(-299 * time.Second), ""},
		{"wrong secret", delivery.SignCarrier([]byte("another-secret-0123456789abcdef0123456789"), now, body), body, now, "no v1 signature"},
		{"body changed after signing", good, changed, now, "no v1 signature"},
		{"body with a byte more", good, append(append([]byte(nil), body...), '\n'), now, "no v1 signature"},
		{"stale", good, body, now.Add(301 * time.Second), "outside the tolerance of 5m0s"},
		{"from the future", good, body, now.Add(-301 * time.Second), "outside the tolerance"},
		{"timestamp changed", header("t=1709288131," + v1), body, time.Unix(1709288131, 0), "no v1 signature"},
		{"missing header", header(""), body, now, "missing header Kirjuri-Signature"},
		{"no timestamp", header(v1), body, now, "no t=<Unix seconds>"},
		{"timestamp twice", header("t=1,t=2," + v1), body, now, "t twice"},
		{"timestamp not a number", header("t=2024-03-01," + v1), body, now, "must be Unix seconds"},
		{"no signature", header("t=1709288130"), body, now, "no v1=<hex HMAC-SHA256>"},
		{"not hex", header("t=1709288130,v1=zz"), body, now, "no v1=<hex HMAC-SHA256>"},
		{"truncated", header(sig[:len(sig)-2]), body, now, "no v1=<hex HMAC-SHA256>"},
		{"other scheme only", header("t=1709288130,v0=" + strings.TrimPrefix(v1, "v1=")), body, now, "no v1=<hex HMAC-SHA256>"},
		{"several, one right", header("t=1709288130,v1=" + strings.Repeat("00", 32) + "," + v1), body, now, ""},
		{"huge header", header("t=1709288130," + strings.Repeat("v1=00,", 1000)), body, now, "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Verify(tc.header, tc.body, tc.now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !delivery.IsUnauthentic(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a refusal saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret[:10]) || strings.Contains(err.Error(), strings.TrimPrefix(v1, "v1=")[:16]) {
				t.Fatal("the error shows the secret or the signature")
			}
		})
	}
	if k := c.DeliveryKey(good, body); k != "" {
		t.Errorf("delivery key %q, want \"\" (the inbox's digest of the body)", k)
	}
}

// While the secret is rotated, signatures of either secret verify.
func TestVerifyDuringRotation(t *testing.T) {
	c := newConnector(t, posti.Config{PreviousSecret: previous})
	now := time.Now()
	body := []byte(`{}`)
	for _, s := range []string{secret, previous} {
		if err := c.Verify(delivery.SignCarrier([]byte(s), now, body), body, now); err != nil {
			t.Errorf("signed with %s…: %v", s[:10], err)
		}
	}
	c = newConnector(t, posti.Config{})
	if err := c.Verify(delivery.SignCarrier([]byte(previous), now, body), body, now); err == nil {
		t.Error("the previous secret verifies when it is not configured")
	}
}

func TestConfig(t *testing.T) {
	var d posti.Config
	posti.Defaults(&d)
	if !d.SplitNames || d.Tolerance != 5*time.Minute {
		t.Errorf("defaults %v, want splitNames and 5m", d)
	}
	for _, tc := range []struct {
		cfg  posti.Config
		want string
	}{
		{posti.Config{}, "secret is required"},
		{posti.Config{Secret: "short-secret"}, "at least 32 characters"},
		{posti.Config{Secret: " " + secret}, "white space"},
		{posti.Config{Secret: secret, PreviousSecret: "short-previous"}, "previousSecret: must be at least 32"},
		{posti.Config{Secret: secret, Tolerance: 2 * time.Hour}, "tolerance"},
	} {
		if tc.cfg.Tolerance == 0 {
			posti.Defaults(&tc.cfg)
		}
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "short-") || strings.Contains(err.Error(), secret[:10])) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	s := posti.Config{Secret: secret, PreviousSecret: previous}.String()
	if strings.Contains(s, secret[:10]) || strings.Contains(s, previous[:10]) {
		t.Errorf("String shows a secret: %s", s)
	}
}

func TestParseEveryField(t *testing.T) {
	for _, split := range []bool{false, true} {
		c := newConnector(t, posti.Config{SplitNames: split})
		drafts, err := c.Parse(nil, fixture(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(drafts) != 1 {
			t.Fatalf("%d drafts, want 1", len(drafts))
		}
		d := drafts[0]
		if d.Link != (customer.ExternalLink{SystemID: customer.Posti, Identifier: "10001"}) || d.Trust != intake.Observation {
			t.Errorf("link %v trust %v", d.Link, d.Trust)
		}
		if !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("source time %v", d.SourceUpdatedAt)
		}
		p := d.Patch
		if !p.Email.IsSet() || p.Email.Value() != "maija@example.fi" {
			t.Errorf("email %v", p.Email)
		}
		if split {
			if p.FirstName.Value() != "Maija" || p.LastName.Value() != "Meikäläinen" {
				t.Errorf("names %v %v", p.FirstName, p.LastName)
			}
		} else if !p.FirstName.IsKeep() || !p.LastName.IsKeep() {
			t.Errorf("names taken without splitNames: %v %v", p.FirstName, p.LastName)
		}
		if len(d.AddPhones) != 1 || d.AddPhones[0] != "+358401234567" {
			t.Errorf("phones %v", d.AddPhones)
		}
		// The delivery address, of type Delivery; never the pickup point,
		// never the buyer's (client) billing address.
		want := customer.Address{Type: customer.Delivery, StreetAddress1: "Toimituskuja 5", PostalCode: "33100", City: "Tampere", Country: "FI"}
		if len(d.AddAddresses) != 1 || d.AddAddresses[0] != want {
			t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
		}
		// An observation: no consents, and nothing else in the patch.
		if d.MarketingEmail != nil || d.MarketingSMS != nil {
			t.Error("a Posti order claims consents")
		}
		q := p
		q.Email, q.FirstName, q.LastName = customer.Keep[string](), customer.Keep[string](), customer.Keep[string]()
		if !q.IsEmpty() {
			t.Errorf("the patch sets more than names and email: %+v", q)
		}
	}
}

func TestParseReceiverRules(t *testing.T) {
	c := newConnector(t, posti.Config{SplitNames: true})
	parse := func(body string) intake.Draft {
		t.Helper()
		ds, err := c.Parse(nil, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return ds[0]
	}
	// A gift: the delivery block names someone else. Its address, phone
	// and email are not the recipient's.
	d := parse(`{"externalId":"2","recipient":{"name":"Maija Meikäläinen","email":"maija@example.fi"},
		"deliveryAddress":{"name":"Matti Virtanen","streetAddress":"Lahjatie 1","postalCode":"00200","postOffice":"Helsinki","telephone":"0501234567","email":"matti@example.fi"}}`)
	if d.Patch.Email.Value() != "maija@example.fi" || len(d.AddPhones) != 0 || len(d.AddAddresses) != 0 {
		t.Errorf("gift: %+v", d)
	}
	// The same person (case and spaces aside): the delivery block fills
	// what the recipient lacks.
	d = parse(`{"externalId":"3","recipient":{"name":"Maija  Meikäläinen"},
		"deliveryAddress":{"name":"maija meikäläinen","streetAddress":"Toimituskuja 5","postalCode":"33100","postOffice":"Tampere","telephone":"0401234567","email":"maija@example.fi"}}`)
	if d.Patch.Email.Value() != "maija@example.fi" || len(d.AddPhones) != 1 || len(d.AddAddresses) != 1 {
		t.Errorf("same person: %+v", d)
	}
	// No recipient: the delivery block is the receiver.
	d = parse(`{"externalId":"4","deliveryAddress":{"name":"Maija Meikäläinen","email":"maija@example.fi"},"pickupPointId":"0012345"}`)
	if d.Patch.Email.Value() != "maija@example.fi" || d.Patch.LastName.Value() != "Meikäläinen" {
		t.Errorf("delivery block only: %+v", d)
	}
	// A pickup-point shipment without a street address: no address at
	// all (the pickup point is not one).
	if len(d.AddAddresses) != 0 {
		t.Errorf("pickup point became an address: %+v", d.AddAddresses)
	}
	// An incomplete address is left out; the recipient's own is used when
	// the delivery block has none.
	d = parse(`{"externalId":"5","recipient":{"name":"M","streetAddress":"Esimerkkikatu 1","postalCode":"00100","postOffice":"Helsinki","country":"fi","email":"m@example.fi"},
		"deliveryAddress":{"name":"M","postalCode":"33100"}}`)
	if len(d.AddAddresses) != 1 || d.AddAddresses[0].City != "Helsinki" || d.AddAddresses[0].Country != "FI" || d.AddAddresses[0].Type != customer.Delivery {
		t.Errorf("recipient's address: %+v", d.AddAddresses)
	}
	// No orderDate: no source time (always newer).
	if !d.SourceUpdatedAt.IsZero() {
		t.Errorf("source time %v", d.SourceUpdatedAt)
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, posti.Config{})
	long := strings.Repeat("Maija", 60)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", ``, "ends early"},
		{"not JSON", `{"externalId":`, "ends early"},
		{"syntax", `{"externalId" "Maija"}`, "invalid JSON at byte"},
		{"not an object", `["Maija"]`, "the body: must be an object"},
		{"trailing data", `{"externalId":"1","recipient":{"email":"a@b.fi"}}{}`, "after the JSON object"},
		{"wrong type", `{"externalId":10001,"recipient":{"email":"a@b.fi"}}`, "externalId: must be a string, not number"},
		{"wrong nested type", `{"externalId":"1","recipient":{"name":"Maija","telephone":401234567}}`, "recipient.telephone: must be a string, not number"},
		{"block not an object", `{"externalId":"1","recipient":"Maija"}`, "recipient: must be an object, not string"},
		{"no external id", `{"recipient":{"name":"Maija","email":"a@b.fi"}}`, "externalId: is required"},
		{"no receiver", `{"externalId":"1","client":{"name":"Maija"}}`, "recipient: is required"},
		{"bad date", `{"externalId":"1","orderDate":"1.3.2024 Maija","recipient":{"email":"a@b.fi"}}`, "orderDate: must be a date and time in RFC 3339"},
		{"huge name", `{"externalId":"1","recipient":{"name":"` + long + `"}}`, "recipient.name: must be at most 255 characters"},
		{"huge id", `{"externalId":"` + long + `","recipient":{"email":"a@b.fi"}}`, "externalId: must be at most 255 characters"},
		{"huge pickup point", `{"externalId":"1","pickupPointId":"` + long + `","recipient":{"email":"a@b.fi"}}`, "pickupPointId: must be at most 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(nil, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Maija") || strings.Contains(err.Error(), "401234567") {
				t.Errorf("the error shows a value of the body: %v", err)
			}
		})
	}
	_, err := c.Parse(nil, []byte(`{"recipient":{"email":"a@b.fi"}}`))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
