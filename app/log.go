package app

import (
	"fmt"
	"kirjuri/ports"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewLogger builds the process logger from the log section.
func NewLogger(c Config) (*zap.Logger, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var zc zap.Config
	switch c.Log.Format {
	case "json", "":
		zc = zap.NewProductionConfig()
		zc.Sampling = nil
	case "console":
		zc = zap.NewDevelopmentConfig()
	default:
		return nil, fmt.Errorf("log.format: must be json or console, not %q", c.Log.Format)
	}
	zc.Level = zap.NewAtomicLevelAt(lvl)
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	zc.DisableStacktrace = true
	return zc.Build()
}

// clockNow is c's time, or the system's in UTC when a worker was built
// without a clock (in tests).
func clockNow(c ports.Clock) time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c.Now()
}

// orNop is l, or a logger that drops everything when a worker was built
// without one.
func orNop(l *zap.Logger) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	return l
}
