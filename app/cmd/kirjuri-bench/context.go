package main

import (
	"context"
	"encoding/base64"
	"runtime"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/app/cmd/internal/benchkit"
)

// machineContext is what the figures depend on besides the code.
type machineContext struct {
	cores, gomaxprocs int
	goVersion         string
	cpuModel          string
	pgVersion         string
	fsync, syncCommit string
	sharedBuffers     string
	dbSize            string
	customers         int64 // rows in customers
	loaded            int64 // bench customers
	loadTook          time.Duration
	reused            bool          // loaded by an earlier run
	waited            time.Duration // for a quiet machine, 2 s a window at least
	poolSize          int32
}

func readContext(ctx context.Context, pool *pgxpool.Pool, o options, loaded int64, took time.Duration) (*machineContext, error) {
	mc := &machineContext{
		cores:      runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		goVersion:  runtime.Version(),
		loaded:     loaded,
		loadTook:   took,
		cpuModel:   benchkit.CPUModel(),
	}
	err := pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('fsync'),
		current_setting('synchronous_commit'), current_setting('shared_buffers'),
		pg_size_pretty(pg_database_size(current_database())), (SELECT count(*) FROM customers)`).
		Scan(&mc.pgVersion, &mc.fsync, &mc.syncCommit, &mc.sharedBuffers, &mc.dbSize, &mc.customers)
	return mc, err
}

// prewarm reads the tables and indexes into the operating system's cache,
// so that the first scenario (the floor) does not pay for a cold cache the
// later ones do not. Shared buffers are left to each scenario's warm-up.
func prewarm(ctx context.Context, pool *pgxpool.Pool) {
	start := time.Now()
	if _, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
		logf("prewarm: pg_prewarm is not available (%v); the warm-ups will warm the cache", err)
		return
	}
	var blocks int64
	err := pool.QueryRow(ctx, `SELECT coalesce(sum(pg_prewarm(c.oid, 'read')), 0) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') AND c.relname NOT LIKE 'goose%'`).Scan(&blocks)
	if err != nil {
		logf("prewarm: %v", err)
		return
	}
	logf("prewarm: read %d MiB into the OS cache in %s", blocks*8/1024, time.Since(start).Round(time.Millisecond))
}

func encodeKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }
