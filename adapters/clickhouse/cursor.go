package clickhouse

import (
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/fault"
)

// key is an event's place in every ordering this package uses:
// (occurred_at, occurred_nanos, event_id). Copies of one event share it.
type key struct {
	sec   int64
	nanos uint32
	id    uuid.UUID
}

func keyOf(e consent.Event) key {
	return key{sec: e.OccurredAt.Unix(), nanos: uint32(e.OccurredAt.Nanosecond()), id: e.ID}
}

// Cursor kinds: a cursor continues only the listing that made it.
const (
	historyCursor byte = 'h'
	eventsCursor  byte = 'e'
)

const cursorLen = 1 + 8 + 4 + 16

// encodeCursor makes the opaque cursor that continues after k.
func encodeCursor(kind byte, k key) string {
	var b [cursorLen]byte
	b[0] = kind
	binary.BigEndian.PutUint64(b[1:9], uint64(k.sec))
	binary.BigEndian.PutUint32(b[9:13], k.nanos)
	copy(b[13:], k.id[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// decodeCursor reads a cursor of the given kind; ok is false for "".
func decodeCursor(kind byte, s string) (k key, ok bool, err error) {
	if s == "" {
		return key{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != kind {
		return key{}, false, fault.Invalid("cursor", "is not a cursor of this listing")
	}
	k.sec = int64(binary.BigEndian.Uint64(b[1:9]))
	k.nanos = binary.BigEndian.Uint32(b[9:13])
	copy(k.id[:], b[13:])
	if k.sec < 0 || k.sec >= maxSec || k.nanos >= uint32(time.Second) {
		return key{}, false, fault.Invalid("cursor", "is not a cursor of this listing")
	}
	return k, true, nil
}
