package porttest

import (
	"slices"
	"testing"

	"kirjuri/core/access"
)

// testKeyLifecycle covers revocation, replacement and listing of keys.
func testKeyLifecycle(t *testing.T, open opener) {
	read := []access.Scope{access.CustomersRead}

	t.Run("NameInUse", func(t *testing.T) {
		f := setup(t, open)
		if err := f.Keys.CreateKey(f.ctx, access.Key{ID: f.ids.New(), Name: "kassa", Scopes: read, CreatedAt: f.clock.Now()}, access.Hash("kir_kassa1")); err != nil {
			t.Fatal(err)
		}
		err := f.Keys.CreateKey(f.ctx, access.Key{ID: f.ids.New(), Name: "kassa", Scopes: read, CreatedAt: f.clock.Now()}, access.Hash("kir_kassa2"))
		wantConflict(t, "CreateKey with the name of an active key", err, "name")
		if _, err := f.Keys.RevokeKeys(f.ctx, "kassa", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if err := f.Keys.CreateKey(f.ctx, access.Key{ID: f.ids.New(), Name: "kassa", Scopes: read, CreatedAt: f.clock.Now()}, access.Hash("kir_kassa2")); err != nil {
			t.Errorf("CreateKey with the name of a revoked key: %v", err)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		f := setup(t, open)
		kassa := access.Key{ID: f.ids.New(), Name: "kassa", Scopes: read, CreatedAt: f.clock.Now()}
		other := access.Key{ID: f.ids.New(), Name: "verkkokauppa", Scopes: read, CreatedAt: f.clock.Now()}
		for s, k := range map[string]access.Key{"kir_kassa": kassa, "kir_web": other} {
			if err := f.Keys.CreateKey(f.ctx, k, access.Hash(s)); err != nil {
				t.Fatal(err)
			}
		}
		if list, err := f.Keys.ListKeys(f.ctx); err != nil || len(list) != 2 || !list[0].LastUsedAt.IsZero() {
			t.Errorf("ListKeys before any use = %+v, %v; want two keys never used", list, err)
		}
		got, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_kassa"))
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt.IsZero() || got.Revoked() {
			t.Errorf("a looked-up key: last used %v, revoked %v; want a last use and not revoked", got.LastUsedAt, got.RevokedAt)
		}
		at := f.clock.Now()
		n, err := f.Keys.RevokeKeys(f.ctx, "kassa", at)
		if err != nil || n != 1 {
			t.Fatalf("RevokeKeys = %d, %v; want 1", n, err)
		}
		_, err = f.Keys.KeyByHash(f.ctx, access.Hash("kir_kassa"))
		wantNotFound(t, "KeyByHash of a revoked key", err)
		if _, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_web")); err != nil {
			t.Errorf("the other key after revoking kassa: %v", err)
		}
		if n, err := f.Keys.RevokeKeys(f.ctx, "kassa", f.clock.Now()); err != nil || n != 0 {
			t.Errorf("RevokeKeys again = %d, %v; want 0 (nothing left to revoke)", n, err)
		}
		if n, err := f.Keys.RevokeKeys(f.ctx, "nobody", f.clock.Now()); err != nil || n != 0 {
			t.Errorf("RevokeKeys of an unknown name = %d, %v; want 0", n, err)
		}

		list, err := f.Keys.ListKeys(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "kassa" || list[1].Name != "verkkokauppa" {
			t.Fatalf("ListKeys = %+v, want kassa and verkkokauppa in that order", list)
		}
		if !closeTime(list[0].RevokedAt, at) || list[1].Revoked() || list[0].LastUsedAt.IsZero() || list[1].LastUsedAt.IsZero() {
			t.Errorf("ListKeys = %+v; want kassa revoked at %v, verkkokauppa active, both used", list, at)
		}
		if list[0].ID != kassa.ID || !slices.Equal(list[0].Scopes, read) || !closeTime(list[0].CreatedAt, kassa.CreatedAt) {
			t.Errorf("ListKeys[0] = %+v, want %+v", list[0], kassa)
		}
	})

	t.Run("Replace", func(t *testing.T) {
		f := setup(t, open)
		first := access.Key{ID: f.ids.New(), Name: "bootstrap", Scopes: access.Scopes, CreatedAt: f.clock.Now()}
		if err := f.Keys.ReplaceKey(f.ctx, first, access.Hash("kir_boot1")); err != nil {
			t.Fatalf("ReplaceKey on an empty store: %v", err)
		}
		// Again with the same secret: nothing changes (a restart).
		again := access.Key{ID: f.ids.New(), Name: "bootstrap", Scopes: access.Scopes, CreatedAt: f.clock.Now()}
		if err := f.Keys.ReplaceKey(f.ctx, again, access.Hash("kir_boot1")); err != nil {
			t.Fatalf("ReplaceKey with the same secret: %v", err)
		}
		got, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_boot1"))
		if err != nil || got.ID != first.ID {
			t.Fatalf("KeyByHash after a restart = %+v, %v; want the first key", got, err)
		}
		// A new secret: the old one stops working.
		second := access.Key{ID: f.ids.New(), Name: "bootstrap", Scopes: access.Scopes, CreatedAt: f.clock.Now()}
		if err := f.Keys.ReplaceKey(f.ctx, second, access.Hash("kir_boot2")); err != nil {
			t.Fatalf("ReplaceKey with a new secret: %v", err)
		}
		_, err = f.Keys.KeyByHash(f.ctx, access.Hash("kir_boot1"))
		wantNotFound(t, "KeyByHash of the replaced bootstrap key", err)
		if got, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_boot2")); err != nil || got.ID != second.ID {
			t.Errorf("KeyByHash of the new bootstrap key = %+v, %v", got, err)
		}
		// The replaced secret does not come back.
		back := access.Key{ID: f.ids.New(), Name: "bootstrap", Scopes: access.Scopes, CreatedAt: f.clock.Now()}
		wantConflict(t, "ReplaceKey with a revoked secret", f.Keys.ReplaceKey(f.ctx, back, access.Hash("kir_boot1")), "key")
		if _, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_boot2")); err != nil {
			t.Errorf("the refused replacement revoked the current key: %v", err)
		}
		// Nor does a secret of another key become the bootstrap key.
		if err := f.Keys.CreateKey(f.ctx, access.Key{ID: f.ids.New(), Name: "kassa", Scopes: read, CreatedAt: f.clock.Now()}, access.Hash("kir_kassa")); err != nil {
			t.Fatal(err)
		}
		wantConflict(t, "ReplaceKey with another key's secret", f.Keys.ReplaceKey(f.ctx, back, access.Hash("kir_kassa")), "key")
		if got, err := f.Keys.KeyByHash(f.ctx, access.Hash("kir_kassa")); err != nil || got.Name != "kassa" {
			t.Errorf("kassa after the refused replacement = %+v, %v", got, err)
		}
	})
}
