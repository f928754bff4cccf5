package httpapi

import (
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"

	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

func TestModule(t *testing.T) {
	st := memstore.New()
	var srv *Server
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(Config{Addr: "127.0.0.1:0", Version: "test"}, zap.NewNop()),
		fx.Supply(
			fx.Annotate(st, fx.As(new(ports.KeyStore))),
			fx.Annotate(st, fx.As(new(ports.Idempotency))),
		),
		fx.Provide(func() *register.Service {
			return register.New(st, &clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, ids{})
		}),
		fx.Provide(
			fx.Annotate(func() ports.Readiness { return readiness{name: "b"} }, fx.ResultTags(`group:"`+ReadinessGroup+`"`)),
			fx.Annotate(func() ports.Readiness { return readiness{name: "a"} }, fx.ResultTags(`group:"`+ReadinessGroup+`"`)),
		),
		Module,
		fx.Populate(&srv),
	)
	app.RequireStart()
	res, err := http.Get("http://" + srv.Addr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if want := `{"status":"ready","checks":[{"name":"a","status":"ok"},{"name":"b","status":"ok"}]}`; res.StatusCode != 200 || string(body) != want+"\n" {
		t.Errorf("GET /readyz: %d %s, want %s", res.StatusCode, body, want)
	}
	app.RequireStop()
	if _, err := http.Get("http://" + srv.Addr() + "/healthz"); err == nil {
		t.Error("still serving after stop")
	}
}
