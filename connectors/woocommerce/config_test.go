package woocommerce_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-viper/mapstructure/v2"

	"kirjuri/connectors/woocommerce"
	"kirjuri/ports/inbound"
)

// api is a section with the REST API settings, changed by edit.
func api(edit func(*woocommerce.Config)) woocommerce.Config {
	c := woocommerce.Config{WebhookSecret: secret, BaseURL: "https://kauppa.example.fi", ConsumerKey: consumerKey, ConsumerSecret: consumerSecret}
	woocommerce.Defaults(&c)
	if edit != nil {
		edit(&c)
	}
	return c
}

func TestConfigAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		give woocommerce.Config
		want string // "" is valid
	}{
		{"webhooks only", woocommerce.Config{WebhookSecret: secret}, ""},
		{"webhooks only, defaults", api(func(c *woocommerce.Config) { c.BaseURL, c.ConsumerKey, c.ConsumerSecret = "", "", "" }), ""},
		{"pull", api(nil), ""},
		{"pull and push", api(func(c *woocommerce.Config) { c.Push = true }), ""},
		{"zero page size and timeout are the defaults", api(func(c *woocommerce.Config) { c.PageSize, c.Timeout = 0, 0 }), ""},
		{"a shop in a folder, trailing slash", api(func(c *woocommerce.Config) { c.BaseURL = "https://example.fi/kauppa/" }), ""},
		{"http to localhost", api(func(c *woocommerce.Config) { c.BaseURL = "http://localhost:8080" }), ""},
		{"http to 127.0.0.1", api(func(c *woocommerce.Config) { c.BaseURL = "http://127.0.0.1:8080" }), ""},
		{"http to ::1", api(func(c *woocommerce.Config) { c.BaseURL = "http://[::1]:8080" }), ""},

		{"push without the API", woocommerce.Config{WebhookSecret: secret, Push: true}, "push needs the REST API settings"},
		{"only baseUrl", api(func(c *woocommerce.Config) { c.ConsumerKey, c.ConsumerSecret = "", "" }), "consumerKey and consumerSecret are missing: the REST API settings baseUrl, consumerKey and consumerSecret go together"},
		{"no secret", api(func(c *woocommerce.Config) { c.ConsumerSecret = "" }), "consumerSecret is missing"},
		{"no baseUrl", api(func(c *woocommerce.Config) { c.BaseURL = "" }), "baseUrl is missing"},
		{"no webhook secret", api(func(c *woocommerce.Config) { c.WebhookSecret = "" }), "webhookSecret is required"},
		{"http to a shop", api(func(c *woocommerce.Config) { c.BaseURL = "http://kauppa.example.fi" }), "baseUrl: must be https"},
		{"http to a private address", api(func(c *woocommerce.Config) { c.BaseURL = "http://192.168.1.10" }), "baseUrl: must be https"},
		{"http to a name that begins like localhost", api(func(c *woocommerce.Config) { c.BaseURL = "http://localhost.example.fi" }), "baseUrl: must be https"},
		{"no scheme", api(func(c *woocommerce.Config) { c.BaseURL = "kauppa.example.fi" }), "baseUrl: must begin with https://"},
		{"ftp", api(func(c *woocommerce.Config) { c.BaseURL = "ftp://kauppa.example.fi" }), "baseUrl: must be an https URL"},
		{"no host", api(func(c *woocommerce.Config) { c.BaseURL = "https:///kauppa" }), "baseUrl: has no host"},
		{"not a URL", api(func(c *woocommerce.Config) { c.BaseURL = "https://kauppa example" }), "baseUrl: is not a URL"},
		{"a user and password", api(func(c *woocommerce.Config) { c.BaseURL = "https://admin:hunter2hunter2@kauppa.example.fi" }), "baseUrl: must not hold a user or password"},
		{"a query", api(func(c *woocommerce.Config) { c.BaseURL = "https://kauppa.example.fi/?consumer_key=ck_x" }), "baseUrl: must not have a query"},
		{"the API's address", api(func(c *woocommerce.Config) { c.BaseURL = "https://kauppa.example.fi/wp-json/wc/v3" }), "without /wp-json"},
		{"page size 0 is the default, 101 is too many", api(func(c *woocommerce.Config) { c.PageSize = 101 }), "pageSize must be from 1 to 100"},
		{"page size below 0", api(func(c *woocommerce.Config) { c.PageSize = -1 }), "pageSize must be from 1 to 100"},
		{"timeout too short", api(func(c *woocommerce.Config) { c.Timeout = 10 * time.Millisecond }), "timeout must be from 1s to 5m0s"},
		{"timeout too long", api(func(c *woocommerce.Config) { c.Timeout = time.Hour }), "timeout must be from 1s to 5m0s"},
		{"keys swapped", api(func(c *woocommerce.Config) { c.ConsumerKey, c.ConsumerSecret = consumerSecret, consumerKey }), "consumerKey: begins with cs_"},
		{"a key with a space", api(func(c *woocommerce.Config) { c.ConsumerKey = consumerKey + " " }), "consumerKey: must be printable ASCII without spaces"},
		{"a secret with a new line", api(func(c *woocommerce.Config) { c.ConsumerSecret = consumerSecret + "\n" }), "consumerSecret: must be printable ASCII"},
		{"a secret too long", api(func(c *woocommerce.Config) { c.ConsumerSecret = "cs_" + strings.Repeat("a", 300) }), "consumerSecret: is longer than 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.give.Validate()
			_, newErr := woocommerce.New(tc.give)
			if tc.want == "" {
				if err != nil || newErr != nil {
					t.Fatalf("refused: %v, %v", err, newErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if newErr == nil {
				t.Error("New accepts it")
			}
			noSecrets(t, err.Error())
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "kauppa.example.fi") {
				t.Errorf("%q shows baseUrl", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var c woocommerce.Config
	woocommerce.Defaults(&c)
	if c.PageSize != 100 || c.Timeout != 15*time.Second || c.Push {
		t.Errorf("defaults %+v", c)
	}
}

// String and %#v show what is set, never the secrets, nor a password
// written into baseUrl.
func TestConfigString(t *testing.T) {
	c := api(func(c *woocommerce.Config) {
		c.PreviousWebhookSecret = "the previous secret, 16+"
		c.BaseURL = "https://admin:hunter2hunter2@kauppa.example.fi/kauppa?consumer_secret=" + consumerSecret
		c.Push = true
	})
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		noSecrets(t, s)
		for _, leak := range []string{"the previous secret", "hunter2", "admin"} {
			if strings.Contains(s, leak) {
				t.Errorf("%s shows %q", s, leak)
			}
		}
		for _, shown := range []string{"consumerKey: set", "consumerSecret: set", "webhookSecret: set", "baseUrl: https://kauppa.example.fi/kauppa,", "pageSize: 100", "timeout: 15s", "push: true"} {
			if !strings.Contains(s, shown) {
				t.Errorf("%s does not show %q", s, shown)
			}
		}
	}
	if s := (woocommerce.Config{WebhookSecret: secret}).String(); !strings.Contains(s, "baseUrl: unset, consumerKey: unset, consumerSecret: unset") {
		t.Errorf("unset: %s", s)
	}
}

// Each capability is on a type of its own: a connector pulls only with the
// REST API settings, and pushes only with push as well; all receive
// webhooks.
func TestCapabilities(t *testing.T) {
	for _, tc := range []struct {
		name       string
		give       woocommerce.Config
		pull, push bool
	}{
		{"webhooks only", woocommerce.Config{WebhookSecret: secret}, false, false},
		{"with the REST API", api(nil), true, false},
		{"with push", api(func(c *woocommerce.Config) { c.Push = true }), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := woocommerce.New(tc.give)
			if err != nil {
				t.Fatal(err)
			}
			_, pull := c.(inbound.Puller)
			_, push := c.(inbound.Pusher)
			if pull != tc.pull || push != tc.push {
				t.Errorf("%T: pull %t, push %t", c, pull, push)
			}
			if _, ok := c.(inbound.Receiver); !ok {
				t.Errorf("%T does not receive", c)
			}
			if _, ok := c.(inbound.Verifier); !ok {
				t.Errorf("%T does not verify", c)
			}
			if _, ok := c.(inbound.Handshaker); !ok {
				t.Errorf("%T does not answer the ping", c)
			}
			if c.Name() != "woocommerce" || c.SystemID() != 6 {
				t.Errorf("%s %d", c.Name(), c.SystemID())
			}
			for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
				noSecrets(t, s)
			}
		})
	}
}

// The section decodes as the app decodes it (mapstructure with the koanf
// tags, a duration from text, no weak typing), under the documented keys.
func TestConfigDecodes(t *testing.T) {
	section := map[string]any{
		"webhookSecret": secret, "baseUrl": "https://kauppa.example.fi", "consumerKey": consumerKey,
		"consumerSecret": consumerSecret, "pageSize": 50, "timeout": "30s", "push": true,
	}
	var c woocommerce.Config
	woocommerce.Defaults(&c)
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		TagName: "koanf", Result: &c, Metadata: &md, DecodeHook: mapstructure.StringToTimeDurationHookFunc(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(section); err != nil || len(md.Unused) > 0 {
		t.Fatalf("decode: %v, unused %v", err, md.Unused)
	}
	want := api(func(c *woocommerce.Config) { c.PageSize, c.Timeout, c.Push = 50, 30*time.Second, true })
	if c != want {
		t.Errorf("decoded %#v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
