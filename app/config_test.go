package app

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kirjuri.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigDefaults(t *testing.T) {
	unsetEnv(t)
	c, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Mode != "" || c.ClickHouse.Relay.Interval != 200*time.Millisecond || c.ClickHouse.Relay.BatchSize != 5000 {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadConfigFileThenEnvironment(t *testing.T) {
	unsetEnv(t)
	p := writeConfig(t, `
http:
  addr: 127.0.0.1:9000
database:
  url: postgres://file@127.0.0.1/kirjuri
clickhouse:
  relay:
    interval: 50ms
    batchSize: 100
`)
	t.Setenv("KIRJURI_DATABASE_URL", "postgres://env@127.0.0.1/kirjuri")
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"addr from the file", c.HTTP.Addr, "127.0.0.1:9000"},
		{"database from the environment", c.Database.URL, "postgres://env@127.0.0.1/kirjuri"},
		{"relay interval from the file", c.ClickHouse.Relay.Interval, 50 * time.Millisecond},
		{"relay batch from the file", c.ClickHouse.Relay.BatchSize, 100},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		give string
		env  map[string]string
		want string
	}{
		{"unknown key", "htpp:\n  addr: x\n", nil, "htpp"},
		{"unknown nested key", "http:\n  adr: x\n", nil, "adr"},
		{"bad mode", "mode: staging\n", nil, "mode"},
		{"short encryption key", "", map[string]string{"KIRJURI_ENCRYPTION_KEY": "c2hvcnQ="}, "32 bytes"},
		{"production without key", "mode: production\n", nil, "required in production"},
		{"short old key", "", map[string]string{"KIRJURI_ENCRYPTION_KEY": testKeyB64(1), "KIRJURI_ENCRYPTION_OLD_KEYS": testKeyB64(2) + ",c2hvcnQ="}, "KIRJURI_ENCRYPTION_OLD_KEYS), key 2"},
		{"old keys without a key", "", map[string]string{"KIRJURI_ENCRYPTION_OLD_KEYS": testKeyB64(2)}, "needs encryptionKey"},
		{"connector enabled: yes", "connectors:\n  testconn:\n    enabled: \"yes\"\n    url: https://x\n", nil, `connectors.testconn.enabled: must be true or false, not the string "yes"`},
		{"short bootstrap key", "", map[string]string{"KIRJURI_BOOTSTRAP_API_KEY": "abc"}, "at least 20"},
		{"gc percent off", "runtime:\n  gcPercent: -1\n", nil, "runtime.gcPercent: must be 25 to 10000, not -1"},
		{"tiny memory limit", "runtime:\n  memoryLimitBytes: 1000\n", nil, "runtime.memoryLimitBytes: must be 0 (none) or at least 67108864"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := LoadConfig(writeConfig(t, tt.give+"\n"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadConfig error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestSSNKeyDevelopmentIsMadeOnceAndKept(t *testing.T) {
	c := Config{Mode: "development", DataDir: t.TempDir()}
	k1, err := c.SSNKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.SSNKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 || string(k1) != string(k2) {
		t.Errorf("development key not kept: %x vs %x", k1, k2)
	}
	if _, err := (Config{Mode: "production"}).SSNKey(); err == nil {
		t.Error("production without a key gave a key")
	}
}

// Without a key and without an explicit development mode, kirjuri refuses
// to start and says what to set; nothing is generated.
func TestNoKeyWithoutDevelopmentModeRefusesToStart(t *testing.T) {
	unsetEnv(t)
	dir := t.TempDir()
	t.Setenv("KIRJURI_DATA_DIR", dir)
	cfg, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Options(cfg, zap.NewNop())
	for _, want := range []string{"KIRJURI_ENCRYPTION_KEY", "KIRJURI_MODE=development"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Options without a key or a mode = %v, want an error naming %s", err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a key was generated under the data folder: %v", entries)
	}

	// Chosen explicitly, development makes its key.
	t.Setenv("KIRJURI_MODE", "development")
	cfg, err = LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Options(cfg, zap.NewNop()); err != nil {
		t.Errorf("development mode: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "encryption-key")); err != nil {
		t.Errorf("development mode made no key: %v", err)
	}
}

func TestOldEncryptionKeysFromTheEnvironment(t *testing.T) {
	unsetEnv(t)
	t.Setenv("KIRJURI_ENCRYPTION_KEY", testKeyB64(1))
	t.Setenv("KIRJURI_ENCRYPTION_OLD_KEYS", testKeyB64(2)+", "+testKeyB64(3))
	c, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := c.SSNOldKeys()
	if err != nil || len(old) != 2 || old[0][0] != 2 || old[1][0] != 3 {
		t.Errorf("old keys = %v, %v; want the keys 2 and 3", old, err)
	}
	c, err = LoadConfig(writeConfig(t, "encryptionOldKeys:\n  - "+testKeyB64(4)+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.EncryptionOldKeys) != 2 {
		t.Errorf("the environment did not override the file: %v", c.EncryptionOldKeys)
	}
}

func testKeyB64(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32))
}

func TestConnectorSections(t *testing.T) {
	if _, err := connectorOptions(map[string]map[string]any{"woocomerce": {"enabled": true}}); err == nil || !strings.Contains(err.Error(), "connectors.woocomerce: unknown connector") {
		t.Errorf("unknown connector error = %v", err)
	}
	opts, err := connectorOptions(nil)
	if err != nil || len(opts) != 0 {
		t.Errorf("no sections = %v, %v; want no options and no error", opts, err)
	}
}

// testConnSettings are the settings of the test-only connector "testconn".
type testConnSettings struct {
	URL     string        `koanf:"url"`
	Retries int           `koanf:"retries"`
	Timeout time.Duration `koanf:"timeout"`
	Mapping struct {
		Email string `koanf:"email"`
	} `koanf:"mapping"`
}

func (s *testConnSettings) Validate() error {
	if s.URL == "" {
		return errors.New("url is required")
	}
	return nil
}

// built records the settings testconn was built with.
var built []testConnSettings

func init() {
	// A test-only registry entry: the registry is empty until the first
	// connector is written, but its decoding must already be strict.
	connectorRegistry["testconn"] = connectorEntry(
		func(s *testConnSettings) { s.Retries = 3 },
		func(s *testConnSettings) (fx.Option, error) {
			built = append(built, *s)
			return fx.Options(), nil
		})
}

func TestConnectorSectionsAreDecodedStrictly(t *testing.T) {
	tests := []struct {
		name      string
		give      string
		wantErr   string // "" for none
		wantBuilt bool
	}{
		{"enabled", "enabled: true\nurl: https://shop.example.fi\ntimeout: 5s\nmapping:\n  email: billing_email", "", true},
		{"disabled", "enabled: false\nurl: https://shop.example.fi", "", false},
		{"no enabled key is disabled", "url: https://shop.example.fi", "", false},
		{"disabled and incomplete", "enabled: false", "", false},
		{"enabled and incomplete", "enabled: true", "connectors.testconn: url is required", false},
		{"enabled: yes", `enabled: "yes"`, `connectors.testconn.enabled: must be true or false, not the string "yes"`, false},
		{"enabled: 1", "enabled: 1", "connectors.testconn.enabled: must be true or false, not 1", false},
		{"enabled: null", "enabled:", "connectors.testconn.enabled: must be true or false, not empty", false},
		{"unknown key, enabled", "enabled: true\nurl: https://x\nbaseUlr: https://x", "connectors.testconn: unknown key baseUlr; known keys: enabled, mapping, retries, timeout, url", false},
		{"unknown key, disabled", "enabled: false\nbaseUlr: https://x", "unknown key baseUlr", false},
		{"unknown nested key, disabled", "enabled: false\nmapping:\n  emial: x", "unknown key mapping.emial", false},
		{"wrong type, disabled", "enabled: false\nretries: many", "retries", false},
		{"number as a string, disabled", "enabled: false\nretries: \"3\"", "retries", false},
		{"bad duration, disabled", "enabled: false\ntimeout: soon", "timeout", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t)
			built = nil
			indented := "    " + strings.ReplaceAll(tt.give, "\n", "\n    ")
			cfg, err := LoadConfig(writeConfig(t, "connectors:\n  testconn:\n"+indented+"\n"))
			if err == nil {
				_, err = connectorOptions(cfg.Connectors)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if (len(built) > 0) != tt.wantBuilt {
				t.Errorf("built %v, want built %v", built, tt.wantBuilt)
			}
		})
	}
	built = nil
	cfg, err := LoadConfig(writeConfig(t, "connectors:\n  testconn:\n    enabled: true\n    url: https://x\n    timeout: 5s\n    mapping:\n      email: e\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connectorOptions(cfg.Connectors); err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || built[0].URL != "https://x" || built[0].Retries != 3 || built[0].Timeout != 5*time.Second || built[0].Mapping.Email != "e" {
		t.Errorf("built with %+v, want the url, the default retries, 5s and the mapping", built)
	}
}

// unsetEnv removes every KIRJURI_ variable for the test (t.Setenv restores
// them afterwards).
func unsetEnv(t *testing.T) {
	t.Helper()
	for _, e := range envVars {
		t.Setenv(e.env, "")
		if err := os.Unsetenv(e.env); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEmptyVariableTurnsAuditOff(t *testing.T) {
	unsetEnv(t)
	t.Setenv("KIRJURI_CLICKHOUSE_URL", "")
	c, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClickHouse.URL != "" {
		t.Errorf("clickhouse.url = %q, want empty (audit off)", c.ClickHouse.URL)
	}
}

// TestTuneRuntime: serve sets the collector from the configuration, and
// the environment's GOGC and GOMEMLIMIT win over it.
func TestTuneRuntime(t *testing.T) {
	oldGC, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetGCPercent(oldGC); debug.SetMemoryLimit(oldLimit) })
	unsetEnv(t)
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		t.Setenv(v, "") // restored after the test
		if err := os.Unsetenv(v); err != nil {
			t.Fatal(err)
		}
	}
	c, err := LoadConfig(writeConfig(t, "{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tuneRuntime(c, zap.NewNop())
	if gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); gc != 400 || limit != 224<<20 {
		t.Errorf("defaults: GOGC %d, limit %d; want 400, %d", gc, limit, 224<<20)
	}
	c.Runtime.MemoryLimitBytes = 0
	tuneRuntime(c, zap.NewNop())
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		t.Errorf("memoryLimitBytes 0: limit %d, want none", limit)
	}
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(1 << 30)
	tuneRuntime(c, zap.NewNop())
	if gc, limit := debug.SetGCPercent(150), debug.SetMemoryLimit(-1); gc != 150 || limit != 1<<30 {
		t.Errorf("with GOGC and GOMEMLIMIT set: GOGC %d, limit %d; want the environment's 150, %d", gc, limit, 1<<30)
	}
}
