package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// metrics are the Prometheus series of the API. Routes are path patterns
// ("/v1/customers/{id}"), never raw paths, so the series stay few.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kirjuri",
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "kirjuri",
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "HTTP request latency by method and route pattern.",
			Buckets:   []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "kirjuri",
			Subsystem: "http",
			Name:      "requests_in_flight",
			Help:      "HTTP requests being served.",
		}),
	}
	var err error
	m.requests, err = registerCollector(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.duration, err = registerCollector(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.inFlight, err = registerCollector(reg, m.inFlight)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// registerCollector adds a collector, reusing one registered before under the same
// name (several APIs on one registry, as in tests).
func registerCollector[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metrics: %w", err)
	}
	return c, nil
}

// methodLabel bounds the method label to the known methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

var statusLabels = func() map[int]string {
	m := map[int]string{}
	for s := 100; s < 600; s++ {
		if http.StatusText(s) != "" {
			m[s] = strconv.Itoa(s)
		}
	}
	return m
}()

func statusLabel(s int) string {
	if l, ok := statusLabels[s]; ok {
		return l
	}
	return strconv.Itoa(s)
}

// observe records one finished request: metrics and one access-log line.
// The line holds no personal data: no raw path, no query string, no body,
// only the route pattern and the API key's name.
func (a *API) observe(ex *exchange, method string, start time.Time) {
	elapsed := time.Since(start)
	route := ex.route
	if route == "" {
		route = "unmatched"
	}
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	m := methodLabel(method)
	a.metrics.requests.WithLabelValues(m, route, statusLabel(status)).Inc()
	a.metrics.duration.WithLabelValues(m, route).Observe(elapsed.Seconds())
	if ce := a.log.Check(zap.InfoLevel, "http request"); ce != nil {
		ce.Write(
			zap.String("method", m),
			zap.String("route", route),
			zap.Int("status", status),
			zap.Duration("duration", elapsed),
			zap.String("request_id", ex.requestID),
			zap.String("key", ex.key.Name),
		)
	}
}

// recovered logs a panic of a handler and answers 500 when the response
// has not started. The panic value is logged only when it is a runtime
// error (a nil map, an index out of range): other values could carry data.
func (a *API) recovered(ex *exchange, p any) {
	fields := []zap.Field{zap.String("request_id", ex.requestID), zap.String("route", ex.route)}
	if re, ok := p.(runtime.Error); ok {
		fields = append(fields, zap.String("panic", re.Error()))
	} else {
		fields = append(fields, zap.String("panic_type", fmt.Sprintf("%T", p)))
	}
	fields = append(fields, zap.StackSkip("stack", 2))
	a.log.Error("handler panicked", fields...)
	if !ex.wroteHeader() {
		h := ex.Header()
		for k := range h {
			if k != "X-Request-Id" {
				delete(h, k)
			}
		}
		writeProblem(ex, http.StatusInternalServerError, internalError)
	}
}
