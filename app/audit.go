package app

import (
	"go.uber.org/fx"

	"kirjuri/adapters/clickhouse"
)

// auditOptions wires the consent audit log on ClickHouse and its relay.
// Without a ClickHouse URL there is no audit log: consent events still wait
// in the PostgreSQL outbox, and the audit endpoints answer 503.
func auditOptions(cfg Config) (fx.Option, error) {
	if cfg.ClickHouse.URL == "" {
		return fx.Options(), nil
	}
	r := cfg.ClickHouse.Relay
	return fx.Options(
		fx.Supply(clickhouse.Config{
			URL: cfg.ClickHouse.URL,
			Relay: clickhouse.RelayConfig{
				BatchSize:    r.BatchSize,
				Interval:     r.Interval,
				MaxBackoff:   r.MaxBackoff,
				UnreadyAfter: r.UnreadyAfter,
			},
		}),
		clickhouse.Module,
	), nil
}
