package api

import (
	"fmt"
	"os"
	"testing"
)

// knownBug handles a check that fails today because of a bug outside
// test/ that has been reported (bug names the report's entry). The test
// logs what it saw and skips, so the suite stays green until the fix;
// with KIRJURI_E2E_STRICT=1 it fails instead. Once the bug is fixed the
// check passes and knownBug is no longer reached.
func knownBug(t *testing.T, e *env, bug, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("KIRJURI_E2E_STRICT") == "1" {
		t.Errorf("%s: %s", bug, msg)
		return
	}
	// The server logged the failure; it is the bug's, not a new one.
	if e != nil {
		e.errs.TakeAll()
	}
	t.Skipf("KNOWN BUG %s (set KIRJURI_E2E_STRICT=1 to fail): %s", bug, msg)
}
