package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

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
// drain's transaction: Drain) is a savepoint of that transaction, which
// the context fn gets still carries (nestedSession): when fn fails, what it wrote is rolled back and the outer
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
//
// The savepoint is its own (SAVEPOINT, RELEASE, ROLLBACK TO), not pgx's
// nested transaction: pgx marks its savepoint closed when the release
// fails, and a rollback after that does nothing. The release fails when a
// statement of fn failed although fn returned nil (IngestMany leaves a
// failed lookup's drafts to Ingest, which fail one by one); the outer
// transaction is then aborted, and only the rollback to the savepoint
// restores it, so that the drain goes on with the others (one by one).
func nestedSession(ctx context.Context, outer pgx.Tx, fn func(ctx context.Context) error) (err error) {
	name := "kirjuri_session_" + strconv.FormatUint(savepoints.Add(1), 10)
	if _, err := outer.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("postgres: session: begin a savepoint: %w", err)
	}
	released := false
	// The savepoint is rolled back whenever it was not released, even
	// when ctx has ended (a shutdown cut fn short) or fn panicked: the
	// outer transaction may still commit (a drain records the results of
	// the deliveries before), and must not take fn's half-done writes
	// with it.
	defer func() {
		if released {
			return
		}
		if _, rerr := outer.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT "+name); rerr != nil && err != nil {
			err = errors.Join(err, fmt.Errorf("postgres: session: roll back a savepoint: %w", rerr))
		}
	}()
	if err := fn(context.WithValue(ctx, sessionKey{}, outer)); err != nil {
		return err
	}
	if _, err := outer.Exec(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("postgres: session: release a savepoint: %w", err)
	}
	released = true
	return nil
}

// savepoints numbers the savepoints of nested sessions (the names need
// only differ within one transaction).
var savepoints atomic.Uint64

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
