package clickhouse

import (
	"testing"
	"time"
)

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	r := &Relay{cfg: RelayConfig{Interval: 100 * time.Millisecond, MaxBackoff: 3 * time.Second}.withDefaults()}
	tests := []struct {
		failures int
		ceiling  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{5, 1600 * time.Millisecond},
		{6, 3 * time.Second},
		{60, 3 * time.Second},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := r.backoff(tt.failures)
			if d < tt.ceiling/2 || d > tt.ceiling {
				t.Fatalf("failure %d: waited %v, want within [%v, %v]", tt.failures, d, tt.ceiling/2, tt.ceiling)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("failure %d: only %d distinct waits: no jitter", tt.failures, len(seen))
		}
	}
}

func TestRelayConfigDefaults(t *testing.T) {
	got := RelayConfig{}.withDefaults()
	want := RelayConfig{BatchSize: 5000, Interval: 200 * time.Millisecond, MaxBackoff: 30 * time.Second, BacklogEvery: 5 * time.Second}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
}
