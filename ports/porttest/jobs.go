package porttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports"
)

// JobStores is what RunChangeJobs needs: a store that stores jobs with
// changes on every path (ports.ChangeJobs, its IngestStore and BulkStore
// paths; all the same value), and a back door that lists the jobs stored
// so far in the order they were stored.
type JobStores struct {
	Customers ports.CustomerStore
	Jobs      ports.ChangeJobs
	Ingest    ports.IngestStore
	Bulk      ports.BulkStore
	Stored    func(t *testing.T) []StoredJob
}

// StoredJob is a stored job as Stored reads it back.
type StoredJob struct {
	Kind        string
	Queue       string // "" for the default queue
	MaxAttempts int    // 0 when the store keeps the queue's default
	// Args is the args' JSON, decoded.
	Args map[string]any
}

// JobArgs are the args of the suite's jobs.
type JobArgs struct {
	Tag string `json:"tag"`
}

// Kind is the suite's job kind.
func (JobArgs) Kind() string { return "porttest.job" }

// RunChangeJobs is the contract of storing jobs in the transaction of a
// change (ports.ChangeJobs): on every path that changes customers (Create,
// Update, the ingest path, WriteBatch) a job exists exactly when its
// change was committed; a change that fails, is refused, rolls back or
// changes nothing stores none. And the register, told that a connector
// pushes (SetPushes), stores the push job of a change through this store.
// open must hand back stores over an empty database.
func RunChangeJobs(t *testing.T, open func(t *testing.T) JobStores) {
	t.Helper()
	t.Run("Update", testJobsUpdate(open))
	t.Run("Create", testJobsCreate(open))
	t.Run("Ingest", testJobsIngest(open))
	t.Run("Batch", testJobsBatch(open))
	t.Run("RegisterPushes", testJobsRegisterPushes(open))
}

type jobFixture struct {
	*fixture
	s JobStores
}

func jobsSetup(t *testing.T, open func(t *testing.T) JobStores) jobFixture {
	t.Helper()
	s := open(t)
	if s.Customers == nil || s.Jobs == nil || s.Ingest == nil || s.Bulk == nil || s.Stored == nil {
		t.Fatalf("porttest: open returned incomplete JobStores %+v", s)
	}
	c := newClock()
	f := &fixture{t: t, ctx: t.Context(), Stores: Stores{Customers: s.Customers, Bulk: s.Bulk}, clock: c,
		reg: register.New(s.Customers, c, idSource{})}
	return jobFixture{fixture: f, s: s}
}

func job(tag string) ports.Job { return ports.Job{Args: JobArgs{Tag: tag}} }

// tags lists the tags of the suite's stored jobs, in the order stored.
func (f jobFixture) tags() []string {
	f.t.Helper()
	var out []string
	for _, j := range f.s.Stored(f.t) {
		if j.Kind == (JobArgs{}).Kind() {
			tag, _ := j.Args["tag"].(string)
			out = append(out, tag)
		}
	}
	return out
}

func (f jobFixture) wantTags(what string, want ...string) {
	f.t.Helper()
	if got := f.tags(); !slices.Equal(got, want) {
		f.t.Errorf("%s: stored jobs %q, want %q", what, got, want)
	}
}

func testJobsUpdate(open func(t *testing.T) JobStores) func(*testing.T) {
	return func(t *testing.T) {
		f := jobsSetup(t, open)
		c := f.create(withEmail(person("Aino", "Virtanen"), "aino@example.fi"))
		f.create(withEmail(person("Eero", "Ahonen"), "eero@example.fi"))
		errRefused := errors.New("the closure refused")
		tests := []struct {
			name  string
			patch customer.Patch
			fnErr error
			ok    bool
			want  []string
		}{
			{"the closure fails", customer.Patch{LastName: customer.Set("Peruttu")}, errRefused, false, nil},
			{"the store refuses (email taken)", customer.Patch{Email: customer.Set("eero@example.fi")}, nil, false, nil},
			{"nothing changed", customer.Patch{}, nil, true, nil},
			{"saved", customer.Patch{LastName: customer.Set("Tallennettu")}, nil, true, []string{"saved"}},
			{"saved again", customer.Patch{LastName: customer.Set("Taas")}, nil, true, []string{"saved", "saved again"}},
		}
		for _, tt := range tests {
			_, err := f.s.Jobs.UpdateWithJobs(f.ctx, c.ID(), func(cu *customer.Customer) ([]consent.Event, []ports.Job, error) {
				events, err := cu.Apply(tt.patch, f.change(apiOrigin))
				if err != nil {
					return nil, nil, err
				}
				return events, []ports.Job{job(tt.name)}, tt.fnErr
			})
			if (err == nil) != tt.ok {
				t.Errorf("%s: UpdateWithJobs returned %v", tt.name, err)
			}
			f.wantTags(tt.name, tt.want...)
		}
		if got := f.get(c.ID()); got.LastName != "Taas" || got.Version != 3 {
			t.Errorf("after the updates: last name %q, version %d", got.LastName, got.Version)
		}
		// A plain Update stores none.
		f.apply(c.ID(), customer.Patch{LastName: customer.Set("Ilman")}, apiOrigin)
		f.wantTags("after a plain Update", "saved", "saved again")
	}
}

func testJobsCreate(open func(t *testing.T) JobStores) func(*testing.T) {
	return func(t *testing.T) {
		f := jobsSetup(t, open)
		c, events := f.build(withEmail(person("Aino", "Virtanen"), "aino@example.fi"), apiOrigin)
		if err := f.s.Jobs.CreateWithJobs(f.ctx, c, events, []ports.Job{job("created"), job("created too")}); err != nil {
			t.Fatalf("CreateWithJobs: %v", err)
		}
		assertData(t, "CreateWithJobs", f.get(c.ID()), c.Data())
		// Refused (the email is taken): no customer, no job.
		dup, events := f.build(withEmail(person("Aino", "Toinen"), "aino@example.fi"), apiOrigin)
		err := f.s.Jobs.CreateWithJobs(f.ctx, dup, events, []ports.Job{job("refused")})
		wantConflict(t, "CreateWithJobs with a taken email", err, "email")
		f.wantTags("after the creates", "created", "created too")
		// A job without args is the caller's bug: refused, nothing stored.
		bad, events := f.build(person("Ville", "Bäck"), apiOrigin)
		if err := f.s.Jobs.CreateWithJobs(f.ctx, bad, events, []ports.Job{{}}); err == nil {
			t.Error("CreateWithJobs with a job without args: no error")
		}
		if _, err := f.Customers.Get(f.ctx, bad.ID()); err == nil {
			t.Error("CreateWithJobs with a job without args stored the customer")
		}
	}
}

func testJobsIngest(open func(t *testing.T) JobStores) func(*testing.T) {
	return func(t *testing.T) {
		f := jobsSetup(t, open)
		link := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-9"}
		t1 := time.Date(2026, 11, 2, 8, 30, 15, 0, time.UTC)
		p := withEmail(person("Aino", "Virtanen"), "aino@example.fi")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{link})
		c, events := f.build(p, connectorOrigin)
		if err := f.s.Ingest.CreateFromSource(f.ctx, c, events, ports.SourceTime{Link: link, At: t1}, []ports.Job{job("from source")}); err != nil {
			t.Fatalf("CreateFromSource: %v", err)
		}
		dup, events := f.build(withEmail(person("Aino", "Kaksi"), "aino@example.fi"), connectorOrigin)
		err := f.s.Ingest.CreateFromSource(f.ctx, dup, events, ports.SourceTime{Link: link, At: t1}, []ports.Job{job("refused")})
		wantConflict(t, "CreateFromSource with a taken email", err, "email")
		f.wantTags("after CreateFromSource", "from source")

		update := func(tag string, p customer.Patch, fnErr error) error {
			_, err := f.s.Ingest.UpdateFromSource(f.ctx, c.ID(), ports.SourceTime{Link: link, At: t1.Add(time.Hour)},
				func(cu *customer.Customer, _ ports.LinkSource) ([]consent.Event, []ports.Job, error) {
					events, err := cu.Apply(p, f.change(connectorOrigin))
					if err != nil {
						return nil, nil, err
					}
					return events, []ports.Job{job(tag)}, fnErr
				})
			return err
		}
		if err := update("unchanged", customer.Patch{}, nil); err != nil {
			t.Fatalf("UpdateFromSource that changes nothing: %v", err)
		}
		if err := update("failed", customer.Patch{FirstName: customer.Set("Aili")}, errors.New("boom")); err == nil {
			t.Fatal("UpdateFromSource whose fn fails: no error")
		}
		if err := update("changed", customer.Patch{FirstName: customer.Set("Aili")}, nil); err != nil {
			t.Fatalf("UpdateFromSource: %v", err)
		}
		f.wantTags("after UpdateFromSource", "from source", "changed")
	}
}

func testJobsBatch(open func(t *testing.T) JobStores) func(*testing.T) {
	return func(t *testing.T) {
		f := jobsSetup(t, open)
		a := f.create(withEmail(person("Aino", "Virtanen"), "aino@example.fi"))
		b := f.create(withEmail(person("Eero", "Ahonen"), "eero@example.fi"))
		// Taking the email of a customer that the batch does not change
		// is refused.
		f.create(withEmail(person("Kolmas", "Asiakas"), "kolmas@example.fi"))
		withJobs := func(w ports.BatchWrite, tags ...string) ports.BatchWrite {
			for _, tag := range tags {
				w.Jobs = append(w.Jobs, job(tag))
			}
			return w
		}
		// A dry run and an all-or-nothing batch with a rejected write
		// store nothing.
		f.writeBatch(ports.Batch{DryRun: true, Writes: []ports.BatchWrite{
			withJobs(f.newWrite(person("Kuiva", "Ajo")), "dry run"),
		}})
		rej := f.writeBatch(ports.Batch{AllOrNothing: true, Writes: []ports.BatchWrite{
			withJobs(f.updateWrite(a.ID(), customer.Patch{LastName: customer.Set("Kaikki")}), "all or nothing"),
			withJobs(f.updateWrite(b.ID(), customer.Patch{Email: customer.Set("kolmas@example.fi")}), "conflict"),
		}})
		wantRejected(t, rej, map[int]string{1: "email"})
		f.wantTags("after a dry run and a refused all-or-nothing batch")

		// A rejected write's jobs are not stored; the others' are, in the
		// order of the writes.
		rej = f.writeBatch(ports.Batch{Writes: []ports.BatchWrite{
			withJobs(f.newWrite(withEmail(person("Uusi", "Asiakas"), "uusi@example.fi")), "new 1", "new 2"),
			withJobs(f.updateWrite(b.ID(), customer.Patch{Email: customer.Set("kolmas@example.fi")}), "rejected"),
			withJobs(f.updateWrite(a.ID(), customer.Patch{LastName: customer.Set("Päivitetty")}), "updated"),
		}})
		wantRejected(t, rej, map[int]string{1: "email"})
		got := f.tags()
		slices.Sort(got)
		if want := []string{"new 1", "new 2", "updated"}; !slices.Equal(got, want) {
			t.Errorf("after a batch with a rejected write: stored jobs %q, want %q", got, want)
		}

		// A session that fails takes the batch's jobs along.
		errBoom := errors.New("boom")
		err := f.Bulk.Session(f.ctx, func(ctx context.Context) error {
			if _, err := f.Bulk.WriteBatch(ctx, ports.Batch{Writes: []ports.BatchWrite{
				withJobs(f.updateWrite(b.ID(), customer.Patch{LastName: customer.Set("Istunto")}), "session"),
			}}); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Session: %v, want fn's error", err)
		}
		if got := f.tags(); slices.Contains(got, "session") {
			t.Errorf("a rolled-back session's job is stored: %q", got)
		}
	}
}

// The register, told that a connector pushes, stores the push job of a
// change of a linked customer in the change's transaction, on this store.
func testJobsRegisterPushes(open func(t *testing.T) JobStores) func(*testing.T) {
	return func(t *testing.T) {
		f := jobsSetup(t, open)
		if err := f.reg.SetPushes(register.PushOptions{Targets: []register.PushTarget{{Connector: "woocommerce", System: customer.WooCommerce}}, MaxAttempts: 7}); err != nil {
			t.Fatalf("SetPushes: %v", err)
		}
		p := person("Aino", "Virtanen")
		p.ExternalSystems = customer.Set([]customer.ExternalLink{{SystemID: customer.WooCommerce, Identifier: "17"}})
		c := f.create(p)
		if _, err := f.reg.Update(f.ctx, c.ID(), customer.Patch{FirstName: customer.Set("Aili")}, 0, admin); err != nil {
			t.Fatalf("Update: %v", err)
		}
		var pushes []StoredJob
		for _, j := range f.s.Stored(t) {
			if j.Kind == ports.PushJobKind {
				pushes = append(pushes, j)
			}
		}
		want := map[string]any{"connector": "woocommerce", "customer": c.ID().String()}
		if len(pushes) == 0 {
			t.Fatal("no push job stored")
		}
		for i, j := range pushes {
			if fmt.Sprint(j.Args) != fmt.Sprint(want) || j.Queue != ports.PushQueue || j.MaxAttempts != 7 {
				t.Errorf("push job %d: %+v, want args %v in queue %s with 7 attempts", i, j, want, ports.PushQueue)
			}
		}
	}
}

// DecodeJob reads a stored job's args for Stored.
func DecodeJob(kind, queue string, maxAttempts int, args []byte) (StoredJob, error) {
	j := StoredJob{Kind: kind, Queue: queue, MaxAttempts: maxAttempts}
	if err := json.Unmarshal(args, &j.Args); err != nil {
		return StoredJob{}, fmt.Errorf("job of kind %s: args: %w", kind, err)
	}
	return j, nil
}

// MarshalJob is the StoredJob of a job as a store was given it, for
// stores that keep the jobs themselves (the fake).
func MarshalJob(j ports.Job) (StoredJob, error) {
	if j.Args == nil {
		return StoredJob{}, errors.New("a job without args")
	}
	b, err := json.Marshal(j.Args)
	if err != nil {
		return StoredJob{}, err
	}
	return DecodeJob(j.Args.Kind(), j.Queue, j.MaxAttempts, b)
}
