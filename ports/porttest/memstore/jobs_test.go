package memstore_test

import (
	"testing"

	"kirjuri/ports/porttest"
	"kirjuri/ports/porttest/memstore"
)

func TestChangeJobsContract(t *testing.T) {
	porttest.RunChangeJobs(t, func(t *testing.T) porttest.JobStores {
		s := memstore.New()
		return porttest.JobStores{Customers: s, Jobs: s, Ingest: s, Bulk: s, Stored: func(t *testing.T) []porttest.StoredJob {
			var out []porttest.StoredJob
			for _, j := range s.Jobs() {
				sj, err := porttest.MarshalJob(j)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, sj)
			}
			return out
		}}
	})
}
