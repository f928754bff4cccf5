package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// sessionKey carries the transaction of a Session in the context fn gets.
// It never leaves this package.
type sessionKey struct{}

func sessionTx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(sessionKey{}).(pgx.Tx)
	return tx
}

// Session runs fn in one transaction (ports.BulkStore.Session). The
// methods that take part (the bulk lookups and WriteBatch, ListGroups, the
// import store's) use the session's transaction when their context carries
// one; WriteBatch's own transaction becomes a savepoint of it, so that its
// retries and its dry runs roll back alone. A pgx.Tx serves one call at a
// time: fn must not call the store from several goroutines at once.
func (s *Store) Session(ctx context.Context, fn func(ctx context.Context) error) error {
	if sessionTx(ctx) != nil {
		return fn(ctx)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, sessionKey{}, tx))
	})
}

// db is the session's transaction, or the pool.
func (s *Store) db(ctx context.Context) querier {
	if tx := sessionTx(ctx); tx != nil {
		return tx
	}
	return s.pool
}

// beginner starts a transaction: a savepoint within a session.
func (s *Store) beginner(ctx context.Context) interface {
	Begin(ctx context.Context) (pgx.Tx, error)
} {
	if tx := sessionTx(ctx); tx != nil {
		return tx
	}
	return s.pool
}
