package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/fx"

	"kirjuri/ports"
)

// Config is what the store needs from the application's configuration.
type Config struct {
	// DatabaseURL is a PostgreSQL URL (KIRJURI_DATABASE_URL).
	DatabaseURL string
	// MaxConns bounds the pool; 0 keeps pgx's default (4 or the number of
	// CPUs, whichever is larger).
	MaxConns int32
	// SSNKey is the 32-byte key personal identity codes are protected with
	// (KIRJURI_ENCRYPTION_KEY, decoded).
	SSNKey []byte
	// SSNOldKeys are earlier keys that may still have sealed stored codes
	// (KIRJURI_ENCRYPTION_OLD_KEYS): they open, the current key seals.
	SSNOldKeys [][]byte
}

// OpenPool builds a connection pool from cfg. It does not connect yet: the
// first query (or Ping) does.
func OpenPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: the database URL: %w", redactURLError(err))
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	return pool, nil
}

// Module provides the pool, the identity-code cipher and the *Store, which
// is published as ports.CustomerStore, ports.Outbox, ports.KeyStore and
// ports.Idempotency. It needs a Config. The pool is pinged on start and
// closed on stop.
var Module = fx.Module("postgres",
	fx.Provide(
		newLifecyclePool,
		func(cfg Config) (*SSNCipher, error) { return NewSSNCipher(cfg.SSNKey, cfg.SSNOldKeys...) },
		fx.Annotate(New,
			fx.As(fx.Self()),
			fx.As(new(ports.CustomerStore)),
			fx.As(new(ports.Outbox)),
			fx.As(new(ports.KeyStore)),
			fx.As(new(ports.Idempotency)),
		),
	),
)

func newLifecyclePool(lc fx.Lifecycle, cfg Config) (*pgxpool.Pool, error) {
	pool, err := OpenPool(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := pool.Ping(ctx); err != nil {
				return fmt.Errorf("postgres: the database does not answer: %w", err)
			}
			return nil
		},
		OnStop: func(context.Context) error {
			pool.Close()
			return nil
		},
	})
	return pool, nil
}
