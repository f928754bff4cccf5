package clickhouse_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"kirjuri/adapters/clickhouse"
	"kirjuri/adapters/clickhouse/chtest"
	"kirjuri/ports"
)

func TestModule(t *testing.T) {
	t.Parallel()
	url := chtest.NewDatabase(t)
	events := manyEvents(40, time.Now().Add(-time.Hour).UTC())
	outbox := newFakeOutbox(events)
	reg := prometheus.NewRegistry()
	var (
		audit  ports.ConsentAudit
		impl   *clickhouse.Audit
		relay  *clickhouse.Relay
		ping   *clickhouse.Readiness
		checks []ports.Readiness
	)
	app := fxtest.New(t,
		clickhouse.Module,
		fx.Supply(clickhouse.Config{URL: url, Relay: clickhouse.RelayConfig{Interval: 10 * time.Millisecond}}),
		fx.Supply(zap.NewNop()),
		fx.Provide(func() ports.Outbox { return outbox }),
		fx.Provide(func() prometheus.Registerer { return reg }),
		fx.Populate(&audit, &impl, &relay, &ping),
		fx.Invoke(fx.Annotate(func(rs []ports.Readiness) { checks = rs }, fx.ParamTags(`group:"readiness"`))),
	)
	if impl == nil || audit != ports.ConsentAudit(impl) {
		t.Error("the module provides *clickhouse.Audit and ports.ConsentAudit as different values")
	}
	app.RequireStart()
	eventually(t, "the relay has shipped the outbox", func() bool { return outbox.waiting() == 0 })

	page, err := audit.Events(context.Background(), ports.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != len(events) {
		t.Errorf("%d events in the audit log, want %d", len(page.Items), len(events))
	}
	var names []string
	for _, c := range checks {
		names = append(names, c.Name())
		if err := c.Ready(context.Background()); err != nil {
			t.Errorf("%s: %v", c.Name(), err)
		}
	}
	if !slices.Equal(names, []string{"audit-relay"}) {
		t.Errorf("readiness checks %v, want the relay's only", names)
	}
	if err := ping.Ready(context.Background()); err != nil {
		t.Errorf("ClickHouse ping: %v", err)
	}
	app.RequireStop()
	if relay.Status().LastShipped.IsZero() {
		t.Error("relay never shipped")
	}
}

func TestModuleStartsWithClickHouseDown(t *testing.T) {
	t.Parallel()
	app := fxtest.New(t,
		clickhouse.Module,
		fx.Supply(clickhouse.Config{URL: "clickhouse://127.0.0.1:1/kirjuri", Relay: clickhouse.RelayConfig{Interval: 10 * time.Millisecond}}),
		fx.Supply(zap.NewNop()),
		fx.Provide(func() ports.Outbox { return newFakeOutbox(manyEvents(3, time.Now())) }),
		fx.Provide(func() prometheus.Registerer { return prometheus.NewRegistry() }),
	)
	app.RequireStart()
	app.RequireStop()
}
