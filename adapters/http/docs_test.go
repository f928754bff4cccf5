package httpapi

import (
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDocsPageIsSelfContained: /docs names only assets of this server, which
// serves them from the binary, and says what went wrong when its script
// does not run. The browser test (test/docs) renders it in Chromium.
func TestDocsPageIsSelfContained(t *testing.T) {
	h := newHarness(t)
	r := h.do(req{method: "GET", path: "/docs"}).want(t, http.StatusOK)
	page := string(r.body)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q allows another host", csp)
	}

	// Every src and href is a path on this server.
	refs := regexp.MustCompile(`(?i)\b(?:src|href|apiDescriptionUrl)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("found %d references in the page, want the script, the style sheet and the document:\n%s", len(refs), page)
	}
	for _, m := range refs {
		if u := m[1]; !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
			t.Errorf("the page references %q, which is not on this server", u)
		}
	}
	if strings.Contains(page, "://") {
		t.Errorf("the page names an absolute URL:\n%s", page)
	}

	// A page whose script does not run is not blank.
	for _, want := range []string{"<noscript>", `class="docs-fallback"`, "elements-api:defined ~ .docs-fallback", "/openapi.json"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// The assets are served from the binary, byte for byte the pinned ones.
	for _, a := range docsAssetList {
		path := docsAssets + a.name
		if !strings.Contains(page, `"`+path+`" integrity="`+a.integrity+`"`) {
			t.Errorf("the page does not load %s with integrity %s", path, a.integrity)
		}
		ar := h.do(req{method: "GET", path: path}).want(t, http.StatusOK)
		if ct := ar.header.Get("Content-Type"); ct != a.contentType {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, a.contentType)
		}
		sum := sha512.Sum384(ar.body)
		if got := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); got != a.integrity {
			t.Errorf("%s: digest %s, want the pinned %s", path, got, a.integrity)
		}
	}
	h.do(req{method: "GET", path: docsAssets + "other.js"}).want(t, http.StatusNotFound)
}
