package clickhouse

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/fault"
)

func TestCursorRoundTrip(t *testing.T) {
	k := key{sec: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Unix(), nanos: 999_999_999, id: uuid.Must(uuid.NewV7())}
	c := encodeCursor(eventsCursor, k)
	got, ok, err := decodeCursor(eventsCursor, c)
	if err != nil || !ok || got != k {
		t.Fatalf("decode = %+v, %v, %v; want %+v", got, ok, err, k)
	}
	if _, ok, err := decodeCursor(eventsCursor, ""); ok || err != nil {
		t.Errorf("empty cursor: %v, %v", ok, err)
	}
}

func TestCursorRefusesStrangers(t *testing.T) {
	k := key{sec: 1, nanos: 2, id: uuid.Must(uuid.NewV7())}
	tests := []struct {
		name string
		give string
	}{
		{"other listing", encodeCursor(historyCursor, k)},
		{"not base64", "%%%"},
		{"too short", encodeCursor(eventsCursor, k)[:20]},
		{"nanoseconds out of range", encodeCursor(eventsCursor, key{sec: 1, nanos: 1_000_000_000})},
		{"seconds out of range", encodeCursor(eventsCursor, key{sec: -5})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeCursor(eventsCursor, tt.give)
			if !fault.IsValidation(err) {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if v := err.(*fault.Validation); v.Fields[0].Field != "cursor" {
				t.Errorf("field %q", v.Fields[0].Field)
			}
		})
	}
}
