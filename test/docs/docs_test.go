// Package docs tests the API documentation page as a person sees it: the
// real binary serves /docs and headless Chromium (Debian's package) renders
// it on a network where no other host can be reached.
package docs

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kirjuri/test/internal/e2e"
)

var binary string

func TestMain(m *testing.M) { os.Exit(e2e.Main(m, &binary)) }

// TestDocsRenderInChromiumWithoutInternet loads /docs in headless Chromium
// with every other host out of reach (names do not resolve, and its proxy
// refuses and records every request that is not to this machine), lets
// Stoplight Elements draw the reference, and finds every operation listed
// in the rendered DOM: once per tag, since the sidebar lists the operations
// of the tag whose operation is open.
func TestDocsRenderInChromiumWithoutInternet(t *testing.T) {
	chromium := chromiumPath(t)
	s := e2e.Start(t, binary)

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Summary     string   `json:"summary"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	getJSON(t, s.Base+"/openapi.json", &doc)
	type op struct{ id, summary string }
	byTag := map[string][]op{}
	for _, item := range doc.Paths {
		for _, o := range item {
			if len(o.Tags) == 0 {
				t.Errorf("operation %s has no tag", o.OperationID)
				continue
			}
			byTag[o.Tags[0]] = append(byTag[o.Tags[0]], op{o.OperationID, o.Summary})
		}
	}
	if len(byTag) < 5 {
		t.Fatalf("the document has %d tags, want at least 5", len(byTag))
	}

	outside := newRefusingProxy(t)
	for _, tag := range slices.Sorted(maps.Keys(byTag)) {
		ops := byTag[tag]
		slices.SortFunc(ops, func(a, b op) int { return strings.Compare(a.id, b.id) })
		html, log := render(t, chromium, outside.addr, s.Base+"/docs#/operations/"+ops[0].id)
		want := []string{"Kirjuri customer register", tag}
		for _, o := range ops {
			want = append(want, o.summary)
		}
		var missing []string
		for _, w := range want {
			if !strings.Contains(html, htmlEscape(w)) {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 {
			t.Errorf("/docs at %s: the rendered page does not list %q\n(Chromium's log:\n%s)\n%s", ops[0].id, missing, log, truncate(html))
		}
	}
	if got := outside.requests(); len(got) > 0 {
		t.Errorf("the browser asked other hosts for %q; the docs must need only this server", got)
	}
}

// render loads url in headless Chromium and returns the DOM once the page
// has settled, and Chromium's log.
func render(t *testing.T, chromium, proxy, url string) (dom, log string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Chromium's own services (sign-in, component updates) are pointed at
	// a dead loopback port, so that whatever reaches the proxy came from
	// the page.
	const dead = "http://127.0.0.1:9"
	cmd := exec.CommandContext(ctx, chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-features=OptimizationHints,MediaRouter,Translate,NetworkTimeServiceQuerying,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
		"--disable-client-side-phishing-detection", "--disable-default-apps", "--no-pings", "--disable-domain-reliability",
		"--gaia-url="+dead, "--component-updater=url-source="+dead,
		"--user-data-dir="+t.TempDir(),
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--proxy-server=http://"+proxy,
		"--virtual-time-budget=30000",
		"--window-size=1280,2000",
		"--dump-dom", url,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return string(out), stderr.String()
}

// chromiumPath finds chromium, installing Debian's package when it is
// missing (as root; the test fails rather than skips when it cannot).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Fatal("chromium is not installed and this test is not root to install it: apt-get install chromium")
	}
	t.Log("chromium is missing: apt-get install -y chromium")
	install := func(args ...string) error {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return err
	}
	if install("install", "-y", "-q", "chromium") != nil {
		if install("update", "-q") != nil || install("install", "-y", "-q", "chromium") != nil {
			t.Fatal("chromium could not be installed")
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium installed but not on PATH: %v", err)
	}
	return p
}

// refusingProxy is an HTTP proxy on loopback that answers every request
// with 502 and records what was asked: the browser's way to the world.
type refusingProxy struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func newRefusingProxy(t *testing.T) *refusingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &refusingProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return p
}

func (p *refusingProxy) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	target := r.Host
	if r.Method != http.MethodConnect {
		target = r.URL.String()
	}
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+target)
	p.mu.Unlock()
	_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

func (p *refusingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "…"
	}
	return s
}
