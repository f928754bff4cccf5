package clickhouse

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/database/dialect"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable is goose's bookkeeping table in the audit database.
const versionTable = "goose_db_version"

// Migrate brings the schema of the database named by url up to date,
// creating the database first when it does not exist.
//
// The migrations are plain SQL files run by goose v3 through clickhouse-go's
// database/sql driver on the native protocol, with goose's version-table SQL
// replaced (versionQuerier): goose's own "clickhouse" dialect records a
// version with INSERT ... VALUES ($1, $2), and ClickHouse 18.16 does not read
// inline VALUES of an INSERT sent over the native protocol: it waits for data
// blocks that database/sql's Exec never sends, and the call hangs until its
// context ends. INSERT ... SELECT is executed by the server alone and works.
//
// ClickHouse has no transactional DDL, so every migration is written to be
// harmless when re-run (IF NOT EXISTS) and marked NO TRANSACTION. goose takes
// no lock on ClickHouse; two Migrate runs at once are harmless because of that
// idempotence and because the version table collapses duplicate versions.
func Migrate(ctx context.Context, url string) error {
	db, err := databaseName(url)
	if err != nil {
		return err
	}
	if err := createDatabase(ctx, url, db); err != nil {
		return err
	}

	opts, err := options(url)
	if err != nil {
		return err
	}
	sqlDB := ch.OpenDB(opts)
	defer sqlDB.Close()

	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("clickhouse migrations: %w", err)
	}
	store, err := database.NewStoreFromQuerier(versionTable, versionQuerier{})
	if err != nil {
		return fmt.Errorf("clickhouse migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectCustom, sqlDB, fsys,
		goose.WithStore(store),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("clickhouse migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		var pe *goose.PartialError
		if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
			return fmt.Errorf("clickhouse migration %s in database %s: %w", pe.Failed.Source.Path, db, pe.Err)
		}
		return fmt.Errorf("clickhouse migrations in database %s: %w", db, err)
	}
	return nil
}

// createDatabase creates db when it is missing. It connects to the server's
// "default" database: a connection naming a missing database is refused.
func createDatabase(ctx context.Context, url, db string) error {
	if db == "default" {
		return nil
	}
	if !validIdentifier(db) {
		return fmt.Errorf("clickhouse URL: database name %q is not a plain identifier", db)
	}
	serverURL, err := withDatabase(url, "default")
	if err != nil {
		return err
	}
	conn, err := Open(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
		return fmt.Errorf("clickhouse: create database %s: %w", db, err)
	}
	return nil
}

// versionQuerier is goose's version-table SQL for ClickHouse 18.16. The table
// is a ReplacingMergeTree keyed by version, so a version recorded twice (two
// Migrate runs at once) collapses, and the reads that could see both copies
// before a merge use FINAL (the table holds a handful of rows).
type versionQuerier struct{}

var _ dialect.QuerierExtender = versionQuerier{}

func (versionQuerier) CreateTable(table string) string {
	return `CREATE TABLE IF NOT EXISTS ` + table + ` (
		version_id Int64,
		is_applied UInt8,
		tstamp     DateTime DEFAULT now()
	) ENGINE = ReplacingMergeTree(tstamp) ORDER BY version_id`
}

func (versionQuerier) InsertVersion(table string) string {
	return `INSERT INTO ` + table + ` (version_id, is_applied) SELECT toInt64($1), toUInt8($2)`
}

// DeleteVersion is used by down migrations only (kirjuri never runs them): an
// asynchronous mutation, since 18.16 has no mutations_sync.
func (versionQuerier) DeleteVersion(table string) string {
	return `ALTER TABLE ` + table + ` DELETE WHERE version_id = $1`
}

func (versionQuerier) GetMigrationByVersion(table string) string {
	return `SELECT tstamp, is_applied FROM ` + table + ` FINAL WHERE version_id = $1 ORDER BY tstamp DESC LIMIT 1`
}

func (versionQuerier) ListMigrations(table string) string {
	return `SELECT version_id, is_applied FROM ` + table + ` FINAL ORDER BY version_id DESC`
}

func (versionQuerier) GetLatestVersion(table string) string {
	return `SELECT max(version_id) FROM ` + table
}

func (versionQuerier) TableExists(table string) string {
	return `SELECT count() > 0 FROM system.tables WHERE database = currentDatabase() AND name = '` + table + `'`
}
