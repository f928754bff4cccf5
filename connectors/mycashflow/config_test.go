package mycashflow_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"kirjuri/connectors/mycashflow"
)

func validConfig() mycashflow.Config {
	c := mycashflow.Config{Store: "kauppa", APIUser: apiUser, APIKey: apiKey}
	mycashflow.Defaults(&c)
	return c
}

func TestDefaults(t *testing.T) {
	var c mycashflow.Config
	mycashflow.Defaults(&c)
	if c.PageSize != 100 || c.Timeout != 15*time.Second || c.Push {
		t.Errorf("defaults %v, want pageSize 100, timeout 15s, push false", c)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(c *mycashflow.Config)
		want string // "" is valid
	}{
		{"store", func(c *mycashflow.Config) {}, ""},
		{"store in capitals", func(c *mycashflow.Config) { c.Store = "Kauppa-2" }, ""},
		{"baseUrl", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "https://kauppa.mycashflow.fi/api/v1" }, ""},
		{"baseUrl http to loopback", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "http://127.0.0.1:8089/api/v1" }, ""},
		{"baseUrl http to localhost", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "http://localhost:8089" }, ""},
		{"baseUrl http to ::1", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "http://[::1]:8089/api/v1" }, ""},
		{"push", func(c *mycashflow.Config) { c.Push = true }, ""},
		{"both", func(c *mycashflow.Config) { c.BaseURL = "https://kauppa.mycashflow.fi/api/v1" }, "either store or baseUrl"},
		{"neither", func(c *mycashflow.Config) { c.Store = "" }, "store is required"},
		{"store as a host", func(c *mycashflow.Config) { c.Store = "kauppa.mycashflow.fi" }, "store must be the store's name only"},
		{"store as a URL", func(c *mycashflow.Config) { c.Store = "https://kauppa" }, "store must be the store's name only"},
		{"store with a space", func(c *mycashflow.Config) { c.Store = "oma kauppa" }, "store must be letters"},
		{"store ending in a hyphen", func(c *mycashflow.Config) { c.Store = "kauppa-" }, "store must be letters"},
		{"trailing slash", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "https://kauppa.mycashflow.fi/api/v1/" }, "must not end with a slash"},
		{"root with a slash", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "https://kauppa.mycashflow.fi/" }, "must not end with a slash"},
		{"http elsewhere", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "http://kauppa.mycashflow.fi/api/v1" }, "must use https"},
		{"another scheme", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "ftp://kauppa.mycashflow.fi/api/v1" }, "https URL"},
		{"relative", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "kauppa.mycashflow.fi/api/v1" }, "absolute URL"},
		{"credentials in the URL", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "https://u:p@kauppa.mycashflow.fi/api/v1" }, "must not hold credentials"},
		{"query", func(c *mycashflow.Config) { c.Store, c.BaseURL = "", "https://kauppa.mycashflow.fi/api/v1?x=1" }, "query"},
		{"no apiUser", func(c *mycashflow.Config) { c.APIUser = "" }, "apiUser is required"},
		{"apiUser not an email", func(c *mycashflow.Config) { c.APIUser = "admin" }, "apiUser must be"},
		{"apiUser with a colon", func(c *mycashflow.Config) { c.APIUser = "a:b@example.fi" }, "apiUser must be"},
		{"push without apiKey", func(c *mycashflow.Config) { c.Push, c.APIKey = true, "" }, "apiKey is required"},
		{"no apiKey", func(c *mycashflow.Config) { c.APIKey = "" }, "KIRJURI_CONNECTORS_MYCASHFLOW_API_KEY"},
		{"short apiKey", func(c *mycashflow.Config) { c.APIKey = "d73a9e6d" }, "apiKey must be at least 16"},
		{"apiKey with a newline", func(c *mycashflow.Config) { c.APIKey = apiKey + "\n" }, "apiKey must not begin or end with white space"},
		{"apiKey with a space", func(c *mycashflow.Config) { c.APIKey = "d73a9e6d78c3 fdd13f48a85ebb0de" }, "apiKey must be printable"},
		{"pageSize 0", func(c *mycashflow.Config) { c.PageSize = 0 }, "pageSize must be between 1 and 500, not 0"},
		{"pageSize 501", func(c *mycashflow.Config) { c.PageSize = 501 }, "pageSize must be between 1 and 500, not 501"},
		{"pageSize 500", func(c *mycashflow.Config) { c.PageSize = 500 }, ""},
		{"timeout 0", func(c *mycashflow.Config) { c.Timeout = 0 }, "timeout must be"},
		{"timeout an hour", func(c *mycashflow.Config) { c.Timeout = time.Hour }, "timeout must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mod(&c)
			err := c.Validate()
			_, newErr := mycashflow.New(c)
			if tt.want == "" {
				if err != nil || newErr != nil {
					t.Fatalf("%v / %v, want valid", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("valid, want an error saying %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q does not say %q", err, tt.want)
			}
			for _, secret := range []string{apiKey, "d73a9e6d", "a:b@", apiUser} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%q shows a credential", err)
				}
			}
		})
	}
}

func TestConfigStringHidesCredentials(t *testing.T) {
	c := validConfig()
	c.Push = true
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, &c)} {
		if strings.Contains(s, apiKey) || strings.Contains(s, apiUser) || strings.Contains(s, "@") {
			t.Errorf("%q shows a credential", s)
		}
		if !strings.Contains(s, "apiKey: set") || !strings.Contains(s, `store: "kauppa"`) || !strings.Contains(s, "push: true") {
			t.Errorf("%q does not say what is set", s)
		}
	}
	c.APIKey = ""
	if !strings.Contains(c.String(), "apiKey: unset") {
		t.Errorf("%q does not say the key is unset", c.String())
	}
	conn, err := mycashflow.New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", conn, conn, conn); strings.Contains(s, apiKey) || strings.Contains(s, "@") {
		t.Errorf("the connector prints as %q, with a credential", s)
	}
}
