package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/zap"

	"kirjuri/ports"
)

const (
	tagHealth = "Health"
	// readyTimeout bounds each readiness check.
	readyTimeout = 2 * time.Second
)

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status" enum:"ok"`
}

// noKey is the security of the probes: none (an empty list, which the
// document shows as `security: []`).
var noKey = []map[string][]string{}

type healthOutput struct {
	Body *Health
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Status string           `json:"status" enum:"ready,unavailable"`
	Checks []ReadinessCheck `json:"checks" nullable:"false"`
}

// ReadinessCheck is one dependency's state. The reason of a failure is
// logged, not shown: the endpoint needs no key.
type ReadinessCheck struct {
	Name   string `json:"name"`
	Status string `json:"status" enum:"ok,failed,timeout"`
	// Details are figures of the dependency, such as the audit relay's
	// backlog (events waiting) and lagSeconds (age of the oldest).
	Details map[string]any `json:"details,omitempty"`
}

type readyOutput struct {
	Status int
	Body   *Readiness
}

func (a *API) registerHealth() {
	huma.Register(a.huma, huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness",
		Description: "Answers 200 while the process serves requests; checks no dependency (see /readyz). Needs no API key.",
		Tags:        []string{tagHealth},
		Security:    noKey,
		// Unknown query parameters are refused (422), as everywhere.
		Errors: []int{http.StatusUnprocessableEntity},
	}, func(context.Context, *struct{}) (*healthOutput, error) {
		return &healthOutput{Body: &Health{Status: "ok"}}, nil
	})

	op := huma.Operation{
		OperationID: "readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness",
		Description: "Checks every dependency (PostgreSQL, the audit relay's backlog) with a 2 s timeout: 200 when all answer, 503 otherwise. Needs no API key.",
		Tags:        []string{tagHealth},
		Security:    noKey,
		Errors:      []int{http.StatusUnprocessableEntity},
	}
	huma.Register(a.huma, op, a.readyz)
	// Document the 503, which carries the same body.
	if item := a.huma.OpenAPI().Paths["/readyz"]; item != nil && item.Get != nil {
		ok := item.Get.Responses["200"]
		item.Get.Responses["503"] = &huma.Response{Description: "A dependency is not ready", Content: ok.Content}
	}
}

func (a *API) readyz(ctx context.Context, _ *struct{}) (*readyOutput, error) {
	out := &Readiness{Status: "ready", Checks: make([]ReadinessCheck, len(a.ready))}
	type result struct {
		i   int
		err error
	}
	results := make(chan result, len(a.ready))
	for i, r := range a.ready {
		out.Checks[i] = ReadinessCheck{Name: r.Name(), Status: "timeout"}
		go func() {
			cctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			results <- result{i: i, err: r.Ready(cctx)}
		}()
	}
	// A check that ignores its context must not hold the answer up.
	deadline := time.NewTimer(readyTimeout + 100*time.Millisecond)
	defer deadline.Stop()
wait:
	for range a.ready {
		select {
		case res := <-results:
			c := &out.Checks[res.i]
			switch {
			case res.err == nil:
				c.Status = "ok"
			case errors.Is(res.err, context.DeadlineExceeded):
				c.Status = "timeout"
			default:
				c.Status = "failed"
			}
			if res.err != nil {
				a.log.Warn("dependency not ready", zap.String("dependency", c.Name), zap.Error(res.err))
			}
		case <-deadline.C:
			break wait
		}
	}
	for i, r := range a.ready {
		if d, ok := r.(ports.ReadinessDetails); ok {
			out.Checks[i].Details = d.Details()
		}
	}
	status := http.StatusOK
	for _, c := range out.Checks {
		if c.Status != "ok" {
			out.Status, status = "unavailable", http.StatusServiceUnavailable
		}
	}
	return &readyOutput{Status: status, Body: out}, nil
}

func sortReadiness(rs []ports.Readiness) {
	slices.SortStableFunc(rs, func(a, b ports.Readiness) int { return strings.Compare(a.Name(), b.Name()) })
}
