package paytrail_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/paytrail"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

// The test merchant of Paytrail's documentation.
const (
	merchant = "375917"
	secret   = "SAIPPUAKAUPPIAS"
)

func newConnector(t *testing.T, previous string) *paytrail.Connector {
	t.Helper()
	cfg := paytrail.Config{MerchantID: merchant, SecretKey: secret, PreviousSecretKey: previous}
	paytrail.Defaults(&cfg)
	c, err := paytrail.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/callback_ok.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withCallback returns the fixture with the callback's parameters changed
// by f and signed again with key ("" leaves the signature as it was).
func withCallback(t *testing.T, f func(map[string]string), key string) []byte {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(fixture(t), &d); err != nil {
		t.Fatal(err)
	}
	cb := map[string]string{}
	for k, v := range d["callback"].(map[string]any) {
		cb[k] = v.(string)
	}
	f(cb)
	if key != "" {
		sig, err := paytrail.Sign(cb[paytrail.Algorithm], []byte(key), cb, nil)
		if err != nil {
			t.Fatal(err)
		}
		cb[paytrail.Signature] = sig
	}
	d["callback"] = cb
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Paytrail's own examples: the callback of the documentation verifies as
// it is, and a request signature is the documented one.
func TestSignatureVectors(t *testing.T) {
	var d struct{ Callback map[string]string }
	if err := json.Unmarshal(fixture(t), &d); err != nil {
		t.Fatal(err)
	}
	got, err := paytrail.Sign("sha256", []byte(secret), d.Callback, nil)
	if err != nil || got != d.Callback["signature"] {
		t.Errorf("callback signature %s, %v; want the documented %s", got, err, d.Callback["signature"])
	}
	headers := map[string]string{
		"checkout-account": "375917", "checkout-algorithm": "sha256", "checkout-method": "POST",
		"checkout-nonce": "564635208570151", "checkout-timestamp": "2018-07-06T10:01:31.904Z",
		"content-type": "application/json; charset=utf-8",
	}
	body := `{"stamp":"unique-identifier-for-merchant","reference":"3759170","amount":1525,"currency":"EUR","language":"FI",` +
		`"items":[{"unitPrice":1525,"units":1,"vatPercentage":24,"productCode":"#1234","deliveryDate":"2018-09-01"}],` +
		`"customer":{"email":"test.customer@example.com"},` +
		`"redirectUrls":{"success":"https://ecom.example.com/cart/success","cancel":"https://ecom.example.com/cart/cancel"}}`
	got, err = paytrail.Sign("sha256", []byte(secret), headers, []byte(body))
	if want := "3708f6497ae7cc55a2e6009fc90aa10c3ad0ef125260ee91b19168750f6d74f6"; err != nil || got != want {
		t.Errorf("request signature %s, %v; want the documented %s", got, err, want)
	}
	// The same request verifies as a forward at its time.
	h := http.Header{}
	for k, v := range headers {
		h.Set(k, v)
	}
	h.Set("signature", got)
	if err := newConnector(t, "").Verify(h, []byte(body), time.Date(2018, 7, 6, 10, 3, 0, 0, time.UTC)); err != nil {
		t.Errorf("the documented request does not verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	c := newConnector(t, "")
	now := time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC)
	body := fixture(t)
	sign := func(b []byte) http.Header { return paytrail.SignForward([]byte(secret), merchant, "nonce-1", now, b) }
	good := sign(body)
	with := func(k, v string) http.Header {
		h := good.Clone()
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
		return h
	}
	changed := []byte(strings.Replace(string(body), "Erja", "Erjo", 1))
	other := paytrail.SignForward([]byte("another secret"), merchant, "nonce-1", now, body)
	sha512 := func() http.Header {
		h := good.Clone()
		h.Set("checkout-algorithm", "sha512")
		params := map[string]string{}
		for k := range h {
			params[strings.ToLower(k)] = h.Get(k)
		}
		sig, _ := paytrail.Sign("sha512", []byte(secret), params, body)
		h.Set("signature", sig)
		return h
	}()
	otherAccount := paytrail.SignForward([]byte(secret), "123456", "nonce-1", now, body)
	// Callbacks changed after Paytrail signed them, forwarded with a good
	// signature of the forward.
	statusChanged := withCallback(t, func(cb map[string]string) { cb["checkout-status"] = "ok "; cb["checkout-amount"] = "1" }, "")
	cbOtherKey := withCallback(t, func(cb map[string]string) {}, "another secret")
	cbNoSig := withCallback(t, func(cb map[string]string) { delete(cb, "signature") }, "")
	cbNoAlg := withCallback(t, func(cb map[string]string) { delete(cb, "checkout-algorithm") }, "")
	cbMD5 := withCallback(t, func(cb map[string]string) { cb["checkout-algorithm"] = "md5" }, "")
	cbAccount := withCallback(t, func(cb map[string]string) { cb["checkout-account"] = "123456" }, secret)
	cbNotHex := withCallback(t, func(cb map[string]string) { cb["signature"] = "zz" + cb["signature"][2:] }, "")
	cbNewParam := withCallback(t, func(cb map[string]string) { cb["checkout-settlement-reference"] = "RF123" }, secret)
	cbExtra := withCallback(t, func(cb map[string]string) { cb["utm_source"] = "x" }, "")
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string // "" verifies
	}{
		{"correct", good, body, now, ""},
		{"sha512", sha512, body, now, ""},
		{"4 min 59 s late", good, body, now.Add(299 * time.Second), ""},
		{"4 min 59 s early", good, body, now.Add(-299 * time.Second), ""},
		{"a new checkout-* parameter of the callback", sign(cbNewParam), cbNewParam, now, ""},
		{"other parameters of the callback are not signed", sign(cbExtra), cbExtra, now, ""},
		{"authentic, not JSON: Parse rejects it", sign([]byte(`{"callback":`)), []byte(`{"callback":`), now, ""},
		{"wrong key", other, body, now, "header signature"},
		{"body changed after signing", good, changed, now, "signature does not match (header signature"},
		{"a byte more", good, append(append([]byte(nil), body...), '\n'), now, "does not match"},
		{"nonce changed", with("checkout-nonce", "nonce-2"), body, now, "does not match"},
		{"a checkout-* header added", with("checkout-transaction-id", "x"), body, now, "does not match"},
		{"timestamp too old", good, body, now.Add(301 * time.Second), "outside the tolerance"},
		{"timestamp too new", good, body, now.Add(-301 * time.Second), "outside the tolerance"},
		{"timestamp not ISO 8601", with("checkout-timestamp", "1709288130"), body, now, "ISO 8601"},
		{"no account", with("checkout-account", ""), body, now, "missing header checkout-account"},
		{"no algorithm", with("checkout-algorithm", ""), body, now, "missing header checkout-algorithm"},
		{"no method", with("checkout-method", ""), body, now, "missing header checkout-method"},
		{"no nonce", with("checkout-nonce", ""), body, now, "missing header checkout-nonce"},
		{"no timestamp", with("checkout-timestamp", ""), body, now, "missing header checkout-timestamp"},
		{"no signature", with("signature", ""), body, now, "missing header signature"},
		{"another account", otherAccount, body, now, "checkout-account is not the merchant id"},
		{"method GET", with("checkout-method", "GET"), body, now, "checkout-method must be POST"},
		{"algorithm md5", with("checkout-algorithm", "md5"), body, now, "sha256 or sha512"},
		{"signature not hex", with("signature", "xyz"), body, now, "not hexadecimal"},
		{"truncated signature", with("signature", good.Get("signature")[:32]), body, now, "does not match"},
		{"callback changed after Paytrail signed it", sign(statusChanged), statusChanged, now, "callback parameter signature"},
		{"callback signed with another key", sign(cbOtherKey), cbOtherKey, now, "does not match (callback parameter signature"},
		{"callback without signature", sign(cbNoSig), cbNoSig, now, "missing callback parameter signature"},
		{"callback without algorithm", sign(cbNoAlg), cbNoAlg, now, "missing callback parameter checkout-algorithm"},
		{"callback algorithm md5", sign(cbMD5), cbMD5, now, "sha256 or sha512 (callback"},
		{"callback of another account", sign(cbAccount), cbAccount, now, "callback parameter checkout-account is not the merchant id"},
		{"callback signature not hex", sign(cbNotHex), cbNotHex, now, "not hexadecimal (callback"},
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
			for _, s := range []string{secret, "Erja", good.Get("signature")[:16], "b2d3ecdd"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error shows %q: %v", s, err)
				}
			}
		})
	}
}

// While the secret key is changed, signatures of either key verify.
func TestVerifyDuringRotation(t *testing.T) {
	const next = "the merchant's new secret key"
	now := time.Now()
	for _, tc := range []struct{ current, previous, signer string }{
		{next, secret, secret}, // the old key still signs Paytrail's callbacks
		{next, secret, next},
	} {
		cfg := paytrail.Config{MerchantID: merchant, SecretKey: tc.current, PreviousSecretKey: tc.previous}
		paytrail.Defaults(&cfg)
		c, err := paytrail.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		body := withCallback(t, func(map[string]string) {}, tc.signer)
		if err := c.Verify(paytrail.SignForward([]byte(tc.signer), merchant, "n", now, body), body, now); err != nil {
			t.Errorf("signed with the %s key: %v", map[bool]string{true: "new", false: "old"}[tc.signer == next], err)
		}
	}
	if err := newConnector(t, "").Verify(paytrail.SignForward([]byte(next), merchant, "n", now, fixture(t)), fixture(t), now); err == nil {
		t.Error("a key that is not configured verifies")
	}
}

func TestDeliveryKey(t *testing.T) {
	c := newConnector(t, "")
	if got := c.DeliveryKey(nil, fixture(t)); got != "4b300af6-9a22-11e8-9184-abb6de7fd2d0/ok" {
		t.Errorf("key %q, want the transaction id and the status", got)
	}
	pending := withCallback(t, func(cb map[string]string) { cb["checkout-status"] = "pending" }, secret)
	if got := c.DeliveryKey(nil, pending); got != "4b300af6-9a22-11e8-9184-abb6de7fd2d0/pending" {
		t.Errorf("key %q", got)
	}
	for _, b := range []string{`{"callback":`, `{"callback":{"checkout-status":"ok"}}`, `[]`, `{"callback":{"checkout-transaction-id":"` + strings.Repeat("x", 300) + `","checkout-status":"ok"}}`} {
		if got := c.DeliveryKey(nil, []byte(b)); got != "" {
			t.Errorf("%.40s: key %q, want \"\" (the digest of the body)", b, got)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  paytrail.Config
		want string
	}{
		{paytrail.Config{SecretKey: secret}, "merchantId is required"},
		{paytrail.Config{MerchantID: "acct-1", SecretKey: secret}, "merchantId: must be the digits"},
		{paytrail.Config{MerchantID: merchant}, "secretKey is required"},
		{paytrail.Config{MerchantID: merchant, SecretKey: " " + secret}, "secretKey: must not begin or end with white space"},
		{paytrail.Config{MerchantID: merchant, SecretKey: secret, PreviousSecretKey: secret + "\n"}, "previousSecretKey"},
		{paytrail.Config{MerchantID: merchant, SecretKey: secret, Tolerance: time.Millisecond}, "tolerance"},
	} {
		if tc.cfg.Tolerance == 0 {
			paytrail.Defaults(&tc.cfg)
		}
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	if s := (paytrail.Config{MerchantID: merchant, SecretKey: secret}).String(); strings.Contains(s, secret) {
		t.Errorf("String shows the secret: %s", s)
	}
}

func TestParseEveryField(t *testing.T) {
	c := newConnector(t, "")
	drafts, err := c.Parse(nil, fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(drafts) != 1 {
		t.Fatalf("%d drafts, want 1", len(drafts))
	}
	d := drafts[0]
	if d.Link != (customer.ExternalLink{SystemID: customer.Paytrail, Identifier: "4b300af6-9a22-11e8-9184-abb6de7fd2d0"}) || d.Trust != intake.Observation {
		t.Errorf("link %v trust %v", d.Link, d.Trust)
	}
	if !d.SourceUpdatedAt.IsZero() {
		t.Errorf("source update time %v: a callback has none", d.SourceUpdatedAt)
	}
	p := d.Patch
	check := func(name string, o customer.Opt[string], want string) {
		t.Helper()
		if !o.IsSet() || o.Value() != want {
			t.Errorf("%s: %v, want %q", name, o, want)
		}
	}
	check("first name", p.FirstName, "Erja")
	check("last name", p.LastName, "Esimerkki")
	check("email", p.Email, "erja.esimerkki@example.org")
	if !p.Language.IsSet() || p.Language.Value() != customer.Finnish {
		t.Errorf("language %v", p.Language)
	}
	// A VAT id without a company name: the payer is a person.
	if !p.Type.IsKeep() || !p.CompanyName.IsKeep() || !p.BusinessID.IsKeep() || !p.VATNumber.IsKeep() {
		t.Errorf("company fields of a person: %v %v %v %v", p.Type, p.CompanyName, p.BusinessID, p.VATNumber)
	}
	if !p.PhoneNumbers.IsKeep() || !p.Addresses.IsKeep() || !p.ExternalSystems.IsKeep() || !p.MarketingEmail.IsKeep() || !p.MarketingSMS.IsKeep() {
		t.Error("a list or consent field of the patch is not Keep")
	}
	if d.MarketingEmail != nil || d.MarketingSMS != nil {
		t.Error("a payment claims a consent")
	}
	if len(d.AddPhones) != 1 || d.AddPhones[0] != "+358501234567" {
		t.Errorf("phones %v", d.AddPhones)
	}
	want := []customer.Address{
		{Type: customer.Delivery, StreetAddress1: "Hämeenkatu 6 B", PostalCode: "33100", City: "Tampere", Country: "FI"},
		{Type: customer.Invoice, StreetAddress1: "Testikatu 1", PostalCode: "00510", City: "Helsinki", Country: "FI"},
	}
	if len(d.AddAddresses) != 2 || d.AddAddresses[0] != want[0] || d.AddAddresses[1] != want[1] {
		t.Errorf("addresses %+v, want %+v", d.AddAddresses, want)
	}
}

func TestParseCompany(t *testing.T) {
	c := newConnector(t, "")
	body := strings.Replace(string(fixture(t)), `"vatId": "FI12345671"`, `"vatId": "FI12345671", "companyName": "Esimerkki Oy"`, 1)
	drafts, err := c.Parse(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	p := drafts[0].Patch
	if p.Type.Value() != customer.Company || p.CompanyName.Value() != "Esimerkki Oy" || p.BusinessID.Value() != "1234567-1" || p.VATNumber.Value() != "FI12345671" {
		t.Errorf("company %v %v %v %v", p.Type, p.CompanyName, p.BusinessID, p.VATNumber)
	}
	// A foreign VAT id gives no business id: the payer stays a person.
	body = strings.Replace(body, `"FI12345671"`, `"SE556677889901"`, 1)
	drafts, err = c.Parse(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p := drafts[0].Patch; !p.Type.IsKeep() || !p.CompanyName.IsKeep() || !p.BusinessID.IsKeep() {
		t.Errorf("a foreign VAT id made a company: %v %v %v", p.Type, p.CompanyName, p.BusinessID)
	}
}

// Only ok payments count; the others are processed with no change, with
// or without the payment request.
func TestParseOtherStatuses(t *testing.T) {
	c := newConnector(t, "")
	for _, st := range []string{"pending", "delayed", "fail"} {
		body := withCallback(t, func(cb map[string]string) { cb["checkout-status"] = st }, secret)
		drafts, err := c.Parse(nil, body)
		if err != nil || len(drafts) != 0 {
			t.Errorf("%s: %d drafts, %v; want none", st, len(drafts), err)
		}
		var d map[string]any
		_ = json.Unmarshal(body, &d)
		delete(d, "payment")
		body, _ = json.Marshal(d)
		if drafts, err := c.Parse(nil, body); err != nil || len(drafts) != 0 {
			t.Errorf("%s without payment: %d drafts, %v; want none", st, len(drafts), err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, "")
	base := string(fixture(t))
	long := strings.Repeat("Erja", 100_000)
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not JSON", `{"callback":`, "ends early"},
		{"syntax", `{"callback" 1}`, "invalid JSON at byte"},
		{"an array", `[1]`, "the body: must be"},
		{"trailing data", base + `{}`, "after the JSON object"},
		{"unknown member", strings.Replace(base, `"callback":`, `"customer":{"email":"Erja"},"callback":`, 1), `unknown member "customer"`},
		{"callback value not a string", strings.Replace(base, `"checkout-amount": "2964"`, `"checkout-amount": 2964`, 1), "callback: must be a string, not number"},
		{"payment of the wrong type", strings.Replace(base, `"amount": 2964`, `"amount": "2964"`, 1), "payment.amount: must be an integer"},
		{"customer of the wrong type", strings.Replace(base, `"firstName": "Erja"`, `"firstName": ["Erja"]`, 1), "payment.customer.firstName: must be a string"},
		{"no callback", `{"payment":{}}`, "callback: is required"},
		{"no transaction id", strings.Replace(base, `"checkout-transaction-id"`, `"checkout-transaction"`, 1), "callback.checkout-transaction-id: is required"},
		{"no status", strings.Replace(base, `"checkout-status"`, `"checkout-state"`, 1), "callback.checkout-status: is required"},
		{"huge transaction id", strings.Replace(base, "4b300af6-9a22-11e8-9184-abb6de7fd2d0", long, 1), "checkout-transaction-id: must be at most 100"},
		{"ok without payment", strings.Replace(base, `"payment":`, `"payment": null, "x":`, 1), `unknown member "x"`},
		{"ok with null payment", `{"callback":{"checkout-transaction-id":"t","checkout-status":"ok"},"payment":null}`, "payment: is required when checkout-status is ok"},
		{"another payment's stamp", strings.Replace(base, `"stamp": "15336332710015"`, `"stamp": "1"`, 1), "payment.stamp: is not the callback's checkout-stamp"},
		{"another payment's amount", strings.Replace(base, `"amount": 2964`, `"amount": 100`, 1), "payment.amount: is not the callback's checkout-amount"},
		{"no customer", strings.Replace(base, `"customer":`, `"buyer":`, 1), "payment.customer: is required"},
		{"huge first name", strings.Replace(base, `"firstName": "Erja"`, `"firstName": "`+long+`"`, 1), "payment.customer.firstName: must be at most 50 characters"},
		{"huge email", strings.Replace(base, `"email": "erja.esimerkki@example.org"`, `"email": "`+long+`@example.org"`, 1), "payment.customer.email: must be at most 200"},
		{"huge street", strings.Replace(base, `"Testikatu 1"`, `"`+long+`"`, 1), "payment.invoicingAddress.streetAddress: must be at most 50"},
		{"country not alpha-2", strings.Replace(base, `"country": "FI"`, `"country": "Suomi"`, 1), "payment.deliveryAddress.country: must be at most 2"},
		{"language", strings.Replace(base, `"language": "FI"`, `"language": "DE"`, 1), "payment.language: must be FI, SV or EN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(nil, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %.300v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Erja") || len(err.Error()) > 500 {
				t.Errorf("the error shows a value of the body: %.300v", err)
			}
		})
	}
	// Parse's own errors about the data are validation errors naming the member.
	_, err := c.Parse(nil, []byte(strings.Replace(base, `"stamp": "15336332710015"`, `"stamp": "1"`, 1)))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
