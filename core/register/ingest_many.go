package register

import (
	"context"
	"fmt"
	"strings"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports"
)

// IngestMany takes many drafts at once (a connector drain's batch) and
// returns one outcome per item, in the items' order. The outcomes, and
// what is stored (customers, links with their source times and echoes,
// consent events, push jobs), are exactly those of calling Ingest for each
// item in turn, in the items' order; only the numbers of new customers
// may differ (they are taken in one call).
//
// The drafts that are provably independent of every other item of the
// batch take a fast path: their links and emails are looked up at once
// (ports.IngestStore.CustomersByLinks, ports.BulkStore.CustomersByEmail),
// each is decided as Ingest decides it, and the changed and new customers
// are written with one ports.BulkStore.WriteBatch, their links' source
// times with them. Independent means that the item touches nothing that
// another item of the batch touches (keys: its link, email and phones,
// the unique values it sets, and the matched customer's id, unique values
// and phones before and after), so that the order in which the fast and
// the other items are stored does not matter.
//
// Every other item goes through Ingest, one at a time, in the items'
// order, after the fast write: an invalid draft; a draft whose link's
// system is pushed to (Ingest waits for a push of the link under way); an
// Observation that matches no customer by link or email (it may match one
// by phone); a link with an echo kept; a draft the core refuses; a draft
// that changes nothing but would record a later source time; every item
// that shares a key with another; and a fast write the store rejected
// (the customer or its link's source changed meanwhile, a value was
// taken) or could not store. Ingest then answers for them as it would
// have.
func (s *Service) IngestMany(ctx context.Context, items []ports.IngestItem) []ports.IngestOutcome {
	out := make([]ports.IngestOutcome, len(items))
	done := make([]bool, len(items))
	s.ingestFast(ctx, items, out, done)
	for i, it := range items {
		if done[i] {
			continue
		}
		res, err := s.Ingest(ctx, it.Draft, it.Origin)
		out[i] = ports.IngestOutcome{Result: res, Err: err}
	}
	return out
}

// fastItem is an item of IngestMany decided on the fast path.
type fastItem struct {
	in *draft
	o  consent.Origin
	// fast: decided here (res, or write); otherwise through Ingest.
	fast  bool
	res   intake.Result
	write *ports.BatchWrite // nil when nothing is to be written
	keys  map[string]bool
}

// ingestFast decides and writes the independent items of IngestMany
// (see there), setting their outcomes and done; it leaves the others,
// and any item whose fast write failed, to Ingest.
func (s *Service) ingestFast(ctx context.Context, items []ports.IngestItem, out []ports.IngestOutcome, done []bool) {
	is, ok := s.store.(ports.IngestStore)
	if !ok {
		return
	}
	bulk, ok := s.store.(ports.BulkStore)
	if !ok {
		return
	}
	fs := make([]*fastItem, len(items))
	var (
		links  []customer.ExternalLink
		emails []string
	)
	for i, it := range items {
		in, err := prepareDraft(it.Draft, it.Origin)
		if err != nil {
			continue // refused again by Ingest, which touches nothing for it
		}
		fs[i] = &fastItem{in: in, o: it.Origin, keys: draftKeys(in)}
		links = append(links, in.Link)
		if in.email != "" {
			emails = append(emails, in.email)
		}
	}
	if len(links) == 0 {
		return
	}
	// A lookup that fails leaves every item to Ingest, which meets the
	// store's trouble itself.
	lcs, err := is.CustomersByLinks(ctx, links)
	if err != nil {
		return
	}
	byLink := make(map[customer.ExternalLink]ports.LinkedCustomer, len(lcs))
	for _, lc := range lcs {
		if !lc.Customer.Erased() {
			byLink[lc.Link] = lc
		}
	}
	byEmail := map[string]*customer.Customer{}
	if len(emails) > 0 {
		cs, err := bulk.CustomersByEmail(ctx, emails)
		if err != nil {
			return
		}
		for _, c := range cs {
			if !c.Erased() {
				byEmail[strings.ToLower(c.Data().Email)] = c
			}
		}
	}

	count := map[string]int{}
	for _, f := range fs {
		if f == nil {
			continue
		}
		s.decideFast(f, byLink, byEmail)
		for k := range f.keys {
			count[k]++
		}
	}
	// Independence: an item on the fast path shares no key with any
	// other item of the batch.
	var creates []*fastItem
	for _, f := range fs {
		if f == nil || !f.fast {
			continue
		}
		for k := range f.keys {
			if count[k] > 1 {
				f.fast = false
				break
			}
		}
		if f.fast && f.write != nil && f.write.Before == nil {
			creates = append(creates, f)
		}
	}
	if len(creates) > 0 {
		nums, err := bulk.NextNumbers(ctx, len(creates))
		if err != nil || len(nums) != len(creates) {
			for _, f := range creates {
				f.fast = false
			}
		} else {
			for n, f := range creates {
				w := f.write
				w.Customer, w.Events = customer.Numbered(w.Customer, w.Events, nums[n])
				w.Jobs = s.pushJobs(w.Customer, f.o)
				f.res.Customer = w.Customer
			}
		}
	}
	var (
		writes []ports.BatchWrite
		owner  []int // the item of each write
	)
	for i, f := range fs {
		if f != nil && f.fast && f.write != nil {
			writes = append(writes, *f.write)
			owner = append(owner, i)
		}
	}
	if len(writes) > 0 {
		rej, err := bulk.WriteBatch(ctx, ports.Batch{Writes: writes})
		if err != nil {
			// Nothing was stored: Ingest stores them one by one.
			for _, i := range owner {
				fs[i].fast = false
			}
		}
		for _, r := range rej {
			// Decided on what changed meanwhile, or a value was taken:
			// Ingest decides again on what is stored now.
			fs[owner[r.Index]].fast = false
		}
	}
	for i, f := range fs {
		if f != nil && f.fast {
			out[i], done[i] = ports.IngestOutcome{Result: f.res}, true
		}
	}
}

// decideFast decides f as Ingest's once would, on the customers looked
// up: f.fast tells whether it may take the fast path, f.res is its result
// and f.write what it stores. It adds the matched customer's keys, before
// and after, to f.keys.
func (s *Service) decideFast(f *fastItem, byLink map[customer.ExternalLink]ports.LinkedCustomer, byEmail map[string]*customer.Customer) {
	in := f.in
	var (
		c    *customer.Customer
		kept ports.LinkSource
	)
	if lc, ok := byLink[in.Link]; ok {
		c, kept = lc.Customer, lc.Kept
	} else if in.email != "" {
		c = byEmail[in.email] // it holds no link in.Link: nothing is kept
	}
	if c != nil {
		addCustomerKeys(f.keys, c.Data())
	}
	if len(s.pushTo[in.Link.SystemID]) > 0 {
		return // UpdateFromSource waits for a push of the link under way
	}
	run := &ingestRun{s: s, in: in, o: f.o}
	st := run.sourceTime()
	if c == nil {
		if in.Trust == intake.Observation {
			return // it may match a customer by phone
		}
		cu, events, err := customer.New(s.ids.New(), customer.Unnumbered, merge(customer.Data{}, in, true), run.change())
		if err != nil {
			return
		}
		addCustomerKeys(f.keys, cu.Data())
		f.fast, f.res = true, intake.Result{Outcome: intake.Created, Customer: cu}
		f.write = &ports.BatchWrite{Customer: cu, Events: events, Source: &st}
		return
	}
	if kept.Echo != nil {
		return // Ingest tells the echo of a push by its fingerprint
	}
	if !in.at.IsZero() && in.at.Before(kept.At) {
		f.fast, f.res = true, intake.Result{Outcome: intake.Stale, Customer: c}
		return
	}
	after, err := customer.FromStorage(c.Data())
	if err != nil {
		return
	}
	events, err := after.Apply(merge(c.Data(), in, false), run.change())
	if err != nil {
		return
	}
	if after.Version() <= c.Version() {
		// Nothing changes; the source time is recorded only for a link
		// the customer holds (one it was matched by).
		if _, byItsLink := byLink[in.Link]; byItsLink && !in.at.IsZero() && in.at.After(kept.At) {
			return
		}
		f.fast, f.res = true, intake.Result{Outcome: intake.Unchanged, Customer: c}
		return
	}
	addCustomerKeys(f.keys, after.Data())
	f.fast, f.res = true, intake.Result{Outcome: intake.Updated, Customer: after}
	f.write = &ports.BatchWrite{Customer: after, Before: c, Events: events, Jobs: s.pushJobs(after, f.o), Source: &st}
}

// draftKeys are the keys of what a draft names: its link, email and
// phones, and the unique values its patch sets. Values are compared
// ignoring case and surrounding space: more keys in common only send
// more items through Ingest.
func draftKeys(in *draft) map[string]bool {
	keys := map[string]bool{uniqueKey("externalSystems", in.Link.String()): true}
	if in.email != "" {
		keys[uniqueKey("email", in.email)] = true
	}
	for _, ph := range in.phones {
		keys[uniqueKey("phone", ph)] = true
	}
	p := in.Patch
	for _, v := range []struct {
		field string
		o     customer.Opt[string]
	}{{"email", p.Email}, {"externalId", p.ExternalID}, {"netvisorId", p.NetvisorID}, {"ssn", p.SSN}} {
		if v.o.IsSet() && strings.TrimSpace(v.o.Value()) != "" {
			keys[uniqueKey(v.field, v.o.Value())] = true
		}
	}
	return keys
}

// addCustomerKeys adds the keys of a customer: its id and every unique
// value it holds (customer.UniqueValues), and its phones. Not its number:
// a new customer has none yet (the id names it as well).
func addCustomerKeys(keys map[string]bool, d customer.Data) {
	for _, u := range customer.UniqueValues(d) {
		if u.Field != "number" {
			keys[uniqueKey(u.Field, u.Value)] = true
		}
	}
	for _, ph := range d.PhoneNumbers {
		keys[uniqueKey("phone", ph)] = true
	}
}

func uniqueKey(field, value string) string {
	return fmt.Sprintf("%s\x00%s", field, strings.ToLower(strings.TrimSpace(value)))
}
