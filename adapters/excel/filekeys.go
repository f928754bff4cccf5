package excel

import (
	"hash/maphash"
	"sync"

	"kirjuri/core/register"
)

// fileKeys is register.FileKeys for one import's file, in little memory.
// The first pass (which reads every row anyway) notes a 64-bit hash of
// each row's keys and keeps only the hashes that came more than once: the
// suspects. The second pass then remembers the exact key and its first row
// only for keys whose hash is a suspect, so that a file of a million
// different emails costs about 16 bytes a row for the length of the first
// pass and next to nothing after it, and a collision of hashes costs an
// exact comparison, never a wrong rejection.
type fileKeys struct {
	seed     maphash.Seed
	seen     map[uint64]struct{} // first pass: every hash; nil after it
	suspects map[uint64]struct{}

	mu    sync.Mutex
	first map[string]int // the first row of each suspect key
}

func newFileKeys() *fileKeys {
	return &fileKeys{seed: maphash.MakeSeed(), seen: map[uint64]struct{}{}, suspects: map[uint64]struct{}{}, first: map[string]int{}}
}

func (f *fileKeys) hash(key string) uint64 { return maphash.String(f.seed, key) }

// note notes a key of the first pass.
func (f *fileKeys) note(key string) {
	h := f.hash(key)
	if _, ok := f.seen[h]; ok {
		f.suspects[h] = struct{}{}
		return
	}
	f.seen[h] = struct{}{}
}

// endFirstPass drops what only the first pass needs.
func (f *fileKeys) endFirstPass() { f.seen = nil }

// Earlier is register.FileKeys.Earlier.
func (f *fileKeys) Earlier(key string, row int) int {
	if _, ok := f.suspects[f.hash(key)]; !ok {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.first[key]; ok && r < row {
		return r
	}
	f.first[key] = row
	return 0
}

// rowKeys are the keys (register.NumberKey, register.EmailKey) of the
// row's cells, as Row would map them: the number column's cell when it
// holds a customer number, and the email's when it holds an address. A
// cell that Row refuses has no key (the row is rejected anyway).
func (m *Mapper) rowKeys(r Row, fn func(key string)) {
	if n, given, bad := m.rowNumber(r); given && !bad {
		fn(register.NumberKey(n))
	}
	if email, ok := m.rowEmail(r); ok {
		if k, ok := register.EmailKey(email); ok {
			fn(k)
		}
	}
}
