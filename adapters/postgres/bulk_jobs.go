package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"kirjuri/ports"
)

// findWaitingManySQL finds, for each candidate (kind, queue, args), a
// waiting job like it, and locks it (see findWaitingSQL); it returns the
// candidates' ordinals, once per job found.
const findWaitingManySQL = `SELECT c.i FROM river_job j
	JOIN unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS c(kind, queue, args, i)
		ON j.kind = c.kind AND j.queue = c.queue AND j.args @> c.args
	WHERE j.args <@ c.args AND j.state IN ` + waitingStates + `
	FOR UPDATE OF j`

// insertBatchJobs stores, in tx, the jobs of the writes of a batch that
// were stored (not in rejected), set-based: the Coalesce jobs that are
// already waiting (or come twice in the batch) are found with one query,
// and the others inserted with one River InsertMany. WriteBatch calls it
// last, under the row locks of the customers it updated.
func insertBatchJobs(ctx context.Context, tx pgx.Tx, writes []ports.BatchWrite, rejected map[int]ports.BatchRejection) error {
	var jobs []ports.Job
	for i, w := range writes {
		if _, ok := rejected[i]; !ok {
			jobs = append(jobs, w.Jobs...)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	type key struct{ kind, queue, args string }
	var (
		keep      = make([]bool, len(jobs))
		coalesced = map[key]bool{}
		cand      []int // the jobs to look for, by index
		kinds     []string
		queues    []string
		args      [][]byte
	)
	for i, j := range jobs {
		if j.Args == nil {
			return errors.New("postgres: enqueue: a job without args")
		}
		keep[i] = true
		if !j.Coalesce {
			continue
		}
		a, err := encodeArgs(j)
		if err != nil {
			return err
		}
		k := key{j.Args.Kind(), cmp.Or(j.Queue, river.QueueDefault), string(a)}
		if coalesced[k] {
			keep[i] = false // twice in the batch
			continue
		}
		coalesced[k] = true
		cand = append(cand, i)
		kinds, queues, args = append(kinds, k.kind), append(queues, k.queue), append(args, a)
	}
	if len(cand) > 0 {
		rows, err := tx.Query(ctx, findWaitingManySQL, kinds, queues, args)
		if err != nil {
			return fmt.Errorf("postgres: enqueue the jobs of a batch: find waiting jobs: %w", err)
		}
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&n}, func() error {
			keep[cand[n-1]] = false
			return nil
		}); err != nil {
			return fmt.Errorf("postgres: enqueue the jobs of a batch: find waiting jobs: %w", err)
		}
	}
	params := make([]river.InsertManyParams, 0, len(jobs))
	for i, j := range jobs {
		if keep[i] {
			params = append(params, river.InsertManyParams{Args: j.Args, InsertOpts: insertOpts(j)})
		}
	}
	if len(params) == 0 {
		return nil
	}
	c, err := inserter()
	if err != nil {
		return fmt.Errorf("postgres: the job queue client: %w", err)
	}
	if _, err := c.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("postgres: enqueue the jobs of a batch: %w", err)
	}
	return nil
}
