package app

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"

	"kirjuri/adapters/postgres"
	"kirjuri/adapters/postgres/pgtest"
	"kirjuri/core/access"
	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/register"
)

// runCLI runs one kirjuri command in-process and returns its outputs.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := rootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"--config", writeConfig(t, "clickhouse:\n  url: \"\"\n")}, args...))
	err = root.ExecuteContext(t.Context())
	return out.String(), errOut.String(), err
}

func TestAPIKeyListAndRevoke(t *testing.T) {
	unsetEnv(t)
	db := pgtest.NewDatabase(t)
	t.Setenv("KIRJURI_DATABASE_URL", db)

	secret, _, err := runCLI(t, "apikey", "create", "--name", "kassa", "--scopes", "customers:read,pii:read")
	secret = strings.TrimSpace(secret)
	if err != nil || !strings.HasPrefix(secret, access.SecretPrefix) {
		t.Fatalf("apikey create = %q, %v", secret, err)
	}
	if _, _, err := runCLI(t, "apikey", "create", "--name", "kassa", "--scopes", "customers:read"); err == nil || !strings.Contains(err.Error(), `already named "kassa"`) {
		t.Errorf("a second active key named kassa: %v", err)
	}
	if _, _, err := runCLI(t, "apikey", "create", "--name", "bootstrap", "--scopes", "customers:read"); err == nil || !strings.Contains(err.Error(), "KIRJURI_BOOTSTRAP_API_KEY") {
		t.Errorf("apikey create --name bootstrap: %v", err)
	}
	store := postgres.New(pgtest.NewPool(t, db), nil)
	if _, err := store.KeyByHash(t.Context(), access.Hash(secret)); err != nil {
		t.Fatalf("the new key: %v", err)
	}

	list, _, err := runCLI(t, "apikey", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "kassa") ||
		!strings.Contains(lines[1], "customers:read,pii:read") || !strings.HasSuffix(strings.TrimSpace(lines[1]), " -") {
		t.Errorf("apikey list =\n%s\nwant a header and kassa, used, not revoked", list)
	}
	if strings.Contains(list, secret) || strings.Contains(list, secret[len(access.SecretPrefix):10]) {
		t.Error("apikey list shows the secret")
	}

	out, _, err := runCLI(t, "apikey", "revoke", "kassa")
	if err != nil || !strings.Contains(out, "30 seconds") {
		t.Errorf("apikey revoke = %q, %v", out, err)
	}
	_, err = store.KeyByHash(t.Context(), access.Hash(secret))
	if !fault.IsNotFound(err) {
		t.Errorf("the revoked key is still found: %v", err)
	}
	if _, _, err := runCLI(t, "apikey", "revoke", "kassa"); err == nil || !strings.Contains(err.Error(), `no active API key is named "kassa"`) {
		t.Errorf("revoking it again: %v", err)
	}
	list, _, _ = runCLI(t, "apikey", "list")
	if fields := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1]); len(fields) != 5 || fields[4] == "-" {
		t.Errorf("apikey list after revoking =\n%s\nwant a revocation time", list)
	}
	// The name is free again.
	if _, _, err := runCLI(t, "apikey", "create", "--name", "kassa", "--scopes", "customers:read"); err != nil {
		t.Errorf("a new key named kassa after the revocation: %v", err)
	}
}

// A changed KIRJURI_BOOTSTRAP_API_KEY revokes the old one at start; a
// revoked one stops the start.
func TestBootstrapKeyReplaced(t *testing.T) {
	unsetEnv(t)
	db := pgtest.NewDatabase(t)
	start := func(secret string) error {
		t.Helper()
		var cfg Config
		cfg.Mode = "production"
		cfg.EncryptionKey = testKeyB64(1)
		cfg.Database.URL = db
		cfg.HTTP.Addr = "127.0.0.1:0"
		cfg.BootstrapAPIKey = secret
		opts, err := Options(cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		app := fx.New(opts, fx.NopLogger)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := app.Start(ctx); err != nil {
			return err
		}
		return app.Stop(ctx)
	}
	const first, second = "kir_bootstrap-first-secret-0001", "kir_bootstrap-second-secret-0002"
	store := postgres.New(pgtest.NewPool(t, db), nil)
	for i, s := range []string{first, first, second} {
		if err := start(s); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	if _, err := store.KeyByHash(t.Context(), access.Hash(first)); !fault.IsNotFound(err) {
		t.Errorf("the replaced bootstrap key still works: %v", err)
	}
	if k, err := store.KeyByHash(t.Context(), access.Hash(second)); err != nil || k.Name != BootstrapKeyName || len(k.Scopes) != len(access.Scopes) {
		t.Errorf("the new bootstrap key = %+v, %v", k, err)
	}
	keys, err := store.ListKeys(t.Context())
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys = %+v, %v; want the two bootstrap keys, one revoked", keys, err)
	}
	if err := start(first); err == nil || !strings.Contains(err.Error(), "revoked") || strings.Contains(err.Error(), first) {
		t.Errorf("starting with the revoked bootstrap key: %v, want a refusal that does not show the secret", err)
	}
}

func TestRekeyCommand(t *testing.T) {
	unsetEnv(t)
	db := pgtest.NewDatabase(t)
	pool := pgtest.NewPool(t, db)
	oldKey, newKey := testKeyB64(1), testKeyB64(2)
	oldCipher, _ := postgres.NewSSNCipher(bytes.Repeat([]byte{1}, 32))
	reg := register.New(postgres.New(pool, oldCipher), wallClock{}, uuidV7{})
	caller := register.Caller{Origin: consent.Origin{Source: consent.SourceAPI, Actor: "test"}}
	var ids []uuid.UUID
	for _, code := range []string{"131052-308T", "010180-100A"} {
		c, err := reg.Create(t.Context(), customer.Patch{FirstName: customer.Set("A"), LastName: customer.Set("B"), SSN: customer.Set(code)}, caller)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID())
	}
	t.Setenv("KIRJURI_DATABASE_URL", db)

	if _, _, err := runCLI(t, "rekey"); err == nil || !strings.Contains(err.Error(), "KIRJURI_ENCRYPTION_KEY") {
		t.Errorf("rekey without a key: %v", err)
	}
	t.Setenv("KIRJURI_ENCRYPTION_KEY", newKey)
	if _, _, err := runCLI(t, "rekey"); err == nil || !strings.Contains(err.Error(), "run it again") {
		t.Errorf("rekey without the old key: %v, want a stop that says it can be run again", err)
	}
	t.Setenv("KIRJURI_ENCRYPTION_OLD_KEYS", oldKey)
	out, errOut, err := runCLI(t, "rekey", "--batch-size", "1")
	if err != nil || !strings.Contains(out, "2 re-encrypted") || !strings.Contains(errOut, "re-encrypted 2 identity codes") {
		t.Fatalf("rekey = %q %q %v", out, errOut, err)
	}
	newCipher, _ := postgres.NewSSNCipher(bytes.Repeat([]byte{2}, 32))
	for _, id := range ids {
		if _, err := postgres.New(pool, newCipher).Get(t.Context(), id); err != nil {
			t.Errorf("customer %s with the new key alone: %v", id, err)
		}
	}
	if out, _, err := runCLI(t, "rekey"); err != nil || !strings.Contains(out, "0 re-encrypted") {
		t.Errorf("rekey again = %q, %v", out, err)
	}
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

type uuidV7 struct{}

func (uuidV7) New() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// startOrder records the functions of the start hooks in the order fx runs
// them.
type startOrder struct{ hooks []string }

func (o *startOrder) LogEvent(e fxevent.Event) {
	if s, ok := e.(*fxevent.OnStartExecuting); ok {
		o.hooks = append(o.hooks, s.FunctionName)
	}
}

// The bootstrap key is stored before the HTTP listener opens, so a client
// that waits for /healthz can use it at once (it used to answer 401 for a
// moment after /healthz came up).
func TestBootstrapKeyIsStoredBeforeTheListenerOpens(t *testing.T) {
	unsetEnv(t)
	var cfg Config
	cfg.Mode = "production"
	cfg.EncryptionKey = testKeyB64(1)
	cfg.Database.URL = pgtest.NewDatabase(t)
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.BootstrapAPIKey = "kir_bootstrap-order-secret-0001"
	opts, err := Options(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	order := &startOrder{}
	app := fx.New(opts, fx.WithLogger(func() fxevent.Logger { return order }))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	at := func(part string) int {
		return slices.IndexFunc(order.hooks, func(h string) bool { return strings.Contains(h, part) })
	}
	key, listen := at("app.bootstrapKey"), at("(*Server).Start")
	if key < 0 || listen < 0 || key > listen {
		t.Errorf("start hooks in order %q: want app.bootstrapKey before (*Server).Start", order.hooks)
	}
}
