package register_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/customer"
	"kirjuri/core/register"
	"kirjuri/ports/porttest/memstore"
)

// TestIdentityCodeDateComesFromTheClock: the service hands its clock to the
// core, which refuses an identity code born after today in Finland. The
// code 020325A0027 is born on 2 March 2025.
func TestIdentityCodeDateComesFromTheClock(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		give time.Time // what the clock says
		want []string
	}{
		{name: "1 March in Helsinki", give: time.Date(2025, 3, 1, 23, 59, 59, 0, helsinki), want: []string{"ssn"}},
		{name: "2 March in Helsinki, 1 March in UTC", give: time.Date(2025, 3, 1, 22, 0, 0, 0, time.UTC)},
		{name: "2 March in Helsinki", give: time.Date(2025, 3, 2, 0, 0, 0, 0, helsinki)},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			svc := register.New(memstore.New(), fixedClock{tt.give}, &idSource{seen: map[uuid.UUID]bool{}})
			p := person(func(p *customer.Patch) { p.SSN = customer.Set("020325A0027") })
			_, err := svc.Create(context.Background(), p, admin)
			if got := fieldsOf(err); !slices.Equal(got, tt.want) || tt.want == nil && err != nil {
				t.Errorf("Create: fields = %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}
