package benchkit

import "time"

// Quiet waits for a quiet machine before each measurement, within a
// budget for the whole run (--quiet, --quiet-wait): other work on the
// machine, which comes and goes, would otherwise be in the figures.
type Quiet struct {
	Limit  float64       // share of all cores other work may keep busy
	Budget time.Duration // for the whole run
	Waited time.Duration // so far
	left   time.Duration
}

// NewQuiet is a run's wait for a quiet machine.
func NewQuiet(limit float64, budget time.Duration) *Quiet {
	return &Quiet{Limit: limit, Budget: budget, left: budget}
}

// Wait waits until the machine, without this benchmark, is busier than
// the limit no more (sampled over 2 s from /proc/stat), for at most what
// is left of the budget, and returns the load average then.
func (q *Quiet) Wait(what string) string {
	start := time.Now()
	for {
		busy, ok := MachineBusy(2 * time.Second)
		if !ok || busy <= q.Limit || q.left-time.Since(start) <= 0 {
			break
		}
		Logf("before %s: the machine is %.0f %% busy with other work; waiting for it to calm down", what, 100*busy)
	}
	q.left = max(0, q.left-time.Since(start))
	q.Waited += time.Since(start)
	return LoadAverage()
}
