package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
)

// JobArgs is what a job carries: a struct encoded as JSON, named by its
// kind. The kind is stable (jobs already queued are found by it after a
// deploy) and plain: letters, digits, '.', '_' or '-', such as
// "import.run". It has the method set of River's JobArgs, so one type serves
// the port and the queue without the port knowing River.
//
// Args are stored in the job table and shown in its error reports: they
// hold ids, never personal data.
type JobArgs interface {
	Kind() string
}

// Job is a job to enqueue: its args and how to run it.
type Job struct {
	Args JobArgs
	// Queue is the queue it runs in; "" is the default queue. A queue
	// no instance works (see jobs.queues) keeps its jobs waiting.
	Queue string
	// MaxAttempts is how many times it is tried before it is discarded (a
	// dead letter, its errors kept); 0 takes the configured default.
	MaxAttempts int
	// RunAt delays it until then; zero runs it as soon as a worker is free.
	RunAt time.Time
	// Unique keeps at most one job of this kind with the same args waiting
	// or running: enqueueing another returns the one there is (Duplicate).
	// Once it has finished, the same job may be enqueued again.
	Unique bool
	// Coalesce keeps at most one job of this kind with the same args and
	// queue waiting (available, scheduled, retryable or pending):
	// enqueueing another while one waits returns that one (Duplicate).
	// Unlike Unique, a running job does not count: a job that reads the
	// state of something when it runs (a push of a customer) may have read
	// it before the change that enqueues the next one, which must then run
	// too. A store that cannot coalesce may store every job given.
	Coalesce bool
}

// Enqueued tells which job an enqueue made, or found when the job was
// Unique and one like it was already waiting or running.
type Enqueued struct {
	ID        int64
	Duplicate bool
}

// Jobs enqueues long work (imports, exports, pushes to external systems)
// to run in the background, on any instance, surviving restarts.
type Jobs interface {
	// Enqueue stores the job; it runs after the call returns.
	Enqueue(ctx context.Context, job Job) (Enqueued, error)
}

// ChangeJobs is implemented by a CustomerStore that stores jobs in the
// transaction of a change, as it stores the change's consent events: a job
// exists exactly when its change was committed (a push to an external
// system is never lost, nor sent for a change that was rolled back).
//
// Such a store takes jobs on every path that changes customers: these
// methods, IngestStore's (CreateFromSource, UpdateFromSource) and, when it
// is a BulkStore too, each BatchWrite's Jobs, stored exactly when that
// write is. It stores what it is given and decides nothing.
type ChangeJobs interface {
	// UpdateWithJobs is CustomerStore.Update whose fn also returns jobs.
	// They are stored only when the change is saved (the version grew).
	UpdateWithJobs(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, []Job, error)) (*customer.Customer, error)
	// CreateWithJobs is CustomerStore.Create that also stores jobs, in the
	// same transaction.
	CreateWithJobs(ctx context.Context, c *customer.Customer, events []consent.Event, jobs []Job) error
}

// RunningJob is a job handed to its worker.
type RunningJob struct {
	ID   int64
	Kind string
	// Args is the JSON of the job's args; Decode reads it.
	Args json.RawMessage
	// Attempt counts from 1; the job is discarded after MaxAttempts.
	Attempt, MaxAttempts int
	// CreatedAt is when the job was stored (its first queueing).
	CreatedAt time.Time
}

// Decode reads the job's args into v (a pointer to the args type).
func (j RunningJob) Decode(v any) error {
	if err := json.Unmarshal(j.Args, v); err != nil {
		return fmt.Errorf("job %d (%s): decode args: %w", j.ID, j.Kind, err)
	}
	return nil
}

// JobWorker runs the jobs of one kind. Work returns nil when the job is
// done; an error has it tried again later, with growing waits, until its
// attempts run out and it is discarded with every attempt's error kept
// (errors are stored and logged: no personal data in them). Return
// SnoozeJob to try again later without using an attempt, CancelJob to give
// up at once (input that will never work). Work must return soon after ctx
// ends: at shutdown a job that does not finish in time is cancelled, and
// runs again from the start at the next start of any instance.
//
// A worker may also have a method Timeout() time.Duration: how long one
// attempt may run (else the configured jobs.jobTimeout); and a method
// NextRetry(attempt int) time.Duration: how long to wait before trying
// again after attempt (counted from 1) failed, instead of the queue's own
// backoff (a worker that talks to another system chooses its backoff and
// jitter). A snoozed or cancelled job does not ask it.
type JobWorker interface {
	Kind() string
	Work(ctx context.Context, job RunningJob) error
}

// WorkerFunc is a JobWorker for args of type T: the kind is T's, and fn
// gets the args decoded.
func WorkerFunc[T JobArgs](fn func(ctx context.Context, job RunningJob, args T) error) JobWorker {
	return workerFunc[T](fn)
}

type workerFunc[T JobArgs] func(ctx context.Context, job RunningJob, args T) error

func (workerFunc[T]) Kind() string {
	var zero T
	return zero.Kind()
}

func (f workerFunc[T]) Work(ctx context.Context, job RunningJob) error {
	var args T
	if err := job.Decode(&args); err != nil {
		// Args that do not decode never will: no retries.
		return CancelJob(err)
	}
	return f(ctx, job, args)
}

// JobSnoozed asks for the job to run again after a while without using an
// attempt (another system asked to wait: 429 with Retry-After).
type JobSnoozed struct{ After time.Duration }

func (e *JobSnoozed) Error() string { return fmt.Sprintf("job snoozed for %s", e.After) }

// SnoozeJob is what a worker returns to run the job again after d.
func SnoozeJob(d time.Duration) error { return &JobSnoozed{After: d} }

// JobCancelled gives a job up without further attempts, keeping Err as
// its last error.
type JobCancelled struct{ Err error }

func (e *JobCancelled) Error() string {
	if e.Err == nil {
		return "job cancelled"
	}
	return "job cancelled: " + e.Err.Error()
}

func (e *JobCancelled) Unwrap() error { return e.Err }

// CancelJob is what a worker returns to give the job up at once.
func CancelJob(err error) error {
	if err == nil {
		err = errors.New("cancelled by its worker")
	}
	return &JobCancelled{Err: err}
}
