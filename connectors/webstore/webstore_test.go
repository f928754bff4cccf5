package webstore_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/webstore"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newConnector(t *testing.T, previous string) *webstore.Connector {
	t.Helper()
	cfg := webstore.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret, PreviousSigningSecret: previous}}
	webstore.Defaults(&cfg)
	c, err := webstore.New(cfg)
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

// The example of the Standard Webhooks specification's README.
func TestVerifyStandardWebhooksVector(t *testing.T) {
	c := newConnector(t, "")
	h := http.Header{}
	h.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
	body := []byte(`{"test": 2432232314}`)
	if err := c.Verify(h, body, time.Unix(1614265330, 0)); err != nil {
		t.Fatalf("the specification's example does not verify: %v", err)
	}
	if got := c.DeliveryKey(h, body); got != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Errorf("delivery key %q, want the webhook-id", got)
	}
}

func TestVerifyRefuses(t *testing.T) {
	c := newConnector(t, "")
	now := time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC)
	body, _ := os.ReadFile("testdata/customer_upserted.json")
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
	changed := append([]byte(nil), body...)
	changed[len(changed)-3] = ' '
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
		{"wrong secret", other, body, now, "no signature"},
		{"body changed after signing", good, changed, now, "no signature"},
		{"body with a byte more", good, append(append([]byte(nil), body...), '\n'), now, "no signature"},
		{"timestamp too old", good, body, now.Add(301 * time.Second), "outside the tolerance"},
		{"timestamp too new", good, body, now.Add(-301 * time.Second), "outside the tolerance"},
		{"timestamp not a number", with("webhook-timestamp", "2024-03-01T10:15:30Z"), body, now, "Unix seconds"},
		{"timestamp changed", with("webhook-timestamp", "1709288131"), body, time.Unix(1709288131, 0), "no signature"},
		{"id changed", with("webhook-id", "msg_2"), body, now, "no signature"},
		{"no id", with("webhook-id", ""), body, now, "missing header webhook-id"},
		{"no timestamp", with("webhook-timestamp", ""), body, now, "missing header webhook-timestamp"},
		{"no signature", with("webhook-signature", ""), body, now, "missing header webhook-signature"},
		{"another scheme only", with("webhook-signature", "v1a,"+strings.TrimPrefix(good.Get("webhook-signature"), "v1,")), body, now, "no v1 signature"},
		{"not base64", with("webhook-signature", "v1,!!!"), body, now, "no v1 signature"},
		{"truncated signature", with("webhook-signature", good.Get("webhook-signature")[:19]), body, now, "no signature"},
		{"several, one right", with("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" v1a,xyz "+good.Get("webhook-signature")), body, now, ""},
		{"several, none right", with("webhook-signature", other.Get("webhook-signature")+" v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))), body, now, "no signature"},
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
			if strings.Contains(err.Error(), "MfKQ9r8") {
				t.Fatal("the error shows the secret")
			}
		})
	}
}

// While a secret is rotated, signatures of either secret verify.
func TestVerifyDuringRotation(t *testing.T) {
	const previous = "whsec_" + "cHJldmlvdXMtc2VjcmV0LTEyMzQ1Ng=="
	c := newConnector(t, previous)
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
		cfg  webstore.Config
		want string
	}{
		{webstore.Config{}, "signingSecret is required"},
		{webstore.Config{SigningConfig: delivery.SigningConfig{SigningSecret: "whsec_not base64!"}}, "standard base64"},
		{webstore.Config{SigningConfig: delivery.SigningConfig{SigningSecret: "whsec_c2hvcnQ="}}, "at least 16 bytes"},
		{webstore.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret, PreviousSigningSecret: "nope!"}}, "previousSigningSecret"},
	} {
		webstore.Defaults(&tc.cfg)
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not base64") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	s := webstore.Config{SigningConfig: delivery.SigningConfig{SigningSecret: secret}}.String()
	if strings.Contains(s, "MfKQ") {
		t.Errorf("String shows the secret: %s", s)
	}
}

func TestParseEveryField(t *testing.T) {
	c := newConnector(t, "")
	body, err := os.ReadFile("testdata/customer_upserted.json")
	if err != nil {
		t.Fatal(err)
	}
	drafts, err := c.Parse(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 {
		t.Fatalf("%d drafts, want 1", len(drafts))
	}
	d := drafts[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.Webstore, Identifier: "C-1001"}) || d.Trust != intake.Authoritative {
		t.Errorf("link %v trust %v", d.Link, d.Trust)
	}
	if !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 1, 10, 15, 29, 0, time.UTC)) {
		t.Errorf("source update time %v", d.SourceUpdatedAt)
	}
	p := d.Patch
	check := func(name string, o customer.Opt[string], want string) {
		t.Helper()
		if !o.IsSet() || o.Value() != want {
			t.Errorf("%s: %v, want %q", name, o, want)
		}
	}
	check("first name", p.FirstName, "Maija")
	check("last name", p.LastName, "Meikäläinen")
	check("email", p.Email, "maija@example.fi")
	if !p.Type.IsSet() || p.Type.Value() != customer.Person {
		t.Errorf("type %v", p.Type)
	}
	if !p.Language.IsSet() || p.Language.Value() != customer.Finnish {
		t.Errorf("language %v", p.Language)
	}
	// null says nothing: company name and business id are kept.
	if !p.CompanyName.IsKeep() || !p.BusinessID.IsKeep() {
		t.Errorf("null company name or business id is not Keep: %v %v", p.CompanyName, p.BusinessID)
	}
	// Lists and consents never come through the patch.
	if !p.PhoneNumbers.IsKeep() || !p.Addresses.IsKeep() || !p.ExternalSystems.IsKeep() || !p.MarketingEmail.IsKeep() || !p.MarketingSMS.IsKeep() {
		t.Error("a list or consent field of the patch is not Keep")
	}
	if len(d.AddPhones) != 1 || d.AddPhones[0] != "+358401234567" {
		t.Errorf("phones %v", d.AddPhones)
	}
	want := []customer.Address{
		{Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1 A 2", PostalCode: "00100", City: "Helsinki", Country: "FI"},
		{Type: customer.Delivery, StreetAddress1: "Toimituskuja 5", PostalCode: "33100", City: "Tampere", Country: "FI"},
	}
	if len(d.AddAddresses) != 2 || d.AddAddresses[0] != want[0] || d.AddAddresses[1] != want[1] {
		t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
	}
	captured := time.Date(2024, 2, 1, 8, 0, 0, 0, time.UTC)
	if e := d.MarketingEmail; e == nil || !e.Value || !e.At.Equal(captured) ||
		e.Evidence != "web store kauppa-fi, checkout_checkbox, consent text 2024-01, event evt_01HV8ZK7Y3M2" {
		t.Errorf("email consent %+v", e)
	}
	if s := d.MarketingSMS; s == nil || s.Value || !s.At.Equal(captured) || s.Evidence != "web store kauppa-fi, event evt_01HV8ZK7Y3M2" {
		t.Errorf("sms consent %+v", s)
	}
}

func TestParseConsentChanged(t *testing.T) {
	c := newConnector(t, "")
	body, err := os.ReadFile("testdata/consent_changed.json")
	if err != nil {
		t.Fatal(err)
	}
	drafts, err := c.Parse(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	d := drafts[0]
	if !d.Patch.IsEmpty() || len(d.AddPhones)+len(d.AddAddresses) != 0 {
		t.Errorf("a consent event changes more than consents: %+v", d)
	}
	// status unknown leaves the email consent as it is.
	if d.MarketingEmail != nil {
		t.Errorf("email consent %+v, want none", d.MarketingEmail)
	}
	if s := d.MarketingSMS; s == nil || !s.Value || !s.At.IsZero() || s.Evidence != "web store kauppa-fi, account_settings, event evt_01HV9ABC" {
		t.Errorf("sms consent %+v", s)
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, "")
	base := `{"spec":"kirjuri.webstore.v1","event_id":"e","event_type":"customer.upserted","occurred_at":"2024-03-01T10:15:30Z","customer":%s}`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not JSON", `{"spec":`, "ends early"},
		{"syntax", `{"spec" "x"}`, "invalid JSON at byte"},
		{"trailing data", strings.Replace(base, "%s", `{"external_id":"C-1"}`, 1) + `{}`, "after the JSON object"},
		{"unknown member", strings.Replace(base, "%s", `{"external_id":"C-1","frist_name":"Maija"}`, 1), `unknown member "frist_name"`},
		{"wrong type", strings.Replace(base, "%s", `{"external_id":"C-1","first_name":12}`, 1), "customer.first_name: must be a string"},
		{"no customer", strings.Replace(base, `,"customer":%s`, "", 1), "customer: is required"},
		{"no external id", strings.Replace(base, "%s", `{"first_name":"Maija"}`, 1), "customer.external_id: is required"},
		{"other spec", strings.Replace(strings.Replace(base, "%s", `{"external_id":"C-1"}`, 1), "kirjuri.webstore.v1", "hub.customer.v1", 1), "spec: must be kirjuri.webstore.v1"},
		{"deleted", strings.Replace(strings.Replace(base, "%s", `{"external_id":"C-1"}`, 1), "customer.upserted", "customer.deleted", 1), "event_type"},
		{"type", strings.Replace(base, "%s", `{"external_id":"C-1","type":"robot"}`, 1), "customer.type: must be person or company"},
		{"address type", strings.Replace(base, "%s", `{"external_id":"C-1","addresses":[{"type":"home","line1":"a","postal_code":"00100","city":"H"}]}`, 1), "customer.addresses[0].type"},
		{"channel twice", strings.Replace(base, "%s", `{"external_id":"C-1","consents":[{"channel":"sms","purpose":"marketing","status":"granted"},{"channel":"sms","purpose":"marketing","status":"denied"}]}`, 1), "customer.consents[1].channel: sms is given twice"},
		{"purpose", strings.Replace(base, "%s", `{"external_id":"C-1","consents":[{"channel":"sms","purpose":"profiling","status":"granted"}]}`, 1), "customer.consents[0].purpose"},
		{"status", strings.Replace(base, "%s", `{"external_id":"C-1","consents":[{"channel":"sms","purpose":"marketing","status":"yes"}]}`, 1), "customer.consents[0].status"},
		{"consent event with a name", strings.Replace(strings.Replace(base, "%s", `{"external_id":"C-1","first_name":"M"}`, 1), "customer.upserted", "customer.consent_changed", 1), "consents only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(nil, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Maija") {
				t.Errorf("the error shows a value of the body: %v", err)
			}
		})
	}
	// The register's rules decide the rest: Parse's own errors are
	// validation errors naming the member.
	_, err := c.Parse(nil, []byte(strings.Replace(base, "%s", `{"external_id":""}`, 1)))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
