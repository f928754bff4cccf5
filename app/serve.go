package app

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"

	"kirjuri/adapters/excel"
	httpapi "kirjuri/adapters/http"
	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/adapters/system"
	"kirjuri/core/access"
	"kirjuri/ports"
)

// Options is the whole application graph for cfg: the PostgreSQL store, the
// register service, the HTTP API, the consent audit (when ClickHouse is
// configured) and the enabled connectors. Tests build it too.
func Options(cfg Config, log *zap.Logger) (fx.Option, error) {
	ssnKey, err := cfg.SSNKey()
	if err != nil {
		return nil, err
	}
	ssnOldKeys, err := cfg.SSNOldKeys()
	if err != nil {
		return nil, err
	}
	connectors, err := connectorOptions(cfg.Connectors)
	if err != nil {
		return nil, err
	}
	audit, err := auditOptions(cfg)
	if err != nil {
		return nil, err
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	return fx.Options(
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.ZapLogger{Logger: log}
			l.UseLogLevel(zap.DebugLevel)
			return l
		}),
		fx.Supply(cfg, log),
		fx.Supply(
			fx.Annotate(registry, fx.As(new(prometheus.Registerer))),
			fx.Annotate(registry, fx.As(new(prometheus.Gatherer))),
		),
		fx.Supply(postgres.Config{DatabaseURL: cfg.Database.URL, MaxConns: cfg.Database.MaxConns, SSNKey: ssnKey, SSNOldKeys: ssnOldKeys}),
		postgres.Module,
		fx.Provide(fx.Annotate(
			func(s *postgres.Store) ports.Readiness { return s },
			fx.ResultTags(`group:"`+httpapi.ReadinessGroup+`"`),
		)),
		system.Module,
		fx.Provide(newRegister), // register.New, told which connectors push (pushes.go)
		// The bootstrap key is stored before the listener opens: fx runs
		// the invokes of child modules first, in the order given, and start
		// hooks in the order appended, so a client that waits for /healthz
		// can use the key at once.
		fx.Module("bootstrap", fx.Invoke(bootstrapKey)),
		fx.Supply(httpapi.Config{Addr: cfg.HTTP.Addr, Version: Version, MaxBodyBytes: cfg.HTTP.MaxBodyBytes, WebhookContracts: webhookContracts()}),
		httpapi.Module,
		excel.Module, // the spreadsheet of GET /v1/exports/customers.xlsx
		audit,
		// Background jobs: enqueued through the store (in a change's own
		// transaction when it has one), worked by the runner.
		fx.Provide(
			func(s *postgres.Store) ports.Jobs { return s },
			func(s *postgres.Store) ports.ChangeJobs { return s },
		),
		fx.Supply(jobsConfig(cfg)),
		jobs.Module,
		importOptions(cfg),
		pushOptions(cfg),
		fx.Options(connectors...),
		fx.Invoke(maintenance),
	), nil
}

// jobsConfig is the runner's configuration: the default queue with
// jobs.workers (when not 0) and the queues of jobs.queues.
func jobsConfig(cfg Config) jobs.Config {
	queues := make(map[string]int, len(cfg.Jobs.Queues)+1)
	if cfg.Jobs.Workers > 0 {
		queues[jobs.DefaultQueue] = cfg.Jobs.Workers
	}
	importQueue(cfg, queues)
	pushQueue(cfg, queues)
	maps.Copy(queues, cfg.Jobs.Queues)
	return jobs.Config{Queues: queues, StopTimeout: cfg.Jobs.StopTimeout, JobTimeout: cfg.Jobs.JobTimeout, RescueAfter: cfg.Jobs.RescueAfter}
}

// Serve runs the service until ctx ends (SIGINT, SIGTERM).
func Serve(ctx context.Context, cfg Config) error {
	log, err := NewLogger(cfg)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	tuneRuntime(cfg, log)
	opts, err := Options(cfg, log)
	if err != nil {
		return err
	}
	app := fx.New(opts)
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	log.Info("kirjuri is serving", zap.String("addr", cfg.HTTP.Addr), zap.String("version", Version))
	select {
	case <-ctx.Done():
		log.Info("stopping", zap.String("reason", context.Cause(ctx).Error()))
	case sig := <-app.Wait():
		log.Info("stopping", zap.Stringer("signal", sig.Signal))
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	start := time.Now()
	if err := app.Stop(stopCtx); err != nil {
		return fmt.Errorf("graceful stop: %w", err)
	}
	// Operators and the run command's test look for this line: everything
	// in flight was finished and every connection closed.
	log.Info("stopped gracefully", zap.Duration("took", time.Since(start)))
	return nil
}

// BootstrapKeyName is the name of the key of KIRJURI_BOOTSTRAP_API_KEY.
// `kirjuri apikey create` does not hand it out.
const BootstrapKeyName = "bootstrap"

// bootstrapKey makes the key of KIRJURI_BOOTSTRAP_API_KEY, with every scope,
// the one active key named "bootstrap": when the configured secret changed,
// the key of the old one is revoked. A secret that was revoked (`kirjuri
// apikey revoke bootstrap`) stops the start rather than coming back.
func bootstrapKey(lc fx.Lifecycle, cfg Config, keys ports.KeyStore, ids ports.IDs, clock ports.Clock, log *zap.Logger) {
	if cfg.BootstrapAPIKey == "" {
		return
	}
	lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
		k := access.Key{ID: ids.New(), Name: BootstrapKeyName, Scopes: access.Scopes, CreatedAt: clock.Now()}
		if err := keys.ReplaceKey(ctx, k, access.Hash(cfg.BootstrapAPIKey)); err != nil {
			return fmt.Errorf("bootstrap API key (KIRJURI_BOOTSTRAP_API_KEY): %w", err)
		}
		log.Info("bootstrap API key is ready (every scope)")
		return nil
	}})
}
