package postgres

import "time"

// NewSearchIndexWorkerWith is NewSearchIndexWorker with its waits chosen
// by a test.
func NewSearchIndexWorkerWith(s *Store, quiet, maxLag, settle time.Duration) *SearchIndexWorker {
	return &SearchIndexWorker{store: s, quiet: quiet, maxLag: maxLag, settle: settle}
}

// SetCheckFirst sets whether WriteBatch's next batch checks before it
// writes (else it is optimistic), and returns what it was.
func SetCheckFirst(v bool) bool { return checkFirst.Swap(v) }

// CheckFirst tells whether WriteBatch's next batch checks first.
func CheckFirst() bool { return checkFirst.Load() }
