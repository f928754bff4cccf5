package excel

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestKeptUploads: a kept upload is taken once; a dropped one, one kept
// too long, one pushed out by keptUploadsMax others, and those left at
// Close are removed from the disk.
func TestKeptUploads(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	k := NewKeptUploads()
	k.now = func() time.Time { return now }
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }

	a, b := uuid.New(), uuid.New()
	pa, pb := file("a"), file("b")
	k.Keep(a, pa)
	k.Keep(b, pb)
	if p, ok := k.Take(a); !ok || p != pa || !exists(pa) {
		t.Errorf("Take(a) = %q, %v; want %q, still on the disk (the taker removes it)", p, ok, pa)
	}
	if _, ok := k.Take(a); ok {
		t.Error("an upload was taken twice")
	}
	k.Drop(b)
	if _, ok := k.Take(b); ok || exists(pb) {
		t.Errorf("a dropped upload is still kept (%v) or on the disk (%v)", ok, exists(pb))
	}

	old := uuid.New()
	pOld := file("old")
	k.Keep(old, pOld)
	now = now.Add(keptUploadFor + time.Second)
	k.Keep(uuid.New(), file("fresh"))
	if _, ok := k.Take(old); ok || exists(pOld) {
		t.Errorf("an upload kept for longer than %v is still kept (%v) or on the disk (%v)", keptUploadFor, ok, exists(pOld))
	}

	var first uuid.UUID
	var firstPath string
	for i := range keptUploadsMax + 1 {
		now = now.Add(time.Second)
		id, p := uuid.New(), file("n"+string(rune('a'+i)))
		if i == 0 {
			first, firstPath = id, p
		}
		k.Keep(id, p)
	}
	if _, ok := k.Take(first); ok || exists(firstPath) {
		t.Errorf("the oldest of %d uploads is still kept (%v) or on the disk (%v)", keptUploadsMax+1, ok, exists(firstPath))
	}
	if n := len(k.files); n != keptUploadsMax {
		t.Errorf("%d uploads kept, want at most %d", n, keptUploadsMax)
	}
	k.Close()
	if left, _ := os.ReadDir(dir); len(left) != 1 || left[0].Name() != "a" {
		t.Errorf("left on the disk after Close: %v; want only a (taken)", left)
	}
}
