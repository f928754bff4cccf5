package audit

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAuditNeedsAuditRead checks that every audit endpoint answers 401
// without a known key, 403 to keys without audit:read (even one with every
// other scope an ordinary client has), and 200 to a key with audit:read
// alone.
func TestAuditNeedsAuditRead(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	c := s.create(person(1, true, false))
	// A key with every scope but audit:read.
	noAudit := s.newKey("e2e-no-audit", "customers:read,customers:write,pii:read,imports,admin")

	now := time.Now().UTC().Format(time.RFC3339)
	paths := []string{
		"/v1/customers/" + c.ID + "/consent-history",
		"/v1/audit/consent-events",
		"/v1/audit/consent-state?customerId=" + c.ID,
		"/v1/audit/consent-summary?to=" + now,
	}
	tests := []struct {
		give   string
		key    string
		header string // a raw Authorization header instead of key
		want   int
	}{
		{give: "no key", want: http.StatusUnauthorized},
		{give: "unknown key", key: "kir_nobody-has-this-key-0123456789", want: http.StatusUnauthorized},
		{give: "not a bearer", header: "Basic ZTJlOmUyZQ==", want: http.StatusUnauthorized},
		{give: "customers:read only", key: s.reader, want: http.StatusForbidden},
		{give: "every scope but audit:read", key: noAudit, want: http.StatusForbidden},
		{give: "audit:read only", key: s.auditor, want: http.StatusOK},
		{give: "bootstrap key", key: bootstrapSecret, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			for _, p := range paths {
				cl := call{method: http.MethodGet, path: p, key: tt.key}
				if tt.header != "" {
					cl.header = map[string]string{"Authorization": tt.header}
				}
				r := s.do(cl)
				if r.Status != tt.want {
					t.Errorf("GET %s: %d, want %d; body: %s", p, r.Status, tt.want, r.Body)
					continue
				}
				if tt.want == http.StatusOK {
					continue
				}
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
					t.Errorf("GET %s: Content-Type %q, want application/problem+json", p, ct)
				}
				if tt.want == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: 401 without WWW-Authenticate", p)
				}
				if tt.want == http.StatusForbidden && !strings.Contains(string(r.Body), "audit:read") {
					t.Errorf("GET %s: the 403 does not name the missing scope audit:read: %s", p, r.Body)
				}
			}
		})
	}
}
