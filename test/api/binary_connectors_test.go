package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports/delivery"
)

// TestBinaryTwoConnectors drives the real binary with two connectors
// enabled by its configuration file, on the real PostgreSQL and ClickHouse:
// a shipment's receiver comes in through Posti (an observation: a new
// customer, no consents), then the same person's account through the web
// store (authoritative, with the email consent it captured). The end is one
// customer carrying both links, whose consent event names the web store as
// its source system in the history and in the audit log.
func TestBinaryTwoConnectors(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDatabase(t)
	chURL := chtest.NewDatabase(t)
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "kirjuri.yaml")
	cfg := "clickhouse:\n  url: " + chURL + "\n  relay:\n    interval: 50ms\n" +
		"log:\n  format: json\n" +
		"connectors:\n" +
		"  webstore:\n    enabled: true\n" + // its secret comes from the environment
		"  posti:\n    enabled: true\n    secret: " + postiSecret + "\n" +
		"  woocommerce:\n    enabled: false\n" // a disabled section costs nothing
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	c := newCLI(t, map[string]string{
		"KIRJURI_MODE":                               "production",
		"KIRJURI_DATABASE_URL":                       dbURL,
		"KIRJURI_HTTP_ADDR":                          addr,
		"KIRJURI_BOOTSTRAP_API_KEY":                  bootstrapSecret,
		"KIRJURI_ENCRYPTION_KEY":                     randomKey(),
		"KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET": webstoreSecret,
	})
	conf := "--config=" + cfgFile
	if code, out, errOut := c.run(conf, "migrate"); code != 0 {
		t.Fatalf("kirjuri migrate: exit %d\n%s%s", code, out, errOut)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var logs bytes.Buffer
	srv := c.command(ctx, conf, "serve")
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("kirjuri serve output:\n%s", logs.String())
		}
	}()
	e := &env{t: t, base: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	waitReady(t, e, done)

	// Both connectors are listed; the disabled one is not.
	list := decode[struct {
		Items []struct {
			Name     string `json:"name"`
			SystemID int    `json:"systemId"`
		} `json:"items"`
	}](t, e.want(e.get("/v1/connectors", bootstrapSecret), http.StatusOK))
	var names []string
	for _, it := range list.Items {
		names = append(names, it.Name)
	}
	if strings.Join(names, ",") != "posti,webstore" {
		t.Errorf("enabled connectors %v, want posti and webstore", names)
	}

	// 1. Posti: the receiver of a shipment.
	order, err := os.ReadFile("../../connectors/posti/testdata/order.json")
	if err != nil {
		t.Fatal(err)
	}
	h := delivery.SignCarrier([]byte(postiSecret), time.Now(), order)
	e.want(e.do(req{method: http.MethodPost, path: "/v1/connectors/posti/webhook", body: order,
		header: map[string]string{delivery.HeaderCarrierSignature: h.Get(delivery.HeaderCarrierSignature)}}), http.StatusAccepted)
	var first Customer
	eventually(t, "the Posti receiver stored", func() bool {
		r := e.get("/v1/customers/by-external/2/10001", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &first) == nil
	})
	if first.MarketingEmail || first.MarketingSMS {
		t.Errorf("an observation set consents: %+v", first)
	}

	// 2. The web store: the same person's account, with the email consent.
	account, err := os.ReadFile("../../connectors/webstore/testdata/customer_upserted.json")
	if err != nil {
		t.Fatal(err)
	}
	e.want(e.deliver("msg_binary_two_connectors", account, time.Now(), nil), http.StatusAccepted)
	var both Customer
	eventually(t, "the web store's link on the same customer", func() bool {
		r := e.get("/v1/customers/by-external/7/C-1001", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &both) == nil
	})
	if both.ID != first.ID {
		t.Fatalf("the web store's account became another customer (%s), not the Posti receiver (%s)", both.ID, first.ID)
	}
	links := map[ExternalLink]bool{}
	for _, l := range both.ExternalSystems {
		links[l] = true
	}
	if len(links) != 2 || !links[ExternalLink{SystemID: 2, Identifier: "10001"}] || !links[ExternalLink{SystemID: 7, Identifier: "C-1001"}] {
		t.Errorf("links %+v, want 2/10001 and 7/C-1001", both.ExternalSystems)
	}
	if !both.MarketingEmail || both.MarketingSMS {
		t.Errorf("consents email %v sms %v, want the web store's: true, false", both.MarketingEmail, both.MarketingSMS)
	}
	// Exactly one customer in the register.
	if n := decode[page](t, e.want(e.get("/v1/customers?email="+url.QueryEscape("maija@example.fi"), bootstrapSecret), http.StatusOK)); len(n.Items) != 1 {
		t.Errorf("%d customers with the email, want 1", len(n.Items))
	}

	// The consent event names the web store, in the customer's consent
	// history and in the compliance query of the ClickHouse audit log.
	type event struct {
		Consent        string `json:"consent"`
		NewValue       bool   `json:"newValue"`
		Source         string `json:"source"`
		SourceSystemID int    `json:"sourceSystemId"`
		Actor          string `json:"actor"`
		Evidence       string `json:"evidence"`
	}
	type events struct {
		Items []event `json:"items"`
	}
	check := func(where string, evs []event) {
		t.Helper()
		if len(evs) != 1 {
			t.Fatalf("%s: %d events, want the one grant of marketingEmail: %+v", where, len(evs), evs)
		}
		ev := evs[0]
		if ev.Consent != "marketingEmail" || !ev.NewValue || ev.Source != "connector" || ev.SourceSystemID != 7 || ev.Actor != "connector:webstore" || !strings.Contains(ev.Evidence, "checkout_checkbox") {
			t.Errorf("%s: event %+v", where, ev)
		}
	}
	// Both read the audit log: the relay carries the event there first.
	var hist events
	eventually(t, "the event in the consent history", func() bool {
		r := e.get("/v1/customers/"+both.ID+"/consent-history", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &hist) == nil && len(hist.Items) > 0
	})
	check("consent history", hist.Items)
	var audit events
	eventually(t, "the event in the audit log", func() bool {
		r := e.get("/v1/audit/consent-events?customerId="+both.ID, bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &audit) == nil && len(audit.Items) > 0
	})
	check("audit log", audit.Items)
	// The listing by time reads consent_events_by_time, which ClickHouse
	// fills from the same INSERT after consent_events: while the relay's
	// insert is in flight the one may show the event a moment before the
	// other.
	var bySystem events
	eventually(t, "the event in the audit log by system", func() bool {
		r := e.get("/v1/audit/consent-events?systemId=7", bootstrapSecret)
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &bySystem) == nil && len(bySystem.Items) > 0
	})
	check("audit log by systemId 7", bySystem.Items)
	if none := decode[events](t, e.want(e.get("/v1/audit/consent-events?systemId=2", bootstrapSecret), http.StatusOK)); len(none.Items) != 0 {
		t.Errorf("consent events from Posti (observations never set consents): %+v", none.Items)
	}
	for _, secret := range []string{webstoreSecret, postiSecret, "maija@example.fi", "+358401234567"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the server log holds a secret or personal data (%.6s...)", secret)
		}
	}
}

// TestBinaryRefusesBadConnectorSections starts the real binary with a
// misspelt connector name and with a misspelt key: it stops before serving,
// naming what is wrong.
func TestBinaryRefusesBadConnectorSections(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewEmptyDatabase(t)
	for _, tc := range []struct {
		name, section string
		want          []string
	}{
		{"unknown connector", "  webshop:\n    enabled: true\n", []string{"connectors.webshop", "unknown connector", "webstore"}},
		{"unknown key", "  webstore:\n    enabled: true\n    signingSecret: " + webstoreSecret + "\n    signingSecrett: x\n", []string{"connectors.webstore", "signingSecrett"}},
		{"missing secret", "  posti:\n    enabled: true\n", []string{"connectors.posti", "secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgFile := filepath.Join(t.TempDir(), "kirjuri.yaml")
			if err := os.WriteFile(cfgFile, []byte("clickhouse:\n  url: \"\"\nconnectors:\n"+tc.section), 0o600); err != nil {
				t.Fatal(err)
			}
			c := newCLI(t, map[string]string{
				"KIRJURI_MODE":           "production",
				"KIRJURI_DATABASE_URL":   dbURL,
				"KIRJURI_HTTP_ADDR":      freeAddr(t),
				"KIRJURI_ENCRYPTION_KEY": randomKey(),
			})
			code, out, errOut := c.run("--config="+cfgFile, "serve")
			if code == 0 {
				t.Fatalf("kirjuri serve started with a bad connectors section\n%s%s", out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("the error does not name %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(out+errOut, webstoreSecret) {
				t.Error("the error shows the signing secret")
			}
		})
	}
}
