package app

import (
	"encoding/base64"
	"strings"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// The housekeeping gets the audit log to compact when ClickHouse is
// configured, and runs without it otherwise. The graph is only built (no
// server is contacted before Start).
func TestMaintenanceWiring(t *testing.T) {
	for _, chURL := range []string{"", "clickhouse://127.0.0.1:1/kirjuri"} {
		var cfg Config
		cfg.Mode = "production"
		cfg.EncryptionKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
		cfg.Database.URL = "postgres://kirjuri@127.0.0.1:1/kirjuri?sslmode=disable"
		cfg.ClickHouse.URL = chURL
		opts, err := Options(cfg, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		var got maintenanceParams
		app := fx.New(opts, fx.Populate(&got), fx.NopLogger)
		if err := app.Err(); err != nil {
			t.Fatalf("ClickHouse %q: %v", chURL, err)
		}
		if (got.Audit != nil) != (chURL != "") {
			t.Errorf("ClickHouse %q: housekeeping has audit log %v", chURL, got.Audit)
		}
	}
}
