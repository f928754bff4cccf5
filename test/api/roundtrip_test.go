package api

import (
	"net/http"
	"reflect"
	"testing"
)

// Exporting the register and importing the file changes nothing: every row
// comes back unchanged, no customer's version moves, and no consent event
// is recorded. The file holds every kind of column: a person with every
// field and two of each section, a company e-invoicing through a broker, a
// bare person, a restricted person with three cards, identity codes, group
// columns (issue 7, item 7).
func TestExportThenImportChangesNothing(t *testing.T) {
	e := newEnv(t)
	f := newExportFixture(e)
	all := []Customer{f.full, f.firm, f.bare, f.restricted}
	events := map[string]int{}
	for _, c := range all {
		events[c.ID] = len(e.outbox(c.ID))
	}

	r := e.want(e.get(exportPath+"?includeRestricted=true&includeSsn=true", bootstrapSecret), http.StatusOK)
	job := e.importFile("", r.Body)
	if job.Status != "succeeded" || job.RowsTotal != int64(len(all)) || job.Unchanged != int64(len(all)) ||
		job.Created != 0 || job.Updated != 0 || job.Rejected != 0 {
		t.Fatalf("import of the export: %+v (%s); want every row unchanged", job, errorsOf(job))
	}
	for _, c := range all {
		got := e.customer(c.ID)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("customer %d changed by the round trip:\n got %+v\nwant %+v", c.Number, got, c)
		}
		if n := len(e.outbox(c.ID)); n != events[c.ID] {
			t.Errorf("customer %d: %d consent events after the round trip, %d before", c.Number, n, events[c.ID])
		}
	}

	// The same without the identity codes and the restricted customer, as a
	// caller without pii:read and admin exports: the codes are kept.
	r = e.want(e.get(exportPath, bootstrapSecret), http.StatusOK)
	job = e.importFile("", r.Body)
	if job.Status != "succeeded" || job.Unchanged != 3 || job.Created+job.Updated+job.Rejected != 0 {
		t.Fatalf("import of the export without codes: %+v (%s)", job, errorsOf(job))
	}
	if got := e.customer(f.full.ID); got.SSN != f.full.SSN || got.Version != f.full.Version {
		t.Errorf("after importing an export without the ssn column: ssn %q version %d, want %q and %d", got.SSN, got.Version, f.full.SSN, f.full.Version)
	}
}
