package benchkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"kirjuri/adapters/postgres/pgtest"
)

// logLines collects what a Database logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) all() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func TestDatabaseEnsure(t *testing.T) {
	server := pgtest.ServerURL(t)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "kirjuri_t_benchkit_" + hex.EncodeToString(rnd[:])
	log := &logLines{}
	d := Database{ServerURL: server, Name: name, Command: "kirjuri-bench-test", LockKey: 1, Logf: log.logf}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adminURL, err := WithDatabase(server, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	exec := func(dbURL, sql string) error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}

	// Missing: created and migrated.
	dbURL, err := d.Ensure(ctx, false)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if want := "created database " + name; log.all() != want {
		t.Errorf("log %q, want %q", log.all(), want)
	}
	if err := exec(dbURL, "CREATE TABLE bench_marker (); SELECT count(*) FROM customers"); err != nil {
		t.Fatalf("the database is not migrated: %v", err)
	}
	// There: kept as it is.
	if _, err := d.Ensure(ctx, false); err != nil {
		t.Fatalf("Ensure again: %v", err)
	}
	if err := exec(dbURL, "SELECT FROM bench_marker"); err != nil {
		t.Errorf("Ensure without recreate replaced the database: %v", err)
	}
	// Recreated (--reload): empty again, migrated.
	if _, err := d.Ensure(ctx, true); err != nil {
		t.Fatalf("Ensure, recreate: %v", err)
	}
	if err := exec(dbURL, "SELECT FROM bench_marker"); err == nil {
		t.Error("Ensure with recreate kept the old database")
	}
	if err := exec(dbURL, "SELECT count(*) FROM customers"); err != nil {
		t.Errorf("the recreated database is not migrated: %v", err)
	}
}

// Two runs take turns: the second waits for the first's release, saying so.
func TestDatabaseLock(t *testing.T) {
	pool := pgtest.NewPool(t, pgtest.NewEmptyDatabase(t))
	log := &logLines{}
	d := Database{Name: "kirjuri_bench_test", Command: "kirjuri-bench-test", LockKey: 0x6b6972_74657374, Logf: log.logf}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	release, err := d.LockPool(ctx, pool)
	if err != nil {
		t.Fatalf("LockPool: %v", err)
	}
	if log.all() != "" {
		t.Errorf("a free lock logged %q", log.all())
	}

	// While held, another connection waits, until its context ends.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	err = func() error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		return d.Lock(short, conn)
	}()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "wait for the other kirjuri-bench-test run: ") {
		t.Errorf("Lock while held = %v, want the wait to end with its context", err)
	}
	if want := "another kirjuri-bench-test run is using kirjuri_bench_test; waiting for it to finish"; log.all() != want {
		t.Errorf("log %q, want %q", log.all(), want)
	}

	// Released: the next run gets it, waiting as long as the first holds it.
	got := make(chan error, 1)
	go func() {
		release2, err := d.LockPool(ctx, pool)
		if err == nil {
			release2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second run did not wait for the first: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("second LockPool: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second run did not get the lock once released")
	}
}
