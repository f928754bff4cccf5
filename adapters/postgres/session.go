package postgres

import (
	"context"
	"errors"
	"fmt"

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
// methods that take part (the lookups, Create, Update and their ingest
// and job variants, RecordEcho, WriteBatch, ListGroups, the import
// store's) use the session's transaction when their context carries one;
// those that run a transaction of their own (WriteBatch, Create, Update)
// make it a savepoint of the session's, so that it rolls back alone. A
// pgx.Tx serves one call at a time: fn must not call the store from
// several goroutines at once.
//
// A Session within a session (or within a drain's fn, which runs in the
// drain's transaction: Drain) is a savepoint carried in the context fn
// gets: when fn fails, what it wrote is rolled back and the outer
// transaction goes on without it; otherwise it commits with the outer one.
func (s *Store) Session(ctx context.Context, fn func(ctx context.Context) error) error {
	if outer := sessionTx(ctx); outer != nil {
		return nestedSession(ctx, outer, fn)
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, sessionKey{}, tx))
	})
}

// nestedSession runs fn in a savepoint of outer.
func nestedSession(ctx context.Context, outer pgx.Tx, fn func(ctx context.Context) error) error {
	sp, err := outer.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: session: begin a savepoint: %w", err)
	}
	// The savepoint is rolled back even when ctx has ended (a shutdown cut
	// fn short) or fn panicked: the outer transaction may still commit
	// (a drain records the results of the deliveries before), and must
	// not take fn's half-done writes with it. After the commit it is a
	// no-op.
	defer func() { _ = sp.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(context.WithValue(ctx, sessionKey{}, sp)); err != nil {
		if rerr := sp.Rollback(context.WithoutCancel(ctx)); rerr != nil && !errors.Is(rerr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("postgres: session: roll back a savepoint: %w", rerr))
		}
		return err
	}
	if err := sp.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: session: release a savepoint: %w", err)
	}
	return nil
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
