package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestExportCarriesTheWholeConsentHistory: the GDPR access export holds the
// customer's consent history from ClickHouse, all of it (more events than
// one page of the export's own reads, 500), exactly as the consent-history
// endpoint shows it; while ClickHouse cannot be reached the export still
// answers, and says plainly that the history is missing.
func TestExportCarriesTheWholeConsentHistory(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	a := s.create(person(1, true, false))
	other := s.create(person(2, true, true))
	const changes = 520
	var last change
	for i := range changes {
		last = s.write(call{method: http.MethodPut, path: "/v1/customers/" + a.ID + "/consents",
			body: map[string]any{"marketingSms": i%2 == 0, "evidence": fmt.Sprintf("form %d", i)}})
	}
	s.waitForChange(last, "the last consent change")
	want := s.history(a.ID, 500)
	if len(want) != changes+1 {
		t.Fatalf("%d events in the consent history, want %d", len(want), changes+1)
	}

	export := call{method: http.MethodGet, path: "/v1/customers/" + a.ID + "/export", key: s.reader}
	type history struct {
		Status string  `json:"status"`
		Notice string  `json:"notice"`
		Events []event `json:"events"`
	}
	ex := decode[struct {
		ConsentHistory history `json:"consentHistory"`
	}](t, s.expect(http.StatusOK, export))
	got := ex.ConsentHistory
	if got.Status != "complete" || got.Notice != "" {
		t.Errorf("consentHistory status %q, notice %q; want complete", got.Status, got.Notice)
	}
	if !reflect.DeepEqual(got.Events, want) {
		t.Errorf("the export has %d events, the consent history %d; they differ", len(got.Events), len(want))
	}
	for _, e := range got.Events {
		if e.CustomerID != a.ID || e.CustomerID == other.ID {
			t.Fatalf("an event of customer %s in the export of %s", e.CustomerID, a.ID)
		}
	}

	// ClickHouse out of reach: the export answers, without a history that
	// looks empty.
	s.proxy.Cut()
	defer s.proxy.Restore()
	r := s.expect(http.StatusOK, export)
	var raw struct {
		Customer       json.RawMessage            `json:"customer"`
		ConsentHistory map[string]json.RawMessage `json:"consentHistory"`
	}
	if err := json.Unmarshal(r.Body, &raw); err != nil {
		t.Fatal(err)
	}
	h := raw.ConsentHistory
	if len(raw.Customer) < 10 || string(h["status"]) != `"unavailable"` || string(h["events"]) != "null" || len(h["notice"]) < 20 {
		t.Errorf("export while ClickHouse is unreachable: %s; want the customer, status unavailable, events null and a notice", r.Body)
	}
	s.proxy.Restore()
	eventually(t, 30*time.Second, "the whole history in the export after ClickHouse is back", func() (bool, string) {
		ex := decode[struct {
			ConsentHistory history `json:"consentHistory"`
		}](t, s.expect(http.StatusOK, export))
		got := ex.ConsentHistory
		return got.Status == "complete" && len(got.Events) == changes+1, fmt.Sprintf("status %q, %d events", got.Status, len(got.Events))
	})
}
