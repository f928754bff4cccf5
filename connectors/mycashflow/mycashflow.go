// Package mycashflow is the connector of MyCashFlow (external system 5), a
// Finnish web store platform, through its REST API
// (../shared/research/connectors.md §2): HTTP Basic with the API user's
// email and API key, JSON collections {"data": […], "meta": {…}}.
//
// What it does: a pull (inbound.Puller) of GET /customers page by page,
// sorted by id, resumable by its cursor (the next page number); each
// customer account becomes an authoritative draft linked 5/<id> with its
// updated_at as the source's update time. When push is enabled, a push
// (inbound.Pusher) sends a customer back with PATCH /customers/{id} and
// returns MyCashFlow's answer parsed the same way as its echo.
//
// What it does not: webhooks. MyCashFlow's Webhooks API exists, but how it
// authenticates a message (a subscription UUID "used to validate", header
// and algorithm unknown, §2.3) is unverified, and a receiver that cannot
// verify would let anyone write to the register: there is no Receiver until
// the scheme is confirmed; a scheduled pull catches up instead. Nor
// consents (no newsletter field of the customer resource is verified, and
// absence of consent data leaves consents as they are), customer groups
// (a draft cannot add groups), guest customers of orders, secondary
// addresses, or creating customers in MyCashFlow (the API offers only
// fetching and editing accounts).
package mycashflow

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"kirjuri/core/customer"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// Name is the connector's name in configuration and paths.
const Name = "mycashflow"

// Defaults of the settings.
const (
	DefaultPageSize = 100
	DefaultTimeout  = 15 * time.Second
	// MaxPageSize is the largest page this connector asks for: MyCashFlow
	// clients use 500 successfully (§2.2); its own limit is not documented.
	MaxPageSize = 500
	// MaxTimeout bounds the time of one request.
	MaxTimeout = 5 * time.Minute
	// MinAPIKeyLen bounds the API key from below. MyCashFlow shows a
	// generated key of 40 hexadecimal digits once, when the API user is
	// made; anything much shorter is a copying mistake.
	MinAPIKeyLen = 16
)

// Config is the connectors.mycashflow section.
type Config struct {
	// Store is the store's name in its MyCashFlow address
	// (https://STORE.mycashflow.fi); the API root is then
	// https://STORE.mycashflow.fi/api/v1. MyCashFlow's API answers only on
	// the *.mycashflow.fi domain, never on the store's own domain. Give
	// either Store or BaseURL.
	Store string `koanf:"store"`
	// BaseURL is the full API root instead (https://…/api/v1, without a
	// trailing slash, which MyCashFlow refuses); plain http only to a
	// loopback host, for tests and local simulators.
	BaseURL string `koanf:"baseUrl"`
	// APIUser is the email of the API user made in MyCashFlow's admin
	// (the Basic user name).
	APIUser string `koanf:"apiUser"`
	// APIKey is the API user's key (the Basic password); secret. Also from
	// KIRJURI_CONNECTORS_MYCASHFLOW_API_KEY.
	APIKey string `koanf:"apiKey"`
	// PageSize is how many customers one page of a pull asks for (1–500).
	PageSize int `koanf:"pageSize"`
	// Timeout bounds one request to MyCashFlow, answer included.
	Timeout time.Duration `koanf:"timeout"`
	// Push sends the register's changes back to MyCashFlow (PATCH of the
	// customer); off by default, so that enabling the connector only reads.
	Push bool `koanf:"push"`
}

// Defaults fills in the defaults.
func Defaults(c *Config) {
	c.PageSize = DefaultPageSize
	c.Timeout = DefaultTimeout
}

// String never shows the key, nor the API user (an email address).
func (c Config) String() string {
	return fmt.Sprintf("mycashflow{store: %q, baseUrl: %q, apiUser: %s, apiKey: %s, pageSize: %d, timeout: %s, push: %t}",
		c.Store, c.BaseURL, delivery.Redacted(c.APIUser), delivery.Redacted(c.APIKey), c.PageSize, c.Timeout, c.Push)
}

// GoString is String, so that %#v does not show the key either.
func (c Config) GoString() string { return c.String() }

// storeName is a DNS label: the store's part of STORE.mycashflow.fi.
var storeName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks an enabled section. Its errors name the key and never
// show the key's or the user's value.
func (c *Config) Validate() error {
	if _, err := c.root(); err != nil {
		return err
	}
	if c.APIUser == "" {
		return errors.New("apiUser is required when the connector is enabled: the email of the API user made in MyCashFlow")
	}
	if strings.TrimSpace(c.APIUser) != c.APIUser || strings.ContainsAny(c.APIUser, ":") || !strings.Contains(c.APIUser, "@") {
		return errors.New("apiUser must be the API user's email address, without spaces or colons")
	}
	if _, err := customer.ParseEmail(c.APIUser); err != nil {
		return errors.New("apiUser must be the API user's email address")
	}
	if c.APIKey == "" {
		return errors.New("apiKey is required when the connector is enabled (or KIRJURI_CONNECTORS_MYCASHFLOW_API_KEY)")
	}
	if strings.TrimSpace(c.APIKey) != c.APIKey {
		return errors.New("apiKey must not begin or end with white space")
	}
	for _, r := range c.APIKey {
		if r < '!' || r > '~' {
			return errors.New("apiKey must be printable ASCII without spaces, as MyCashFlow shows it")
		}
	}
	if len(c.APIKey) < MinAPIKeyLen {
		return fmt.Errorf("apiKey must be at least %d characters, not %d", MinAPIKeyLen, len(c.APIKey))
	}
	if c.PageSize < 1 || c.PageSize > MaxPageSize {
		return fmt.Errorf("pageSize must be between 1 and %d, not %d", MaxPageSize, c.PageSize)
	}
	if c.Timeout <= 0 || c.Timeout > MaxTimeout {
		return fmt.Errorf("timeout must be more than 0 and at most %s, not %s", MaxTimeout, c.Timeout)
	}
	return nil
}

// root is the API root the section names, without a trailing slash.
func (c *Config) root() (string, error) {
	switch {
	case c.Store != "" && c.BaseURL != "":
		return "", errors.New("give either store or baseUrl, not both")
	case c.Store == "" && c.BaseURL == "":
		return "", errors.New("store is required when the connector is enabled (the STORE of https://STORE.mycashflow.fi), or baseUrl")
	case c.Store != "":
		s := strings.ToLower(c.Store)
		if strings.Contains(s, ".") || strings.Contains(s, "/") {
			return "", errors.New("store must be the store's name only (the STORE of https://STORE.mycashflow.fi); for a full address use baseUrl")
		}
		if !storeName.MatchString(s) {
			return "", errors.New("store must be letters a–z, digits and hyphens, as in https://STORE.mycashflow.fi")
		}
		return "https://" + s + ".mycashflow.fi/api/v1", nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", errors.New("baseUrl must be an absolute URL such as https://STORE.mycashflow.fi/api/v1")
	}
	if u.User != nil {
		return "", errors.New("baseUrl must not hold credentials: use apiUser and apiKey")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errors.New("baseUrl must not have a query or a fragment")
	}
	if strings.HasSuffix(u.Path, "/") {
		return "", errors.New("baseUrl must not end with a slash: MyCashFlow's API refuses one (https://STORE.mycashflow.fi/api/v1)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", errors.New("baseUrl must use https; plain http is allowed only to a loopback host (localhost, 127.0.0.1, ::1)")
		}
	default:
		return "", errors.New("baseUrl must be an https URL")
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Connector is the MyCashFlow connector: a Puller. Built with Push set,
// New returns a *PushConnector instead, which is also a Pusher.
type Connector struct {
	root     string
	user     string
	key      string
	pageSize int
	client   *http.Client
}

// PushConnector is the connector when push is enabled: a Puller and a Pusher.
// The push job finds the capability by type assertion, so a connector
// built without push has no Push method at all.
type PushConnector struct {
	*Connector
}

var (
	_ inbound.Connector = (*Connector)(nil)
	_ inbound.Puller    = (*Connector)(nil)
	_ inbound.Connector = (*PushConnector)(nil)
	_ inbound.Puller    = (*PushConnector)(nil)
	_ inbound.Pusher    = (*PushConnector)(nil)
)

// New builds the connector from a section: a *Connector, or a *PushConnector
// when c.Push is set.
func New(c Config) (inbound.Connector, error) {
	conn, err := newConnector(c)
	if err != nil {
		return nil, err
	}
	if c.Push {
		return &PushConnector{Connector: conn}, nil
	}
	return conn, nil
}

func newConnector(c Config) (*Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	root, _ := c.root()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	return &Connector{
		root:     root,
		user:     c.APIUser,
		key:      c.APIKey,
		pageSize: c.PageSize,
		client: &http.Client{
			Transport: transport,
			Timeout:   c.Timeout,
			// A redirect means a wrong API root (a custom domain, a
			// trailing slash): following it would send the credentials
			// elsewhere, or hide the mistake. The 3xx is reported.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

func (*Connector) Name() string                { return Name }
func (*Connector) SystemID() customer.SystemID { return customer.MyCashFlow }

// String shows where the connector talks to, never its credentials.
func (c *Connector) String() string { return "mycashflow{" + c.root + "}" }

// GoString is String, so that %#v does not show the credentials either.
func (c *Connector) GoString() string { return c.String() }
