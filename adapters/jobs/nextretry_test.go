package jobs_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"kirjuri/ports"
)

// backoffWorker fails every attempt and chooses its own wait.
type backoffWorker struct {
	mu    sync.Mutex
	asked []int
}

func (*backoffWorker) Kind() string { return failArgs{}.Kind() }

func (*backoffWorker) Work(context.Context, ports.RunningJob) error {
	return errors.New("the other system answered 503")
}

func (w *backoffWorker) NextRetry(attempt int) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, attempt)
	return 10 * time.Millisecond
}

// A worker with NextRetry chooses the wait before each retry instead of
// River's attempt⁴ seconds (1 s, then 16 s): three attempts are over in
// moments, and it is asked after every failed attempt but the last.
func TestWorkerChoosesItsNextRetry(t *testing.T) {
	w := newWorld(t)
	worker := &backoffWorker{}
	start(t, w.pool, worker)
	began := time.Now()
	e, err := w.store.Enqueue(t.Context(), ports.Job{Args: failArgs{}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, w.pool, e.ID, "discarded")
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("three attempts took %s: River's own backoff was used", took)
	}
	worker.mu.Lock()
	defer worker.mu.Unlock()
	if r.Attempt != 3 || !slices.Equal(worker.asked, []int{1, 2}) {
		t.Errorf("discarded at attempt %d, NextRetry asked after attempts %v; want 3 and [1 2]", r.Attempt, worker.asked)
	}
}
