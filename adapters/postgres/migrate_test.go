package postgres_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	url := pgtest.NewEmptyDatabase(t)
	ctx := t.Context()
	// Several instances starting at once: the advisory lock serialises them.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = postgres.Migrate(ctx, url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	if err := postgres.Migrate(ctx, url); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	pool := pgtest.NewPool(t, url)
	var applied int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migration files: %v", err)
	}
	if applied != len(files) {
		t.Errorf("goose_db_version holds %d applied migrations, want %d (each once)", applied, len(files))
	}
}

func TestMigrateBadURL(t *testing.T) {
	err := postgres.Migrate(t.Context(), "postgres://kirjuri:s3cret@127.0.0.1:1/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("Migrate on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
}
