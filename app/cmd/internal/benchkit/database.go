package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
)

// Database is a benchmark's own database on the dev PostgreSQL server, and
// the advisory lock that makes two runs of the benchmark (which would
// empty and load it under each other, and share the machine) take turns.
type Database struct {
	ServerURL string // a URL of the server; its database is replaced by Name
	Name      string
	Command   string // the benchmark, for the messages about the lock
	LockKey   int64
	// Logf prints a progress line (the command's own format).
	Logf func(format string, args ...any)
}

// WithDatabase points a PostgreSQL URL at another database of the same
// server.
func WithDatabase(serverURL, db string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("the database URL is not a postgres:// URL")
	}
	u.Path = "/" + db
	return u.String(), nil
}

// Ensure creates the database when it is missing (or anew when recreate,
// the commands' --reload), migrates it and returns its URL.
func (d Database) Ensure(ctx context.Context, recreate bool) (string, error) {
	adminURL, err := WithDatabase(d.ServerURL, "postgres")
	if err != nil {
		return "", err
	}
	benchURL, _ := WithDatabase(d.ServerURL, d.Name)
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the PostgreSQL server: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, d.Name).Scan(&exists); err != nil {
		return "", err
	}
	if exists && recreate {
		// Another run holding the lock keeps its connections: DROP then
		// fails, which is what should happen.
		if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{d.Name}.Sanitize()); err != nil {
			return "", fmt.Errorf("drop database %s (--reload): %w", d.Name, err)
		}
		exists = false
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{d.Name}.Sanitize()); err != nil {
			return "", fmt.Errorf("create database %s: %w", d.Name, err)
		}
		d.Logf("created database %s", d.Name)
	}
	if err := postgres.Migrate(ctx, benchURL); err != nil {
		return "", err
	}
	return benchURL, nil
}

// Conn is a connection the lock can be taken on: *pgx.Conn (which holds
// it until closed) or a *pgxpool.Conn (LockPool).
type Conn interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Lock takes the run lock on conn, waiting for another run to finish.
func (d Database) Lock(ctx context.Context, conn Conn) error {
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, d.LockKey).Scan(&got); err != nil {
		return err
	}
	if !got {
		d.Logf("another %s run is using %s; waiting for it to finish", d.Command, d.Name)
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, d.LockKey); err != nil {
			return fmt.Errorf("wait for the other %s run: %w", d.Command, err)
		}
	}
	return nil
}

// LockPool takes the run lock on a connection of pool, waiting for
// another run to finish, and returns its release.
func (d Database) LockPool(ctx context.Context, pool *pgxpool.Pool) (func(), error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if err := d.Lock(ctx, conn); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		_, _ = conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, d.LockKey)
		conn.Release()
	}, nil
}
