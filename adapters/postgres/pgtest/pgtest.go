// Package pgtest gives tests in any package a fresh, migrated PostgreSQL
// database of their own.
//
// The server comes from KIRJURI_TEST_DATABASE_URL, or else
// KIRJURI_DATABASE_URL (`eval "$(scripts/servers.sh env --profile test)"`).
// Without either, tests skip; with CI=true they fail instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
)

// ServerURL returns the URL of the test server, skipping the test (failing
// it under CI=true) when none is configured.
func ServerURL(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"KIRJURI_TEST_DATABASE_URL", "KIRJURI_DATABASE_URL"} {
		if u := os.Getenv(name); u != "" {
			return u
		}
	}
	const msg = "PostgreSQL is not configured: set KIRJURI_TEST_DATABASE_URL " +
		`(or run: scripts/servers.sh up --profile test && eval "$(scripts/servers.sh env --profile test)")`
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// NewDatabase creates a database with a unique name (kirjuri_t_<random>) on
// the test server, migrates it, drops it when the test ends, and returns its
// URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	dbURL := NewEmptyDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := postgres.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	return dbURL
}

// NewEmptyDatabase is NewDatabase without the migrations.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "kirjuri_t_" + hex.EncodeToString(rnd[:])
	adminURL, dbURL := withDatabase(server, "postgres"), withDatabase(server, name)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := exec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := exec(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return dbURL
}

// withDatabase points a connection string, URL or keyword/value form, at
// another database on the same server.
func withDatabase(conn, db string) string {
	if u, err := url.Parse(conn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + db
		return u.String()
	}
	// Keyword/value form: a later keyword overrides an earlier one.
	return conn + " dbname=" + db
}

// NewPool opens a pool on url and closes it when the test ends.
func NewPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewStore is a store on a fresh database, with a random identity-code key.
func NewStore(t testing.TB) *postgres.Store {
	t.Helper()
	s, _ := NewStoreAndPool(t)
	return s
}

// NewStoreAndPool is NewStore that also returns the store's pool, for tests
// that look at the tables themselves.
func NewStoreAndPool(t testing.TB) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := NewPool(t, NewDatabase(t))
	key := make([]byte, postgres.SSNKeySize)
	_, _ = rand.Read(key)
	cipher, err := postgres.NewSSNCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return postgres.New(pool, cipher), pool
}

func exec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
