package maestro_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/connectors/maestro"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports/inbound"
	"kirjuri/ports/porttest/memstore"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

type newIDs struct{}

func (newIDs) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// The drafts go through the register as the delivery worker hands them
// over: the register accepts every draft the connector makes (no list in
// the patch, no consent), a cell means what it means in a spreadsheet, an
// empty cell keeps the field, and an older row changes nothing.
func TestIngestThroughTheRegister(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	svc := register.New(store, fixedClock{time.Date(2024, 3, 5, 8, 0, 0, 0, time.UTC)}, newIDs{})
	c := newConnector(t, nil)
	origin := consent.Origin{Source: consent.SourceConnector, SourceSystemID: int(c.SystemID()), Actor: inbound.Actor(c)}
	ingest := func(ct, body string) []intake.Outcome {
		t.Helper()
		drafts, err := c.Parse(contentType(ct), []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		var out []intake.Outcome
		for _, d := range drafts {
			res, err := svc.Ingest(ctx, d, origin)
			if err != nil {
				t.Fatalf("%s: %v", d.Link, err)
			}
			out = append(out, res.Outcome)
		}
		return out
	}
	get := func(id string) customer.Data {
		t.Helper()
		cu, err := store.GetByExternal(ctx, customer.ExternalLink{SystemID: customer.Maestro, Identifier: id})
		if err != nil {
			t.Fatal(err)
		}
		return cu.Data()
	}

	csv := string(fixture(t, "asiakkaat.csv"))
	if got := ingest("text/csv", csv); !slices.Equal(got, []intake.Outcome{intake.Created, intake.Created, intake.Created}) {
		t.Fatalf("first delivery: %v", got)
	}
	maija := get("10001")
	if maija.FirstName != "Maija" || maija.LastName != "Meikäläinen" || maija.Email != "maija.meikalainen@example.fi" ||
		maija.Language != customer.Finnish || !maija.CreditAllowed || maija.Type != customer.Person {
		t.Errorf("10001: %+v", maija)
	}
	if !slices.Equal(maija.PhoneNumbers, []string{"+35891234567", "+358401234567"}) {
		t.Errorf("10001 phones %q", maija.PhoneNumbers)
	}
	if len(maija.Addresses) != 1 || maija.Addresses[0] != (customer.Address{
		Type: customer.Invoice, StreetAddress1: "Esimerkkikatu 1 A 2", PostalCode: "00100", City: "Helsinki", Country: "FI",
	}) {
		t.Errorf("10001 addresses %+v", maija.Addresses)
	}
	if !slices.Equal(maija.ExternalSystems, []customer.ExternalLink{{SystemID: customer.Maestro, Identifier: "10001"}}) {
		t.Errorf("10001 links %v", maija.ExternalSystems)
	}
	if maija.MarketingEmail || maija.MarketingSMS {
		t.Error("10001 has consents the export never gave")
	}
	firm := get("10002")
	if firm.Type != customer.Company || firm.CompanyName != "Rakennus Oy Virtanen; Tampere" || firm.BusinessID != "2077474-0" ||
		firm.Language != customer.Swedish || firm.CreditAllowed {
		t.Errorf("10002: %+v", firm)
	}

	// The same export again changes nothing.
	if got := ingest("application/json", string(fixture(t, "asiakkaat.json"))); !slices.Equal(got, []intake.Outcome{intake.Unchanged, intake.Unchanged, intake.Unchanged}) {
		t.Errorf("the same customers as JSON: %v", got)
	}
	// An older row changes nothing; a newer one sets what it gives and
	// keeps what its empty cells do not say.
	head := "Asiakasnro;Etunimi;Sähköposti;Puhelin;Muokattu\r\n"
	if got := ingest("text/csv", head+"10001;Maikki;;;29.2.2024 23.59\r\n"); !slices.Equal(got, []intake.Outcome{intake.Stale}) {
		t.Errorf("older row: %v", got)
	}
	if got := get("10001").FirstName; got != "Maija" {
		t.Errorf("an older row changed the first name to %q", got)
	}
	if got := ingest("text/csv", head+"10001;Maikki;;050 111 2222;2024-03-04T10:00:00Z\r\n"); !slices.Equal(got, []intake.Outcome{intake.Updated}) {
		t.Errorf("newer row: %v", got)
	}
	maija = get("10001")
	if maija.FirstName != "Maikki" || maija.Email != "maija.meikalainen@example.fi" ||
		!slices.Equal(maija.PhoneNumbers, []string{"+35891234567", "+358401234567", "+358501112222"}) {
		t.Errorf("after the newer row: %q %q %q", maija.FirstName, maija.Email, maija.PhoneNumbers)
	}
}

// An observation only fills what is empty.
func TestIngestObservation(t *testing.T) {
	ctx := context.Background()
	store := memstore.New()
	svc := register.New(store, fixedClock{time.Date(2024, 3, 5, 8, 0, 0, 0, time.UTC)}, newIDs{})
	auth := newConnector(t, nil)
	obs := newConnector(t, func(c *maestro.Config) { c.Trust = "observation" })
	origin := consent.Origin{Source: consent.SourceConnector, SourceSystemID: 1, Actor: "connector:maestro"}
	for _, step := range []struct {
		c    *maestro.Connector
		body string
	}{
		{auth, "Asiakasnro;Etunimi;Sukunimi;Sähköposti\n5;Maija;Meikäläinen;\n"},
		{obs, "Asiakasnro;Etunimi;Sukunimi;Sähköposti\n5;Maikki;Meikäläinen;maija@example.fi\n"},
	} {
		drafts, err := step.c.Parse(contentType("text/csv"), []byte(step.body))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Ingest(ctx, drafts[0], origin); err != nil {
			t.Fatal(err)
		}
	}
	cu, err := store.GetByExternal(ctx, customer.ExternalLink{SystemID: customer.Maestro, Identifier: "5"})
	if err != nil {
		t.Fatal(err)
	}
	if d := cu.Data(); d.FirstName != "Maija" || d.Email != "maija@example.fi" {
		t.Errorf("after the observation: %q %q", d.FirstName, d.Email)
	}
}
