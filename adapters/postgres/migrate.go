package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"go.uber.org/zap"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded schema migrations (for tools and tests).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the folder is embedded above; it cannot be missing
	}
	return sub
}

// MigrateOption tunes Migrate.
type MigrateOption func(*migrateConfig)

type migrateConfig struct {
	log *zap.Logger
}

// WithLogger reports each applied migration to log. Without it Migrate is
// silent.
func WithLogger(log *zap.Logger) MigrateOption {
	return func(c *migrateConfig) { c.log = log }
}

// Migrate brings the database at databaseURL up to the newest schema: the
// service's own tables (goose) and then the job queue's (River's migrations
// up to RiverSchemaVersion). It is safe to run again (nothing to do) and
// from several processes at once (session advisory locks serialise them).
func Migrate(ctx context.Context, databaseURL string, opts ...MigrateOption) error {
	var cfg migrateConfig
	for _, o := range opts {
		o(&cfg)
	}
	connCfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("postgres: migrate: parse the database URL: %w", redactURLError(err))
	}
	db := stdlib.OpenDB(*connCfg)
	defer db.Close()
	if err := migrateDB(ctx, db, cfg); err != nil {
		return err
	}
	return migrateRiver(ctx, databaseURL, cfg)
}

func migrateDB(ctx context.Context, db *sql.DB, cfg migrateConfig) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	popts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
		goose.WithLogger(gooseLogger{cfg.log}),
	}
	if cfg.log != nil {
		popts = append(popts, goose.WithVerbose(true))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(), popts...)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if cfg.log != nil {
		for _, r := range results {
			cfg.log.Info("postgres migration applied",
				zap.String("migration", r.Source.Path), zap.Duration("took", r.Duration))
		}
	}
	return nil
}

// gooseLogger sends goose's messages to zap, or nowhere.
type gooseLogger struct{ log *zap.Logger }

func (l gooseLogger) Printf(format string, args ...any) {
	if l.log != nil {
		l.log.Debug(fmt.Sprintf(format, args...))
	}
}

func (l gooseLogger) Fatalf(format string, args ...any) {
	if l.log != nil {
		l.log.Error(fmt.Sprintf(format, args...))
	}
}

// redactURLError keeps the text of a connection-string error (pgx masks the
// password in it) but drops the error chain, which holds the string itself.
func redactURLError(err error) error {
	return errors.New(err.Error())
}
