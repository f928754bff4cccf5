package maestro_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/maestro"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

const (
	secret   = "maestro-test-secret-0123456789abcdef0123456789"
	previous = "maestro-previous-secret-0123456789abcdef01234"
)

// exampleConfig maps the columns of testdata/asiakkaat.* (our sample ERP
// export) onto the register's.
func exampleConfig() maestro.Config {
	var c maestro.Config
	maestro.Defaults(&c)
	c.SigningSecret = secret
	c.IDColumn = "Asiakasnro"
	c.UpdatedAtColumn = "Muokattu"
	c.Columns = map[string]string{
		"Tyyppi":           "type",
		"Etunimi":          "firstName",
		"Sukunimi":         "lastName",
		"Yritys":           "companyName",
		"Y-tunnus":         "businessId",
		"Sähköposti":       "email",
		"Kieli":            "language",
		"Luotto":           "creditAllowed",
		"Puhelin":          "phoneNumber:1",
		"Matkapuhelin":     "phoneNumber:2",
		"Katuosoite":       "address:1:streetAddress1",
		"Postinumero":      "address:1:postalCode",
		"Postitoimipaikka": "address:1:city",
		"Maa":              "address:1:country",
	}
	c.AddressTypes = []string{"Invoice"}
	return c
}

func newConnector(t testing.TB, edit func(*maestro.Config)) *maestro.Connector {
	t.Helper()
	c := exampleConfig()
	if edit != nil {
		edit(&c)
	}
	conn, err := maestro.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contentType(ct string) http.Header {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return h
}

func TestConnectorIdentity(t *testing.T) {
	c := newConnector(t, nil)
	set, err := inbound.NewSet([]inbound.Connector{c})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "maestro" || c.SystemID() != customer.Maestro || set["maestro"] != c {
		t.Errorf("name %q, system %d", c.Name(), c.SystemID())
	}
	if got := c.KeptHeaders(); !reflect.DeepEqual(got, []string{"Content-Type"}) {
		t.Errorf("kept headers %v, want Content-Type (Parse tells CSV from JSON by it)", got)
	}
}

func TestVerify(t *testing.T) {
	c := newConnector(t, nil)
	now := time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC)
	body := fixture(t, "asiakkaat.csv")
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
	withID := func(ids ...string) http.Header {
		h := good.Clone()
		for _, id := range ids {
			h.Add(maestro.HeaderDeliveryID, id)
		}
		return h
	}
	changed := append([]byte(nil), body...)
	changed[40] ^= 1
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string // "" verifies
	}{
		{"correct", good, body, now, ""},
		{"4 min 59 s late", good, body, now.Add(299 * time.Second), ""},
		{"with a delivery id", withID("export-2024-03-01T02:00"), body, now, ""},
		{"wrong secret", delivery.SignCarrier([]byte("another-secret-0123456789abcdef0123456789"), now, body), body, now, "no v1 signature"},
		{"another connector's secret", delivery.SignCarrier([]byte("posti-test-secret-0123456789abcdef0123456789"), now, body), body, now, "no v1 signature"},
		{"body changed after signing", good, changed, now, "no v1 signature"},
		{"body cut after signing", good, body[:len(body)-1], now, "no v1 signature"},
		{"old timestamp", good, body, now.Add(301 * time.Second), "outside the tolerance of 5m0s"},
		{"timestamp from the future", good, body, now.Add(-301 * time.Second), "outside the tolerance"},
		{"timestamp changed", header("t=1709288131," + v1), body, time.Unix(1709288131, 0), "no v1 signature"},
		{"missing header", header(""), body, now, "missing header Kirjuri-Signature"},
		{"no signature", header("t=1709288130"), body, now, "no v1=<hex HMAC-SHA256>"},
		{"empty delivery id", withID(" "), body, now, "Kirjuri-Delivery-Id must be 1 to 200"},
		{"delivery id too long", withID(strings.Repeat("x", 201)), body, now, "Kirjuri-Delivery-Id"},
		{"delivery id with a space", withID("run 7"), body, now, "visible ASCII"},
		{"two delivery ids", withID("a", "b"), body, now, "Kirjuri-Delivery-Id"},
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
			if strings.Contains(err.Error(), secret[:12]) || strings.Contains(err.Error(), strings.TrimPrefix(v1, "v1=")[:16]) {
				t.Fatal("the error shows the secret or the signature")
			}
		})
	}
}

// While the secret is rotated, signatures of either secret verify; after,
// only the new one.
func TestVerifyDuringRotation(t *testing.T) {
	c := newConnector(t, func(c *maestro.Config) { c.PreviousSigningSecret = previous })
	now := time.Now()
	body := []byte(`[]`)
	for _, s := range []string{secret, previous} {
		if err := c.Verify(delivery.SignCarrier([]byte(s), now, body), body, now); err != nil {
			t.Errorf("signed with %s…: %v", s[:12], err)
		}
	}
	c = newConnector(t, nil)
	if err := c.Verify(delivery.SignCarrier([]byte(previous), now, body), body, now); err == nil {
		t.Error("the previous secret verifies when it is not configured")
	}
}

func TestDeliveryKey(t *testing.T) {
	c := newConnector(t, nil)
	body := []byte("Asiakasnro;Etunimi\r\n1;Maija\r\n")
	sum := sha256.Sum256(body)
	h := func(id string) http.Header {
		h := http.Header{}
		if id != "" {
			h.Set(maestro.HeaderDeliveryID, id)
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		want   string
	}{
		{"no id: the inbox keys by the body", h(""), body, ""},
		{"the run's id with the body's digest", h("run-7"), body, "run-7/" + hex.EncodeToString(sum[:])},
		{"trimmed", h("  run-7 "), body, "run-7/" + hex.EncodeToString(sum[:])},
		{"not an id", h("run 7"), body, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.DeliveryKey(tc.header, tc.body); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// An id reused for another file by mistake is another delivery.
	if c.DeliveryKey(h("run-7"), body) == c.DeliveryKey(h("run-7"), append(body, '2')) {
		t.Error("one id with two bodies gives one key: the second file would be lost as a replay")
	}
	if k := c.DeliveryKey(h(strings.Repeat("x", 200)), body); len(k) > 300 {
		t.Errorf("key of %d characters; the inbox keeps 300", len(k))
	}
}

func TestConfigDefaultsAndString(t *testing.T) {
	var d maestro.Config
	maestro.Defaults(&d)
	if d.Tolerance != 5*time.Minute || d.Trust != "authoritative" || d.MaxRows != 10_000 || d.StrictColumns {
		t.Errorf("defaults %v", d)
	}
	c := exampleConfig()
	c.PreviousSigningSecret = previous
	s := c.String()
	if strings.Contains(s, secret[:12]) || strings.Contains(s, previous[:12]) {
		t.Errorf("String shows a secret: %s", s)
	}
	if !strings.Contains(s, "signingSecret: set") || !strings.Contains(s, `idColumn: "Asiakasnro"`) {
		t.Errorf("String %s", s)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the example configuration: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*maestro.Config)
		want []string
	}{
		{"missing secret", func(c *maestro.Config) { c.SigningSecret = "" }, []string{"signingSecret is required", "KIRJURI_CONNECTORS_MAESTRO_SIGNING_SECRET"}},
		{"short secret", func(c *maestro.Config) { c.SigningSecret = "short-secret" }, []string{"signingSecret: must be at least 32 characters"}},
		{"short previous secret", func(c *maestro.Config) { c.PreviousSigningSecret = "short" }, []string{"previousSigningSecret: must be at least 32"}},
		{"tolerance", func(c *maestro.Config) { c.Tolerance = 2 * time.Hour }, []string{"tolerance: must be 1s to 1h"}},
		{"missing idColumn", func(c *maestro.Config) { c.IDColumn = " " }, []string{"idColumn is required"}},
		{"bad trust", func(c *maestro.Config) { c.Trust = "trusted" }, []string{`trust: must be "authoritative" or "observation", not "trusted"`}},
		{"maxRows 0", func(c *maestro.Config) { c.MaxRows = 0 }, []string{"maxRows: must be 1 to 100000, not 0"}},
		{"no columns", func(c *maestro.Config) { c.Columns = nil }, []string{"columns: map at least one source column"}},
		{"unknown target with suggestion", func(c *maestro.Config) { c.Columns["Sähköposti"] = "emial" }, []string{`columns.Sähköposti: "emial": unknown column; did you mean "email"?`}},
		{"unknown address member with suggestion", func(c *maestro.Config) { c.Columns["Postitoimipaikka"] = "address:1:cty" }, []string{`columns.Postitoimipaikka: "address:1:cty": unknown address field; did you mean "city"?`}},
		{"unknown section with suggestion", func(c *maestro.Config) { c.Columns["Puhelin"] = "phonenumbr:1" }, []string{`did you mean "phoneNumber:1"?`}},
		{"JSON name of a field", func(c *maestro.Config) { c.Columns["Kieli"] = "eInvoice.mode" }, []string{`columns.Kieli: "eInvoice.mode" is the field's JSON name; did you mean the column "eInvoiceMode"?`}},
		{"JSON path of an address", func(c *maestro.Config) { c.Columns["Katuosoite"] = "address[1].streetAddress1" }, []string{"name the register's column as a spreadsheet does: address:{index}:{field}"}},
		{"empty target", func(c *maestro.Config) { c.Columns["Kieli"] = "" }, []string{"columns.Kieli: the target is empty"}},
		{"consent refused", func(c *maestro.Config) { c.Columns["Markkinointilupa"] = "marketingEmail" }, []string{`columns.Markkinointilupa: "marketingEmail" is a consent`}},
		{"sms consent refused", func(c *maestro.Config) { c.Columns["Tekstiviestit"] = "marketingSms" }, []string{`"marketingSms" is a consent`}},
		{"restriction refused", func(c *maestro.Config) { c.Columns["Kielto"] = "gdprRestricted" }, []string{`"gdprRestricted" (restriction of processing)`}},
		{"customer number refused", func(c *maestro.Config) { c.Columns["Nro"] = "number" }, []string{`"number" is kirjuri's own customer number`}},
		{"groups refused", func(c *maestro.Config) { c.Columns["Ryhmä"] = "group:vip" }, []string{"groups and customer cards are set through the API"}},
		{"customer cards refused", func(c *maestro.Config) { c.Columns["Kortti"] = "customerCard:1" }, []string{"columns.Kortti"}},
		{"two sources, one target", func(c *maestro.Config) { c.Columns["Email"] = "EMAIL" }, []string{`email is also the target of "Email"`}},
		{"one source twice", func(c *maestro.Config) { c.Columns["etunimi"] = "lastName" }, []string{`is the same source column as "Etunimi"`}},
		{"address without a postal code", func(c *maestro.Config) { delete(c.Columns, "Postinumero") }, []string{"address 1 has columns but none for address:1:postalCode"}},
		{"address without a type", func(c *maestro.Config) { c.AddressTypes = nil }, []string{"address 1 has no type: map a source column to address:1:type, or give addressTypes[0]"}},
		{"bad address type", func(c *maestro.Config) { c.AddressTypes = []string{"Billing"} }, []string{`addressTypes[0]: must be Invoice, Delivery or Home, not "Billing"`}},
		{"address type of no address", func(c *maestro.Config) { c.AddressTypes = []string{"Invoice", "Delivery"} }, []string{"addressTypes[1]: no source column is mapped to address:2"}},
		{"every mistake at once", func(c *maestro.Config) {
			c.SigningSecret, c.IDColumn, c.Trust = "", "", "x"
			c.Columns["A"] = "marketingEmail"
		}, []string{"signingSecret is required", "idColumn is required", "trust:", "columns.A:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := exampleConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("valid")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
			if _, nerr := maestro.New(c); nerr == nil || nerr.Error() != err.Error() {
				t.Errorf("New: %v, want the error of Validate", nerr)
			}
		})
	}
}

// Every accepted spelling of the configuration is one mapping: targets in
// any case, a type column instead of addressTypes, observation in capitals.
func TestConfigAccepts(t *testing.T) {
	c := exampleConfig()
	c.Columns["Kieli"] = " LANGUAGE "
	c.Columns["Osoitetyyppi"] = "address:1:type"
	c.AddressTypes = nil
	c.Trust = "Observation"
	c.Columns["Asiakasnro"] = "externalId" // the id shown as the external id too
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The drafts of testdata/asiakkaat.csv, field by field.
func wantDrafts() []intake.Draft {
	return []intake.Draft{
		{
			Link:            customer.ExternalLink{SystemID: customer.Maestro, Identifier: "10001"},
			Trust:           intake.Authoritative,
			SourceUpdatedAt: time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC), // 12.00 EET
			Patch: customer.Patch{
				Type:          customer.Set(customer.Person),
				FirstName:     customer.Set("Maija"),
				LastName:      customer.Set("Meikäläinen"),
				Email:         customer.Set("maija.meikalainen@example.fi"),
				Language:      customer.Set(customer.Finnish),
				CreditAllowed: customer.Set(true),
			},
			AddPhones: []string{"09 123 4567", "040 123 4567"},
			AddAddresses: []customer.Address{{
				Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1 A 2", PostalCode: "00100", City: "Helsinki", Country: "FI",
			}},
		},
		{
			Link:            customer.ExternalLink{SystemID: customer.Maestro, Identifier: "10002"},
			Trust:           intake.Authoritative,
			SourceUpdatedAt: time.Date(2024, 3, 2, 7, 30, 0, 0, time.UTC),
			Patch: customer.Patch{
				Type:          customer.Set(customer.Company),
				CompanyName:   customer.Set("Rakennus Oy Virtanen; Tampere"),
				BusinessID:    customer.Set("2077474-0"),
				Email:         customer.Set("laskutus@example.com"),
				Language:      customer.Set(customer.Swedish),
				CreditAllowed: customer.Set(false),
			},
			AddAddresses: []customer.Address{{
				Type: customer.Invoice, StreetAddress1: "Hämeenkatu 10", PostalCode: "33100", City: "Tampere",
			}},
		},
		{
			Link:  customer.ExternalLink{SystemID: customer.Maestro, Identifier: "10003"},
			Trust: intake.Authoritative,
			Patch: customer.Patch{
				FirstName: customer.Set("Matti"),
				LastName:  customer.Set("Virtanen"),
			},
			AddPhones: []string{"+358 50 765 4321"},
		},
	}
}

func checkDrafts(t *testing.T, got, want []intake.Draft) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d drafts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Link != w.Link || g.Trust != w.Trust || !g.SourceUpdatedAt.Equal(w.SourceUpdatedAt) {
			t.Errorf("draft %d: link %v trust %v at %v, want %v %v %v", i, g.Link, g.Trust, g.SourceUpdatedAt, w.Link, w.Trust, w.SourceUpdatedAt)
		}
		if !reflect.DeepEqual(g.Patch, w.Patch) {
			t.Errorf("draft %d: patch\n%+v\nwant\n%+v", i, g.Patch, w.Patch)
		}
		if !reflect.DeepEqual(g.AddPhones, w.AddPhones) || !reflect.DeepEqual(g.AddAddresses, w.AddAddresses) {
			t.Errorf("draft %d: phones %q addresses %+v, want %q %+v", i, g.AddPhones, g.AddAddresses, w.AddPhones, w.AddAddresses)
		}
		if g.MarketingEmail != nil || g.MarketingSMS != nil {
			t.Errorf("draft %d claims consents", i)
		}
	}
}

func TestParseCSVFixture(t *testing.T) {
	c := newConnector(t, nil)
	got, err := c.Parse(contentType("text/csv; charset=utf-8"), fixture(t, "asiakkaat.csv"))
	if err != nil {
		t.Fatal(err)
	}
	checkDrafts(t, got, wantDrafts())
}

func TestParseJSONFixture(t *testing.T) {
	c := newConnector(t, nil)
	got, err := c.Parse(contentType("application/json"), fixture(t, "asiakkaat.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkDrafts(t, got, wantDrafts())
}

func TestParseObservation(t *testing.T) {
	c := newConnector(t, func(c *maestro.Config) { c.Trust = "observation" })
	got, err := c.Parse(contentType("text/csv"), fixture(t, "asiakkaat.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := wantDrafts()
	for i := range want {
		want[i].Trust = intake.Observation
	}
	checkDrafts(t, got, want)
}

// The forms a CSV file comes in all give the same draft.
func TestParseCSVForms(t *testing.T) {
	c := newConnector(t, nil)
	want := []intake.Draft{{
		Link:  customer.ExternalLink{SystemID: customer.Maestro, Identifier: "7"},
		Trust: intake.Authoritative,
		Patch: customer.Patch{FirstName: customer.Set("Maija"), LastName: customer.Set("Meikäläinen, jr")},
	}}
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"semicolons", "text/csv", "Asiakasnro;Etunimi;Sukunimi\n7;Maija;\"Meikäläinen, jr\"\n"},
		{"commas", "text/csv", "Asiakasnro,Etunimi,Sukunimi\n7,Maija,\"Meikäläinen, jr\"\n"},
		{"CRLF", "text/csv", "Asiakasnro;Etunimi;Sukunimi\r\n7;Maija;\"Meikäläinen, jr\"\r\n"},
		{"byte order mark", "text/csv", "\ufeffAsiakasnro;Etunimi;Sukunimi\r\n7;Maija;\"Meikäläinen, jr\"\r\n"},
		{"no final line break", "text/csv", "Asiakasnro;Etunimi;Sukunimi\n7;Maija;\"Meikäläinen, jr\""},
		{"every field quoted", "text/csv", "\"Asiakasnro\";\"Etunimi\";\"Sukunimi\"\n\"7\";\"Maija\";\"Meikäläinen, jr\"\n"},
		{"quoted header with the other separator", "text/csv", "Asiakasnro;\"Etunimi, virallinen\";Etunimi;Sukunimi\n7;;Maija;\"Meikäläinen, jr\"\n"},
		{"Excel's separator line", "text/csv", "sep=,\r\nAsiakasnro,Etunimi,Sukunimi\r\n7,Maija,\"Meikäläinen, jr\"\r\n"},
		{"headers in another case, with spaces", "application/csv", " ASIAKASNRO ;etunimi;SUKUNIMI\n7;Maija;\"Meikäläinen, jr\"\n"},
		{"unmapped columns ignored", "text/csv", "Asiakasnro;Etunimi;Huom;Sukunimi;Saldo\n7;Maija;\"muistiinpano; \"\"tärkeä\"\"\";\"Meikäläinen, jr\";12,50\n"},
		{"mapped columns missing keep the field", "text/csv", "Sukunimi;Asiakasnro;Etunimi\n\"Meikäläinen, jr\";7;Maija\n"},
		{"empty cells keep the field", "text/csv", "Asiakasnro;Etunimi;Sukunimi;Sähköposti;Luotto;Puhelin;Katuosoite;Muokattu\n7;Maija;\"Meikäläinen, jr\";;;  ;;\n"},
		{"blank rows skipped", "text/csv", "Asiakasnro;Etunimi;Sukunimi\n\n;;\n7;Maija;\"Meikäläinen, jr\"\n;;\n"},
		{"a line break in a quoted field", "text/csv", "Asiakasnro;Huom;Etunimi;Sukunimi\n7;\"rivi 1\nrivi 2\";Maija;\"Meikäläinen, jr\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Parse(contentType(tc.contentType), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			checkDrafts(t, got, want)
		})
	}
}

// Both JSON shapes, and every kind of value.
func TestParseJSONShapes(t *testing.T) {
	c := newConnector(t, nil)
	want := []intake.Draft{{
		Link:  customer.ExternalLink{SystemID: customer.Maestro, Identifier: "7"},
		Trust: intake.Authoritative,
		Patch: customer.Patch{FirstName: customer.Set("Maija"), LastName: customer.Set("Meikäläinen"), CreditAllowed: customer.Set(true)},
	}}
	for _, tc := range []struct {
		name, contentType, body string
	}{
		{"array", "application/json", `[{"Asiakasnro": "7", "Etunimi": "Maija", "Sukunimi": "Meikäläinen", "Luotto": true}]`},
		{"object", "application/json", `{"customers": [{"Asiakasnro": "7", "Etunimi": "Maija", "Sukunimi": "Meikäläinen", "Luotto": "kyllä"}]}`},
		{"number as the id", "application/json", `[{"Asiakasnro": 7, "Etunimi": "Maija", "Sukunimi": "Meikäläinen", "Luotto": 1}]`},
		{"null keeps", "application/json", `[{"Asiakasnro": "7", "Etunimi": "Maija", "Sukunimi": "Meikäläinen", "Luotto": true, "Sähköposti": null, "Puhelin": null}]`},
		{"names in another case", "application/vnd.maestro+json", `[{"asiakasnro": "7", "ETUNIMI": "Maija", " Sukunimi ": "Meikäläinen", "luotto": "TRUE"}]`},
		{"unmapped members ignored", "application/json; charset=UTF-8", "\ufeff" + `[{"Asiakasnro": "7", "Saldo": 12.5, "Etunimi": "Maija", "Sukunimi": "Meikäläinen", "Luotto": true, "Huom": false}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Parse(contentType(tc.contentType), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			checkDrafts(t, got, want)
		})
	}
	for _, body := range []string{`[]`, `{"customers": []}`, "Asiakasnro;Etunimi\r\n"} {
		ct := "application/json"
		if !strings.HasPrefix(body, "[") && !strings.HasPrefix(body, "{") {
			ct = "text/csv"
		}
		got, err := c.Parse(contentType(ct), []byte(body))
		if err != nil || len(got) != 0 {
			t.Errorf("%q: %v, %v; want no drafts and no error", body, got, err)
		}
	}
}

func TestParseUpdatedAt(t *testing.T) {
	c := newConnector(t, nil)
	for _, tc := range []struct {
		give string
		want time.Time
	}{
		{"2024-03-01T12:00:00+02:00", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-03-01T10:00:00Z", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-03-01 12:00:00.250+02:00", time.Date(2024, 3, 1, 10, 0, 0, 250e6, time.UTC)},
		{"2024-03-01T12:00:00", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)}, // EET
		{"2024-07-01 12:00", time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC)},     // EEST
		{"2024-07-01", time.Date(2024, 6, 30, 21, 0, 0, 0, time.UTC)},
		{"1.3.2024", time.Date(2024, 2, 29, 22, 0, 0, 0, time.UTC)},
		{"01.03.2024 12.00", time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)},
		{"1.7.2024 9.05.30", time.Date(2024, 7, 1, 6, 5, 30, 0, time.UTC)},
		{"1.7.2024 09:05", time.Date(2024, 7, 1, 6, 5, 0, 0, time.UTC)},
		{" 1.7.2024  klo 9.05 ", time.Date(2024, 7, 1, 6, 5, 0, 0, time.UTC)},
		{"31.3.2024 04.00", time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)},    // the first hour of summer time
		{"27.10.2024 03.30", time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC)}, // the hour that comes twice: the first
		{"27.10.2024 04.00", time.Date(2024, 10, 27, 2, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.give, func(t *testing.T) {
			got, err := c.Parse(contentType("text/csv"), []byte("Asiakasnro;Etunimi;Muokattu\n7;Maija;"+tc.give+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			if at := got[0].SourceUpdatedAt; !at.Equal(tc.want) || at.Location() != time.UTC {
				t.Errorf("got %v, want %v", at, tc.want)
			}
		})
	}
}
