package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"kirjuri/core/consent"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
	"kirjuri/ports/inbound"
)

// How a drain works, unless the processor says otherwise.
const (
	// DefaultDrainBatch is how many deliveries a drain claims at once:
	// a batch is one transaction (one commit) with the register's writes
	// for its deliveries and their results, held (by one connection) while
	// it is processed.
	DefaultDrainBatch = 100
	// DefaultDrainParallel is how many batches are processed at once in
	// this instance, shared by the drains of every connector (at most
	// maxHeldBatches): a drain job runs as many drain loops, each claiming
	// batches of its own. A batch's drafts go to the register in one call
	// (IngestMany) on its one transaction, which waits on PostgreSQL as
	// much as it computes, so two batches keep the two cores busy. Four
	// made smaller batches, more lock waits and more commits: under
	// bench:connectors at 1,000/s, PostgreSQL took 1.08 ms a delivery
	// against 0.93-0.95 ms with two, and the acknowledgements' p99 (which
	// share the cores) was 29-132 ms against 22-41 ms.
	DefaultDrainParallel = 2
	// maxHeldBatches bounds the batches held at once in this instance
	// (each holds a connection while it is processed), so that drains of
	// several connectors, or retries' drains, leave the pool to the
	// acknowledgements.
	maxHeldBatches = 4
	// DefaultDrainBudget is how long one drain job claims batches before
	// it hands over to the next, so that a long backlog does not hold one
	// job (and its worker) for long.
	DefaultDrainBudget = time.Minute
	// DefaultDrainLinger is how long a drain that has caught up keeps
	// looking (every drainPoll) before it ends: under a steady flow it
	// never ends, so deliveries do not wait for a new drain job to be
	// fetched (River announces inserts at most every 100 ms per process,
	// and otherwise polls every second).
	DefaultDrainLinger = 100 * time.Millisecond
	drainPoll          = 10 * time.Millisecond
)

// DeliveryProcessor is the job worker of connector drains
// (inbound.DrainArgs). A drain claims the connector's due deliveries from
// the inbox in batches and processes each: parses it into drafts and hands
// them to the register (ports.Ingest), the one path every door takes, all
// the batch's drafts in one call (IngestMany), then records the batch's
// results at once. When nothing is due it ends the
// drain's request (ports.Inbox.EndDrain), or goes on when deliveries came
// meanwhile.
//
// A batch is processed in the drain's transaction (ports.Inbox.Drain):
// what the register writes for a delivery commits together with the
// delivery's result, exactly once, in one commit per batch. The batch's
// drafts go to the register in one call, in a part of that transaction
// (ports.Inbox.Session); when a delivery's attempt fails after another of
// its drafts was taken, that part is rolled back and the batch processed
// again one delivery after the other, each in a part of its own, so that
// what the failing delivery wrote is undone alone. A delivery that does not parse, or that the register refuses
// (invalid data, a value another customer holds), is rejected with the
// reason (the drafts of it the register took are kept): the inbox keeps
// dead letters, and retrying cannot help. Any other error (the register
// or the store down, a deadlock, a statement PostgreSQL refuses) fails the
// attempt, and what the delivery's processing wrote is rolled back: it is
// tried again after attempt⁴ seconds (±10 %), and after
// inbound.DeliveryAttempts attempts since it arrived or an admin retried
// it, it is failed. A failing delivery never holds up the others of its
// batch.
type DeliveryProcessor struct {
	Inbox      ports.Inbox
	Ingest     ports.Ingest
	Connectors inbound.Set
	Clock      ports.Clock
	Log        *zap.Logger
	// BatchSize, Parallel, Budget and Linger: DefaultDrainBatch,
	// DefaultDrainParallel, DefaultDrainBudget and DefaultDrainLinger when
	// 0 (Linger: negative for none).
	BatchSize, Parallel int
	Budget, Linger      time.Duration

	once sync.Once
	// batches are the slots of the batches held in this instance, shared
	// by every drain: min(Parallel, maxHeldBatches).
	batches chan struct{}
}

var _ ports.JobWorker = (*DeliveryProcessor)(nil)

// Kind is the kind of DrainArgs.
func (*DeliveryProcessor) Kind() string { return inbound.DrainArgs{}.Kind() }

// Timeout bounds one drain job: its budget, the batches it is in when the
// budget runs out, and its end.
func (p *DeliveryProcessor) Timeout() time.Duration { return p.budget() + 5*time.Minute }

// Work runs one drain of a connector: Parallel drain loops at once, each
// claiming and processing batches of its own, until the drain has caught
// up (every loop found nothing due for the linger, none holding a batch)
// or its budget is spent. Then, with no batch of the job held, it makes
// the job's one decision: it ends the drain's request (EndDrain), hands
// over to the next drain job (RequestDrain), or, when EndDrain finds
// deliveries came meanwhile, runs the loops again.
func (p *DeliveryProcessor) Work(ctx context.Context, job ports.RunningJob) error {
	var args inbound.DrainArgs
	if err := job.Decode(&args); err != nil {
		return ports.CancelJob(err)
	}
	name := args.Connector
	c, ok := p.Connectors[name]
	recv, isRecv := c.(inbound.Receiver)
	if !ok || !isRecv {
		// Its deliveries stay received until the connector is enabled
		// again: a configuration mistake loses nothing, and the start
		// that enables it drains them (Kick).
		return ports.CancelJob(fmt.Errorf("connector %q is not enabled here, or receives no webhooks: its deliveries wait in the inbox until it is", name))
	}
	p.once.Do(func() {
		p.batches = make(chan struct{}, min(p.parallel(), maxHeldBatches))
	})
	d := &drainRun{p: p, name: name, deadline: time.Now().Add(p.budget()),
		process: func(ctx context.Context, ds []ports.Delivery) []ports.DeliveryResult {
			return p.processBatch(ctx, c, recv, ds)
		}}
	for {
		handOver, err := d.run(ctx)
		switch {
		case err != nil:
			return err
		case ctx.Err() != nil:
			return ctx.Err() // stopping: the job runs again at the next start
		case handOver:
			// The next drain job goes on from here.
			return p.Inbox.RequestDrain(ctx, name, inbound.DrainJob(name))
		}
		ended, err := p.Inbox.EndDrain(ctx, name, p.now(), func(at time.Time) ports.Job { return inbound.DrainRetryJob(name, at) })
		if err != nil || ended {
			return err
		}
		// Deliveries came while the batches before were processed: go on.
	}
}

// drainRun is the state the drain loops of one drain job share.
type drainRun struct {
	p        *DeliveryProcessor
	name     string
	deadline time.Time
	process  func(ctx context.Context, ds []ports.Delivery) []ports.DeliveryResult

	mu sync.Mutex
	// held counts the loops holding a batch; idleSince is when a loop
	// last found nothing due since a batch was claimed (zero: none did).
	held      int
	idleSince time.Time
	// stop ends the loops (after the batch each holds); handOver is set
	// when the budget ran out with deliveries still coming, err by the
	// first drain that failed.
	stop, handOver bool
	err            error
}

// run runs the drain loops until they stop, and says why: handOver, an
// error, or (neither, ctx alive) the drain has caught up.
func (d *drainRun) run(ctx context.Context) (handOver bool, err error) {
	d.idleSince, d.stop, d.handOver, d.err = time.Time{}, false, false, nil
	var wg sync.WaitGroup
	for range d.p.parallel() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.loop(ctx)
		}()
	}
	wg.Wait()
	return d.handOver, d.err
}

// loop claims and processes batches until the run stops.
func (d *drainRun) loop(ctx context.Context) {
	p := d.p
	for {
		select {
		case p.batches <- struct{}{}:
		case <-ctx.Done():
			return
		}
		d.mu.Lock()
		if d.stop {
			d.mu.Unlock()
			<-p.batches
			return
		}
		d.held++
		d.mu.Unlock()
		n, err := p.Inbox.Drain(ctx, d.name, p.batchSize(), p.now(), d.process)
		<-p.batches
		d.mu.Lock()
		d.held--
		switch {
		case err != nil:
			if d.err == nil {
				d.err = err
			}
			d.stop = true
		case ctx.Err() != nil:
			d.stop = true
		case n > 0:
			d.idleSince = time.Time{}
			if time.Now().After(d.deadline) {
				d.handOver, d.stop = true, true
			}
		default:
			// Nothing due for this loop. The drain has caught up when no
			// loop holds a batch (one that does may find more after it)
			// and nothing came for the linger, or the budget is spent.
			if d.idleSince.IsZero() {
				d.idleSince = time.Now()
			}
			if d.held == 0 && (time.Since(d.idleSince) >= p.linger() || !time.Now().Before(d.deadline)) {
				d.stop = true
			}
		}
		stop := d.stop
		d.mu.Unlock()
		if stop {
			return
		}
		if n == 0 {
			select {
			case <-time.After(drainPoll):
			case <-ctx.Done():
				return
			}
		}
	}
}

// processBatch processes the deliveries of a batch: together when it
// can (processTogether), else one after the other, each in a session of
// its own within the drain's transaction (processOneByOne). It returns a
// result for each delivery it attempted: when ctx ends (a shutdown) the
// ones not begun, and the one cut short, get none and stay as they were.
func (p *DeliveryProcessor) processBatch(ctx context.Context, c inbound.Connector, recv inbound.Receiver, ds []ports.Delivery) []ports.DeliveryResult {
	if out, ok := p.processTogether(ctx, c, recv, ds); ok {
		return out
	}
	return p.processOneByOne(ctx, c, recv, ds)
}

// processOneByOne processes the deliveries of a batch one after the other,
// each in a session of its own (processAlone).
func (p *DeliveryProcessor) processOneByOne(ctx context.Context, c inbound.Connector, recv inbound.Receiver, ds []ports.Delivery) []ports.DeliveryResult {
	out := make([]ports.DeliveryResult, 0, len(ds))
	for _, d := range ds {
		if ctx.Err() != nil {
			break
		}
		if r, ok := p.processAlone(ctx, c, recv, d); ok {
			out = append(out, r)
		}
	}
	return out
}

// batched is a delivery of processTogether: its drafts and where they
// start among the batch's items, or its result when it does not parse.
type batched struct {
	d      ports.Delivery
	drafts []intake.Draft
	first  int
	res    *ports.DeliveryResult
}

// processTogether processes the deliveries of a batch together: it parses
// them all and hands all their drafts to the register in one call
// (ports.Ingest.IngestMany, which writes the independent ones in a few
// statements), in a session of its own within the drain's transaction,
// and gives each delivery the result process would give it. It declines
// (false, having kept nothing) when that cannot be told apart from
// processing the deliveries one by one: a delivery whose attempt fails
// (a store error) although another of its drafts was taken, whose
// writes only its own session could undo; a panic; the session failing.
// When ctx ends it keeps nothing and returns no result (true).
func (p *DeliveryProcessor) processTogether(ctx context.Context, c inbound.Connector, recv inbound.Receiver, ds []ports.Delivery) ([]ports.DeliveryResult, bool) {
	bs := make([]batched, len(ds))
	var items []ports.IngestItem
	for i, d := range ds {
		drafts, err, ok := parseSafely(recv, d)
		if !ok {
			return nil, false // processAlone tells the panic of its delivery
		}
		bs[i] = batched{d: d, drafts: drafts, first: len(items)}
		if err != nil {
			p.logger(d)().Info("connector delivery rejected: it does not parse")
			r := p.end(d, ports.DeliveryRejected, "", err.Error())
			bs[i].res = &r
			continue
		}
		o := deliveryOrigin(c, d)
		for _, dr := range drafts {
			items = append(items, ports.IngestItem{Draft: dr, Origin: o})
		}
	}
	var (
		outs []ports.IngestOutcome
		cut  bool
	)
	// The session is kept when ctx ends (a shutdown) after IngestMany:
	// the deliveries whose drafts were all done get their results, as
	// one by one, so its release must not fail for the end of ctx; the
	// register's calls still end with ctx.
	err := p.Inbox.Session(context.WithoutCancel(ctx), func(sctx context.Context) error {
		var ok bool
		outs, ok = ingestManySafely(valuesOf{Context: ctx, values: sctx}, p.Ingest, items)
		if !ok || len(outs) != len(items) {
			return errUndo
		}
		cut = ctx.Err() != nil
		for _, b := range bs {
			if b.res == nil && mixedFailure(outs[b.first:b.first+len(b.drafts)]) {
				return errUndo
			}
		}
		return nil
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, true // nothing kept: each is done again next time
	case err != nil:
		return nil, false
	}
	res := make([]ports.DeliveryResult, 0, len(bs))
	for _, b := range bs {
		if b.res != nil {
			res = append(res, *b.res)
			continue
		}
		mine := outs[b.first : b.first+len(b.drafts)]
		if k := slices.IndexFunc(mine, func(o ports.IngestOutcome) bool { return o.Err != nil && !refusal(o.Err) }); k >= 0 {
			// None of its drafts was taken (mixedFailure): it wrote
			// nothing. Cut short by a shutdown, it was not attempted;
			// otherwise its attempt failed.
			if !cut {
				res = append(res, p.failed(b.d, mine[k].Err, p.logger(b.d)))
			}
			continue
		}
		res = append(res, p.result(b.d, b.drafts, mine, p.logger(b.d)))
	}
	return res, true
}

// valuesOf is a context that ends with Context and holds the values of
// values (a session's, made from a context that does not end).
type valuesOf struct {
	context.Context
	values context.Context
}

func (c valuesOf) Value(key any) any { return c.values.Value(key) }

// mixedFailure tells whether a delivery's drafts include a store error
// (its attempt fails) besides a draft the register took.
func mixedFailure(outs []ports.IngestOutcome) bool {
	return slices.ContainsFunc(outs, func(o ports.IngestOutcome) bool { return o.Err != nil && !refusal(o.Err) }) &&
		slices.ContainsFunc(outs, func(o ports.IngestOutcome) bool { return o.Err == nil })
}

// refusal tells the register's refusal of a draft (its data), which
// rejects the delivery, from a failure, which fails its attempt.
func refusal(err error) bool {
	var (
		v  *fault.Validation
		cf *fault.Conflict
	)
	return errors.As(err, &v) || errors.As(err, &cf)
}

// parseSafely parses a delivery; false when the parser panicked.
func parseSafely(recv inbound.Receiver, d ports.Delivery) (drafts []intake.Draft, err error, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			drafts, err, ok = nil, nil, false
		}
	}()
	drafts, err = recv.Parse(deliveryHeader(d), d.Body)
	return drafts, err, true
}

// ingestManySafely is ing.IngestMany; false when it panicked.
func ingestManySafely(ctx context.Context, ing ports.Ingest, items []ports.IngestItem) (outs []ports.IngestOutcome, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			outs, ok = nil, false
		}
	}()
	return ing.IngestMany(ctx, items), true
}

func deliveryHeader(d ports.Delivery) http.Header {
	header := http.Header{}
	for k, v := range d.Headers {
		header.Set(k, v)
	}
	return header
}

func deliveryOrigin(c inbound.Connector, d ports.Delivery) consent.Origin {
	return consent.Origin{
		Source:         consent.SourceConnector,
		SourceSystemID: int(c.SystemID()),
		Actor:          inbound.Actor(c),
		RequestID:      d.ID.String(),
	}
}

// logger makes the logger of a delivery, only for those that log.
func (p *DeliveryProcessor) logger(d ports.Delivery) func() *zap.Logger {
	return func() *zap.Logger {
		return p.Log.With(zap.String("connector", d.Connector), zap.Stringer("delivery", d.ID))
	}
}

// errUndo rolls back the session of a delivery whose attempt failed or
// was cut short.
var errUndo = errors.New("app: the delivery's attempt is undone")

// processAlone processes one delivery in a session of its own (a part of
// the drain's transaction): what its processing wrote is kept when it is
// processed or rejected, and rolled back when the attempt failed or was
// cut short, so that the attempt made again starts afresh and the batch's
// transaction goes on for the others whatever failed in this one.
func (p *DeliveryProcessor) processAlone(ctx context.Context, c inbound.Connector, recv inbound.Receiver, d ports.Delivery) (ports.DeliveryResult, bool) {
	var (
		res       ports.DeliveryResult
		attempted bool
	)
	err := p.Inbox.Session(ctx, func(ctx context.Context) error {
		res, attempted = p.process(ctx, c, recv, d)
		if attempted && (res.Status == ports.DeliveryProcessed || res.Status == ports.DeliveryRejected) {
			return nil
		}
		return errUndo
	})
	switch {
	case err == nil || errors.Is(err, errUndo):
		return res, attempted
	case ctx.Err() != nil:
		return ports.DeliveryResult{}, false
	}
	// The session itself failed (its savepoint could not be made or
	// released): what the delivery wrote is not kept, so the attempt
	// failed.
	log := func() *zap.Logger {
		return p.Log.With(zap.String("connector", d.Connector), zap.Stringer("delivery", d.ID))
	}
	return p.failed(d, err, log), true
}

// process processes one delivery; false when it was not attempted (ctx
// ended).
func (p *DeliveryProcessor) process(ctx context.Context, c inbound.Connector, recv inbound.Receiver, d ports.Delivery) (res ports.DeliveryResult, attempted bool) {
	// Most deliveries log nothing: the logger with their fields is made
	// only for those that do.
	log := p.logger(d)
	defer func() {
		if r := recover(); r != nil {
			// A bug, not the delivery's fault: the attempt fails and is
			// made again. The panic's value is not logged: it may hold
			// the delivery's data.
			log().Error("connector delivery: the processing panicked", zap.Stack("stack"))
			res, attempted = p.failed(d, errors.New("the processing panicked (a bug; the service's log has where)"), log), true
		}
	}()
	drafts, err := recv.Parse(deliveryHeader(d), d.Body)
	if err != nil {
		log().Info("connector delivery rejected: it does not parse")
		return p.end(d, ports.DeliveryRejected, "", err.Error()), true
	}
	origin := deliveryOrigin(c, d)
	outs := make([]ports.IngestOutcome, 0, len(drafts))
	for _, dr := range drafts {
		r, err := p.Ingest.Ingest(ctx, dr, origin)
		if err != nil && !refusal(err) {
			if ctx.Err() != nil {
				// Cut short by a shutdown: not an attempt. What the drafts
				// done wrote is rolled back with the delivery's session
				// (processAlone), and done again next time.
				return ports.DeliveryResult{}, false
			}
			return p.failed(d, err, log), true
		}
		outs = append(outs, ports.IngestOutcome{Result: r, Err: err})
	}
	return p.result(d, drafts, outs, log), true
}

// result is the result of a delivery whose drafts the register took or
// refused (outs, one per draft, none a failure). A draft the register
// refuses does not stop the others of the delivery (one bad shipment of
// a hundred, one bad row of an ERP export): they are applied, and the
// delivery is rejected naming every refused customer, so that a retry
// after the fix changes only those.
func (p *DeliveryProcessor) result(d ports.Delivery, drafts []intake.Draft, outs []ports.IngestOutcome, log func() *zap.Logger) ports.DeliveryResult {
	outcomes := make([]string, 0, len(drafts))
	var refused []string
	for i, o := range outs {
		if o.Err != nil {
			reason := o.Err.Error()
			if len(drafts) > 1 {
				reason = fmt.Sprintf("customer %d (%s): %s", i+1, drafts[i].Link, reason)
			}
			refused = append(refused, reason)
			outcomes = append(outcomes, "refused")
			continue
		}
		s := string(o.Result.Outcome)
		if o.Result.Customer != nil {
			s += " " + o.Result.Customer.ID().String()
		}
		outcomes = append(outcomes, s)
	}
	if len(refused) > 0 {
		log().Info("connector delivery rejected by the register", zap.Int("refused", len(refused)), zap.Int("drafts", len(drafts)))
		reason := strings.Join(refused[:min(len(refused), maxRefusalsShown)], "; ")
		if n := len(refused) - maxRefusalsShown; n > 0 {
			reason += fmt.Sprintf("; and %d more refused", n)
		}
		return p.end(d, ports.DeliveryRejected, strings.Join(outcomes, "; "), reason)
	}
	return p.end(d, ports.DeliveryProcessed, strings.Join(outcomes, "; "), "")
}

// maxRefusalsShown bounds the refused customers a rejected delivery's
// reason names one by one.
const maxRefusalsShown = 20

func (p *DeliveryProcessor) end(d ports.Delivery, status ports.DeliveryStatus, outcome, reason string) ports.DeliveryResult {
	return ports.DeliveryResult{ID: d.ID, Status: status, Outcome: outcome, Reason: reason, At: p.now()}
}

// failed is an attempt that failed: the delivery is tried again after a
// wait, or, at its last attempt, it becomes a dead letter (failed).
func (p *DeliveryProcessor) failed(d ports.Delivery, err error, log func() *zap.Logger) ports.DeliveryResult {
	attempt := d.Attempts - d.RetryBase + 1
	if attempt >= inbound.DeliveryAttempts {
		log().Warn("connector delivery failed: its last attempt failed", zap.Int("attempt", attempt), zap.Error(err))
		return p.end(d, ports.DeliveryFailed, "", err.Error())
	}
	wait := RetryWait(attempt)
	log().Warn("connector delivery attempt failed; it is tried again", zap.Int("attempt", attempt), zap.Duration("after", wait), zap.Error(err))
	return ports.DeliveryResult{ID: d.ID, Status: ports.DeliveryReceived, Reason: err.Error(), NextAttempt: p.now().Add(wait)}
}

// RetryWait is the wait after a delivery's failed attempt (1 for the
// first): attempt⁴ seconds, ±10 % at random so that deliveries that failed
// together are not all tried again at once (River's own backoff, which the
// deliveries had when each was a job).
func RetryWait(attempt int) time.Duration {
	a := time.Duration(max(attempt, 1))
	base := a * a * a * a * time.Second
	return base - base/10 + time.Duration(rand.Int64N(int64(base/5)+1))
}

// Kick requests a drain of every enabled connector that receives webhooks
// and has deliveries waiting: those left when an instance stopped in the
// middle of a drain, or while the connector was disabled.
func (p *DeliveryProcessor) Kick(ctx context.Context) error {
	var errs []error
	for name, c := range p.Connectors {
		if _, ok := c.(inbound.Receiver); !ok {
			continue
		}
		h, err := p.Inbox.InboxHealth(ctx, name)
		if err == nil && h.Backlog > 0 {
			err = p.Inbox.RequestDrain(ctx, name, inbound.DrainJob(name))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("connector %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// kickDrains runs Kick when the application starts; a failure is logged
// and does not stop the start (the next delivery requests a drain too).
func kickDrains(lc fx.Lifecycle, p *DeliveryProcessor) {
	lc.Append(fx.StartHook(func(ctx context.Context) {
		if err := p.Kick(ctx); err != nil {
			p.Log.Warn("connectors: could not request the drains of deliveries left waiting", zap.Error(err))
		}
	}))
}

func (p *DeliveryProcessor) batchSize() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return DefaultDrainBatch
}

func (p *DeliveryProcessor) parallel() int {
	if p.Parallel > 0 {
		return p.Parallel
	}
	return DefaultDrainParallel
}

func (p *DeliveryProcessor) budget() time.Duration {
	if p.Budget > 0 {
		return p.Budget
	}
	return DefaultDrainBudget
}

func (p *DeliveryProcessor) linger() time.Duration {
	switch {
	case p.Linger < 0:
		return 0
	case p.Linger > 0:
		return p.Linger
	}
	return DefaultDrainLinger
}

func (p *DeliveryProcessor) now() time.Time { return clockNow(p.Clock) }
