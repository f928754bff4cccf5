package app

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"

	"go.uber.org/zap"
)

// tuneRuntime sets the garbage collector of `serve` from cfg.Runtime,
// except what the environment sets (GOGC, GOMEMLIMIT: the Go runtime has
// read them already).
//
// Why not Go's defaults (GOGC 100, no limit): an import keeps about 75 MB
// live (the batches in flight) and allocates about 15 KB a row, so with
// GOGC 100 the collector ran every 75 MB, 45-55 times in a 100,000-row
// import, and took about a quarter of the service's CPU. GOGC 400 lets the
// heap grow further between collections, and the soft memory limit bounds
// that growth, so that a million-row import stays within its 300 MB (see
// docs/decisions.md, "The garbage collector").
func tuneRuntime(cfg Config, log *zap.Logger) {
	gc, ok := os.LookupEnv("GOGC")
	if !ok {
		debug.SetGCPercent(cfg.Runtime.GCPercent)
		gc = strconv.Itoa(cfg.Runtime.GCPercent)
	}
	limit, ok := os.LookupEnv("GOMEMLIMIT")
	if !ok {
		l := cfg.Runtime.MemoryLimitBytes
		if l == 0 {
			l = math.MaxInt64 // none: the runtime's own default
		}
		debug.SetMemoryLimit(l)
		limit = strconv.FormatInt(cfg.Runtime.MemoryLimitBytes, 10)
	}
	log.Info("garbage collector", zap.String("gogc", gc), zap.String("memory_limit", limit))
}
