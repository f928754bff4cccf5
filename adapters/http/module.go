package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// ReadinessGroup is the fx value group of the ports.Readiness checks that
// /readyz runs. Provide one with
//
//	fx.Annotate(f, fx.As(new(ports.Readiness)), fx.ResultTags(`group:"readiness"`))
const ReadinessGroup = "readiness"

// Module provides the API and its server, and runs the server with the
// application: it listens on start and shuts down gracefully on stop. It
// needs a Config, the register service, the key and idempotency stores and
// a *zap.Logger; the consent audit log, a Prometheus registerer and
// gatherer, a clock and readiness checks are optional.
var Module = fx.Module("http",
	fx.Provide(newFromFx, NewServer),
	fx.Invoke(func(lc fx.Lifecycle, s *Server) {
		lc.Append(fx.Hook{OnStart: s.Start, OnStop: s.Stop})
	}),
)

type fxDeps struct {
	fx.In

	Config      Config
	Register    *register.Service
	Keys        ports.KeyStore
	Idempotency ports.Idempotency
	Audit       ports.ConsentAudit `optional:"true"`
	Ready       []ports.Readiness  `group:"readiness"`
	Log         *zap.Logger
	Metrics     prometheus.Registerer `optional:"true"`
	Gatherer    prometheus.Gatherer   `optional:"true"`
	Clock       ports.Clock           `optional:"true"`
	Sheets      ports.CustomerSheets  `optional:"true"`
	Imports     ImportDeps            `optional:"true"`
	Connectors  []inbound.Connector   `group:"connectors"`
	Inbox       ports.Inbox           `optional:"true"`
	Syncs       ports.SyncStore       `optional:"true"`
	Pushes      ports.Pushes          `optional:"true"`
}

func newFromFx(d fxDeps) (*API, error) {
	ready := append([]ports.Readiness(nil), d.Ready...)
	// Value groups arrive in random order.
	sortReadiness(ready)
	return New(d.Config, Deps{
		Register:    d.Register,
		Keys:        d.Keys,
		Idempotency: d.Idempotency,
		Audit:       d.Audit,
		Ready:       ready,
		Log:         d.Log,
		Metrics:     d.Metrics,
		Gatherer:    d.Gatherer,
		Clock:       d.Clock,
		Sheets:      d.Sheets,
		Imports:     d.Imports,
		Connectors:  ConnectorDeps{Connectors: d.Connectors, Inbox: d.Inbox, Pushes: d.Pushes, Syncs: d.Syncs},
	})
}
