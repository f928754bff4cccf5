package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// compactTables are the tables Compact merges, both partitioned by month.
var compactTables = []string{"consent_events", "consent_events_by_time"}

// errCannotAssignOptimize is ClickHouse's CANNOT_ASSIGN_OPTIMIZE: with
// optimize_throw_if_noop the server says so when it could not start the
// merge (its parts are being merged in the background already, or the disk
// is short of the room the merged part needs) instead of doing nothing
// silently.
const errCannotAssignOptimize = 388

// Compact merges every closed month of the audit tables into a single part:
// each partition of consent_events and consent_events_by_time that holds
// more than one active part and lies wholly before now's month (UTC) is
// rewritten with OPTIMIZE TABLE … PARTITION … FINAL. It returns how many
// partitions it merged.
//
// Why: History and State read a granule in every active part of
// consent_events, so their cost follows the number of parts. Background
// merges leave a few parts in a month and stop merging a month once it is
// quiet; after Compact a lookup opens one part per closed month, plus the
// current month's. FINAL also drops the copies of re-sent events for good;
// the queries collapse copies themselves regardless, so their answers do
// not change.
//
// A month is rewritten again only when it gets a part more (an event that
// arrives late, a backfill), so after the first run a call finds nothing to
// do, or the month that has just closed. The merge runs synchronously on the
// server, one partition after another, and needs free disk room for the
// merged part (about the partition's size). A partition the server cannot
// merge now (a background merge holds its parts) is skipped and left for
// the next call. Several instances may call Compact at once: a partition
// already being merged is skipped the same way.
func (a *Audit) Compact(ctx context.Context, now time.Time) (int, error) {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	// max_time is the newest occurred_at of a part: a partition whose parts
	// all end before the current month is a closed month.
	rows, err := a.conn.Query(ctx, `SELECT table, partition_id
		FROM system.parts
		WHERE database = currentDatabase() AND active AND table IN (?, ?)
		GROUP BY table, partition_id
		HAVING count() > 1 AND max(max_time) < toDateTime(?)
		ORDER BY table, partition_id`, compactTables[0], compactTables[1], month.Unix())
	if err != nil {
		return 0, queryErr("find partitions to compact", err)
	}
	type partition struct{ table, id string }
	var todo []partition
	for rows.Next() {
		var p partition
		if err := rows.Scan(&p.table, &p.id); err != nil {
			rows.Close()
			return 0, queryErr("find partitions to compact", err)
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, queryErr("find partitions to compact", err)
	}

	octx := ch.Context(ctx, ch.WithSettings(ch.Settings{"optimize_throw_if_noop": 1}))
	done := 0
	for _, p := range todo {
		if !partitionID(p.id) {
			return done, fmt.Errorf("clickhouse: compact %s: unexpected partition id %q", p.table, p.id)
		}
		err := a.conn.Exec(octx, fmt.Sprintf("OPTIMIZE TABLE %s PARTITION ID '%s' FINAL", p.table, p.id))
		var ex *ch.Exception
		switch {
		case err == nil:
			done++
		case errors.As(err, &ex) && ex.Code == errCannotAssignOptimize:
			// Left for the next call.
		default:
			return done, queryErr(fmt.Sprintf("compact partition %s of %s", p.id, p.table), err)
		}
	}
	return done, nil
}

// partitionID reports whether id can be quoted in a statement as it is
// (a monthly partition's id is YYYYMM).
func partitionID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
