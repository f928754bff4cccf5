package porttest

import (
	"bytes"
	"errors"
	"maps"
	"testing"

	"github.com/google/uuid"

	"kirjuri/core/fault"
	"kirjuri/ports"
)

func testIdempotency(t *testing.T, open opener) {
	const scope, key = "key:kassa", "3f1c0d9e-retry-me"
	fp1, fp2 := []byte("sha256-of-body-one"), []byte("sha256-of-body-two")

	t.Run("Lifecycle", func(t *testing.T) {
		f := setup(t, open)
		i := f.Idempotency
		resp := ports.StoredResponse{
			Status:  201,
			Header:  map[string]string{"Content-Type": "application/json", "Location": "/v1/customers/10000", "ETag": `"1"`},
			Body:    []byte(`{"number":10000,"firstName":"Äijälä"}`),
			Created: f.clock.Now(),
		}
		var token uuid.UUID
		steps := []struct {
			name    string
			do      func() (*ports.StoredResponse, error)
			want    *ports.StoredResponse
			wantErr error
		}{
			{"Begin on a new key", func() (*ports.StoredResponse, error) {
				var (
					r   *ports.StoredResponse
					err error
				)
				token, r, err = i.Begin(f.ctx, scope, key, fp1)
				if err == nil && token == uuid.Nil {
					t.Error("Begin of a new claim returned no token")
				}
				return r, err
			}, nil, nil},
			{"Begin again while running", begin(f, scope, key, fp1), nil, ports.ErrIdempotencyInFlight},
			{"Begin with another body while running", begin(f, scope, key, fp2), nil, ports.ErrIdempotencyMismatch},
			{"Begin with the same key in another scope", begin(f, "key:other", key, fp1), nil, nil},
			{"Finish", func() (*ports.StoredResponse, error) { return nil, i.Finish(f.ctx, scope, key, token, resp) }, nil, nil},
			{"Begin after Finish", begin(f, scope, key, fp1), &resp, nil},
			{"Begin after Finish, again", begin(f, scope, key, fp1), &resp, nil},
			{"Begin after Finish with another body", begin(f, scope, key, fp2), nil, ports.ErrIdempotencyMismatch},
			{"Finish again", func() (*ports.StoredResponse, error) { return nil, i.Finish(f.ctx, scope, key, token, resp) }, nil, ports.ErrIdempotencyClaimLost},
			{"Abandon after Finish", func() (*ports.StoredResponse, error) { return nil, i.Abandon(f.ctx, scope, key, token) }, nil, ports.ErrIdempotencyClaimLost},
			{"still answered after both", begin(f, scope, key, fp1), &resp, nil},
			{"other scope still running", begin(f, "key:other", key, fp1), nil, ports.ErrIdempotencyInFlight},
		}
		for _, s := range steps {
			got, err := s.do()
			switch {
			case s.wantErr != nil:
				if !errors.Is(err, s.wantErr) {
					t.Errorf("%s: error = %v, want %v", s.name, err, s.wantErr)
				}
				if got != nil {
					t.Errorf("%s: returned a response %+v with the error", s.name, got)
				}
			case err != nil:
				t.Errorf("%s: %v", s.name, err)
			default:
				assertResponse(t, s.name, got, s.want)
			}
		}
	})

	t.Run("EmptyResponse", func(t *testing.T) {
		f := setup(t, open)
		token := claim(f, scope, key, fp1)
		resp := ports.StoredResponse{Status: 204, Created: f.clock.Now()}
		if err := f.Idempotency.Finish(f.ctx, scope, key, token, resp); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		_, got, err := f.Idempotency.Begin(f.ctx, scope, key, fp1)
		if err != nil {
			t.Fatalf("Begin after Finish: %v", err)
		}
		assertResponse(t, "Begin after Finish", got, &resp)
	})

	t.Run("Abandon", func(t *testing.T) {
		tests := []struct {
			name  string
			retry []byte
		}{
			{"retry with the same body", fp1},
			{"retry with another body", fp2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := setup(t, open)
				token := claim(f, scope, key, fp1)
				if err := f.Idempotency.Abandon(f.ctx, scope, key, token); err != nil {
					t.Fatalf("Abandon: %v", err)
				}
				if err := f.Idempotency.Abandon(f.ctx, scope, key, token); !errors.Is(err, ports.ErrIdempotencyClaimLost) {
					t.Errorf("Abandon again = %v, want ErrIdempotencyClaimLost", err)
				}
				retry, got, err := f.Idempotency.Begin(f.ctx, scope, key, tt.retry)
				if err != nil || got != nil || retry == uuid.Nil || retry == token {
					t.Errorf("Begin after Abandon = %v, %v, %v; want a new token, nil, nil", retry, got, err)
				}
				// And the new claim holds.
				_, _, err = f.Idempotency.Begin(f.ctx, scope, key, tt.retry)
				if !errors.Is(err, ports.ErrIdempotencyInFlight) {
					t.Errorf("Begin while the retry runs = %v, want ErrIdempotencyInFlight", err)
				}
			})
		}
	})

	// Takeover: the first request is slow; after the lease a retry takes
	// the claim over. The first request's Finish and Abandon then change
	// nothing and say so, and the retry's response is the one kept.
	t.Run("Takeover", func(t *testing.T) {
		f := setup(t, open)
		if f.ExpireClaim == nil {
			t.Fatal("porttest: Stores.ExpireClaim is nil")
		}
		i := f.Idempotency
		slow := claim(f, scope, key, fp1)
		if _, _, err := i.Begin(f.ctx, scope, key, fp1); !errors.Is(err, ports.ErrIdempotencyInFlight) {
			t.Fatalf("Begin within the lease = %v, want ErrIdempotencyInFlight", err)
		}
		f.ExpireClaim(t, scope, key)
		retry, got, err := i.Begin(f.ctx, scope, key, fp1)
		if err != nil || got != nil || retry == uuid.Nil || retry == slow {
			t.Fatalf("Begin after the lease = %v, %v, %v; want a new token (not %v), nil, nil", retry, got, err, slow)
		}
		slowResp := ports.StoredResponse{Status: 201, Header: map[string]string{"Location": "/v1/customers/slow"}, Body: []byte(`{"who":"slow"}`), Created: f.clock.Now()}
		retryResp := ports.StoredResponse{Status: 201, Header: map[string]string{"Location": "/v1/customers/retry"}, Body: []byte(`{"who":"retry"}`), Created: f.clock.Now()}

		if err := i.Abandon(f.ctx, scope, key, slow); !errors.Is(err, ports.ErrIdempotencyClaimLost) {
			t.Errorf("Abandon by the old owner = %v, want ErrIdempotencyClaimLost", err)
		}
		if _, _, err := i.Begin(f.ctx, scope, key, fp1); !errors.Is(err, ports.ErrIdempotencyInFlight) {
			t.Errorf("after the old owner's Abandon, Begin = %v; want ErrIdempotencyInFlight (the retry's claim holds)", err)
		}
		if err := i.Finish(f.ctx, scope, key, slow, slowResp); !errors.Is(err, ports.ErrIdempotencyClaimLost) {
			t.Errorf("Finish by the old owner = %v, want ErrIdempotencyClaimLost", err)
		}
		if _, _, err := i.Begin(f.ctx, scope, key, fp1); !errors.Is(err, ports.ErrIdempotencyInFlight) {
			t.Errorf("after the old owner's Finish, Begin = %v; want ErrIdempotencyInFlight (the retry's claim holds)", err)
		}
		if err := i.Finish(f.ctx, scope, key, uuid.Nil, slowResp); !errors.Is(err, ports.ErrIdempotencyClaimLost) {
			t.Errorf("Finish without a token = %v, want ErrIdempotencyClaimLost", err)
		}
		if err := i.Finish(f.ctx, scope, key, retry, retryResp); err != nil {
			t.Fatalf("Finish by the new owner: %v", err)
		}
		if err := i.Finish(f.ctx, scope, key, slow, slowResp); !errors.Is(err, ports.ErrIdempotencyClaimLost) {
			t.Errorf("Finish by the old owner after the new one = %v, want ErrIdempotencyClaimLost", err)
		}
		_, got, err = i.Begin(f.ctx, scope, key, fp1)
		if err != nil {
			t.Fatalf("Begin after both: %v", err)
		}
		assertResponse(t, "the kept response", got, &retryResp)
	})

	// Erasure: the stored responses about a customer lose their headers
	// and bodies in the erasure, and a response finished after it that
	// shows the customer as it was is stored without them.
	t.Run("Erasure", func(t *testing.T) {
		f := setup(t, open)
		i := f.Idempotency
		erased := f.create(person("Eemeli", "Poistettava"))
		kept := f.create(person("Kaarina", "Pysyvä"))
		body := func(name string) []byte { return []byte(`{"firstName":"` + name + `","ssn":"131052-308T"}`) }
		finish := func(k string, r ports.StoredResponse) {
			t.Helper()
			token := claim(f, scope, k, fp1)
			if err := i.Finish(f.ctx, scope, k, token, r); err != nil {
				t.Fatalf("Finish(%s): %v", k, err)
			}
		}
		about := func(id uuid.UUID, version int64, name string) ports.StoredResponse {
			return ports.StoredResponse{
				Status: 200, Header: map[string]string{"Content-Type": "application/json", "ETag": `"1"`},
				Body: body(name), Created: f.clock.Now(), Customer: id, Version: version,
			}
		}
		before := about(erased.ID(), 1, "Eemeli")
		finish("before", before)
		other := about(kept.ID(), 1, "Kaarina")
		finish("other", other)
		noCustomer := ports.StoredResponse{Status: 201, Body: []byte(`{"group":"vip"}`), Created: f.clock.Now()}
		finish("no-customer", noCustomer)
		running := claim(f, scope, "running", fp1)

		// A failed erasure forgets nothing.
		if _, err := f.reg.Erase(f.ctx, erased.ID(), 7, admin); err == nil {
			t.Fatal("Erase with a stale version succeeded")
		}
		_, got, err := i.Begin(f.ctx, scope, "before", fp1)
		if err != nil {
			t.Fatal(err)
		}
		assertResponse(t, "after a failed erasure", got, &before)

		gone, err := f.reg.Erase(f.ctx, erased.ID(), 0, admin)
		if err != nil {
			t.Fatalf("Erase: %v", err)
		}
		// Finished during the erasure's request, showing the customer as it
		// was: stored, but without headers and body.
		late := about(erased.ID(), 1, "Eemeli")
		if err := i.Finish(f.ctx, scope, "running", running, late); err != nil {
			t.Fatalf("Finish after the erasure: %v", err)
		}
		// The erasure's own response shows the erased record: kept.
		own := about(erased.ID(), gone.Version(), "")
		own.Body = []byte(`{"erasedAt":"2025-03-14T09:27:00Z"}`)
		finish("erasure", own)
		// A refusal about the erased customer (no version): no body kept.
		refused := ports.StoredResponse{Status: 409, Header: map[string]string{"Content-Type": "application/problem+json"},
			Body: []byte(`{"detail":"erased"}`), Created: f.clock.Now(), Customer: erased.ID()}
		finish("refused", refused)

		forgotten := func(r ports.StoredResponse) *ports.StoredResponse {
			r.Header, r.Body, r.Erased = nil, nil, true
			return &r
		}
		tests := []struct {
			key  string
			want *ports.StoredResponse
		}{
			{"before", forgotten(before)},
			{"running", forgotten(late)},
			{"refused", forgotten(refused)},
			{"erasure", &own},
			{"other", &other},
			{"no-customer", &noCustomer},
		}
		for _, tt := range tests {
			_, got, err := i.Begin(f.ctx, scope, tt.key, fp1)
			if err != nil {
				t.Errorf("Begin(%s): %v", tt.key, err)
				continue
			}
			assertResponse(t, tt.key, got, tt.want)
		}
		// Erasing again changes nothing.
		if _, err := f.reg.Erase(f.ctx, erased.ID(), 0, admin); err != nil {
			t.Fatalf("Erase again: %v", err)
		}
		_, got, err = i.Begin(f.ctx, scope, "erasure", fp1)
		if err != nil {
			t.Fatal(err)
		}
		assertResponse(t, "the erasure's response after erasing again", got, &own)
	})
}

// begin is a step that calls Begin and returns its response.
func begin(f *fixture, scope, key string, fp []byte) func() (*ports.StoredResponse, error) {
	return func() (*ports.StoredResponse, error) {
		_, r, err := f.Idempotency.Begin(f.ctx, scope, key, fp)
		return r, err
	}
}

// claim begins a new claim and returns its token.
func claim(f *fixture, scope, key string, fp []byte) uuid.UUID {
	f.t.Helper()
	token, got, err := f.Idempotency.Begin(f.ctx, scope, key, fp)
	if err != nil || got != nil || token == uuid.Nil {
		f.t.Fatalf("Begin(%s) = %v, %v, %v; want a token, nil, nil", key, token, got, err)
	}
	return token
}

// conflictField accepts whatever field an idempotency conflict names: the
// port does not say.
func conflictField(err error) string {
	var c *fault.Conflict
	if errors.As(err, &c) {
		return c.Field
	}
	return ""
}

func assertResponse(t *testing.T, what string, got, want *ports.StoredResponse) {
	t.Helper()
	switch {
	case want == nil && got == nil:
		return
	case want == nil:
		t.Errorf("%s: got stored response %+v, want none", what, got)
		return
	case got == nil:
		t.Errorf("%s: got no stored response, want %+v", what, want)
		return
	}
	if got.Status != want.Status || !bytes.Equal(got.Body, want.Body) || !closeTime(got.Created, want.Created) ||
		len(got.Header) != len(want.Header) || (len(want.Header) > 0 && !maps.Equal(got.Header, want.Header)) ||
		got.Customer != want.Customer || got.Version != want.Version || got.Erased != want.Erased {
		t.Errorf("%s: stored response =\n\t%d %v %q %s customer %v v%d erased %v\nwant\n\t%d %v %q %s customer %v v%d erased %v", what,
			got.Status, got.Header, got.Body, got.Created.UTC(), got.Customer, got.Version, got.Erased,
			want.Status, want.Header, want.Body, want.Created.UTC(), want.Customer, want.Version, want.Erased)
	}
}
