package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/postgres"
	"kirjuri/app/cmd/internal/benchkit"
)

// benchKey encrypts the identity codes of the bench database only (the
// generated customers have none).
var benchKey = []byte("kirjuri-bench-conn identity key!")

// benchLock is the advisory lock a run holds (on the server's postgres
// database), so that two runs, which would drop the database under each
// other and share the machine, take turns.
const benchLock = 0x6b6972_636f6e6e // "kir" "conn"

// lockBench connects to the server's postgres database and takes the run
// lock, waiting for another run to finish. The connection is returned; it
// holds the lock until closed.
func (b *bench) lockBench(ctx context.Context) (*pgx.Conn, error) {
	adminURL, err := benchkit.WithDatabase(b.opts.databaseURL, "postgres")
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to the PostgreSQL server: %w", err)
	}
	db := benchkit.Database{Name: benchDB, Command: "kirjuri-bench-connectors", LockKey: benchLock, Logf: benchkit.Logf}
	if err := db.Lock(ctx, conn); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}

// freshDatabase drops the bench database (with any connection a crashed
// run left), creates and migrates it, and returns its URL.
func (b *bench) freshDatabase(ctx context.Context, admin *pgx.Conn) (string, error) {
	benchURL, err := benchkit.WithDatabase(b.opts.databaseURL, benchDB)
	if err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+benchDB+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop database %s: %w", benchDB, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+benchDB); err != nil {
		return "", fmt.Errorf("create database %s: %w", benchDB, err)
	}
	if err := postgres.Migrate(ctx, benchURL); err != nil {
		return "", err
	}
	return benchURL, nil
}

// buildService builds the service as `go build` does, into the bench
// folder.
func (b *bench) buildService(ctx context.Context) (string, error) {
	bin, pkg := filepath.Join(b.opts.dir, "kirjuri"), benchkit.ServicePackage
	if b.opts.cpuProfile {
		pkg = benchkit.ProfiledPackage
	}
	return bin, benchkit.Build(ctx, bin, pkg)
}

// service is the `kirjuri serve` subprocess.
type service struct{ *benchkit.Service }

// startService runs `kirjuri serve` on the bench database with the
// webstore connector enabled under secret, ClickHouse off unless
// --clickhouse, logging to a file, and waits until it answers /readyz.
func (b *bench) startService(ctx context.Context, secret string) (*service, error) {
	env := []string{
		"KIRJURI_CONNECTORS_WEBSTORE_ENABLED=true",
		"KIRJURI_CONNECTORS_WEBSTORE_SIGNING_SECRET=" + secret,
	}
	if b.opts.cpuProfile {
		env = append(env, "KIRJURI_BENCH_CPU_PROFILE="+filepath.Join(b.opts.dir, "cpu.pprof"))
	}
	if b.opts.jobWorkers > 0 {
		env = append(env, "KIRJURI_JOBS_WORKERS="+strconv.Itoa(b.opts.jobWorkers))
	}
	s, err := benchkit.StartService(ctx, benchkit.ServiceConfig{
		Bin:           b.bin,
		Dir:           b.opts.dir,
		LogPath:       filepath.Join(b.opts.dir, "kirjuri.log"),
		DatabaseURL:   b.benchURL,
		ClickHouseURL: b.opts.clickhouseURL,
		EncryptionKey: benchKey,
		Env:           append(env, b.opts.serviceEnv...),
		// For the polls and checks.
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}, Timeout: 30 * time.Second},
	})
	if err != nil {
		return nil, err
	}
	return &service{s}, nil
}
