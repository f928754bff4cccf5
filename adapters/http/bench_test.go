package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// BenchmarkGetCustomer measures a lookup by id through the whole stack:
// request id, authentication (cached key), Huma, the register over the
// in-memory store, JSON, metrics and a JSON access-log line.
func BenchmarkGetCustomer(b *testing.B) {
	h := newHarness(b)
	c := h.create(person)
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.api.log = zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	path := "/v1/customers/" + c.ID
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Header.Set("Authorization", "Bearer "+secret("reader"))
			rec := httptest.NewRecorder()
			h.api.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
