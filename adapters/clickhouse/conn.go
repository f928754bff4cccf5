package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"kirjuri/ports"
)

// defaultDialTimeout bounds how long a call waits for a server that does not
// answer; the driver's own default (30 s) would hold the relay and readiness
// checks far too long.
const defaultDialTimeout = 5 * time.Second

// Open connects to the ClickHouse named by url
// (clickhouse://[user[:password]@]host:port/database[?option=value...]) over
// the native protocol and checks that it answers. The driver's HTTP protocol
// does not work with ClickHouse 18.16, so http:// URLs are refused.
func Open(ctx context.Context, url string) (driver.Conn, error) {
	conn, err := dial(url)
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", redact(url), err)
	}
	return conn, nil
}

// dial builds a connection pool without connecting: the driver dials on first
// use and redials after failures, so one driver.Conn outlives server restarts.
func dial(url string) (driver.Conn, error) {
	opts, err := options(url)
	if err != nil {
		return nil, err
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(url), err)
	}
	return conn, nil
}

// options parses a clickhouse:// URL into driver options.
func options(raw string) (*ch.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse echoes the whole input, password included.
		return nil, errors.New("clickhouse URL: not a valid URL (want clickhouse://host:port/database)")
	}
	switch u.Scheme {
	case "clickhouse", "tcp":
	default:
		return nil, fmt.Errorf("clickhouse URL: scheme %q is not supported (want clickhouse://host:port/database, the native protocol)", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("clickhouse URL: no host (want clickhouse://host:port/database)")
	}
	opts, err := ch.ParseDSN(raw)
	if err != nil {
		return nil, fmt.Errorf("clickhouse URL %s: %w", redact(raw), err)
	}
	opts.Protocol = ch.Native
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = defaultDialTimeout
	}
	return opts, nil
}

// redact shows a URL without its password, for errors and logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// databaseName returns the database a URL names ("default" when none).
func databaseName(raw string) (string, error) {
	opts, err := options(raw)
	if err != nil {
		return "", err
	}
	return opts.Auth.Database, nil
}

// withDatabase returns raw with its database replaced by db.
func withDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("clickhouse URL: not a valid URL")
	}
	u.Path = "/" + db
	q := u.Query()
	if q.Has("database") {
		q.Set("database", db)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// validIdentifier reports whether name can be used unquoted as a database
// name in DDL.
func validIdentifier(name string) bool {
	if name == "" || len(name) > 200 {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return !strings.EqualFold(name, "system")
}

// Readiness reports whether ClickHouse answers a ping. ClickHouse being down
// does not stop changes (their events wait in the outbox), so it is meant
// for details and diagnostics, not for failing /readyz; the relay's own
// Readiness says when an outage has lasted too long.
type Readiness struct {
	conn driver.Conn
}

var _ ports.Readiness = (*Readiness)(nil)

// NewReadiness checks conn.
func NewReadiness(conn driver.Conn) *Readiness { return &Readiness{conn: conn} }

// Name is "clickhouse".
func (r *Readiness) Name() string { return "clickhouse" }

// Ready pings ClickHouse.
func (r *Readiness) Ready(ctx context.Context) error {
	if err := r.conn.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse ping: %w", err)
	}
	return nil
}
