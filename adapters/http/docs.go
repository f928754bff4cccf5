package httpapi

import (
	"bytes"
	"embed"
	"net/http"
	"path"
	"strings"
	"time"
)

// The docs page (/docs) is Stoplight Elements, served from the binary so
// that it works on a network without internet: Huma's own docs page loads
// Elements from a public CDN and is a blank page without one. The files are
// those of the npm package, unchanged (docsassets/README.md).

const (
	elementsVersion = "9.0.15"
	// docsAssets is where the page's script and style sheet are served; the
	// version in the path lets browsers keep them for good.
	docsAssets = "/docs/assets/elements-" + elementsVersion + "/"
)

//go:embed docsassets/elements-9.0.15/web-components.min.js docsassets/elements-9.0.15/styles.min.css
var docsFS embed.FS

// docsAsset is one embedded file of the docs page, with the SRI digest the
// page names it by (the one Huma pins for the same file on the CDN).
type docsAsset struct {
	name, contentType, integrity string
}

var docsAssetList = []docsAsset{
	{"web-components.min.js", "text/javascript; charset=utf-8", "sha384-xjOcq9PZ/k+pGtPS/xcsCRXGjKKfTlIa4H1IYEnC+97jNa6sAMWTNrV6hY08W3GL"},
	{"styles.min.css", "text/css; charset=utf-8", "sha384-iVQBHadsD+eV0M5+ubRCEVXrXEBj+BqcuwjUwPoVJc0Pb1fmrhYSAhL+BFProHdV"},
}

// docsCSP lets the page load only what this server serves: no other host is
// ever asked for anything.
var docsCSP = strings.Join([]string{
	"default-src 'none'",
	"base-uri 'none'",
	"connect-src 'self'",
	"form-action 'none'",
	"frame-ancestors 'none'",
	"img-src 'self' data:",
	"font-src 'self' data:",
	"sandbox allow-same-origin allow-scripts",
	"script-src 'self'",
	"style-src 'self' 'unsafe-inline'",
}, "; ")

// docsPage is the HTML of /docs. Until the Elements script has defined
// <elements-api>, the fallback text shows (CSS :defined), so a page whose
// script did not load says so instead of staying blank.
var docsPage = []byte(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Kirjuri customer register: API reference</title>
    <link rel="stylesheet" href="` + docsAssets + `styles.min.css" integrity="` + docsAssetList[1].integrity + `">
    <script src="` + docsAssets + `web-components.min.js" integrity="` + docsAssetList[0].integrity + `"></script>
    <style>
      elements-api:defined ~ .docs-fallback { display: none; }
      .docs-fallback { font-family: sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5; }
    </style>
  </head>
  <body style="height: 100vh;">
    <elements-api
      apiDescriptionUrl="/openapi.json"
      router="hash"
      layout="sidebar"
      tryItCredentialsPolicy="same-origin"
    ></elements-api>
    <noscript>
      <p class="docs-noscript">The API reference needs JavaScript, which is off in this browser.
      The OpenAPI document it shows is at <a href="/openapi.json">/openapi.json</a>
      (and <a href="/openapi.yaml">/openapi.yaml</a>).</p>
    </noscript>
    <div class="docs-fallback" id="docs-fallback">
      <h1>Kirjuri API reference</h1>
      <p>The API reference did not start. It is drawn by Stoplight Elements ` + elementsVersion + `,
      a script that this server serves itself at <a href="` + docsAssets + `web-components.min.js">` + docsAssets + `web-components.min.js</a>;
      if you read this, the browser could not load or run it (JavaScript off, or the script blocked).</p>
      <p>The OpenAPI document is at <a href="/openapi.json">/openapi.json</a>
      (and <a href="/openapi.yaml">/openapi.yaml</a>).</p>
    </div>
  </body>
</html>
`)

// registerDocs serves /docs and its embedded assets.
func (a *API) registerDocs() {
	a.router.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(docsPage))
	})
	for _, f := range docsAssetList {
		body, err := docsFS.ReadFile(path.Join("docsassets", "elements-"+elementsVersion, f.name))
		if err != nil {
			panic("httpapi: docs asset missing from the binary: " + err.Error())
		}
		a.router.HandleFunc("GET "+docsAssets+f.name, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", f.contentType)
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
			h.Set("X-Content-Type-Options", "nosniff")
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		})
	}
}
