package api

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// TestConcurrentPatches: concurrent changes of one customer are serialised.
func TestConcurrentPatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 20

	// parallel runs n requests behind a gate, so they arrive together.
	parallel := func(mk func(i int) req) []*response {
		var (
			wg    sync.WaitGroup
			gate  = make(chan struct{})
			resps = make([]*response, n)
		)
		for i := range n {
			wg.Go(func() {
				<-gate
				resps[i] = e.do(mk(i))
			})
		}
		close(gate)
		wg.Wait()
		return resps
	}

	t.Run("without If-Match every change lands", func(t *testing.T) {
		e := e.sub(t)
		c := e.create(person("Rinnakkain", "Alku", nil))
		resps := parallel(func(i int) req {
			return patchReq("/v1/customers/"+c.ID, obj{"lastName": "Muutos" + strconv.Itoa(i), "customerCards": []string{"CARD-" + strconv.Itoa(i)}})
		})
		var versions []int64
		for _, r := range resps {
			got := decode[Customer](t, e.want(r, http.StatusOK))
			versions = append(versions, got.Version)
			if r.Header.Get("ETag") != `"`+strconv.FormatInt(got.Version, 10)+`"` {
				t.Errorf("ETag %q for version %d", r.Header.Get("ETag"), got.Version)
			}
		}
		// Each change saw the one before it: the versions are 2..21, each
		// once.
		slices.Sort(versions)
		for i, v := range versions {
			if v != int64(i+2) {
				t.Fatalf("versions answered %v, want 2..%d each once", versions, n+1)
			}
		}
		final := e.customer(c.ID)
		if final.Version != n+1 {
			t.Errorf("final version %d, want %d", final.Version, n+1)
		}
		// The last change is whole: its name and its card belong together,
		// and the cards released by the others are free again.
		i := final.LastName[len("Muutos"):]
		if !equal(final.CustomerCards, []string{"CARD-" + i}) {
			t.Errorf("final lastName %q with cards %v: a torn write", final.LastName, final.CustomerCards)
		}
		for j := range n {
			if card := "CARD-" + strconv.Itoa(j); card != "CARD-"+i {
				e.create(person("Kortti", "Vapaa"+strconv.Itoa(j), obj{"customerCards": []string{card}}))
			}
		}
	})

	t.Run("with If-Match of version 1 exactly one wins", func(t *testing.T) {
		e := e.sub(t)
		c := e.create(person("Kilpailu", "Alku", nil))
		resps := parallel(func(i int) req {
			return patchReq("/v1/customers/"+c.ID, obj{"lastName": "Voittaja" + strconv.Itoa(i)}, "If-Match", `"1"`)
		})
		var won []int
		for i, r := range resps {
			switch r.Status {
			case http.StatusOK:
				won = append(won, i)
				if r.Header.Get("ETag") != `"2"` {
					t.Errorf("the winner's ETag %q, want \"2\"", r.Header.Get("ETag"))
				}
			case http.StatusPreconditionFailed:
				e.wantProblem(r, http.StatusPreconditionFailed, "header.If-Match")
			default:
				t.Errorf("request %d: %s", i, r)
			}
		}
		if len(won) != 1 {
			t.Fatalf("%d requests won (%v), want exactly 1", len(won), won)
		}
		final := e.customer(c.ID)
		if final.Version != 2 || final.LastName != "Voittaja"+strconv.Itoa(won[0]) {
			t.Errorf("final %q version %d, want the winner's change at version 2", final.LastName, final.Version)
		}
	})

	t.Run("unique identifiers: one create wins, the rest are 409", func(t *testing.T) {
		e := e.sub(t)
		for _, tt := range []struct {
			give  obj
			field string
		}{
			{obj{"email": "sama@example.fi"}, "body.email"},
			{obj{"customerCards": []string{"SAMA"}}, "body.customerCards"},
			{obj{"externalSystems": []obj{{"systemId": 6, "identifier": "sama"}}}, "body.externalSystems"},
			{obj{"ssn": "131052-308T"}, "body.ssn"},
			{obj{"externalId": "sama"}, "body.externalId"},
			{obj{"netvisorId": "sama"}, "body.netvisorId"},
		} {
			resps := parallel(func(i int) req { return post(person("Sama", "Tunniste"+strconv.Itoa(i), tt.give)) })
			won := 0
			for _, r := range resps {
				switch r.Status {
				case http.StatusCreated:
					won++
				default:
					e.wantProblem(r, http.StatusConflict, tt.field)
				}
			}
			if won != 1 {
				t.Errorf("%v: %d creates won, want exactly 1", tt.give, won)
			}
		}
		// Numbers stay unique under concurrent creates.
		resps := parallel(func(i int) req { return post(person("Numero", "Rinnakkain"+strconv.Itoa(i), nil)) })
		seen := map[int64]bool{}
		for _, r := range resps {
			n := decode[Customer](t, e.want(r, http.StatusCreated)).Number
			if seen[n] || n < 10000 {
				t.Errorf("number %d given twice or below 10000", n)
			}
			seen[n] = true
		}
	})
}
