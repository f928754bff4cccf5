package main

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
)

// genVersion changes whenever the generated data set changes, so that a data
// set loaded by an older version is not taken for the current one.
const genVersion = 1

// period is how far back the loaded events reach from the load's end.
const period = 730 * 24 * time.Hour

// summaryWindow is the "most recent 30 days" of the summary target.
const summaryWindow = 30 * 24 * time.Hour

// generator makes a realistic consent audit log, oldest event first:
//
//   - customers are picked with a Zipf law (s 1.1, v 100): with 200,000
//     customers and 10M events the busiest customer has ~19,000 events, the
//     median one ~12 and the quietest a handful;
//   - time runs over two years with a growing rate (half the average at the
//     start, one and a half at the end), so the last 30 days hold more than
//     their share;
//   - each event flips the customer's consent (false→true is a grant,
//     true→false a withdrawal); about 0.2% are erasures;
//   - sources, actors, external systems, request ids, import ids and
//     evidence texts are mixed as the API, imports and connectors write them.
type generator struct {
	r         *rand.Rand
	zipf      *rand.Zipf
	customers []uuid.UUID
	state     []uint8 // per customer: bit k = consent k (email, sms, restricted)

	n          int
	startNanos int64
	spanNanos  float64
	next       int // index of the next event

	// Tallies for the correctness checks: consent changes (grants and
	// withdrawals, not erasures) in all and in the last 30 days.
	changesTotal, changes30d uint64
	windowFrom               int64 // unix nanos
}

func newGenerator(seed uint64, events, customers int, end time.Time) *generator {
	cr := rand.New(rand.NewPCG(seed, 0xc0ffee))
	ids := make([]uuid.UUID, customers)
	for i := range ids {
		ids[i] = randomUUID(cr)
	}
	r := rand.New(rand.NewPCG(seed, 0xa0d17))
	start := end.Add(-period)
	return &generator{
		r:          r,
		zipf:       rand.NewZipf(r, 1.1, 100, uint64(customers-1)),
		customers:  ids,
		state:      make([]uint8, customers),
		n:          events,
		startNanos: start.UnixNano(),
		spanNanos:  float64(period.Nanoseconds()),
		windowFrom: end.Add(-summaryWindow).UnixNano(),
	}
}

// randomUUID is a version 4 UUID from r (reproducible for a seed).
func randomUUID(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	a, b := r.Uint64(), r.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// batch returns the next up to n events (nil when all are made).
func (g *generator) batch(n int) []consent.Event {
	n = min(n, g.n-g.next)
	if n <= 0 {
		return nil
	}
	out := make([]consent.Event, n)
	for i := range out {
		// Growing rate: density 0.5+x on [0, 1), so the inverse of its CDF
		// (x + x²)/2 spreads the events.
		q := (float64(g.next) + g.r.Float64()) / float64(g.n)
		x := (math.Sqrt(1+8*q) - 1) / 2
		at := g.startNanos + int64(x*g.spanNanos)
		c := int(g.zipf.Uint64())
		e := makeEvent(g.r, g.customers[c], int64(100_000+c), time.Unix(0, at).UTC(), &g.state[c])
		if e.Consent != consent.Erased {
			g.changesTotal++
			if at >= g.windowFrom {
				g.changes30d++
			}
		}
		out[i] = e
		g.next++
	}
	return out
}

var (
	apiActors = []struct {
		name   string
		weight float64
	}{
		{"apikey:webshop", 0.50},
		{"apikey:crm", 0.25},
		{"apikey:mobile-app", 0.15},
		{"apikey:customer-service", 0.0975},
		{"apikey:support-desk", 0.0025}, // the rare actor of the filtered listing
	}
	connectors = []string{"connector:netvisor", "connector:procountor", "connector:visma", "connector:lemonsoft", "connector:shopify"}
	grantTexts = []string{
		"web form /newsletter, checkbox ticked",
		"checkout: marketing opt-in ticked",
		"customer service call, recorded",
		"mobile app settings: notifications on",
		"paper form signed in store, scanned as DOC-4471",
	}
	withdrawTexts = []string{
		"unsubscribe link in email",
		"STOP reply to SMS",
		"customer service call, customer asked to stop marketing",
		"mobile app settings: notifications off",
	}
)

// makeEvent makes one event of customer id at time at, flipping its consent
// in state.
func makeEvent(r *rand.Rand, id uuid.UUID, number int64, at time.Time, state *uint8) consent.Event {
	e := consent.Event{
		ID:             randomUUID(r),
		OccurredAt:     at,
		CustomerID:     id,
		CustomerNumber: number,
	}
	k := r.Float64()
	switch {
	case k < 0.55:
		e.Consent = consent.MarketingEmail
	case k < 0.93:
		e.Consent = consent.MarketingSMS
	case k < 0.998:
		e.Consent = consent.GDPRRestricted
	default:
		e.Consent = consent.Erased
	}
	if e.Consent == consent.Erased {
		e.OldValue, e.NewValue = false, true
		e.Source, e.Actor, e.RequestID = consent.SourceErasure, "apikey:customer-service", requestID(r)
		e.Evidence = "erasure request by email, identity checked"
		return e
	}
	bit := uint8(1) // marketingEmail
	switch e.Consent {
	case consent.MarketingSMS:
		bit = 2
	case consent.GDPRRestricted:
		bit = 4
	}
	e.OldValue = *state&bit != 0
	e.NewValue = !e.OldValue
	*state ^= bit

	s := r.Float64()
	switch {
	case s < 0.45:
		e.Source = consent.SourceAPI
		w := r.Float64()
		for _, a := range apiActors {
			e.Actor = a.name
			if w < a.weight {
				break
			}
			w -= a.weight
		}
		e.RequestID = requestID(r)
		if r.Float64() < 0.7 {
			if e.NewValue {
				e.Evidence = grantTexts[r.IntN(len(grantTexts))]
			} else {
				e.Evidence = withdrawTexts[r.IntN(len(withdrawTexts))]
			}
		}
	case s < 0.65:
		e.Source = consent.SourceImport
		e.Actor = "apikey:import"
		// One import a day.
		e.ImportID = "imp-" + at.Format("20060102")
		e.Evidence = "consents from the loyalty programme's member file"
	default:
		e.Source = consent.SourceConnector
		c := r.IntN(len(connectors))
		e.Actor = connectors[c]
		e.SourceSystemID = c + 1
		e.RequestID = requestID(r)
	}
	return e
}

func requestID(r *rand.Rand) string {
	return "req_" + strconv.FormatUint(r.Uint64()|1<<63, 36)
}
