package register

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
)

// PushTarget is a connector that sends changes of customers back to its
// external system.
type PushTarget struct {
	// Connector is the connector's name; the push job names it.
	Connector string
	// System is the external system whose links the connector pushes to.
	System customer.SystemID
}

// PushOptions say where the register sends its changes.
type PushOptions struct {
	Targets []PushTarget
	// MaxAttempts is how many times a push is tried before it is a dead
	// letter; 0 takes the queue's default.
	MaxAttempts int
}

// SetPushes tells the register which connectors push (from the enabled
// connectors that can). From then on every saved change of a customer who
// holds a link to one of their systems stores, in the change's own
// transaction, one push job per such connector (see pushJobs). Call it
// once, before the service is used. It fails when the store cannot store
// jobs with changes (ports.ChangeJobs): pushes are never dropped silently.
func (s *Service) SetPushes(o PushOptions) error {
	if len(o.Targets) == 0 {
		s.pushTo, s.jobs = nil, nil
		return nil
	}
	cj, ok := s.store.(ports.ChangeJobs)
	if !ok {
		return fmt.Errorf("register: connectors %s push changes, but the customer store (%T) cannot store jobs with a change (ports.ChangeJobs)",
			strings.Join(targetNames(o.Targets), ", "), s.store)
	}
	if o.MaxAttempts < 0 {
		return fmt.Errorf("register: pushes: max attempts must not be negative, not %d", o.MaxAttempts)
	}
	to := map[customer.SystemID][]string{}
	seen := map[string]bool{}
	for _, t := range o.Targets {
		switch {
		case t.Connector == "":
			return errors.New("register: a pushing connector has no name")
		case !t.System.Valid():
			return fmt.Errorf("register: connector %s pushes to system %d, which is not a known external system", t.Connector, t.System)
		case seen[t.Connector]:
			return fmt.Errorf("register: connector %s is given twice as a pushing connector", t.Connector)
		}
		seen[t.Connector] = true
		to[t.System] = append(to[t.System], t.Connector)
	}
	for _, names := range to {
		slices.Sort(names)
	}
	s.pushTo, s.jobs, s.pushAttempts = to, cj, o.MaxAttempts
	return nil
}

func targetNames(ts []PushTarget) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Connector
	}
	slices.Sort(names)
	return names
}

// pushJobs is the pushes that a saved change of c (c as it is after the
// change) causes: one job per pushing connector whose system c holds a
// link to, none when c is restricted or erased, and none to the system the
// change came from (o.SourceSystemID: sending it back would be an echo).
func (s *Service) pushJobs(c *customer.Customer, o consent.Origin) []ports.Job {
	if len(s.pushTo) == 0 || c.Restricted() || c.Erased() {
		return nil
	}
	var (
		jobs []ports.Job
		done []string
	)
	for _, l := range c.Data().ExternalSystems {
		if int(l.SystemID) == o.SourceSystemID {
			continue
		}
		for _, name := range s.pushTo[l.SystemID] {
			if !slices.Contains(done, name) {
				done = append(done, name)
				jobs = append(jobs, ports.PushJob(name, c.ID(), s.pushAttempts))
			}
		}
	}
	return jobs
}

// create stores a new customer with the pushes it causes.
func (s *Service) create(ctx context.Context, cu *customer.Customer, events []consent.Event, o consent.Origin) error {
	if jobs := s.pushJobs(cu, o); len(jobs) > 0 {
		return s.jobs.CreateWithJobs(ctx, cu, events, jobs)
	}
	return s.store.Create(ctx, cu, events)
}

// update runs fn through the store's Update and, when the change is saved,
// stores the pushes it causes with it.
func (s *Service) update(ctx context.Context, id uuid.UUID, o consent.Origin, fn func(cu *customer.Customer) ([]consent.Event, error)) (*customer.Customer, error) {
	if s.jobs == nil {
		return s.store.Update(ctx, id, fn)
	}
	return s.jobs.UpdateWithJobs(ctx, id, func(cu *customer.Customer) ([]consent.Event, []ports.Job, error) {
		before := cu.Version()
		events, err := fn(cu)
		if err != nil || cu.Version() <= before {
			return events, nil, err
		}
		return events, s.pushJobs(cu, o), nil
	})
}

// RecordEcho keeps the fingerprint of echo, the record that link's system
// answered a push of customer id with (inbound.PushResult.Echo), with the
// link, and its SourceUpdatedAt as the link's source time: the webhook
// that the push sets off in that system carries the same content, and
// Ingest takes it for the echo it is (Unchanged, nothing stored), even
// when it comes after a newer change made here. An echo for another link
// than the one pushed is refused.
func (s *Service) RecordEcho(ctx context.Context, id uuid.UUID, link customer.ExternalLink, echo intake.Draft) error {
	is, ok := s.store.(ports.IngestStore)
	if !ok {
		return errors.New("register: the customer store has no ingest path (ports.IngestStore)")
	}
	if echo.Link.SystemID != link.SystemID || strings.TrimSpace(echo.Link.Identifier) != link.Identifier {
		return fault.Invalid("echo.link", "is %s; the echo of a push must be of the link pushed, %s", echo.Link, link)
	}
	at := echo.SourceUpdatedAt.UTC().Truncate(time.Microsecond)
	if echo.SourceUpdatedAt.IsZero() {
		at = time.Time{}
	}
	return is.RecordEcho(ctx, id, ports.SourceTime{Link: link, At: at}, Fingerprint(echo))
}

// Fingerprint is a digest of what a draft says about its customer: its
// link and trust, the fields its patch keeps, clears or sets, its phones
// and addresses (in canonical form, in no particular order) and its
// consent claims with their evidence. Its times (SourceUpdatedAt, a
// claim's At) are left out: the echo of a push carries the content that
// was pushed, under a later update time. Two drafts with the same
// fingerprint change a customer the same way.
func Fingerprint(d intake.Draft) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "link %d %q\ntrust %d\n", d.Link.SystemID, strings.TrimSpace(d.Link.Identifier), d.Trust)
	p := reflect.ValueOf(d.Patch)
	for i := range p.NumField() {
		name, f := p.Type().Field(i).Name, p.Field(i)
		isSet := f.MethodByName("IsSet")
		if !isSet.IsValid() {
			// Not an Opt (GroupMembership): fmt prints maps in key order.
			if !f.IsZero() {
				fmt.Fprintf(&b, "%s %#v\n", name, f.Interface())
			}
			continue
		}
		switch {
		case isSet.Call(nil)[0].Bool():
			fmt.Fprintf(&b, "%s set %#v\n", name, f.MethodByName("Value").Call(nil)[0].Interface())
		case f.MethodByName("IsClear").Call(nil)[0].Bool():
			fmt.Fprintf(&b, "%s clear\n", name)
		}
	}
	var phones []string
	for _, ph := range d.AddPhones {
		n, err := customer.NormalizePhone(ph)
		if err != nil {
			n = strings.TrimSpace(ph)
		}
		if n != "" && !slices.Contains(phones, n) {
			phones = append(phones, n)
		}
	}
	slices.Sort(phones)
	fmt.Fprintf(&b, "phones %q\n", phones)
	var addrs []string
	for _, a := range d.AddAddresses {
		if n, err := customer.NormalizeAddress(a); err == nil {
			a = n
		}
		if s := fmt.Sprintf("%#v", a); !slices.Contains(addrs, s) {
			addrs = append(addrs, s)
		}
	}
	slices.SortFunc(addrs, cmp.Compare)
	fmt.Fprintf(&b, "addresses %q\n", addrs)
	for _, c := range []struct {
		name  string
		claim *intake.ConsentClaim
	}{{"marketingEmail", d.MarketingEmail}, {"marketingSms", d.MarketingSMS}} {
		if c.claim != nil {
			fmt.Fprintf(&b, "%s %t %q\n", c.name, c.claim.Value, strings.TrimSpace(c.claim.Evidence))
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return sum[:]
}
