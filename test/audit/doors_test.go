package audit

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"kirjuri/test/internal/e2e"
)

// TestEveryDoorRecordsConsentChanges walks every API door that can change a
// consent and checks that each change made exactly one event, with every
// field right, in the listing, in each customer's history and in the
// summary, and that changes that change nothing made none.
func TestEveryDoorRecordsConsentChanges(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	start := time.Now().Add(-time.Second)

	var wants []want
	expect := func(c change, consent string, old, new bool, evidence string) {
		wants = append(wants, want{change: c, consent: consent, old: old, new: new, source: "api", actor: clerkActor, evidence: evidence})
	}
	erasure := func(c change, consent string, old, new bool) {
		wants = append(wants, want{change: c, consent: consent, old: old, new: new, source: "erasure", actor: clerkActor})
	}

	// POST: a new customer's consents count from false, and only a true one
	// is recorded.
	aBody := person(1, true, false)
	aBody["email"] = "aurora.kirjuritesti+1@example.fi"
	aBody["ssn"] = "131052-308T"
	a := s.create(aBody)
	expect(a, "marketingEmail", false, true, "")

	b := s.create(person(2, false, false)) // nothing to record

	cBody := person(3, false, true)
	cBody["gdprRestricted"] = true
	c := s.create(cBody)
	expect(c, "marketingSms", false, true, "")
	expect(c, "gdprRestricted", false, true, "")

	// PATCH: one event per changed consent, all with the request id the
	// client chose.
	patch := func(id string, body string, requestID string) change {
		h := map[string]string{"Content-Type": "application/merge-patch+json"}
		if requestID != "" {
			h["X-Request-Id"] = requestID
		}
		return s.write(call{method: http.MethodPatch, path: "/v1/customers/" + id, body: body, header: h})
	}
	rid := "e2e-patch/" + e2e.RandomKey()[:12] // '/', '+' and '=' are allowed too
	b1 := patch(b.ID, `{"marketingEmail": true, "marketingSms": true}`, rid)
	if b1.requestID != rid {
		t.Fatalf("X-Request-Id %q sent, %q answered", rid, b1.requestID)
	}
	expect(b1, "marketingEmail", false, true, "")
	expect(b1, "marketingSms", false, true, "")

	// The same values again, and a change of a field that is no consent:
	// no event.
	b2 := patch(b.ID, `{"marketingEmail": true, "marketingSms": true}`, "")
	if b2.Version != b1.Version {
		t.Errorf("a PATCH that changes nothing moved the version from %d to %d", b1.Version, b2.Version)
	}
	b3 := patch(b.ID, `{"firstName": "Aurora-Maria", "language": "sv"}`, "")
	if b3.Version != b1.Version+1 {
		t.Errorf("a PATCH of names: version %d, want %d", b3.Version, b1.Version+1)
	}
	// null withdraws.
	b4 := patch(b.ID, `{"marketingEmail": null}`, "")
	expect(b4, "marketingEmail", true, false, "")
	// The restriction through PATCH is a consent change too.
	b4r := patch(b.ID, `{"gdprRestricted": true, "language": "en"}`, "")
	expect(b4r, "gdprRestricted", false, true, "")
	b4l := patch(b.ID, `{"gdprRestricted": null}`, "")
	expect(b4l, "gdprRestricted", true, false, "")

	// PUT consents: the evidence goes on the event; the same values again
	// record nothing, evidence or not.
	const evidence = "Ticked the newsletter box at the Kamppi store till, receipt 4411"
	a1 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + a.ID + "/consents",
		body: map[string]any{"marketingEmail": true, "marketingSms": true, "evidence": evidence}})
	expect(a1, "marketingSms", false, true, evidence)
	a2 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + a.ID + "/consents",
		body: map[string]any{"marketingEmail": true, "marketingSms": true, "evidence": "asked again"}})
	if a2.Version != a1.Version {
		t.Errorf("PUT consents with unchanged values moved the version from %d to %d", a1.Version, a2.Version)
	}

	// Another key: the actor is the key that made the change.
	b5 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + b.ID + "/consents", key: bootstrapSecret,
		body: map[string]any{"marketingSms": false}})
	wants = append(wants, want{change: b5, consent: "marketingSms", old: true, new: false, source: "api", actor: "apikey:bootstrap"})

	// PUT and DELETE restriction: gdprRestricted events, the reason as the
	// evidence. Restricting again records nothing.
	const reason = "Customer disputes the accuracy of the data (GDPR art. 18), ticket 2291"
	a3 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + a.ID + "/restriction", body: map[string]any{"reason": reason}})
	expect(a3, "gdprRestricted", false, true, reason)
	s.write(call{method: http.MethodPut, path: "/v1/customers/" + a.ID + "/restriction", body: map[string]any{"reason": "again"}})
	const lifted = "Accuracy verified against the passport, ticket 2291"
	a4 := s.write(call{method: http.MethodDelete, path: "/v1/customers/" + a.ID + "/restriction", body: map[string]any{"reason": lifted}})
	expect(a4, "gdprRestricted", true, false, lifted)

	// DELETE: the erasure withdraws what was given and restricts the record,
	// all with source erasure, and records the erasure itself.
	a5 := s.write(call{method: http.MethodDelete, path: "/v1/customers/" + a.ID})
	if a5.ErasedAt == nil || a5.FirstName != "" || a5.LastName != "" || a5.Email != "" || a5.SSN != "" {
		t.Fatalf("DELETE answered a record that is not erased: %+v", a5.customer)
	}
	erasure(a5, "marketingEmail", true, false)
	erasure(a5, "marketingSms", true, false)
	erasure(a5, "gdprRestricted", false, true)
	erasure(a5, "erased", false, true)
	// c was restricted already: only its consent is withdrawn.
	c1 := s.write(call{method: http.MethodDelete, path: "/v1/customers/" + c.ID})
	erasure(c1, "marketingSms", true, false)
	erasure(c1, "erased", false, true)

	// A last change as a sentinel: the relay ships in commit order, so once
	// its event is in the audit log, every earlier one is too, and anything
	// missing is missing for good.
	sentinel := s.create(person(4, false, true))
	expect(sentinel, "marketingSms", false, true, "")
	s.waitForChange(sentinel, "the relay ships the sentinel")
	end := time.Now().Add(time.Minute)

	t.Run("listing", func(t *testing.T) {
		// Small pages, so that the cursor is followed across many pages.
		got, bodies := s.pages("/v1/audit/consent-events", url.Values{
			"from": {start.UTC().Format(time.RFC3339Nano)},
			"to":   {end.UTC().Format(time.RFC3339Nano)},
		}, 3)
		checkEvents(t, got, wants)
		if !slices.IsSortedFunc(got, func(x, y event) int { return x.OccurredAt.Compare(y.OccurredAt) }) {
			t.Errorf("the listing is not oldest first")
		}
		noPersonalData(t, "the listing", bodies...)
	})

	t.Run("history", func(t *testing.T) {
		for _, cu := range []change{a, b, c} {
			got := s.history(cu.ID, 2)
			var mine []want
			for _, w := range wants {
				if w.change.ID == cu.ID {
					mine = append(mine, w)
				}
			}
			checkEvents(t, got, mine)
			if !slices.IsSortedFunc(got, func(x, y event) int { return y.OccurredAt.Compare(x.OccurredAt) }) {
				t.Errorf("the history of customer %d is not newest first", cu.Number)
			}
		}
	})

	t.Run("erased customer keeps its history without personal data", func(t *testing.T) {
		r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/customers/" + a.ID + "/consent-history?limit=500", key: s.auditor})
		noPersonalData(t, "the history of the erased customer", r.Body)
		h := decode[eventPage](t, r)
		// Everything a went through: the grant at creation, the evidence-
		// backed SMS consent, the restriction and its lifting, the erasure.
		if len(h.Items) != 8 {
			t.Errorf("the erased customer's history has %d events, want 8", len(h.Items))
		}
		// The erasure's four events share one moment, the newest; their order
		// among themselves is the audit log's to choose.
		var atErasure []string
		for _, e := range h.Items {
			if e.OccurredAt.Equal(a5.UpdatedAt) {
				atErasure = append(atErasure, e.Consent)
			}
		}
		slices.Sort(atErasure)
		if want := []string{"erased", "gdprRestricted", "marketingEmail", "marketingSms"}; !slices.Equal(atErasure, want) {
			t.Errorf("events at the erasure: %v, want %v", atErasure, want)
		}
		if len(h.Items) >= 4 {
			for _, e := range h.Items[:4] {
				if !e.OccurredAt.Equal(a5.UpdatedAt) {
					t.Errorf("the history does not start with the erasure: %+v", e)
				}
			}
		}
		st := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-state?customerId=" + a.ID, key: s.auditor})
		noPersonalData(t, "the consent state of the erased customer", st.Body)
		byCustomer := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-events?customerId=" + a.ID + "&limit=500", key: s.auditor})
		noPersonalData(t, "the events of the erased customer", byCustomer.Body)
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			give string
			q    url.Values
			keep func(w want) bool
		}{
			{"consent", url.Values{"consent": {"marketingSms"}}, func(w want) bool { return w.consent == "marketingSms" }},
			{"erased", url.Values{"consent": {"erased"}}, func(w want) bool { return w.consent == "erased" }},
			{"source", url.Values{"source": {"erasure"}}, func(w want) bool { return w.source == "erasure" }},
			{"actor", url.Values{"actor": {"apikey:bootstrap"}}, func(w want) bool { return w.actor == "apikey:bootstrap" }},
			{"customer", url.Values{"customerId": {b.ID}}, func(w want) bool { return w.change.ID == b.ID }},
			{"customer and consent", url.Values{"customerId": {c.ID}, "consent": {"gdprRestricted"}}, func(w want) bool {
				return w.change.ID == c.ID && w.consent == "gdprRestricted"
			}},
		}
		for _, tt := range tests {
			t.Run(tt.give, func(t *testing.T) {
				var subset []want
				for _, w := range wants {
					if tt.keep(w) {
						subset = append(subset, w)
					}
				}
				checkEvents(t, s.events(start, end, tt.q, 2), subset)
			})
		}
	})

	t.Run("summary", func(t *testing.T) {
		type row struct{ day, source, consent string }
		want := map[row][2]int64{}
		for _, w := range wants {
			if w.consent == "erased" {
				continue // not a consent: the summary leaves erasures out
			}
			k := row{w.change.UpdatedAt.UTC().Format(time.DateOnly), w.source, w.consent}
			v := want[k]
			if w.new {
				v[0]++
			} else {
				v[1]++
			}
			want[k] = v
		}
		sum, r, err := s.summaryOf(start, end)
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("summary: %v %v", err, r)
		}
		got := map[row][2]int64{}
		for _, x := range sum.Rows {
			k := row{x.Day, x.Source, x.Consent}
			if _, dup := got[k]; dup {
				t.Errorf("summary row %v twice", k)
			}
			got[k] = [2]int64{x.Grants, x.Withdrawals}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("summary %v: grants, withdrawals = %v, want %v", k, got[k], v)
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("summary has an unexpected row %v: %v", k, v)
			}
		}
	})
}

// noPersonalData fails when a body of the audit API holds any personal data
// of the test customers.
func noPersonalData(t testing.TB, what string, bodies ...[]byte) {
	t.Helper()
	for _, b := range bodies {
		for _, pii := range piiMarkers {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(pii))) {
				t.Errorf("%s holds personal data %q: %s", what, pii, b)
			}
		}
	}
}
