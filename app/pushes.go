package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/adapters/jobs"
	"kirjuri/adapters/postgres"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// PushConfig is the configuration of pushes to external systems (the
// section pushes): how this instance works them and how they are retried.
type PushConfig struct {
	// Workers is how many pushes run at once on this instance (the queue
	// pushes); 0 runs none here.
	Workers int `koanf:"workers"`
	// MaxAttempts is how many times a push is tried before it is a dead
	// letter (GET /v1/connectors/{name}/dead-letters).
	MaxAttempts int `koanf:"maxAttempts"`
	// BackoffBase and BackoffCap shape the wait before a retry: a random
	// time between 0 and min(BackoffCap, BackoffBase·2^attempt) ("full
	// jitter"), so that the retries of many pushes that failed together
	// (the other system was down) do not come back together.
	BackoffBase time.Duration `koanf:"backoffBase"`
	BackoffCap  time.Duration `koanf:"backoffCap"`
	// Timeout bounds one attempt (the call to the other system, with the
	// register's reads and writes around it).
	Timeout time.Duration `koanf:"timeout"`
}

// pushDefaults are the defaults of the section pushes.
func pushDefaults() map[string]any {
	return map[string]any{
		"pushes.workers":     2,
		"pushes.maxAttempts": 12,
		"pushes.backoffBase": "2s",
		"pushes.backoffCap":  "1h",
		"pushes.timeout":     "1m",
	}
}

func (c Config) validatePushes() []error {
	var errs []error
	p := c.Pushes
	if p.Workers < 0 || p.Workers > 100 {
		errs = append(errs, fmt.Errorf("pushes.workers: must be 0 to 100, not %d", p.Workers))
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > 100 {
		errs = append(errs, fmt.Errorf("pushes.maxAttempts: must be 1 to 100, not %d", p.MaxAttempts))
	}
	if p.BackoffBase < time.Millisecond || p.BackoffBase > time.Hour {
		errs = append(errs, fmt.Errorf("pushes.backoffBase: must be 1ms to 1h, not %s", p.BackoffBase))
	}
	if p.BackoffCap < p.BackoffBase || p.BackoffCap > 24*time.Hour {
		errs = append(errs, fmt.Errorf("pushes.backoffCap: must be at least pushes.backoffBase (%s) and at most 24h, not %s", p.BackoffBase, p.BackoffCap))
	}
	if p.Timeout < time.Second || p.Timeout > time.Hour {
		errs = append(errs, fmt.Errorf("pushes.timeout: must be 1s to 1h, not %s", p.Timeout))
	}
	return errs
}

// pushQueue adds the queue of pushes, with pushes.workers, to queues.
func pushQueue(cfg Config, queues map[string]int) {
	if cfg.Pushes.Workers > 0 {
		queues[ports.PushQueue] = cfg.Pushes.Workers
	}
}

// pushOptions wires pushes: the register learns which enabled connectors
// push (newRegister), the push store serves the HTTP API's dead letters
// and health, and the worker of the queue pushes runs them. With no
// connector that pushes, the worker cancels a stray push job with the
// reason.
func pushOptions(cfg Config) fx.Option {
	return fx.Module("pushes",
		fx.Provide(
			func(s *postgres.Store) ports.Pushes { return s },
			jobs.AsWorker(func(d pushWorkerDeps) *PushWorker {
				return &PushWorker{Connectors: d.Connectors, Register: d.Register, Pushes: d.Pushes, Clock: d.Clock,
					Log: d.Log.Named("pushes"), BackoffBase: cfg.Pushes.BackoffBase, BackoffCap: cfg.Pushes.BackoffCap,
					AttemptTimeout: cfg.Pushes.Timeout}
			}),
		),
	)
}

type pushWorkerDeps struct {
	fx.In
	Connectors inbound.Set `optional:"true"`
	Register   *register.Service
	Pushes     ports.Pushes
	Clock      ports.Clock
	Log        *zap.Logger
}

type registerDeps struct {
	fx.In
	Store      ports.CustomerStore
	Clock      ports.Clock
	IDs        ports.IDs
	Config     Config
	Connectors inbound.Set `optional:"true"`
}

// newRegister is the register service, told which enabled connectors push
// (those that are an inbound.Pusher): every saved change of a customer
// linked to their systems then stores its pushes in its own transaction.
func newRegister(d registerDeps) (*register.Service, error) {
	s := register.New(d.Store, d.Clock, d.IDs)
	if err := s.SetPushes(register.PushOptions{Targets: pushTargets(d.Connectors), MaxAttempts: d.Config.Pushes.MaxAttempts}); err != nil {
		return nil, err
	}
	return s, nil
}

// pushTargets are the enabled connectors that push, by name.
func pushTargets(set inbound.Set) []register.PushTarget {
	var out []register.PushTarget
	for name, c := range set {
		if _, ok := c.(inbound.Pusher); ok {
			out = append(out, register.PushTarget{Connector: name, System: c.SystemID()})
		}
	}
	slices.SortFunc(out, func(a, b register.PushTarget) int { return strings.Compare(a.Connector, b.Connector) })
	return out
}

// PushRegister is what the push worker needs of the register: the
// customer as it is now, and a place for the echo of a push.
type PushRegister interface {
	Get(ctx context.Context, id uuid.UUID, c register.Caller) (*customer.Customer, error)
	RecordEcho(ctx context.Context, id uuid.UUID, link customer.ExternalLink, echo intake.Draft) error
}

// pushCaller reads customers for a push: restricted ones too, so that a
// restriction is seen (and nothing sent) rather than taken for a customer
// that is gone.
var pushCaller = register.Caller{SeeRestricted: true}

// PushWorker is the job worker of pushes (ports.PushArgs, kind
// connector.push): it sends a customer's state, as it is when the job
// runs, to each of the customer's links to the connector's system.
type PushWorker struct {
	Connectors inbound.Set
	Register   PushRegister
	Pushes     ports.Pushes
	Clock      ports.Clock
	Log        *zap.Logger
	// BackoffBase and BackoffCap: see PushConfig.
	BackoffBase, BackoffCap time.Duration
	// AttemptTimeout bounds one attempt; the jobs' default when 0.
	AttemptTimeout time.Duration
	// Rand returns a random int64 in [0, n); math/rand/v2's when nil.
	Rand func(n int64) int64
}

var _ ports.JobWorker = (*PushWorker)(nil)

// Kind is the kind of ports.PushArgs.
func (*PushWorker) Kind() string { return ports.PushJobKind }

// Timeout is how long one attempt may take.
func (w *PushWorker) Timeout() time.Duration { return w.AttemptTimeout }

// NextRetry is the wait after attempt failed: exponential backoff with
// full jitter, a random time in [0, min(BackoffCap, BackoffBase·2^attempt)].
func (w *PushWorker) NextRetry(attempt int) time.Duration {
	ceiling := w.BackoffCap
	if attempt < 62 && w.BackoffBase > 0 && w.BackoffBase <= w.BackoffCap>>attempt {
		ceiling = w.BackoffBase << attempt
	}
	if ceiling <= 0 {
		return 0
	}
	rnd := w.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	return time.Duration(rnd(int64(ceiling) + 1))
}

// Work pushes one customer to one connector.
//
// Nothing is sent, and the job is done, for a customer who is restricted
// or erased now, is gone, or no longer holds a link to the system. A
// connector that is not enabled or does not push cancels the job (a dead
// letter with that reason). The other system's answers: *RateLimited
// snoozes the job for its Retry-After (DefaultRateLimitWait when it gives
// none, at most MaxRateLimitWait) without using an attempt, unless the job
// was made more than MaxRateLimitedFor before: then it gives up (a dead
// letter an admin can retry), so that a system that answers 429 forever
// does not keep a push waiting forever; *Permanent
// gives up at once (a dead letter); any other error is retried after
// NextRetry, until the job's attempts run out. After a success the echo of
// the push, when the system answered with one, is recorded with the link
// (register.RecordEcho), and the connector's last push; the customer's
// earlier dead letters of the connector are superseded and dropped.
func (w *PushWorker) Work(ctx context.Context, job ports.RunningJob) error {
	var args ports.PushArgs
	if err := job.Decode(&args); err != nil {
		return ports.CancelJob(err)
	}
	c, ok := w.Connectors[args.Connector]
	pusher, isPusher := c.(inbound.Pusher)
	if !ok || !isPusher {
		return ports.CancelJob(fmt.Errorf("connector %s is not enabled, or does not push", args.Connector))
	}
	id, err := uuid.Parse(args.Customer)
	if err != nil {
		return ports.CancelJob(fmt.Errorf("push job %d: customer %q is not a UUID", job.ID, args.Customer))
	}
	log := w.log().With(zap.String("connector", args.Connector), zap.Stringer("customer", id),
		zap.Int64("job", job.ID), zap.Int("attempt", job.Attempt))
	cu, err := w.Register.Get(ctx, id, pushCaller)
	switch {
	case fault.IsNotFound(err):
		log.Info("push: the customer is gone; nothing sent")
		return nil
	case err != nil:
		return err
	case cu.Restricted() || cu.Erased():
		log.Info("push: the customer is restricted or erased; nothing sent")
		return nil
	}
	sent := 0
	for _, link := range cu.Data().ExternalSystems {
		if link.SystemID != c.SystemID() {
			continue
		}
		// Drafts from the link wait until the echo is recorded: the
		// other system may send its webhook before it answers.
		err := w.Pushes.HoldLink(ctx, link, func(ctx context.Context) error {
			res, err := pusher.Push(ctx, cu, link)
			if err != nil {
				return w.failed(log, err, job.CreatedAt)
			}
			sent++
			if res.Echo == nil {
				return nil
			}
			if err := w.Register.RecordEcho(ctx, id, link, *res.Echo); err != nil {
				if fault.IsValidation(err) {
					// The connector's bug; the push itself went through.
					log.Error("push: the connector's echo is not of the link pushed; its echo webhook will be taken as a change", zap.Error(err))
					return nil
				}
				// Trying again sends the same state again: harmless, and
				// the echo is recorded then.
				return fmt.Errorf("push sent, its echo not recorded: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if sent == 0 {
		log.Info("push: the customer holds no link to the connector's system now; nothing sent")
		return nil
	}
	if err := w.Pushes.PushSucceeded(ctx, args.Connector, id, w.now()); err != nil {
		// Only the health's time and the clean-up of superseded dead
		// letters are lost; the push went through.
		log.Warn("push: its time not recorded", zap.Error(err))
	}
	return nil
}

// MaxRateLimitedFor bounds how long after its job was made a push keeps
// waiting out the other system's rate limit (429) without using attempts.
const MaxRateLimitedFor = 24 * time.Hour

// failed turns the other system's refusal into what the queue does next;
// made is when the push's job was made.
func (w *PushWorker) failed(log *zap.Logger, err error, made time.Time) error {
	var rl *inbound.RateLimited
	if errors.As(err, &rl) {
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = DefaultRateLimitWait
		}
		wait = min(wait, MaxRateLimitWait)
		if !made.IsZero() && w.now().Add(wait).Sub(made) > MaxRateLimitedFor {
			log.Warn("push: rate limited by the other system for too long; a dead letter", zap.Duration("since", w.now().Sub(made)))
			return ports.CancelJob(fmt.Errorf("the other system kept answering 429 (rate limited) for %s since the push was queued; given up (retry it from the dead letters)", MaxRateLimitedFor))
		}
		log.Info("push: rate limited by the other system; waiting", zap.Duration("wait", wait))
		return ports.SnoozeJob(wait)
	}
	if inbound.IsPermanent(err) {
		log.Warn("push: refused by the other system; a dead letter", zap.Error(err))
		return ports.CancelJob(err)
	}
	return err
}

func (w *PushWorker) now() time.Time { return clockNow(w.Clock) }

func (w *PushWorker) log() *zap.Logger { return orNop(w.Log) }
