package woocommerce

import (
	"net/url"
	"time"

	"kirjuri/ports/inbound"
)

// OAuthSignature is oauthSignature, for the test of its vector.
func OAuthSignature(method, rawURL string, params url.Values, secret string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	return oauthSignature(method, u, params, secret)
}

// FixClock makes a pulling connector's OAuth timestamps and nonces fixed.
func FixClock(c inbound.Connector, now time.Time, nonce string) {
	var a *api
	switch x := c.(type) {
	case *PullConnector:
		a = x.api
	case *PushConnector:
		a = x.api
	}
	a.now = func() time.Time { return now }
	a.nonce = func() string { return nonce }
}
