package postgres_test

import (
	"bytes"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/ports"
)

func TestModule(t *testing.T) {
	url := pgtest.NewDatabase(t)
	var (
		store     *postgres.Store
		customers ports.CustomerStore
		outbox    ports.Outbox
		keys      ports.KeyStore
		idem      ports.Idempotency
	)
	app := fxtest.New(t,
		postgres.Module,
		fx.Supply(postgres.Config{DatabaseURL: url, MaxConns: 2, SSNKey: bytes.Repeat([]byte{1}, 32)}),
		fx.Populate(&store, &customers, &outbox, &keys, &idem),
	)
	app.RequireStart()
	// One store, published as every port.
	if customers != store || outbox != store || keys != store || idem != store {
		t.Error("the ports are not the one *Store")
	}
	if _, err := customers.NextNumber(t.Context()); err != nil {
		t.Errorf("NextNumber: %v", err)
	}
	app.RequireStop()
	if _, err := customers.NextNumber(t.Context()); err == nil {
		t.Error("the pool still answers after stop")
	}
}

func TestModuleStartFails(t *testing.T) {
	t.Run("database down", func(t *testing.T) {
		app := fx.New(postgres.Module, fx.NopLogger,
			fx.Supply(postgres.Config{DatabaseURL: "postgres://kirjuri@127.0.0.1:1/x?connect_timeout=1", SSNKey: make([]byte, 32)}),
			fx.Invoke(func(*postgres.Store) {}),
		)
		if err := app.Start(t.Context()); err == nil {
			app.Stop(t.Context())
			t.Fatal("started without a database")
		}
	})
	t.Run("short key", func(t *testing.T) {
		app := fx.New(postgres.Module, fx.NopLogger,
			fx.Supply(postgres.Config{DatabaseURL: "postgres://kirjuri@127.0.0.1:1/x", SSNKey: make([]byte, 16)}),
			fx.Invoke(func(*postgres.Store) {}),
		)
		if app.Err() == nil {
			t.Fatal("built with a 16-byte key")
		}
	})
}
