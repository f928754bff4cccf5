package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/ports/delivery"
)

func numCPU() int { return runtime.NumCPU() }

// floorServer is the irreducible part of an acknowledgement: a bare
// net/http handler that reads the body (at most 1 MiB), verifies the same
// Standard Webhooks signature with the same code, and INSERTs the raw body
// under its webhook-id into a table with a unique key (one autocommitted
// statement: one WAL flush), answering 202, or 200 for a key it has. No
// routing library, no authentication of a caller, no access log, no
// metrics, no job row.
type floorServer struct {
	srv  *http.Server
	url  string
	pool *pgxpool.Pool
}

func startFloor(ctx context.Context, dbURL string, key []byte, conns int32) (*floorServer, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = conns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS floor_inbox;
		CREATE TABLE floor_inbox (
			delivery_key text PRIMARY KEY,
			received_at  timestamptz NOT NULL,
			body         bytea NOT NULL)`); err != nil {
		pool.Close()
		return nil, fmt.Errorf("floor: create floor_inbox: %w", err)
	}
	verifier := delivery.StandardWebhooks{Secrets: [][]byte{key}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body", http.StatusRequestEntityTooLarge)
			return
		}
		now := time.Now()
		if err := verifier.Verify(r.Header, body, now); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		tag, err := pool.Exec(r.Context(), `INSERT INTO floor_inbox (delivery_key, received_at, body)
			VALUES ($1, $2, $3) ON CONFLICT (delivery_key) DO NOTHING`,
			r.Header.Get(delivery.HeaderWebhookID), now, body)
		if err != nil {
			http.Error(w, "store", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if tag.RowsAffected() == 0 {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{"status":"already received"}`))
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"received"}`))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pool.Close()
		return nil, err
	}
	f := &floorServer{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, pool: pool,
		url: "http://" + l.Addr().String() + "/webhook"}
	go func() {
		if err := f.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			benchkit.Logf("floor server: %v", err)
		}
	}()
	return f, nil
}

// stored is how many deliveries the floor stored.
func (f *floorServer) stored(ctx context.Context) (int64, error) {
	var n int64
	err := f.pool.QueryRow(ctx, `SELECT count(*) FROM floor_inbox`).Scan(&n)
	return n, err
}

func (f *floorServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.srv.Shutdown(ctx)
	_, _ = f.pool.Exec(ctx, `DROP TABLE IF EXISTS floor_inbox`)
	f.pool.Close()
}

// walStats are the server's WAL and commit counters over a window
// (pg_stat_wal is the whole server's; xact_commit the bench database's).
type walStats struct {
	syncs, writes, commits float64
	bytes                  float64
	ok                     bool
}

func readWAL(ctx context.Context, pool *pgxpool.Pool) walStats {
	var w walStats
	// Statistics of this backend reach the shared counters at its next
	// report; pg_stat_clear_snapshot makes the read fresh.
	_, _ = pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	err := pool.QueryRow(ctx, `SELECT w.wal_sync, w.wal_write, w.wal_bytes::float8, d.xact_commit
		FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`).
		Scan(&w.syncs, &w.writes, &w.bytes, &w.commits)
	w.ok = err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		benchkit.Logf("pg_stat_wal: %v", err)
	}
	return w
}

func (w walStats) minus(o walStats) walStats {
	return walStats{syncs: w.syncs - o.syncs, writes: w.writes - o.writes, commits: w.commits - o.commits,
		bytes: w.bytes - o.bytes, ok: w.ok && o.ok}
}
