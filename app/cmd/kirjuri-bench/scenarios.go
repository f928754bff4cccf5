package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"kirjuri/app/cmd/internal/benchkit"
	"kirjuri/core/customer"
)

// targets are the two servers and what the scenarios need to address them.
type targets struct {
	floor, kirjuri string
	auth           string
	n              int64  // loaded customers: FirstNumber .. FirstNumber+n-1
	runID          string // makes this run's new customers unique
	created        atomic.Int64
}

func (t *targets) randomNumber(rng *rand.Rand) int64 {
	return customer.FirstNumber + rng.Int64N(t.n)
}

func (t *targets) get(ctx context.Context, u string, authorized bool) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		panic(err) // the URLs are made here
	}
	if authorized {
		req.Header.Set("Authorization", t.auth)
	}
	return req
}

// Find's kinds of search text: what people type into a customer search.
var findKinds = []string{"last name", "first and last name", "email prefix", "phone as typed (040 …)", "customer number"}

func (t *targets) scenarios(o options) []scenario {
	return []scenario{
		{
			name: "floor", workers: o.concurrency, want: http.StatusOK, lookup: true,
			next: func(ctx context.Context, rng *rand.Rand) (*http.Request, int) {
				n := t.randomNumber(rng)
				return t.get(ctx, t.floor+"/by-external/6/wc-"+strconv.FormatInt(n, 10), false), 0
			},
		},
		{
			name: "by-external", workers: o.concurrency, want: http.StatusOK, lookup: true,
			next: func(ctx context.Context, rng *rand.Rand) (*http.Request, int) {
				n := t.randomNumber(rng)
				return t.get(ctx, t.kirjuri+"/v1/customers/by-external/6/wc-"+strconv.FormatInt(n, 10), true), 0
			},
		},
		{
			name: "by-number", workers: o.concurrency, want: http.StatusOK, lookup: true,
			next: func(ctx context.Context, rng *rand.Rand) (*http.Request, int) {
				n := t.randomNumber(rng)
				return t.get(ctx, t.kirjuri+"/v1/customers/by-number/"+strconv.FormatInt(n, 10), true), 0
			},
		},
		{
			name: "find", workers: o.findWorkers, want: http.StatusOK, kinds: findKinds,
			next: func(ctx context.Context, rng *rand.Rand) (*http.Request, int) {
				kind := rng.IntN(len(findKinds))
				q := t.searchText(rng, kind)
				return t.get(ctx, t.kirjuri+"/v1/customers?limit=50&q="+url.QueryEscape(q), true), kind
			},
		},
		{
			name: "create", workers: o.concurrency, want: http.StatusCreated,
			next: func(ctx context.Context, rng *rand.Rand) (*http.Request, int) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.kirjuri+"/v1/customers", bytes.NewReader(t.newCustomer(rng)))
				if err != nil {
					panic(err)
				}
				req.Header.Set("Authorization", t.auth)
				req.Header.Set("Content-Type", "application/json")
				return req, 0
			},
		},
	}
}

// searchText is a search of the given kind for a random loaded person.
func (t *targets) searchText(rng *rand.Rand, kind int) string {
	var r record
	for {
		r = gen(t.randomNumber(rng))
		if !r.Company && (kind != 3 || r.Phone != "") {
			break
		}
	}
	switch kind {
	case 0:
		return r.Last
	case 1:
		return r.First + " " + r.Last
	case 2:
		local, _, _ := strings.Cut(r.Email, "@")
		return local
	case 3:
		return r.LocalForm
	default:
		return strconv.FormatInt(r.Number, 10)
	}
}

// newCustomer is the body of a create: a new person with a unique email and
// link, a phone number and an address, as a webstore would send.
func (t *targets) newCustomer(rng *rand.Rand) []byte {
	seq := t.created.Add(1)
	first := benchkit.FirstNames[rng.IntN(len(benchkit.FirstNames))]
	last := benchkit.LastNames[rng.IntN(len(benchkit.LastNames))]
	pl := benchkit.Places[rng.IntN(len(benchkit.Places))]
	return fmt.Appendf(nil, `{"firstName":%q,"lastName":%q,"email":"%s.%s.%s-%d@example.fi",`+
		`"phoneNumbers":["0%s %07d"],"externalSystems":[{"systemId":6,"identifier":"wc-new-%s-%d"}],`+
		`"addresses":[{"type":"Invoice","streetAddress1":"%s %d","postalCode":"%s","city":%q}]}`,
		first, last, ascii(first), ascii(last), t.runID, seq,
		benchkit.MobilePrefixes[rng.IntN(len(benchkit.MobilePrefixes))], rng.IntN(10_000_000), t.runID, seq,
		benchkit.Streets[rng.IntN(len(benchkit.Streets))], 1+rng.IntN(80), pl.Code, pl.City)
}
