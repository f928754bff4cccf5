package reservation_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/reservation"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newConnector(t *testing.T, cfg reservation.Config) *reservation.Connector {
	t.Helper()
	if cfg.SigningSecret == "" {
		cfg.SigningSecret = secret
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = delivery.DefaultTolerance
	}
	c, err := reservation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func key(t *testing.T, s string) []byte {
	t.Helper()
	k, err := delivery.ParseSecret(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConnectorIdentity(t *testing.T) {
	c := newConnector(t, reservation.Config{})
	if c.Name() != "reservation" || c.SystemID() != customer.Reservation || c.SystemID() != 22 {
		t.Errorf("name %q system %d", c.Name(), c.SystemID())
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	if got := c.DeliveryKey(h, []byte(`{}`)); got != "msg_1" {
		t.Errorf("delivery key %q, want the webhook-id", got)
	}
	if k := c.KeptHeaders(); len(k) != 2 || k[0] != "Webhook-Id" || k[1] != "Webhook-Timestamp" {
		t.Errorf("kept headers %v", k)
	}
}

// The example of the Standard Webhooks specification's README.
func TestVerifyStandardWebhooksVector(t *testing.T) {
	c := newConnector(t, reservation.Config{})
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	if err := c.Verify(h, []byte(`{"test": 2432232314}`), time.Unix(1614265330, 0)); err != nil {
		t.Fatalf("the specification's example does not verify: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	c := newConnector(t, reservation.Config{})
	now := time.Date(2024, 3, 2, 9, 0, 0, 0, time.UTC)
	body := fixture(t, "testdata/reservation_upserted.json")
	good := delivery.SignStandardWebhook(key(t, secret), "msg_1", now, body)
	other := delivery.SignStandardWebhook([]byte("another secret of sixteen bytes+"), "msg_1", now, body)
	with := func(k, v string) http.Header {
		h := good.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	changed := []byte(strings.Replace(string(body), "matti@example.fi", "matti@example.com", 1))
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string // "" verifies
	}{
		{"correct", good, body, now, ""},
		{"4 min 59 s late", good, body, now.Add(299 * time.Second), ""},
		{"wrong secret", other, body, now, "no signature"},
		{"body changed after signing", good, changed, now, "no signature"},
		{"timestamp too old", good, body, now.Add(301 * time.Second), "outside the tolerance"},
		{"timestamp too new", good, body, now.Add(-301 * time.Second), "outside the tolerance"},
		{"id changed", with("webhook-id", "msg_2"), body, now, "no signature"},
		{"no id", with("webhook-id", ""), body, now, "missing header webhook-id"},
		{"no timestamp", with("webhook-timestamp", ""), body, now, "missing header webhook-timestamp"},
		{"no signature", with("webhook-signature", ""), body, now, "missing header webhook-signature"},
		{"not base64", with("webhook-signature", "v1,!!!"), body, now, "no v1 signature"},
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
			if strings.Contains(err.Error(), "MfKQ9r8") || strings.Contains(err.Error(), "matti") {
				t.Fatal("the error shows the secret or the body")
			}
		})
	}
}

// A tolerance of its own is honoured.
func TestVerifyOwnTolerance(t *testing.T) {
	c := newConnector(t, reservation.Config{SigningConfig: delivery.SigningConfig{Tolerance: 30 * time.Second}})
	now := time.Now()
	h := delivery.SignStandardWebhook(key(t, secret), "m", now, []byte(`{}`))
	if err := c.Verify(h, []byte(`{}`), now.Add(31*time.Second)); err == nil || !strings.Contains(err.Error(), "tolerance of 30s") {
		t.Errorf("31 s late with a 30 s tolerance: %v", err)
	}
}

// While a secret is rotated, signatures of either secret verify.
func TestVerifyDuringRotation(t *testing.T) {
	const previous = "whsec_" + "cHJldmlvdXMtc2VjcmV0LTEyMzQ1Ng=="
	c := newConnector(t, reservation.Config{SigningConfig: delivery.SigningConfig{PreviousSigningSecret: previous}})
	now := time.Now()
	body := []byte(`{}`)
	for _, s := range []string{secret, previous} {
		if err := c.Verify(delivery.SignStandardWebhook(key(t, s), "m", now, body), body, now); err != nil {
			t.Errorf("signed with %s…: %v", s[:10], err)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  reservation.Config
		want string
	}{
		{reservation.Config{}, "signingSecret is required"},
		{reservation.Config{SigningConfig: delivery.SigningConfig{SigningSecret: "whsec_not base64!"}}, "standard base64"},
		{reservation.Config{SigningConfig: delivery.SigningConfig{SigningSecret: "whsec_c2hvcnQ="}}, "at least 16 bytes"},
		{reservation.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret, PreviousSigningSecret: "nope!"}}, "previousSigningSecret"},
		{reservation.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret, Tolerance: 2 * time.Hour}}, "tolerance"},
	} {
		if tc.cfg.Tolerance == 0 {
			reservation.Defaults(&tc.cfg)
		}
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not base64") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	s := reservation.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret, PreviousSigningSecret: secret}}.String()
	if strings.Contains(s, "MfKQ") {
		t.Errorf("String shows the secret: %s", s)
	}
}

func TestParseEveryField(t *testing.T) {
	c := newConnector(t, reservation.Config{})
	drafts, err := c.Parse(nil, fixture(t, "testdata/reservation_upserted.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 {
		t.Fatalf("%d drafts, want only the booker's (guests are off)", len(drafts))
	}
	d := drafts[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.Reservation, Identifier: "U-55"}) || d.Trust != intake.Authoritative {
		t.Errorf("link %v trust %v", d.Link, d.Trust)
	}
	// No booker.updated_at: the event's occurred_at.
	if !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("source update time %v", d.SourceUpdatedAt)
	}
	p := d.Patch
	check := func(name string, o customer.Opt[string], want string) {
		t.Helper()
		if !o.IsSet() || o.Value() != want {
			t.Errorf("%s: %v, want %q", name, o, want)
		}
	}
	check("first name", p.FirstName, "Matti")
	check("last name", p.LastName, "Virtanen")
	check("company name", p.CompanyName, "Esimerkkiseura ry")
	check("business id", p.BusinessID, "2077474-0")
	check("email", p.Email, "matti@example.fi")
	if !p.Type.IsSet() || p.Type.Value() != customer.Company {
		t.Errorf("type %v, want company", p.Type)
	}
	if !p.Language.IsSet() || p.Language.Value() != customer.Finnish {
		t.Errorf("language %v", p.Language)
	}
	if !p.PhoneNumbers.IsKeep() || !p.Addresses.IsKeep() || !p.ExternalSystems.IsKeep() || !p.MarketingEmail.IsKeep() || !p.MarketingSMS.IsKeep() {
		t.Error("a list or consent field of the patch is not Keep")
	}
	if !p.VATNumber.IsKeep() || !p.SSN.IsKeep() || !p.GDPRRestricted.IsKeep() {
		t.Error("a field the contract does not have is set")
	}
	if len(d.AddPhones) != 1 || d.AddPhones[0] != "+358501234567" {
		t.Errorf("phones %v", d.AddPhones)
	}
	// An organisation's address is its invoicing address; the billing
	// contact's is not taken.
	want := customer.Address{Type: customer.Invoice, StreetAddress1: "Seurakatu 3", PostalCode: "00200", City: "Helsinki", Country: "FI"}
	if len(d.AddAddresses) != 1 || d.AddAddresses[0] != want {
		t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
	}
	if e := d.MarketingEmail; e == nil || !e.Value || !e.At.Equal(time.Date(2024, 3, 2, 8, 59, 0, 0, time.UTC)) ||
		e.Evidence != "booking system sali-varaus, booking_form_checkbox, consent text 2024-02, reservation R-778, event evt_01HV90A1" {
		t.Errorf("email consent %+v", e)
	}
	if s := d.MarketingSMS; s == nil || s.Value || !s.At.IsZero() || s.Evidence != "booking system sali-varaus, reservation R-778, event evt_01HV90A1" {
		t.Errorf("sms consent %+v", s)
	}
}

// An OTA's relay address is not taken; the booker's own update time is
// the source's; a person's address is a home address.
func TestParseRelayPerson(t *testing.T) {
	c := newConnector(t, reservation.Config{})
	drafts, err := c.Parse(nil, fixture(t, "testdata/ota_person.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := drafts[0]
	if d.Link.Identifier != "U-91" || !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("link %v, source update time %v", d.Link, d.SourceUpdatedAt)
	}
	if !d.Patch.Email.IsKeep() {
		t.Errorf("the relay email is taken: %v", d.Patch.Email)
	}
	if !d.Patch.Type.IsSet() || d.Patch.Type.Value() != customer.Person || !d.Patch.Language.IsSet() || d.Patch.Language.Value() != customer.Swedish {
		t.Errorf("type %v language %v", d.Patch.Type, d.Patch.Language)
	}
	// null says nothing.
	if !d.Patch.CompanyName.IsKeep() || !d.Patch.BusinessID.IsKeep() {
		t.Errorf("null organisation name or business id is not Keep")
	}
	want := customer.Address{Type: customer.Home, StreetAddress1: "Storgatan 1", PostalCode: "11122", City: "Stockholm", Country: "SE"}
	if len(d.AddAddresses) != 1 || d.AddAddresses[0] != want {
		t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
	}
	if d.MarketingEmail != nil || d.MarketingSMS != nil {
		t.Error("consents without consent data")
	}
}

// The example published in the OpenAPI document parses; its unknown sms
// consent leaves the consent alone, its guest without contact is no one.
func TestParseExample(t *testing.T) {
	c := newConnector(t, reservation.Config{IngestGuests: true})
	drafts, err := c.Parse(nil, reservation.ExampleJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 || drafts[0].MarketingEmail == nil || drafts[0].MarketingSMS != nil {
		t.Errorf("drafts %+v", drafts)
	}
}

func TestParseGuests(t *testing.T) {
	c := newConnector(t, reservation.Config{IngestGuests: true})
	drafts, err := c.Parse(nil, fixture(t, "testdata/reservation_upserted.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Only U-56 has both an id and a contact.
	if len(drafts) != 2 {
		t.Fatalf("%d drafts, want the booker and one guest", len(drafts))
	}
	g := drafts[1]
	if g.Link != (customer.ExternalLink{SystemID: customer.Reservation, Identifier: "U-56"}) || g.Trust != intake.Observation {
		t.Errorf("guest link %v trust %v", g.Link, g.Trust)
	}
	if g.Patch.FirstName.Value() != "Pekka" || g.Patch.LastName.Value() != "Pelaaja" || g.Patch.Email.Value() != "pekka@example.fi" {
		t.Errorf("guest patch %+v", g.Patch)
	}
	if len(g.AddPhones) != 1 || g.AddPhones[0] != "0401112222" {
		t.Errorf("guest phones %v", g.AddPhones)
	}
	if g.MarketingEmail != nil || g.MarketingSMS != nil || len(g.AddAddresses) != 0 || !g.Patch.Type.IsKeep() {
		t.Errorf("a guest says more than its name and contact: %+v", g)
	}
	if !g.SourceUpdatedAt.Equal(time.Date(2024, 3, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("guest source update time %v", g.SourceUpdatedAt)
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, reservation.Config{IngestGuests: true})
	base := `{"spec":"kirjuri.reservation.v1","event_id":"e","event_type":"reservation.upserted","occurred_at":"2024-03-01T10:15:30Z","booker":%s}`
	body := func(booker string) string { return strings.Replace(base, "%s", booker, 1) }
	manyGuests := `[` + strings.Repeat(`{"first_name":"Matti"},`, 100) + `{"first_name":"Matti"}]`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not JSON", `{"spec":`, "ends early"},
		{"syntax", `{"spec" "x"}`, "invalid JSON at byte"},
		{"not an object", `["Matti"]`, "the body: must be an object, not array"},
		{"trailing data", body(`{"external_id":"U-1"}`) + `{}`, "after the JSON object"},
		{"unknown member", body(`{"external_id":"U-1","frist_name":"Matti"}`), `unknown member "frist_name"`},
		{"wrong type", body(`{"external_id":"U-1","first_name":12}`), "booker.first_name: must be a string"},
		{"wrong type of a flag", body(`{"external_id":"U-1","email_is_relay":"Matti"}`), "booker.email_is_relay: must be true or false"},
		{"huge number", body(`{"external_id":1e999}`), "booker.external_id: must be a string"},
		{"bad time", strings.Replace(body(`{"external_id":"U-1"}`), "2024-03-01T10:15:30Z", "Matti", 1), "not in RFC 3339 form"},
		{"no booker", strings.Replace(base, `,"booker":%s`, "", 1), "booker: is required"},
		{"no occurred_at", strings.Replace(body(`{"external_id":"U-1"}`), `"occurred_at":"2024-03-01T10:15:30Z",`, "", 1), "occurred_at: is required"},
		{"no external id", body(`{"first_name":"Matti"}`), "booker.external_id: is required"},
		{"long external id", body(`{"external_id":"` + strings.Repeat("M", 101) + `"}`), "booker.external_id: must be at most 100 characters"},
		{"other spec", strings.Replace(body(`{"external_id":"U-1"}`), "kirjuri.reservation.v1", "hub.reservation.v1", 1), "spec: must be kirjuri.reservation.v1"},
		{"thin event", strings.Replace(body(`{"external_id":"U-1"}`), "reservation.upserted", "customer.changed", 1), "event_type: customer.changed (a thin event) is not supported"},
		{"other event", strings.Replace(body(`{"external_id":"U-1"}`), "reservation.upserted", "reservation.deleted", 1), "event_type: must be reservation.upserted"},
		{"type", body(`{"external_id":"U-1","type":"company"}`), "booker.type: must be person or organisation"},
		{"address without city", body(`{"external_id":"U-1","address":{"line1":"a","postal_code":"00100","town":"Matti"}}`), `unknown member "town"`},
		{"channel twice", body(`{"external_id":"U-1","consents":[{"channel":"sms","purpose":"marketing","status":"granted"},{"channel":"sms","purpose":"marketing","status":"denied"}]}`), "booker.consents[1].channel: sms is given twice"},
		{"channel", body(`{"external_id":"U-1","consents":[{"channel":"post","purpose":"marketing","status":"granted"}]}`), "booker.consents[0].channel: must be email or sms"},
		{"purpose", body(`{"external_id":"U-1","consents":[{"channel":"sms","purpose":"profiling","status":"granted"}]}`), "booker.consents[0].purpose"},
		{"status", body(`{"external_id":"U-1","consents":[{"channel":"sms","purpose":"marketing","status":"yes"}]}`), "booker.consents[0].status"},
		{"too many consents", body(`{"external_id":"U-1","consents":[` + strings.Repeat(`{"channel":"x","purpose":"marketing","status":"granted"},`, 10) + `{"channel":"x","purpose":"marketing","status":"granted"}]}`), "booker.consents: must be at most 10"},
		{"too many guests", strings.Replace(body(`{"external_id":"U-1"}`), `"booker"`, `"guests":`+manyGuests+`,"booker"`, 1), "guests: must be at most 100"},
		{"guest id too long", strings.Replace(body(`{"external_id":"U-1"}`), `"booker"`, `"guests":[{"external_id":"`+strings.Repeat("M", 101)+`","email":"a@b.fi"}],"booker"`, 1), "guests[0].external_id: must be at most 100 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(nil, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Matti") || strings.Contains(err.Error(), "MMMM") {
				t.Errorf("the error shows a value of the body: %v", err)
			}
		})
	}
	_, err := c.Parse(nil, []byte(body(`{"external_id":""}`)))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
