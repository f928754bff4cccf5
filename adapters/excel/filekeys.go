package excel

import (
	"hash/maphash"
	"sync"

	"kirjuri/core/register"
)

// fileKeys is register.FileKeys for one import's file, in one pass and in
// little memory: for each key (a customer number, an email) the first row
// that had it, kept under a 128-bit hash of the key rather than the key
// itself (two 64-bit maphash values under independent random seeds), so
// that a file of a million different emails costs about 40 bytes a key
// whatever their length.
//
// Two different keys of one file share a hash with a probability of about
// n²/2¹²⁹ for n keys: 10⁻²⁶ for two million, far below the odds of a
// memory error; it is treated as never. The single pass lets the rows be
// written while the first pass (the file errors, the count of rows) still
// reads (see importRun.run), which a two-pass scheme (exact keys for the
// hashes seen twice) could not.
type fileKeys struct {
	seeds [2]maphash.Seed
	mu    sync.Mutex
	first map[[2]uint64]int32
}

func newFileKeys() *fileKeys {
	return &fileKeys{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, first: map[[2]uint64]int32{}}
}

func (f *fileKeys) hash(key string) [2]uint64 {
	return [2]uint64{maphash.String(f.seeds[0], key), maphash.String(f.seeds[1], key)}
}

// Earlier is register.FileKeys.Earlier.
func (f *fileKeys) Earlier(key string, row int) int {
	h := f.hash(key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.first[h]; ok && int(r) < row {
		return int(r)
	}
	f.first[h] = int32(row)
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
