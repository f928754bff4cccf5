package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if c.HTTP.Addr != "127.0.0.1:8080" || c.Mode != "development" || c.ClickHouse.Relay.Interval != 200*time.Millisecond || c.ClickHouse.Relay.BatchSize != 5000 {
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
		{"short bootstrap key", "", map[string]string{"KIRJURI_BOOTSTRAP_API_KEY": "abc"}, "at least 20"},
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

func TestConnectorSections(t *testing.T) {
	if _, err := connectorOptions(map[string]map[string]any{"woocomerce": {"enabled": true}}); err == nil || !strings.Contains(err.Error(), "connectors.woocomerce: unknown connector") {
		t.Errorf("unknown connector error = %v", err)
	}
	opts, err := connectorOptions(nil)
	if err != nil || len(opts) != 0 {
		t.Errorf("no sections = %v, %v; want no options and no error", opts, err)
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
