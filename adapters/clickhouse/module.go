package clickhouse

import (
	"context"
	"errors"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/ports"
)

// Config is the ClickHouse part of the configuration.
type Config struct {
	// URL is clickhouse://[user[:password]@]host:port/database (native
	// protocol).
	URL   string
	Relay RelayConfig
}

// Module provides the ClickHouse connection, the consent audit log (as
// *Audit, whose Compact the housekeeping runs, and as ports.ConsentAudit),
// and the relay, started and stopped with the application. It needs a
// Config, a ports.Outbox and a *zap.Logger; a prometheus.Registerer is used
// when there is one (else the default one).
//
// The relay joins the value group "readiness" (the checks /readyz runs):
// it shows the backlog and lag, and fails only when RelayConfig.UnreadyAfter
// is set and ClickHouse has been unreachable for longer than it allows the
// backlog to age. The plain ClickHouse
// ping (*Readiness) is provided but not put in that group: ClickHouse being
// down does not stop changes, and failing /readyz for it would take every
// instance out of rotation at once.
var Module = fx.Module("clickhouse",
	fx.Provide(
		newConn,
		fx.Annotate(New, fx.As(fx.Self()), fx.As(new(ports.ConsentAudit))),
		newRelay,
		NewReadiness,
		fx.Annotate(func(r *Relay) ports.Readiness { return r }, fx.ResultTags(`group:"readiness"`)),
	),
	fx.Invoke(func(*Relay) {}),
)

type connParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Log       *zap.Logger `optional:"true"`
}

// newConn opens the pool and pings ClickHouse on start. An unreachable
// ClickHouse does not stop the start: changes go on, their events wait in
// the outbox, and the relay ships them once ClickHouse answers. A URL that
// cannot work does stop it.
func newConn(p connParams) (driver.Conn, error) {
	if p.Config.URL == "" {
		return nil, errors.New("clickhouse: no URL configured (KIRJURI_CLICKHOUSE_URL)")
	}
	conn, err := dial(p.Config.URL)
	if err != nil {
		return nil, err
	}
	log := p.Log
	if log == nil {
		log = zap.NewNop()
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := conn.Ping(ctx); err != nil {
				log.Warn("ClickHouse does not answer; consent events wait in the outbox until it does",
					zap.String("url", redact(p.Config.URL)), zap.Error(err))
			}
			return nil
		},
		OnStop: func(context.Context) error { return conn.Close() },
	})
	return conn, nil
}

type relayParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Outbox    ports.Outbox
	Audit     ports.ConsentAudit
	Log       *zap.Logger           `optional:"true"`
	Registry  prometheus.Registerer `optional:"true"`
}

func newRelay(p relayParams) *Relay {
	reg := p.Registry
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	r := NewRelay(p.Outbox, p.Audit, p.Config.Relay, p.Log, reg)
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error { r.Start(); return nil },
		OnStop:  r.Stop,
	})
	return r
}
