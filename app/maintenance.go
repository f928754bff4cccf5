package app

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/adapters/postgres"
)

// Housekeeping windows: shipped consent events stay in the outbox for a week
// (ClickHouse is the record; the copy helps when a shipment has to be
// checked), and idempotency keys for their 24 hours.
const (
	keepShipped      = 7 * 24 * time.Hour
	maintenanceEvery = time.Hour
)

// maintenance runs the store's housekeeping once an hour while serving.
// Several instances may run it at once: the deletes are idempotent.
func maintenance(lc fx.Lifecycle, store *postgres.Store, log *zap.Logger) {
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
	}
	lc.Append(fx.Hook{
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
