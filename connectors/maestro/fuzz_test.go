package maestro_test

import (
	"fmt"
	"os"
	"testing"

	"kirjuri/connectors/maestro"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
)

// FuzzParse feeds Parse any body as CSV and as JSON. It must never panic;
// what it accepts is drafts the register can take (a Maestro link with an
// id, the configured trust, no consents, no more than maxRows), and it
// answers the same body the same way twice (no map order in its errors).
// Inputs that once broke it are kept in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"asiakkaat.csv", "asiakkaat.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, name == "asiakkaat.json")
	}
	f.Add([]byte("sep=;\r\nAsiakasnro;Etunimi;Puhelin\r\n7;\"A\"\"b\";040 1234567\r\n"), false)
	f.Add([]byte("Asiakasnro,Katuosoite,Postinumero,Postitoimipaikka,Muokattu\n1,Katu 1,00100,Helsinki,1.3.2024 klo 12.00\n"), false)
	f.Add([]byte(`{"customers":[{"Asiakasnro":1,"Luotto":true,"Kieli":null,"Osoite":{"a":1}}]}`), true)
	f.Add([]byte(`[{"Asiakasnro":"1","Muokattu":"2024-03-01T12:00:00+02:00","Tyyppi":"company"}]`), true)

	c := newConnector(f, func(c *maestro.Config) { c.MaxRows = 50 })
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := "text/csv"
		if asJSON {
			ct = "application/json"
		}
		drafts, err := c.Parse(contentType(ct), body)
		again, err2 := c.Parse(contentType(ct), body)
		if fmt.Sprint(err) != fmt.Sprint(err2) || len(drafts) != len(again) {
			t.Fatalf("two answers: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		if len(drafts) > 50 {
			t.Fatalf("%d drafts past maxRows", len(drafts))
		}
		for _, d := range drafts {
			if d.Link.SystemID != customer.Maestro || customer.IsBlank(d.Link.Identifier) || d.Trust != intake.Authoritative {
				t.Fatalf("draft %+v", d)
			}
			if d.MarketingEmail != nil || d.MarketingSMS != nil || !d.Patch.MarketingEmail.IsKeep() ||
				!d.Patch.GDPRRestricted.IsKeep() || !d.Patch.PhoneNumbers.IsKeep() || !d.Patch.Addresses.IsKeep() {
				t.Fatalf("draft sets what a connector may not: %+v", d)
			}
		}
	})
}
