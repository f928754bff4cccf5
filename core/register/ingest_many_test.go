package register_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/core/register"
	"kirjuri/ports"
	"kirjuri/ports/porttest/memstore"
)

// meddling is a memstore whose WriteBatch first runs before, as another
// writer that commits between IngestMany's lookups and its write.
type meddling struct {
	*memstore.Store
	before  func(ctx context.Context)
	batches int
}

func (m *meddling) WriteBatch(ctx context.Context, b ports.Batch) ([]ports.BatchRejection, error) {
	m.batches++
	if m.before != nil {
		m.before(ctx)
	}
	return m.Store.WriteBatch(ctx, b)
}

// TestIngestManyAfterAConcurrentChange: a fast write whose link got a
// later source time, or an echo, after the lookups (neither changes the
// version) is rejected by the store and goes through Ingest, which
// answers Stale or Unchanged as if the drafts had come one by one after
// that change; the independent drafts beside it are written at once.
func TestIngestManyAfterAConcurrentChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		meddle func(ctx context.Context, is ports.IngestStore, svc *register.Service, id uuid.UUID) error
		want   intake.Outcome
	}{
		{"a newer draft", func(ctx context.Context, is ports.IngestStore, _ *register.Service, id uuid.UUID) error {
			_, err := is.UpdateFromSource(ctx, id, ports.SourceTime{Link: wsLink, At: t3}, func(*customer.Customer, ports.LinkSource) ([]consent.Event, []ports.Job, error) {
				return nil, nil, nil
			})
			return err
		}, intake.Stale},
		{"an echo", func(ctx context.Context, _ ports.IngestStore, svc *register.Service, id uuid.UUID) error {
			return svc.RecordEcho(ctx, id, wsLink, authoritative(func(d *intake.Draft) { d.Patch.FirstName = customer.Set("Kaiku") }))
		}, intake.Unchanged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &meddling{Store: memstore.New()}
			svc := register.New(store, fixedClock{now}, &idSource{seen: map[uuid.UUID]bool{}})
			ctx := context.Background()
			first, err := svc.Ingest(ctx, authoritative(func(d *intake.Draft) { d.SourceUpdatedAt = t1 }), wsOrigin)
			if err != nil {
				t.Fatal(err)
			}
			id := first.Customer.ID()
			store.before = func(ctx context.Context) {
				store.before = nil
				if err := tc.meddle(ctx, store, svc, id); err != nil {
					t.Fatalf("the concurrent change: %v", err)
				}
			}
			other := customer.ExternalLink{SystemID: customer.Webstore, Identifier: "w-99"}
			outs := svc.IngestMany(ctx, []ports.IngestItem{
				{Draft: authoritative(func(d *intake.Draft) { d.Patch.FirstName = customer.Set("Kaiku") }), Origin: wsOrigin},
				{Draft: authoritative(func(d *intake.Draft) {
					d.Link, d.Patch.Email = other, customer.Set("toinen@example.fi")
				}), Origin: wsOrigin},
			})
			if store.batches != 1 {
				t.Errorf("%d batches written, want 1", store.batches)
			}
			if outs[0].Err != nil || outs[0].Result.Outcome != tc.want {
				t.Errorf("the draft decided before the change: %+v, want %s", outs[0], tc.want)
			}
			if outs[1].Err != nil || outs[1].Result.Outcome != intake.Created {
				t.Errorf("the independent draft: %+v, want created", outs[1])
			}
			c, err := store.Get(ctx, id)
			if err != nil || c.Data().FirstName != "Maija" || c.Version() != 1 {
				t.Errorf("the customer after the stale draft: %+v, %v; want it unchanged", c, err)
			}
		})
	}
}
