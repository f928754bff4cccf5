package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/ports"
)

// WorkerGroup is the fx value group of the ports.JobWorker values the
// runner works. A feature adds its worker with one provide:
//
//	fx.Provide(jobs.AsWorker(NewImportWorker))
const WorkerGroup = "jobs.workers"

// AsWorker annotates a constructor of a ports.JobWorker (or of a type
// that is one) so that its result joins WorkerGroup.
func AsWorker(constructor any) any {
	return fx.Annotate(constructor, fx.As(new(ports.JobWorker)), fx.ResultTags(`group:"`+WorkerGroup+`"`))
}

// Module provides the *Runner and runs it with the application: started
// on start (it never blocks the start), stopped gracefully on stop (see
// Runner.Stop). It needs a Config and the *pgxpool.Pool of the service's
// database (provided by the PostgreSQL module: the pool is a pgx type, so
// the two adapters share it without importing each other); the workers of
// WorkerGroup, a *zap.Logger and a prometheus.Registerer are optional. The
// runner joins the value group "readiness" (/readyz shows the backlog and
// never fails on it) and /metrics gets kirjuri_jobs_backlog.
var Module = fx.Module("jobs",
	fx.Provide(
		newFromFx,
		fx.Annotate(func(r *Runner) ports.Readiness { return r }, fx.ResultTags(`group:"readiness"`)),
	),
	fx.Invoke(func(*Runner) {}),
)

type fxDeps struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Pool      *pgxpool.Pool
	Workers   []ports.JobWorker     `group:"jobs.workers"`
	Log       *zap.Logger           `optional:"true"`
	Metrics   prometheus.Registerer `optional:"true"`
}

func newFromFx(d fxDeps) (*Runner, error) {
	r, err := New(d.Pool, d.Config, d.Workers, d.Log)
	if err != nil {
		return nil, err
	}
	if d.Metrics != nil {
		if err := r.RegisterMetrics(d.Metrics); err != nil {
			return nil, err
		}
	}
	d.Lifecycle.Append(fx.Hook{
		OnStart: r.Start,
		OnStop:  func(ctx context.Context) error { return r.Stop(ctx) },
	})
	return r, nil
}
