package app

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/postgres"
	"kirjuri/ports"
)

// Housekeeping windows: shipped consent events stay in the outbox for a week
// (ClickHouse is the record; the copy helps when a shipment has to be
// checked), and idempotency keys for their 24 hours.
const (
	keepShipped      = 7 * 24 * time.Hour
	maintenanceEvery = time.Hour
)

type maintenanceParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Store     *postgres.Store
	// Audit is the consent audit log, when ClickHouse is configured.
	Audit *clickhouse.Audit `optional:"true"`
	Clock ports.Clock
	Log   *zap.Logger
}

// maintenance runs the housekeeping once an hour while serving: the store's
// purges and, with the audit log, the compaction of its closed months
// (clickhouse.Audit.Compact). Several instances may run it at once: the
// deletes are idempotent, and a partition another instance is compacting is
// skipped.
func maintenance(p maintenanceParams) {
	store, audit, log := p.Store, p.Audit, p.Log
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	run := func() {
		if n, err := store.PurgeShipped(ctx, keepShipped); err != nil {
			log.Warn("housekeeping: purge shipped consent events", zap.Error(err))
		} else if n > 0 {
			log.Info("housekeeping: purged shipped consent events", zap.Int64("count", n))
		}
		if _, err := store.PurgeIdempotency(ctx); err != nil {
			log.Warn("housekeeping: purge idempotency keys", zap.Error(err))
		}
		if _, err := store.PurgeInbox(ctx, p.Clock.Now()); err != nil {
			log.Warn("housekeeping: purge the connector inbox", zap.Error(err))
		}
		if audit != nil {
			start := time.Now()
			n, err := audit.Compact(ctx, p.Clock.Now())
			if err != nil {
				log.Warn("housekeeping: compact the consent audit log", zap.Int("partitions", n), zap.Error(err))
			} else if n > 0 {
				log.Info("housekeeping: compacted closed months of the consent audit log",
					zap.Int("partitions", n), zap.Duration("took", time.Since(start)))
			}
		}
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				t := time.NewTicker(maintenanceEvery)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						run()
					}
				}
			}()
			return nil
		},
		OnStop: func(stopCtx context.Context) error {
			cancel()
			select {
			case <-done:
			case <-stopCtx.Done():
			}
			return nil
		},
	})
}
