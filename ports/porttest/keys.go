package porttest

import (
	"slices"
	"testing"

	"kirjuri/core/access"
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

	testKeyLifecycle(t, open)
}

func assertKey(t *testing.T, got, want access.Key) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !closeTime(got.CreatedAt, want.CreatedAt) ||
		!slices.Equal(slices.Sorted(slices.Values(got.Scopes)), slices.Sorted(slices.Values(want.Scopes))) {
		t.Errorf("key = %+v, want %+v", got, want)
	}
}
