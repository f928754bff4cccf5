// Package chtest gives integration tests a fresh, migrated ClickHouse
// database of their own.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"kirjuri/adapters/clickhouse"
)

// NewDatabase creates a database named kirjuri_t_<random> on the ClickHouse
// of KIRJURI_TEST_CLICKHOUSE_URL (or KIRJURI_CLICKHOUSE_URL), migrates it,
// drops it when the test ends, and returns its URL. Without a URL the test
// is skipped, or fails when CI=true.
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv("KIRJURI_TEST_CLICKHOUSE_URL")
	if base == "" {
		base = os.Getenv("KIRJURI_CLICKHOUSE_URL")
	}
	if base == "" {
		const msg = "no ClickHouse: set KIRJURI_TEST_CLICKHOUSE_URL (or KIRJURI_CLICKHOUSE_URL), e.g. eval \"$(scripts/servers.sh env --profile test)\""
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "kirjuri_t_" + hex.EncodeToString(b[:])
	dbURL, err1 := replaceDatabase(base, name)
	serverURL, err2 := replaceDatabase(base, "default")
	if err1 != nil || err2 != nil {
		// The URL's own text may hold a password: not shown.
		t.Fatal("the ClickHouse test URL is not a URL (want clickhouse://host:port/database)")
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Registered first: Migrate creates the database, and a failed migration
	// must not leave it behind.
	t.Cleanup(func() { drop(t, serverURL, name) })
	if err := clickhouse.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("migrate test database %s: %v", name, err)
	}
	return dbURL
}

func drop(t testing.TB, serverURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(ctx, serverURL)
	if err != nil {
		t.Logf("drop test database %s: %v", name, err)
		return
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		t.Logf("drop test database %s: %v", name, err)
	}
}

// replaceDatabase returns raw naming database db instead of its own.
func replaceDatabase(raw, db string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	q := u.Query()
	if q.Has("database") {
		q.Set("database", db)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}
