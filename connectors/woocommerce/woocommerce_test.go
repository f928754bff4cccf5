package woocommerce_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/woocommerce"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

const secret = "wc-secret-of-sixteen-plus"

func newConnector(t *testing.T, previous string) *woocommerce.Connector {
	t.Helper()
	c, err := woocommerce.New(woocommerce.Config{WebhookSecret: secret, PreviousWebhookSecret: previous})
	if err != nil {
		t.Fatal(err)
	}
	return c.(*woocommerce.Connector)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// headers are what WC_Webhook::deliver() sends with body.
func headers(topic, deliveryID string, body []byte, key string) http.Header {
	resource, event, _ := strings.Cut(topic, ".")
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)")
	h.Set("X-WC-Webhook-Source", "https://kauppa.example.fi/")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Resource", resource)
	h.Set("X-WC-Webhook-Event", event)
	h.Set("X-WC-Webhook-Signature", woocommerce.Sign(key, body))
	h.Set("X-WC-Webhook-ID", "123")
	h.Set("X-WC-Webhook-Delivery-ID", deliveryID)
	return h
}

// The signature of customer_created.json under secret, computed apart from
// this code (Python: base64(hmac.new(secret, body, sha256).digest()), the
// same as PHP's base64_encode(hash_hmac('sha256', body, secret, true))).
const createdSignature = "yjyMvzSLujLuatPLfHWCKgsqhon9/MKJkCDPki6lCkI="

func TestVerifySignatureVector(t *testing.T) {
	c := newConnector(t, "")
	body := fixture(t, "customer_created.json")
	if got := woocommerce.Sign(secret, body); got != createdSignature {
		t.Fatalf("Sign = %s, want %s", got, createdSignature)
	}
	h := headers("customer.created", "8c3e1b0d2f7a4e5b9c6d1a2b3c4d5e6f", body, secret)
	h.Set("X-WC-Webhook-Signature", createdSignature)
	if err := c.Verify(h, body, time.Now()); err != nil {
		t.Fatalf("refused: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	c := newConnector(t, "")
	now := time.Now()
	body := fixture(t, "customer_created.json")
	good := headers("customer.created", "8c3e1b0d2f7a4e5b9c6d1a2b3c4d5e6f", body, secret)
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
	sig := good.Get("X-WC-Webhook-Signature")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		want   string // "" verifies
	}{
		{"correct", good, body, ""},
		{"signature with surrounding space", with("X-WC-Webhook-Signature", " "+sig+" "), body, ""},
		{"wrong secret", with("X-WC-Webhook-Signature", woocommerce.Sign("another secret of 16+", body)), body, "does not match the body"},
		{"body changed after signing", good, changed, "does not match the body"},
		{"body with a byte more", good, append(append([]byte(nil), body...), '\n'), "does not match the body"},
		{"empty body", good, []byte{}, "does not match the body"},
		{"no signature", with("X-WC-Webhook-Signature", ""), body, "missing header X-WC-Webhook-Signature"},
		{"not base64", with("X-WC-Webhook-Signature", "!!!"), body, "standard base64"},
		{"hex instead of base64", with("X-WC-Webhook-Signature", strings.Repeat("ab", 32)), body, "does not match the body"},
		{"truncated", with("X-WC-Webhook-Signature", sig[:20]), body, "does not match the body"},
		{"truncated, padding broken", with("X-WC-Webhook-Signature", sig[:21]), body, "standard base64"},
		{"huge header", with("X-WC-Webhook-Signature", strings.Repeat("A", 10000)), body, "too long"},
		{"huge delivery id", with("X-WC-Webhook-Delivery-ID", strings.Repeat("a", 129)), body, "X-WC-Webhook-Delivery-ID is longer"},
		// A ping's body signed or not: a body that is not the ping, unsigned.
		{"unsigned JSON", with("X-WC-Webhook-Signature", ""), []byte(`{"id":25}`), "missing header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Verify(tc.header, tc.body, now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !delivery.IsUnauthentic(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a refusal saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), "Maija") {
				t.Fatal("the error shows the secret, the signature or the body")
			}
		})
	}
}

// While the secret is rotated, signatures of either verify.
func TestVerifyDuringRotation(t *testing.T) {
	const previous = "the previous secret, 16+"
	c := newConnector(t, previous)
	body := fixture(t, "customer_updated.json")
	for _, s := range []string{secret, previous} {
		if err := c.Verify(headers("customer.updated", "d1", body, s), body, time.Now()); err != nil {
			t.Errorf("signed with %s…: %v", s[:5], err)
		}
	}
	if err := c.Verify(headers("customer.updated", "d1", body, "a third secret of 16+"), body, time.Now()); err == nil {
		t.Error("a third secret verifies")
	}
}

// The ping, exactly as WooCommerce sends it, is a handshake (answered 200,
// nothing stored) and never verifies as a delivery; nothing else unsigned
// is a handshake or verifies.
func TestPing(t *testing.T) {
	c := newConnector(t, "")
	ping := fixture(t, "ping.txt")
	form := http.Header{}
	form.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	form.Set("User-Agent", "WooCommerce/8.6.1 Hookshot (WordPress/6.4.3)")
	bare := http.Header{}
	for _, h := range []http.Header{form, bare} {
		if !c.IsHandshake(h, ping) {
			t.Fatal("the ping is not a handshake")
		}
		if err := c.Verify(h, ping, time.Now()); err == nil {
			t.Error("the unsigned ping verifies as a delivery")
		}
	}
	xwc := form.Clone()
	xwc.Set("X-WC-Webhook-Topic", "customer.updated")
	jsonCT := form.Clone()
	jsonCT.Set("Content-Type", "application/json")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
	}{
		{"with an X-WC header", xwc, "webhook_id=123"},
		{"JSON content type", jsonCT, "webhook_id=123"},
		{"bad content type", http.Header{"Content-Type": {"%%%"}}, "webhook_id=123"},
		{"trailing newline", form, "webhook_id=123\n"},
		{"another parameter", form, "webhook_id=123&x=1"},
		{"id 0", form, "webhook_id=0"},
		{"no id", form, "webhook_id="},
		{"letters", form, "webhook_id=12a"},
		{"huge id", form, "webhook_id=1" + strings.Repeat("0", 20)},
		{"JSON", form, `{"webhook_id":123}`},
		{"empty", form, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c.IsHandshake(tc.header, []byte(tc.body)) {
				t.Errorf("an unsigned %s is a handshake", tc.name)
			}
			if err := c.Verify(tc.header, []byte(tc.body), time.Now()); err == nil || !delivery.IsUnauthentic(err) {
				t.Errorf("an unsigned %s verifies: %v", tc.name, err)
			}
		})
	}
}

func TestDeliveryKey(t *testing.T) {
	c := newConnector(t, "")
	a, b := fixture(t, "customer_created.json"), fixture(t, "customer_updated.json")
	ka := c.DeliveryKey(headers("customer.created", "8c3e1b0d", a, secret), a)
	if !strings.HasPrefix(ka, "8c3e1b0d/") || len(ka) != len("8c3e1b0d/")+64 {
		t.Errorf("key %q, want the delivery id and the body's SHA-256", ka)
	}
	// The same id in the same second for two bodies: two keys.
	if kb := c.DeliveryKey(headers("customer.updated", "8c3e1b0d", b, secret), b); kb == ka {
		t.Error("two bodies with one delivery id share a key")
	}
	// A replay: the same key.
	if k := c.DeliveryKey(headers("customer.created", "8c3e1b0d", a, secret), a); k != ka {
		t.Error("a replay has another key")
	}
	old := http.Header{}
	old.Set("X-WC-Webhook-Signature", "x")
	old.Set("X-WC-Delivery-ID", "olddoc")
	if k := c.DeliveryKey(old, a); !strings.HasPrefix(k, "olddoc/") {
		t.Errorf("X-WC-Delivery-ID not taken: %q", k)
	}
	none := http.Header{}
	none.Set("X-WC-Webhook-Signature", "x")
	if k := c.DeliveryKey(none, a); k != "" {
		t.Errorf("key %q without a delivery id, want \"\" (the inbox's body digest)", k)
	}
	kept := c.KeptHeaders()
	for _, want := range []string{"X-Wc-Webhook-Topic", "X-Wc-Webhook-Delivery-Id"} {
		found := false
		for _, k := range kept {
			found = found || k == want
		}
		if !found {
			t.Errorf("kept headers %v lack %s", kept, want)
		}
	}
	for _, k := range kept {
		if k == "X-Wc-Webhook-Signature" {
			t.Error("the signature is kept")
		}
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  woocommerce.Config
		want string
	}{
		{woocommerce.Config{}, "webhookSecret is required"},
		{woocommerce.Config{WebhookSecret: "short"}, "at least 16 characters"},
		{woocommerce.Config{WebhookSecret: " padded secret of 16+ "}, "white space"},
		{woocommerce.Config{WebhookSecret: secret, PreviousWebhookSecret: "tiny"}, "previousWebhookSecret"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "short") || strings.Contains(err.Error(), "tiny")) {
			t.Errorf("the error shows the secret: %v", err)
		}
		if _, err := woocommerce.New(tc.cfg); err == nil {
			t.Errorf("New accepts %v", tc.cfg)
		}
	}
	s := woocommerce.Config{WebhookSecret: secret}.String()
	if strings.Contains(s, secret) || !strings.Contains(s, "webhookSecret: set") {
		t.Errorf("String: %s", s)
	}
}

func parse(t *testing.T, topic, name string) []intake.Draft {
	t.Helper()
	c := newConnector(t, "")
	body := fixture(t, name)
	h := http.Header{}
	h.Set("X-WC-Webhook-Topic", topic)
	drafts, err := c.Parse(h, body)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return drafts
}

func checkString(t *testing.T, name string, o customer.Opt[string], want string) {
	t.Helper()
	if !o.IsSet() || o.Value() != want {
		t.Errorf("%s: %v, want %q", name, o, want)
	}
}

func TestParseCustomer(t *testing.T) {
	for _, topic := range []string{"customer.created", "customer.updated"} {
		drafts := parse(t, topic, "customer_created.json")
		if len(drafts) != 1 {
			t.Fatalf("%d drafts", len(drafts))
		}
		d := drafts[0]
		if d.Link != (customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "25"}) || d.Trust != intake.Authoritative {
			t.Errorf("link %v trust %v", d.Link, d.Trust)
		}
		if !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 21, 19, 9, 30, 0, time.UTC)) {
			t.Errorf("source update time %v, want date_modified_gmt", d.SourceUpdatedAt)
		}
		p := d.Patch
		checkString(t, "first name", p.FirstName, "Maija")
		checkString(t, "last name", p.LastName, "Meikäläinen")
		checkString(t, "email", p.Email, "maija.meikalainen@example.fi")
		// WooCommerce says nothing of these; the consent meta of a plugin is
		// not taken.
		if !p.Type.IsKeep() || !p.CompanyName.IsKeep() || !p.BusinessID.IsKeep() || !p.Language.IsKeep() {
			t.Error("type, company, business id or language is not Keep")
		}
		if !p.PhoneNumbers.IsKeep() || !p.Addresses.IsKeep() || !p.ExternalSystems.IsKeep() || !p.MarketingEmail.IsKeep() || !p.MarketingSMS.IsKeep() {
			t.Error("a list or consent field of the patch is not Keep")
		}
		if d.MarketingEmail != nil || d.MarketingSMS != nil {
			t.Error("consent claims from WooCommerce")
		}
		if len(d.AddPhones) != 1 || d.AddPhones[0] != "040 123 4567" {
			t.Errorf("phones %v", d.AddPhones)
		}
		want := []customer.Address{
			{Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1 A 2", PostalCode: "00100", City: "Helsinki", Country: "FI"},
			{Type: customer.Delivery, StreetAddress1: "Toimituskuja 5", StreetAddress2: "B 7", PostalCode: "33100", City: "Tampere", Country: "FI"},
		}
		if len(d.AddAddresses) != 2 || d.AddAddresses[0] != want[0] || d.AddAddresses[1] != want[1] {
			t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
		}
	}
	// The update: a later time, the new phone, and the emptied shipping
	// address is no address.
	d := parse(t, "customer.updated", "customer_updated.json")[0]
	if !d.SourceUpdatedAt.Equal(time.Date(2024, 4, 2, 8, 0, 5, 0, time.UTC)) {
		t.Errorf("source update time %v", d.SourceUpdatedAt)
	}
	checkString(t, "last name", d.Patch.LastName, "Virtanen")
	if len(d.AddPhones) != 1 || d.AddPhones[0] != "+358 50 765 4321" || len(d.AddAddresses) != 1 || d.AddAddresses[0].Type != customer.Invoice {
		t.Errorf("phones %v addresses %+v", d.AddPhones, d.AddAddresses)
	}
	// The documentation's own example parses too (its US address and
	// phone are the register's to judge).
	d = parse(t, "customer.created", "docs_customer.json")[0]
	if d.Link.Identifier != "25" || d.AddAddresses[0].Country != "US" || d.AddAddresses[0].PostalCode != "94103" {
		t.Errorf("docs example: %+v", d)
	}
}

func TestParseNamesFromBilling(t *testing.T) {
	c := newConnector(t, "")
	h := http.Header{"X-Wc-Webhook-Topic": {"customer.created"}}
	body := `{"id":7,"date_created_gmt":"2024-01-02T03:04:05","date_modified_gmt":null,"email":"a@example.fi","first_name":"","last_name":"",` +
		`"billing":{"first_name":"Aino","last_name":"Aalto","email":"b@example.fi","phone":"","address_1":"Katu 1","postcode":"","city":"Turku"},"shipping":null}`
	drafts, err := c.Parse(h, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	d := drafts[0]
	checkString(t, "first name", d.Patch.FirstName, "Aino")
	checkString(t, "last name", d.Patch.LastName, "Aalto")
	checkString(t, "email", d.Patch.Email, "a@example.fi")
	// Never modified: the creation time.
	if !d.SourceUpdatedAt.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("source update time %v", d.SourceUpdatedAt)
	}
	// No phone, and an address without a postal code is not taken.
	if len(d.AddPhones) != 0 || len(d.AddAddresses) != 0 {
		t.Errorf("phones %v addresses %+v", d.AddPhones, d.AddAddresses)
	}
	// Blank names say nothing.
	body = `{"id":8,"email":"c@example.fi","first_name":" ","last_name":""}`
	d = mustParse(t, c, h, body)[0]
	if !d.Patch.FirstName.IsKeep() || !d.Patch.LastName.IsKeep() || !d.SourceUpdatedAt.IsZero() {
		t.Errorf("blank names or no dates: %+v", d)
	}
}

func mustParse(t *testing.T, c *woocommerce.Connector, h http.Header, body string) []intake.Draft {
	t.Helper()
	drafts, err := c.Parse(h, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return drafts
}

func TestParseDeleted(t *testing.T) {
	if drafts := parse(t, "customer.deleted", "customer_deleted.json"); len(drafts) != 0 {
		t.Errorf("a deleted customer makes drafts: %+v", drafts)
	}
}

func TestParseOrders(t *testing.T) {
	d := parse(t, "order.created", "order_created_guest.json")[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "guest-order-1001"}) || d.Trust != intake.Observation {
		t.Errorf("guest: link %v trust %v", d.Link, d.Trust)
	}
	if !d.SourceUpdatedAt.Equal(time.Date(2024, 3, 22, 10, 28, 8, 0, time.UTC)) {
		t.Errorf("guest: source update time %v", d.SourceUpdatedAt)
	}
	checkString(t, "first name", d.Patch.FirstName, "Matti")
	checkString(t, "last name", d.Patch.LastName, "Virtanen")
	checkString(t, "email", d.Patch.Email, "matti.virtanen@example.fi")
	if len(d.AddPhones) != 1 || d.AddPhones[0] != "0401112222" {
		t.Errorf("guest: phones %v", d.AddPhones)
	}
	want := []customer.Address{
		{Type: customer.Invoice, StreetAddress1: "Kauppakatu 3", PostalCode: "90100", City: "Oulu", Country: "FI"},
		{Type: customer.Delivery, StreetAddress1: "Pakettitie 9", PostalCode: "90120", City: "Oulu", Country: "FI"},
	}
	if len(d.AddAddresses) != 2 || d.AddAddresses[0] != want[0] || d.AddAddresses[1] != want[1] {
		t.Errorf("guest: addresses %+v", d.AddAddresses)
	}
	if d.MarketingEmail != nil || d.MarketingSMS != nil || !d.Patch.MarketingEmail.IsKeep() {
		t.Error("guest: consents")
	}

	// A registered customer's order: linked by the customer's id, without
	// the order's time (it is not the customer's update time).
	d = parse(t, "order.created", "order_created_registered.json")[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.WooCommerce, Identifier: "25"}) || d.Trust != intake.Observation {
		t.Errorf("registered: link %v trust %v", d.Link, d.Trust)
	}
	if !d.SourceUpdatedAt.IsZero() {
		t.Errorf("registered: source update time %v, want none", d.SourceUpdatedAt)
	}
	checkString(t, "email", d.Patch.Email, "maija.meikalainen@example.fi")

	// The documentation's example (a guest order).
	d = parse(t, "order.created", "docs_order.json")[0]
	if d.Link.Identifier != "guest-order-727" || d.Patch.Email.Value() != "john.doe@example.com" {
		t.Errorf("docs example: %+v", d)
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, "")
	customerBody := string(fixture(t, "customer_created.json"))
	orderBody := string(fixture(t, "order_created_guest.json"))
	for _, tc := range []struct {
		name, topic, body, want string
	}{
		{"not JSON", "customer.updated", `{"id":`, "ends early"},
		{"syntax", "customer.updated", `{"id" 25}`, "invalid JSON at byte"},
		{"trailing data", "customer.updated", customerBody + `{}`, "after the JSON object"},
		{"an array", "customer.updated", `[` + customerBody + `]`, "must be an object"},
		{"id as a string", "customer.updated", strings.Replace(customerBody, `"id":25`, `"id":"Maija"`, 1), "id: must be an integer, not string"},
		{"id too large", "customer.updated", strings.Replace(customerBody, `"id":25`, `"id":1e30`, 1), "id: must be an integer"},
		{"id zero", "customer.updated", strings.Replace(customerBody, `"id":25`, `"id":0`, 1), "id: must be a positive integer"},
		{"no id", "customer.updated", strings.Replace(customerBody, `"id":25,`, ``, 1), "id: is required"},
		{"name a number", "customer.updated", strings.Replace(customerBody, `"first_name":"Maija"`, `"first_name":12`, 1), "first_name: must be a string"},
		{"billing a string", "customer.updated", `{"id":25,"email":"x@example.fi","billing":"Maija"}`, "billing: must be an object"},
		{"bad date", "customer.updated", strings.Replace(customerBody, `"date_modified_gmt":"2024-03-21T19:09:30"`, `"date_modified_gmt":"Maija"`, 1), "date_modified_gmt: must be a date-time"},
		{"order under a customer topic", "customer.updated", orderBody, "email: is required in a customer"},
		{"deleted body under updated", "customer.updated", `{"id":25}`, "email: is required"},
		{"customer under the order topic", "order.created", customerBody, "customer_id: is required in an order"},
		{"order without billing", "order.created", `{"id":5,"customer_id":0}`, "billing: is required in an order"},
		{"negative customer", "order.created", strings.Replace(orderBody, `"customer_id":0`, `"customer_id":-4`, 1), "customer_id: must be 0"},
		{"deleted without id", "customer.deleted", `{}`, "id: must be a positive integer"},
		{"deleted not JSON", "customer.deleted", `id=25`, "invalid JSON"},
		{"legacy API shape", "customer.updated", `{"customer":{"id":25,"email":"Maija@example.fi"}}`, "legacy REST API"},
		{"unsupported topic", "product.updated", `{}`, `topic "product.updated" is not taken`},
		{"hostile topic", "Maija <script>", `{}`, "(not a WooCommerce topic)"},
		{"no topic", "", customerBody, "X-WC-Webhook-Topic is missing"},
		{"huge string", "customer.updated", `{"id":25,"email":"` + strings.Repeat("Maija", 200000) + `"` + `,"first_name":1}`, "first_name: must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.topic != "" {
				h.Set("X-WC-Webhook-Topic", tc.topic)
			}
			_, err := c.Parse(h, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Maija") || len(err.Error()) > 300 {
				t.Errorf("the error shows a value of the body: %.300s", err)
			}
		})
	}
	// The topic may come as resource and event.
	h := http.Header{"X-Wc-Webhook-Resource": {"customer"}, "X-Wc-Webhook-Event": {"deleted"}}
	if drafts, err := c.Parse(h, []byte(`{"id":25}`)); err != nil || len(drafts) != 0 {
		t.Errorf("resource+event: %v %v", drafts, err)
	}
	// Parse's own checks of the data are validation errors naming the member.
	h = http.Header{"X-Wc-Webhook-Topic": {"customer.updated"}}
	_, err := c.Parse(h, []byte(`{"id":-1,"email":"x@example.fi"}`))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
