package postgres

import (
	"context"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// A batch's rows go to PostgreSQL by COPY in its binary format, encoded
// here straight from the domain values into byte buffers and sent with
// pgconn's raw CopyFrom. pgx's CopyFrom takes each row as []any and
// encodes every value through its type map: for the 31 columns of a
// customer that was about 0.3 s of CPU and 300 MB of allocations per
// 100,000 imported customers, and a round trip to describe the columns.
//
// The format (https://www.postgresql.org/docs/current/sql-copy.html,
// "Binary Format"): a header, then each tuple as its number of fields
// (int16) and each field as its length (int32, -1 for NULL) and its bytes
// in the type's binary form (the type's send function), then a trailer.
// Integers are big-endian.

// copyHeader is the signature, no flags, and no header extension.
var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// copyTrailer is a tuple of -1 fields: the end of the data.
var copyTrailer = []byte{0xff, 0xff}

const (
	// textOID is the type of text[]'s elements (pg_type.oid of text).
	textOID = 25
	// pgEpochMicros is 2000-01-01 00:00 UTC, where timestamptz counts
	// microseconds from, in microseconds since the Unix epoch.
	pgEpochMicros = 946_684_800 * 1_000_000
)

// copySQL is the COPY statement that reads binary tuples of cols into table.
func copySQL(table string, cols ...string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return "COPY " + pgx.Identifier{table}.Sanitize() + " (" + strings.Join(quoted, ", ") + ") FROM STDIN BINARY"
}

// The COPY statements of a batch (storeBatch), in the order of their
// tuples' encoders.
var (
	copyCustomersSQL = copySQL("customers", writeColumns...)
	copyStagingSQL   = copySQL(stagingTable, append(writeColumns[:len(writeColumns):len(writeColumns)], "base_version")...)
	copyCardsSQL     = copySQL("customer_cards", "card", "customer_id")
	copyLinksSQL     = copySQL("customer_links", "system_id", "identifier", "customer_id")
)

// copyBinary runs sql, a COPY ... FROM STDIN BINARY, in tx with tuples
// (each one or more encoded tuples) as its data.
func copyBinary(ctx context.Context, tx pgx.Tx, sql string, tuples [][]byte) error {
	parts := make([][]byte, 0, len(tuples)+2)
	parts = append(parts, copyHeader)
	parts = append(parts, tuples...)
	parts = append(parts, copyTrailer)
	_, err := tx.Conn().PgConn().CopyFrom(ctx, &copyData{parts: parts}, sql)
	return err
}

// copyData reads its parts one after the other, filling each read as far
// as they go: pgconn sends each read as one message of up to 64 kB, and
// the tuples would otherwise go one per message.
type copyData struct {
	parts [][]byte
}

func (c *copyData) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(c.parts) > 0 {
		k := copy(p[n:], c.parts[0])
		n += k
		if k == len(c.parts[0]) {
			c.parts = c.parts[1:]
		} else {
			c.parts[0] = c.parts[0][k:]
		}
	}
	if len(c.parts) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// appendCustomerTuple appends r as a tuple of writeColumns; staged, as a
// tuple of the staging table's columns, base being base_version.
func appendCustomerTuple(b []byte, r *rowSource, staged bool, base int64) []byte {
	n := len(customerColumns)
	if staged {
		n++
	}
	b = appendInt16(b, int16(n))
	for i := range customerColumns {
		b = customerColumns[i].put(b, r)
	}
	if staged {
		b = appendInt8Field(b, base)
	}
	return b
}

// appendCardTuple appends a tuple of customer_cards (card, customer_id).
func appendCardTuple(b []byte, card string, owner uuid.UUID) []byte {
	b = appendInt16(b, 2)
	b = appendTextField(b, card)
	return appendUUIDField(b, owner)
}

// appendLinkTuple appends a tuple of customer_links (system_id,
// identifier, customer_id).
func appendLinkTuple(b []byte, system int32, identifier string, owner uuid.UUID) []byte {
	b = appendInt16(b, 3)
	b = appendInt4Field(b, system)
	b = appendTextField(b, identifier)
	return appendUUIDField(b, owner)
}

// copyBufs keeps the buffers batches are encoded into (about 1 MB for
// 2,000 customers) from one batch to the next.
var copyBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledCopyBuf is the largest buffer kept: an odd huge batch's is left
// to the collector.
const maxPooledCopyBuf = 32 << 20

func getCopyBuf() *[]byte { return copyBufs.Get().(*[]byte) }

func putCopyBuf(p *[]byte) {
	if cap(*p) > maxPooledCopyBuf {
		return
	}
	*p = (*p)[:0]
	copyBufs.Put(p)
}

// The fields, each its length and its value in the type's binary form.

func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// appendNull appends a NULL field.
func appendNull(b []byte) []byte { return appendInt32(b, -1) }

// setFieldLength sets the length of the field that starts at at (its
// length placeholder) and ends b.
func setFieldLength(b []byte, at int) []byte {
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

func appendUUIDField(b []byte, u uuid.UUID) []byte {
	b = appendInt32(b, 16)
	return append(b, u[:]...)
}

func appendInt8Field(b []byte, v int64) []byte {
	b = appendInt32(b, 8)
	return binary.BigEndian.AppendUint64(b, uint64(v))
}

func appendInt4Field(b []byte, v int32) []byte {
	b = appendInt32(b, 4)
	return appendInt32(b, v)
}

func appendInt2Field(b []byte, v int16) []byte {
	b = appendInt32(b, 2)
	return appendInt16(b, v)
}

func appendBoolField(b []byte, v bool) []byte {
	b = appendInt32(b, 1)
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendTextField(b []byte, s string) []byte {
	b = appendInt32(b, int32(len(s)))
	return append(b, s...)
}

// appendNullTextField is appendTextField with "" as NULL.
func appendNullTextField(b []byte, s string) []byte {
	if s == "" {
		return appendNull(b)
	}
	return appendTextField(b, s)
}

// appendByteaField is a bytea, nil as NULL (as pgx sends a nil []byte).
func appendByteaField(b []byte, v []byte) []byte {
	if v == nil {
		return appendNull(b)
	}
	b = appendInt32(b, int32(len(v)))
	return append(b, v...)
}

// appendTextArrayField is a text[]: its dimensions (none when empty; else
// one, of len(s) elements from index 1), no NULL elements, the element
// type, then each element as a field.
func appendTextArrayField(b []byte, s []string) []byte {
	at := len(b)
	b = appendInt32(b, 0) // the length, set below
	if len(s) == 0 {
		b = appendInt32(b, 0)
		b = appendInt32(b, 0)
		b = appendInt32(b, textOID)
		return setFieldLength(b, at)
	}
	b = appendInt32(b, 1)
	b = appendInt32(b, 0)
	b = appendInt32(b, textOID)
	b = appendInt32(b, int32(len(s)))
	b = appendInt32(b, 1)
	for _, e := range s {
		b = appendTextField(b, e)
	}
	return setFieldLength(b, at)
}

// appendTimeField is a timestamptz: microseconds since 2000-01-01 UTC,
// the nanoseconds cut off as pgx does.
func appendTimeField(b []byte, t time.Time) []byte {
	b = appendInt32(b, 8)
	us := t.Unix()*1_000_000 + int64(t.Nanosecond())/1000 - pgEpochMicros
	return binary.BigEndian.AppendUint64(b, uint64(us))
}

func appendNullTimeField(b []byte, t *time.Time) []byte {
	if t == nil {
		return appendNull(b)
	}
	return appendTimeField(b, *t)
}
