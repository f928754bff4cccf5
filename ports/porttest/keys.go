package porttest

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"

	"kirjuri/core/access"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

func testKeys(t *testing.T, open opener) {
	t.Run("RoundTrip", func(t *testing.T) {
		f := setup(t, open)
		keys := []struct {
			secret string
			key    access.Key
		}{
			{"kir_kassa", access.Key{ID: f.ids.New(), Name: "Kassa 1", Scopes: []access.Scope{access.CustomersRead, access.CustomersWrite, access.PIIRead}, CreatedAt: f.clock.Now()}},
			{"kir_audit", access.Key{ID: f.ids.New(), Name: "Tilintarkastus", Scopes: []access.Scope{access.AuditRead}, CreatedAt: f.clock.Now()}},
			{"kir_admin", access.Key{ID: f.ids.New(), Name: "Ylläpito – pääkäyttäjä", Scopes: slices.Clone(access.Scopes), CreatedAt: f.clock.Now()}},
		}
		for _, k := range keys {
			if err := f.Keys.CreateKey(f.ctx, k.key, access.Hash(k.secret)); err != nil {
				t.Fatalf("CreateKey(%q): %v", k.key.Name, err)
			}
		}
		for _, k := range keys {
			got, err := f.Keys.KeyByHash(f.ctx, access.Hash(k.secret))
			if err != nil {
				t.Errorf("KeyByHash(%q): %v", k.key.Name, err)
				continue
			}
			assertKey(t, got, k.key)
		}
	})

	t.Run("UnknownHash", func(t *testing.T) {
		f := setup(t, open)
		if err := f.Keys.CreateKey(f.ctx, access.Key{ID: f.ids.New(), Name: "yksi", Scopes: []access.Scope{access.CustomersRead}, CreatedAt: f.clock.Now()}, access.Hash("kir_one")); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		_, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_other"))
		wantNotFound(t, "KeyByHash of an unknown hash", err)
		_, err = f.Keys.KeyByHash(f.ctx, nil)
		wantNotFound(t, "KeyByHash of no hash", err)
	})

	t.Run("SameHashTwice", func(t *testing.T) {
		f := setup(t, open)
		first := access.Key{ID: f.ids.New(), Name: "Bootstrap", Scopes: []access.Scope{access.Admin}, CreatedAt: f.clock.Now()}
		if err := f.Keys.CreateKey(f.ctx, first, access.Hash("kir_boot")); err != nil {
			t.Fatalf("CreateKey: %v", err)
		}
		second := access.Key{ID: f.ids.New(), Name: "Bootstrap again", Scopes: []access.Scope{access.CustomersRead}, CreatedAt: f.clock.Now()}
		if err := f.Keys.CreateKey(f.ctx, second, access.Hash("kir_boot")); err != nil {
			t.Errorf("CreateKey with the same hash again: %v, want no error", err)
		}
		got, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_boot"))
		if err != nil {
			t.Fatalf("KeyByHash: %v", err)
		}
		assertKey(t, got, first) // storing the same hash again changes nothing
	})
}

func assertKey(t *testing.T, got, want access.Key) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !closeTime(got.CreatedAt, want.CreatedAt) ||
		!slices.Equal(slices.Sorted(slices.Values(got.Scopes)), slices.Sorted(slices.Values(want.Scopes))) {
		t.Errorf("key = %+v, want %+v", got, want)
	}
}

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
		steps := []struct {
			name    string
			do      func() (*ports.StoredResponse, error)
			want    *ports.StoredResponse
			wantErr error
		}{
			{"Begin on a new key", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp1) }, nil, nil},
			{"Begin again while running", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp1) }, nil, ports.ErrIdempotencyInFlight},
			{"Begin with another body while running", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp2) }, nil, ports.ErrIdempotencyMismatch},
			{"Begin with the same key in another scope", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, "key:other", key, fp1) }, nil, nil},
			{"Finish", func() (*ports.StoredResponse, error) { return nil, i.Finish(f.ctx, scope, key, resp) }, nil, nil},
			{"Begin after Finish", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp1) }, &resp, nil},
			{"Begin after Finish, again", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp1) }, &resp, nil},
			{"Begin after Finish with another body", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, scope, key, fp2) }, nil, ports.ErrIdempotencyMismatch},
			{"other scope still running", func() (*ports.StoredResponse, error) { return i.Begin(f.ctx, "key:other", key, fp1) }, nil, ports.ErrIdempotencyInFlight},
		}
		for _, s := range steps {
			got, err := s.do()
			switch {
			case s.wantErr != nil:
				if !errors.Is(err, s.wantErr) {
					t.Errorf("%s: error = %v, want %v", s.name, err, s.wantErr)
				}
				if got != nil {
					t.Errorf("%s: returned a response %+v with the conflict", s.name, got)
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
		if got, err := f.Idempotency.Begin(f.ctx, scope, key, fp1); err != nil || got != nil {
			t.Fatalf("Begin = %v, %v; want nil, nil", got, err)
		}
		resp := ports.StoredResponse{Status: 204, Created: f.clock.Now()}
		if err := f.Idempotency.Finish(f.ctx, scope, key, resp); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		got, err := f.Idempotency.Begin(f.ctx, scope, key, fp1)
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
				if got, err := f.Idempotency.Begin(f.ctx, scope, key, fp1); err != nil || got != nil {
					t.Fatalf("Begin = %v, %v; want nil, nil", got, err)
				}
				if err := f.Idempotency.Abandon(f.ctx, scope, key); err != nil {
					t.Fatalf("Abandon: %v", err)
				}
				got, err := f.Idempotency.Begin(f.ctx, scope, key, tt.retry)
				if err != nil || got != nil {
					t.Errorf("Begin after Abandon = %v, %v; want nil, nil", got, err)
				}
				// And the new claim holds.
				_, err = f.Idempotency.Begin(f.ctx, scope, key, tt.retry)
				if !errors.Is(err, ports.ErrIdempotencyInFlight) {
					t.Errorf("Begin while the retry runs = %v, want ErrIdempotencyInFlight", err)
				}
			})
		}
	})
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
		len(got.Header) != len(want.Header) || (len(want.Header) > 0 && !maps.Equal(got.Header, want.Header)) {
		t.Errorf("%s: stored response =\n\t%d %v %q %s\nwant\n\t%d %v %q %s", what,
			got.Status, got.Header, got.Body, got.Created.UTC(), want.Status, want.Header, want.Body, want.Created.UTC())
	}
}
