package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/register"
)

// env is one test's database, store and register service.
type env struct {
	t     testing.TB
	ctx   context.Context
	url   string
	pool  *pgxpool.Pool
	store *postgres.Store
	reg   *register.Service
}

var testKey = bytes.Repeat([]byte{7}, postgres.SSNKeySize)

func newEnv(t testing.TB) *env {
	t.Helper()
	return envOn(t, pgtest.NewDatabase(t))
}

// envOn is newEnv on a given database, which it migrates.
func envOn(t testing.TB, url string) *env {
	t.Helper()
	if err := postgres.Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	pool := pgtest.NewPool(t, url)
	cipher, err := postgres.NewSSNCipher(testKey)
	if err != nil {
		t.Fatal(err)
	}
	s := postgres.New(pool, cipher)
	return &env{t: t, ctx: t.Context(), url: url, pool: pool, store: s, reg: register.New(s, wallClock{}, v7{})}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

type v7 struct{}

func (v7) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

var caller = register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "key:test"}, SeeRestricted: true}

func (e *env) create(p customer.Patch) *customer.Customer {
	e.t.Helper()
	c, err := e.reg.Create(e.ctx, p, caller)
	if err != nil {
		e.t.Fatalf("Create: %v", err)
	}
	return c
}

func person(first, last string) customer.Patch {
	return customer.Patch{FirstName: customer.Set(first), LastName: customer.Set(last)}
}

func (e *env) unshipped() int64 {
	e.t.Helper()
	n, _, err := e.store.Backlog(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}
