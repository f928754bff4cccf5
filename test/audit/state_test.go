package audit

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// consentState is the body of /v1/audit/consent-state.
type consentState struct {
	CustomerID string    `json:"customerId"`
	At         time.Time `json:"at"`
	Consents   []struct {
		Consent string `json:"consent"`
		Value   bool   `json:"value"`
		SetBy   *event `json:"setBy"`
	} `json:"consents"`
}

// TestConsentStateAtAMoment asks for a customer's consents before its first
// change, just before, exactly at and between each change, and after the
// last, and checks each consent's value and the event that set it.
func TestConsentStateAtAMoment(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})

	var changes []want // of x, in order
	record := func(c change, consent string, old, new bool, evidence string) {
		changes = append(changes, want{change: c, consent: consent, old: old, new: new, source: "api", actor: clerkActor, evidence: evidence})
	}
	x := s.create(person(1, true, false))
	record(x, "marketingEmail", false, true, "")
	x2 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + x.ID + "/consents",
		body: map[string]any{"marketingSms": true, "evidence": "SMS opt-in form"}})
	record(x2, "marketingSms", false, true, "SMS opt-in form")
	// Another customer's change in between must not show in x's state.
	y := s.create(person(2, false, true))
	x3 := s.write(call{method: http.MethodPut, path: "/v1/customers/" + x.ID + "/restriction", body: map[string]any{"reason": "objection"}})
	record(x3, "gdprRestricted", false, true, "objection")
	x4 := s.write(call{method: http.MethodPatch, path: "/v1/customers/" + x.ID, body: `{"marketingEmail": false}`,
		header: map[string]string{"Content-Type": "application/merge-patch+json"}})
	record(x4, "marketingEmail", true, false, "")
	x5 := s.write(call{method: http.MethodDelete, path: "/v1/customers/" + x.ID + "/restriction"})
	record(x5, "gdprRestricted", true, false, "")

	s.waitForChange(x5, "x's last change in the audit log")
	history := s.history(x.ID, 50)
	checkEvents(t, history, changes)
	if len(s.history(y.ID, 50)) != 1 {
		t.Fatalf("y's creation is not in the audit log (x's later changes are)")
	}
	// The event id of each change, to check setBy against.
	ids := make([]string, len(changes))
	for i, w := range changes {
		for _, e := range history {
			if w.mismatch(e) == "" {
				ids[i] = e.EventID
			}
		}
	}

	// expected is x's state at m from the changes themselves: per consent,
	// the last change at or before m.
	kinds := []string{"marketingEmail", "marketingSms", "gdprRestricted", "erased"}
	expected := func(m time.Time) map[string]int { // consent → index of the change that set it, -1 none
		out := map[string]int{}
		for _, k := range kinds {
			out[k] = -1
		}
		for i, w := range changes {
			if !w.change.UpdatedAt.After(m) {
				out[w.consent] = i
			}
		}
		return out
	}

	type moment struct {
		give string
		at   time.Time
	}
	first, last := changes[0].change.UpdatedAt, changes[len(changes)-1].change.UpdatedAt
	moments := []moment{
		{"an hour before the first change", first.Add(-time.Hour)},
		{"a nanosecond before the first change", first.Add(-time.Nanosecond)},
	}
	for i, w := range changes {
		at := w.change.UpdatedAt
		moments = append(moments, moment{fmt.Sprintf("exactly at change %d", i+1), at})
		if i+1 < len(changes) {
			next := changes[i+1].change.UpdatedAt
			moments = append(moments,
				moment{fmt.Sprintf("between changes %d and %d", i+1, i+2), at.Add(next.Sub(at) / 2)},
				moment{fmt.Sprintf("a nanosecond before change %d", i+2), next.Add(-time.Nanosecond)},
			)
		}
	}
	moments = append(moments,
		moment{"a nanosecond after the last change", last.Add(time.Nanosecond)},
		moment{"a day after the last change", last.Add(24 * time.Hour)},
	)

	for _, m := range moments {
		t.Run(m.give, func(t *testing.T) {
			q := url.Values{"customerId": {x.ID}, "at": {m.at.UTC().Format(time.RFC3339Nano)}}
			r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-state?" + q.Encode(), key: s.auditor})
			st := decode[consentState](t, r)
			if st.CustomerID != x.ID || !st.At.Equal(m.at) {
				t.Errorf("answered customer %s at %s, asked %s at %s", st.CustomerID, st.At.Format(time.RFC3339Nano), x.ID, m.at.Format(time.RFC3339Nano))
			}
			checkState(t, st, expected(m.at), changes, ids, kinds)
		})
	}

	t.Run("now, without at", func(t *testing.T) {
		r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-state?customerId=" + x.ID, key: s.auditor})
		checkState(t, decode[consentState](t, r), expected(last.Add(time.Hour)), changes, ids, kinds)
	})

	t.Run("a customer without changes", func(t *testing.T) {
		r := s.expect(http.StatusOK, call{method: http.MethodGet, path: "/v1/audit/consent-state?customerId=01900000-0000-7000-8000-000000000000", key: s.auditor})
		checkState(t, decode[consentState](t, r), expected(first.Add(-time.Hour)), changes, ids, kinds)
	})

	// The period of the listing is [from, to): from a change's moment
	// inclusive, to another's exclusive.
	t.Run("period bounds of the listing", func(t *testing.T) {
		got := s.events(changes[1].change.UpdatedAt, changes[3].change.UpdatedAt, nil, 50)
		checkEvents(t, got, []want{changes[1], changes[2],
			{change: y, consent: "marketingSms", old: false, new: true, source: "api", actor: clerkActor}})
	})
}

// checkState compares a state with the expected setting change of each
// consent.
func checkState(t *testing.T, st consentState, setBy map[string]int, changes []want, ids []string, kinds []string) {
	t.Helper()
	if len(st.Consents) != len(kinds) {
		t.Fatalf("%d consents in the state, want %d (%v): %+v", len(st.Consents), len(kinds), kinds, st.Consents)
	}
	for i, c := range st.Consents {
		if c.Consent != kinds[i] {
			t.Errorf("consent %d is %q, want %q", i, c.Consent, kinds[i])
			continue
		}
		j := setBy[c.Consent]
		if j < 0 {
			if c.Value || c.SetBy != nil {
				t.Errorf("%s: value %v set by %+v, want false and never set", c.Consent, c.Value, c.SetBy)
			}
			continue
		}
		w := changes[j]
		if c.Value != w.new {
			t.Errorf("%s: value %v, want %v (set by change %d)", c.Consent, c.Value, w.new, j+1)
		}
		switch {
		case c.SetBy == nil:
			t.Errorf("%s: no setBy, want the event of change %d", c.Consent, j+1)
		case c.SetBy.EventID != ids[j]:
			t.Errorf("%s: set by event %s, want %s (change %d)", c.Consent, c.SetBy.EventID, ids[j], j+1)
		default:
			if m := w.mismatch(*c.SetBy); m != "" {
				t.Errorf("%s: setBy: %s", c.Consent, m)
			}
		}
	}
}
