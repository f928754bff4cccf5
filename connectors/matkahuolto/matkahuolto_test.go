package matkahuolto_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/matkahuolto"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
)

const (
	secret   = "matkahuolto-test-secret-0123456789abcdef012"
	previous = "matkahuolto-previous-secret-0123456789abcdef"
)

func newConnector(t *testing.T, cfg matkahuolto.Config) *matkahuolto.Connector {
	t.Helper()
	if cfg.Secret == "" {
		cfg.Secret = secret
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = delivery.DefaultTolerance // not Defaults: it would set SplitNames
	}
	c, err := matkahuolto.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/shipment_request.xml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	c := newConnector(t, matkahuolto.Config{PreviousSecret: previous})
	now := time.Date(2024, 3, 1, 10, 15, 30, 0, time.UTC)
	body := fixture(t)
	good := delivery.SignCarrier([]byte(secret), now, body)
	changed := []byte(strings.Replace(string(body), "maija@example.fi", "maija@example.com", 1))
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string
	}{
		{"correct", good, body, now, ""},
		{"previous secret", delivery.SignCarrier([]byte(previous), now, body), body, now, ""},
		{"wrong secret", delivery.SignCarrier([]byte("posti-test-secret-0123456789abcdef0123456789"), now, body), body, now, "no v1 signature"},
		{"body changed after signing", good, changed, now, "no v1 signature"},
		{"stale", good, body, now.Add(6 * time.Minute), "outside the tolerance"},
		{"missing", http.Header{}, body, now, "missing header Kirjuri-Signature"},
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
			if strings.Contains(err.Error(), secret[:12]) {
				t.Fatal("the error shows the secret")
			}
		})
	}
	if k := c.DeliveryKey(good, body); k != "" {
		t.Errorf("delivery key %q, want \"\" (the inbox's digest of the body)", k)
	}
}

func TestConfig(t *testing.T) {
	var d matkahuolto.Config
	matkahuolto.Defaults(&d)
	if !d.SplitNames || d.Tolerance != 5*time.Minute {
		t.Errorf("defaults %v, want splitNames and 5m", d)
	}
	for _, tc := range []struct {
		cfg  matkahuolto.Config
		want string
	}{
		{matkahuolto.Config{}, "secret is required"},
		{matkahuolto.Config{Secret: "short-secret"}, "at least 32 characters"},
		{matkahuolto.Config{Secret: secret, PreviousSecret: "short-previous"}, "previousSecret"},
		{matkahuolto.Config{Secret: secret, Tolerance: time.Millisecond}, "tolerance"},
	} {
		if tc.cfg.Tolerance == 0 {
			matkahuolto.Defaults(&tc.cfg)
		}
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "short-") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	if s := (matkahuolto.Config{Secret: secret, PreviousSecret: previous}).String(); strings.Contains(s, secret[:12]) || strings.Contains(s, previous[:12]) {
		t.Errorf("String shows a secret: %s", s)
	}
}

func TestParseEveryField(t *testing.T) {
	for _, split := range []bool{false, true} {
		c := newConnector(t, matkahuolto.Config{SplitNames: split})
		drafts, err := c.Parse(nil, fixture(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(drafts) != 2 {
			t.Fatalf("%d drafts, want one per Shipment (2)", len(drafts))
		}
		for i, want := range []struct {
			ref, first, last, email, phone string
			addr                           customer.Address
		}{
			{"10001", "Maija", "Meikäläinen", "maija@example.fi", "358401234567",
				customer.Address{Type: customer.Delivery, StreetAddress1: "Esimerkkikatu 1", PostalCode: "00100", City: "Helsinki", Country: "FI"}},
			// ReceiverContactName is the person; ReceiverName1 (the
			// company) and ReceiverName2 (c/o) are not names of a person.
			{"10002", "Matti", "Virtanen", "matti@example.fi", "0501234567",
				customer.Address{Type: customer.Delivery, StreetAddress1: "Teollisuustie 7", PostalCode: "33100", City: "Tampere", Country: "FI"}},
		} {
			d := drafts[i]
			if d.Link != (customer.ExternalLink{SystemID: customer.Matkahuolto, Identifier: want.ref}) || d.Trust != intake.Observation {
				t.Errorf("%d: link %v trust %v", i, d.Link, d.Trust)
			}
			// ShipmentDate is a day, not an update time: no source time.
			if !d.SourceUpdatedAt.IsZero() {
				t.Errorf("%d: source time %v", i, d.SourceUpdatedAt)
			}
			p := d.Patch
			if p.Email.Value() != want.email {
				t.Errorf("%d: email %v", i, p.Email)
			}
			if split {
				if p.FirstName.Value() != want.first || p.LastName.Value() != want.last {
					t.Errorf("%d: names %v %v", i, p.FirstName, p.LastName)
				}
			} else if !p.FirstName.IsKeep() || !p.LastName.IsKeep() {
				t.Errorf("%d: names taken without splitNames", i)
			}
			if !p.CompanyName.IsKeep() {
				t.Errorf("%d: company name %v", i, p.CompanyName)
			}
			if len(d.AddPhones) != 1 || d.AddPhones[0] != want.phone {
				t.Errorf("%d: phones %v", i, d.AddPhones)
			}
			// The receiver's address as a Delivery address; the pickup
			// point (DestinationPlaceCode) is none.
			if len(d.AddAddresses) != 1 || d.AddAddresses[0] != want.addr {
				t.Errorf("%d: addresses %+v", i, d.AddAddresses)
			}
			if d.MarketingEmail != nil || d.MarketingSMS != nil {
				t.Errorf("%d: consents claimed", i)
			}
			q := p
			q.Email, q.FirstName, q.LastName = customer.Keep[string](), customer.Keep[string](), customer.Keep[string]()
			if !q.IsEmpty() {
				t.Errorf("%d: the patch sets more than names and email: %+v", i, q)
			}
		}
	}
}

func TestParseVariants(t *testing.T) {
	c := newConnector(t, matkahuolto.Config{SplitNames: true})
	// ISO-8859-1, a pickup point shipment without a street address, no
	// contact name: ReceiverName1 is the name.
	latin1 := append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`+"\n<MHShipmentRequest><Shipment><SenderReference>7</SenderReference><ReceiverName1>Maija Meik"),
		0xe4, 'l', 0xe4, 'i', 'n', 'e', 'n')
	latin1 = append(latin1, []byte(`</ReceiverName1><ReceiverPostal>00100</ReceiverPostal><ReceiverCity>Helsinki</ReceiverCity>`+
		`<ReceiverContactNumber>+358401234567</ReceiverContactNumber><DestinationPlaceCode>1234</DestinationPlaceCode></Shipment></MHShipmentRequest>`+"\n<!-- end -->\n")...)
	ds, err := c.Parse(nil, latin1)
	if err != nil {
		t.Fatal(err)
	}
	d := ds[0]
	if d.Patch.LastName.Value() != "Meikäläinen" || d.Patch.FirstName.Value() != "Maija" || len(d.AddAddresses) != 0 || d.Patch.Email.IsSet() {
		t.Errorf("draft %+v", d)
	}
}

func TestParseRefuses(t *testing.T) {
	c := newConnector(t, matkahuolto.Config{})
	long := strings.Repeat("Maija", 60)
	shipment := func(inner string) string {
		return `<MHShipmentRequest><Version>2.0</Version><Shipment>` + inner + `</Shipment></MHShipmentRequest>`
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"empty", ``, "holds no XML element"},
		{"JSON", `{"ReceiverName1":"Maija"}`, "holds no XML element"},
		{"unclosed", `<MHShipmentRequest><Shipment><ReceiverName1>Maija</ReceiverName1>`, "ends early"},
		{"mismatched", `<MHShipmentRequest><Shipment><ReceiverName1>Maija</Maija></Shipment></MHShipmentRequest>`, "invalid XML at line 1"},
		{"unknown entity", shipment(`<SenderReference>1</SenderReference><ReceiverName1>&maija;</ReceiverName1>`), "invalid XML"},
		{"other root", `<Maija><Shipment><SenderReference>1</SenderReference></Shipment></Maija>`, "its root element is another"},
		{"trailing data", shipment(`<SenderReference>1</SenderReference>`) + `<Maija/>`, "data after the root element"},
		{"other encoding", `<?xml version="1.0" encoding="Shift_JIS"?>` + shipment(`<SenderReference>1</SenderReference>`), "an encoding other than UTF-8 or ISO-8859-1"},
		{"no shipment", `<MHShipmentRequest><Version>2.0</Version></MHShipmentRequest>`, "Shipment: is required"},
		{"too many", `<MHShipmentRequest>` + strings.Repeat(`<Shipment><SenderReference>1</SenderReference></Shipment>`, 101) + `</MHShipmentRequest>`, "holds 101 shipments; at most 100"},
		{"no reference", shipment(`<ReceiverName1>Maija</ReceiverName1><ReceiverEmail>a@b.fi</ReceiverEmail>`), "Shipment[0].SenderReference: is required"},
		{"huge name", shipment(`<SenderReference>1</SenderReference><ReceiverName1>` + long + `</ReceiverName1>`), "Shipment[0].ReceiverName1: must be at most 255 characters"},
		{"huge reference", shipment(`<SenderReference>` + long + `</SenderReference>`), "Shipment[0].SenderReference: must be at most 255 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Parse(nil, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "Maija") || strings.Contains(err.Error(), "Shift_JIS") {
				t.Errorf("the error shows a value of the body: %v", err)
			}
		})
	}
	_, err := c.Parse(nil, []byte(shipment(`<ReceiverEmail>a@b.fi</ReceiverEmail>`)))
	if _, ok := err.(*fault.Validation); !ok {
		t.Errorf("got %T, want *fault.Validation", err)
	}
}
