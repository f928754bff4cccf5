package register

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/core/intake"
	"kirjuri/ports"
)

var _ ports.Ingest = (*Service)(nil)

// maxIngestRounds bounds how often a draft is matched again when the
// customer it was to create or change was created or erased meanwhile.
const maxIngestRounds = 3

// Ingest takes one draft of a customer from a connector (the third door):
// it matches the draft to a customer, merges it by its trust, and stores
// the result through the aggregate's rules with its consent events, in one
// transaction with the link's source time. o names the door: source
// connector, SourceSystemID the draft's system.
//
// Matching, first hit wins: the draft's link (restricted customers
// included, so that no duplicate of one is made); else its email, ignoring
// case; else, for an Observation only, one of its phone numbers (E.164,
// exact) held by exactly one customer whose last name (or company name)
// agrees with the draft's. Erased customers never match.
//
// Echoes: a draft whose Fingerprint equals the one recorded with its link
// after a push to its system (RecordEcho) is that push's echo: it changes
// nothing and records no event (Unchanged), even when it is newer than
// what the register holds (a change made here after the push is kept).
//
// Pushes: a change that is saved stores, in its transaction, the pushes
// it causes to the other pushing connectors (never back to the draft's own
// system; see SetPushes).
//
// Staleness: a draft whose SourceUpdatedAt is before the source time
// recorded with its link on the matched customer changes nothing (Stale);
// an equal one is applied again (a replay: Unchanged when nothing differs,
// so a second change within the source's clock resolution is not lost).
// The time is recorded, never moving back, with every applied draft of a
// link the customer holds, also when nothing else changed.
//
// Merging: an Authoritative draft sets the fields its patch gives, adds its
// link, its phones and addresses that the customer does not have yet, and
// sets the consents it claims, each event carrying its claim's evidence.
// An Observation only fills fields that are empty (never clears, never
// overwrites, changes no type, language, VAT status, credit or e-invoice
// settings of an existing customer, and no company-only field of a person),
// adds phones only to a customer with none and addresses only of a type the
// customer has none of, adds its link only when the customer has no link to
// that system, and never sets consents. A restricted customer takes nothing
// from a draft but the withdrawal of a consent by an Authoritative source.
//
// No match: a new customer (Created), from an Observation only when it has
// an email or a phone number; an Observation with neither is dropped
// (Unchanged, no customer).
//
// Errors: *fault.Validation for a draft that breaks a rule (a connector's
// bug, such as consents or lists in its patch, or data the core refuses);
// *fault.Conflict naming the field when another customer holds a value;
// other errors are the store's.
func (s *Service) Ingest(ctx context.Context, d intake.Draft, o consent.Origin) (intake.Result, error) {
	is, ok := s.store.(ports.IngestStore)
	if !ok {
		return intake.Result{}, errors.New("register: the customer store has no ingest path (ports.IngestStore)")
	}
	bulk, ok := s.store.(ports.BulkStore)
	if !ok {
		return intake.Result{}, errors.New("register: the customer store has no bulk path (ports.BulkStore)")
	}
	in, err := prepareDraft(d, o)
	if err != nil {
		return intake.Result{}, err
	}
	run := &ingestRun{s: s, is: is, bulk: bulk, in: in, o: o, fingerprint: Fingerprint(d)}
	for round := 1; ; round++ {
		res, err := run.once(ctx)
		var a *again
		if !errors.As(err, &a) {
			return res, err
		}
		if round == maxIngestRounds {
			return intake.Result{}, a.err
		}
	}
}

// again is an error after which the draft is matched again: the customer
// it was to create was created meanwhile, or the one it was to change was
// erased.
type again struct{ err error }

func (a *again) Error() string { return a.err.Error() }
func (a *again) Unwrap() error { return a.err }

var errStale = errors.New("register: stale draft")

// draft is an intake.Draft checked and in canonical form.
type draft struct {
	intake.Draft
	at       time.Time // SourceUpdatedAt in UTC, to the microsecond
	email    string    // lower case, to match by; "" when none
	phones   []string  // E.164, without repeats
	addrs    []customer.Address
	evidence map[consent.Kind]string // of the claims, for an Authoritative draft
}

// prepareDraft refuses a draft no connector should send and brings its
// keys and list items to canonical form.
func prepareDraft(d intake.Draft, o consent.Origin) (*draft, error) {
	if err := checkOrigin(o); err != nil {
		return nil, err
	}
	v := &fault.Validation{}
	if o.Source != consent.SourceConnector {
		v.Add("origin.source", "must be %q for a draft, not %q", consent.SourceConnector, o.Source)
	}
	if d.Trust != intake.Authoritative && d.Trust != intake.Observation {
		v.Add("trust", "must be Authoritative or Observation")
	}
	link := d.Link
	if !link.SystemID.Valid() {
		v.Add("link.systemId", "%d is not a known external system; allowed: %s", link.SystemID, customer.AllowedSystemIDs())
	} else if o.SourceSystemID != int(link.SystemID) {
		v.Add("origin.sourceSystemId", "is %d; a draft's link must be to the connector's own system", o.SourceSystemID)
	}
	id, err := customer.ParseText(link.Identifier, customer.MaxIdentifierLen)
	switch {
	case err != nil:
		v.AddErr("link.identifier", err)
	case id == "":
		v.Add("link.identifier", "is required: a draft names the customer's id in its system")
	}
	link.Identifier = id
	p := d.Patch
	for _, f := range []struct {
		name string
		keep bool
	}{
		{"marketingEmail", p.MarketingEmail.IsKeep()}, {"marketingSms", p.MarketingSMS.IsKeep()},
		{"gdprRestricted", p.GDPRRestricted.IsKeep()},
	} {
		if !f.keep {
			v.Add("patch."+f.name, "a draft's consents come as claims (MarketingEmail, MarketingSMS), not in its patch")
		}
	}
	for _, f := range []struct {
		name string
		keep bool
	}{
		{"externalSystems", p.ExternalSystems.IsKeep()}, {"customerCards", p.CustomerCards.IsKeep()},
		{"groups", p.Groups.IsKeep() && len(p.GroupMembership) == 0}, {"addresses", p.Addresses.IsKeep()},
		{"phoneNumbers", p.PhoneNumbers.IsKeep()},
	} {
		if !f.keep {
			v.Add("patch."+f.name, "a draft replaces no list: its link, phones and addresses are added (Link, AddPhones, AddAddresses)")
		}
	}
	if at := d.SourceUpdatedAt; !at.IsZero() && (at.UTC().Year() < 1 || at.UTC().Year() > 9999) {
		// Beyond what RFC 3339 writes, and what a store may keep: every
		// connector's format gives years 0001–9999.
		v.Add("sourceUpdatedAt", "must be a time in the years 1 to 9999, not in %d", at.UTC().Year())
	}
	in := &draft{Draft: d, at: d.SourceUpdatedAt.UTC().Truncate(time.Microsecond)}
	in.Link = link
	if d.SourceUpdatedAt.IsZero() {
		in.at = time.Time{}
	}
	if p.Email.IsSet() {
		if e, err := customer.ParseEmail(p.Email.Value()); err == nil && e != "" {
			in.email = strings.ToLower(e)
		} // an invalid email is reported when the patch is applied
	}
	for i, ph := range d.AddPhones {
		if customer.IsBlank(ph) {
			continue
		}
		n, err := customer.NormalizePhone(ph)
		if err != nil {
			v.AddErr(fmt.Sprintf("addPhones[%d]", i), err)
			continue
		}
		if !slices.Contains(in.phones, n) {
			in.phones = append(in.phones, n)
		}
	}
	for i, a := range d.AddAddresses {
		n, err := customer.NormalizeAddress(a)
		if err != nil {
			v.Prefixed(fmt.Sprintf("addAddresses[%d]", i), err.(*fault.Validation))
			continue
		}
		if !slices.ContainsFunc(in.addrs, func(x customer.Address) bool { return sameAddress(x, n) }) {
			in.addrs = append(in.addrs, n)
		}
	}
	if d.Trust == intake.Authoritative {
		in.evidence = map[consent.Kind]string{}
		for _, c := range []struct {
			kind  consent.Kind
			name  string
			claim *intake.ConsentClaim
		}{
			{consent.MarketingEmail, "marketingEmail", d.MarketingEmail},
			{consent.MarketingSMS, "marketingSms", d.MarketingSMS},
		} {
			if c.claim == nil {
				continue
			}
			e, err := customer.ParseText(c.claim.Evidence, MaxEvidenceLen)
			switch {
			case err != nil:
				v.AddErr(c.name+".evidence", err)
				continue
			case e == "" && c.claim.Value:
				v.Add(c.name+".evidence", "is required to grant a consent: say how and where the source captured it")
				continue
			case e == "":
				e = o.Evidence
			}
			when := c.claim.At
			if when.IsZero() {
				when = d.SourceUpdatedAt
			}
			if !when.IsZero() {
				e = strings.TrimPrefix(e+"; captured at "+when.UTC().Format(time.RFC3339), "; ")
			}
			in.evidence[c.kind] = e
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return in, nil
}

// ingestRun is one Ingest.
type ingestRun struct {
	s    *Service
	is   ports.IngestStore
	bulk ports.BulkStore
	in   *draft
	o    consent.Origin
	// fingerprint is the draft's, to tell the echo of a push.
	fingerprint []byte
}

func (r *ingestRun) once(ctx context.Context) (intake.Result, error) {
	c, err := r.match(ctx)
	if err != nil {
		return intake.Result{}, err
	}
	if c == nil {
		return r.create(ctx)
	}
	return r.update(ctx, c.ID())
}

// match finds the draft's customer, or nil.
func (r *ingestRun) match(ctx context.Context) (*customer.Customer, error) {
	c, err := r.s.store.GetByExternal(ctx, r.in.Link)
	switch {
	case err == nil && !c.Erased():
		return c, nil
	case err != nil && !fault.IsNotFound(err):
		return nil, err
	}
	if r.in.email != "" {
		cs, err := r.bulk.CustomersByEmail(ctx, []string{r.in.email})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if !c.Erased() {
				return c, nil
			}
		}
	}
	if r.in.Trust != intake.Observation {
		return nil, nil
	}
	for _, ph := range r.in.phones {
		cs, err := r.is.CustomersByPhone(ctx, ph)
		if err != nil {
			return nil, err
		}
		var agree []*customer.Customer
		for _, c := range cs {
			if !c.Erased() && namesAgree(c.Data(), r.in.Patch) {
				agree = append(agree, c)
			}
		}
		if len(agree) == 1 {
			return agree[0], nil
		}
	}
	return nil, nil
}

// namesAgree tells whether a draft's name is the customer's: a phone number
// alone is shared too often (a family's line, a company's switchboard) to
// name a customer.
func namesAgree(d customer.Data, p customer.Patch) bool {
	same := func(o customer.Opt[string], have string) bool {
		return o.IsSet() && !customer.IsBlank(o.Value()) && strings.EqualFold(strings.TrimSpace(o.Value()), have)
	}
	if d.Type == customer.Company {
		return same(p.CompanyName, d.CompanyName)
	}
	return same(p.LastName, d.LastName)
}

func (r *ingestRun) change() customer.Change {
	ch := r.s.change(Caller{Origin: r.o})
	ch.Evidence = r.in.evidence
	return ch
}

func (r *ingestRun) sourceTime() ports.SourceTime {
	return ports.SourceTime{Link: r.in.Link, At: r.in.at, AwaitPush: len(r.s.pushTo[r.in.Link.SystemID]) > 0}
}

// create makes a new customer of the draft.
func (r *ingestRun) create(ctx context.Context) (intake.Result, error) {
	in := r.in
	if in.Trust == intake.Observation && in.email == "" && len(in.phones) == 0 {
		return intake.Result{Outcome: intake.Unchanged}, nil
	}
	p := merge(customer.Data{}, in, true)
	cu, events, err := customer.New(r.s.ids.New(), customer.Unnumbered, p, r.change())
	if err != nil {
		return intake.Result{}, err
	}
	n, err := r.s.store.NextNumber(ctx)
	if err != nil {
		return intake.Result{}, err
	}
	cu, events = customer.Numbered(cu, events, n)
	if err := r.is.CreateFromSource(ctx, cu, events, r.sourceTime(), r.s.pushJobs(cu, r.o)); err != nil {
		if fault.IsConflict(err) {
			// Another delivery may have made the customer meanwhile:
			// match again. A conflict that stays is returned.
			return intake.Result{}, &again{err}
		}
		return intake.Result{}, err
	}
	return intake.Result{Outcome: intake.Created, Customer: cu}, nil
}

// update merges the draft into the matched customer.
func (r *ingestRun) update(ctx context.Context, id uuid.UUID) (intake.Result, error) {
	var (
		version int64
		current *customer.Customer
	)
	cu, err := r.is.UpdateFromSource(ctx, id, r.sourceTime(), func(c *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error) {
		if c.Erased() {
			return nil, nil, &again{&fault.NotFound{What: "customer", Key: id.String()}}
		}
		if !r.in.at.IsZero() && r.in.at.Before(kept.At) {
			current = c
			return nil, nil, errStale
		}
		version = c.Version()
		if kept.Echo != nil && bytes.Equal(kept.Echo, r.fingerprint) {
			return nil, nil, nil // the echo of a push: what the system holds is what was sent
		}
		events, err := c.Apply(merge(c.Data(), r.in, false), r.change())
		if err != nil || c.Version() <= version {
			return events, nil, err
		}
		return events, r.s.pushJobs(c, r.o), nil
	})
	switch {
	case errors.Is(err, errStale):
		return intake.Result{Outcome: intake.Stale, Customer: current}, nil
	case fault.IsNotFound(err):
		var a *again
		if errors.As(err, &a) {
			return intake.Result{}, err
		}
		return intake.Result{}, &again{err}
	case err != nil:
		return intake.Result{}, err
	case cu.Version() > version:
		return intake.Result{Outcome: intake.Updated, Customer: cu}, nil
	}
	return intake.Result{Outcome: intake.Unchanged, Customer: cu}, nil
}

// merge is the patch that brings the draft into cur (an empty Data when
// creating) by the draft's trust.
func merge(cur customer.Data, in *draft, creating bool) customer.Patch {
	var p customer.Patch
	if cur.GDPRRestricted && !creating {
		// Restriction of processing: the register keeps the data and takes
		// no new data for the customer, but honours a withdrawal.
		if in.Trust == intake.Authoritative {
			if c := in.MarketingEmail; c != nil && !c.Value {
				p.MarketingEmail = customer.Set(false)
			}
			if c := in.MarketingSMS; c != nil && !c.Value {
				p.MarketingSMS = customer.Set(false)
			}
		}
		return p
	}
	authoritative := in.Trust == intake.Authoritative
	if authoritative || creating {
		p = in.Patch
	} else {
		p = observe(cur, in.Patch)
	}

	switch {
	case slices.Contains(cur.ExternalSystems, in.Link):
	case authoritative || !slices.ContainsFunc(cur.ExternalSystems, func(l customer.ExternalLink) bool { return l.SystemID == in.Link.SystemID }):
		p.ExternalSystems = customer.Set(append(slices.Clone(cur.ExternalSystems), in.Link))
	}

	var phones []string
	for _, ph := range in.phones {
		if !slices.Contains(cur.PhoneNumbers, ph) {
			phones = append(phones, ph)
		}
	}
	if len(phones) > 0 && (authoritative || len(cur.PhoneNumbers) == 0) {
		p.PhoneNumbers = customer.Set(append(slices.Clone(cur.PhoneNumbers), phones...))
	}

	var addrs []customer.Address
	for _, a := range in.addrs {
		switch {
		case slices.ContainsFunc(cur.Addresses, func(x customer.Address) bool { return sameAddress(x, a) }):
		case authoritative:
			addrs = append(addrs, a)
		case !slices.ContainsFunc(cur.Addresses, func(x customer.Address) bool { return x.Type == a.Type }) &&
			!slices.ContainsFunc(addrs, func(x customer.Address) bool { return x.Type == a.Type }):
			addrs = append(addrs, a)
		}
	}
	if len(addrs) > 0 {
		p.Addresses = customer.Set(append(slices.Clone(cur.Addresses), addrs...))
	}

	if authoritative {
		if c := in.MarketingEmail; c != nil {
			p.MarketingEmail = customer.Set(c.Value)
		}
		if c := in.MarketingSMS; c != nil {
			p.MarketingSMS = customer.Set(c.Value)
		}
	}
	return p
}

// observe is the part of an Observation's patch that fills empty fields of
// an existing customer: text fields that are empty, and of those only what
// the customer's type allows. It clears nothing, and leaves the fields
// that always hold a value (type, language, VAT status, credit) and the
// e-invoice settings alone.
func observe(cur customer.Data, in customer.Patch) customer.Patch {
	var p customer.Patch
	fill := func(dst *customer.Opt[string], o customer.Opt[string], have string) {
		if o.IsSet() && have == "" {
			*dst = o
		}
	}
	fill(&p.FirstName, in.FirstName, cur.FirstName)
	fill(&p.LastName, in.LastName, cur.LastName)
	fill(&p.Email, in.Email, cur.Email)
	fill(&p.ExternalID, in.ExternalID, cur.ExternalID)
	fill(&p.NetvisorID, in.NetvisorID, cur.NetvisorID)
	switch cur.Type {
	case customer.Company:
		fill(&p.CompanyName, in.CompanyName, cur.CompanyName)
		fill(&p.BusinessID, in.BusinessID, cur.BusinessID)
		fill(&p.VATNumber, in.VATNumber, cur.VATNumber)
	default:
		fill(&p.SSN, in.SSN, cur.SSN)
	}
	return p
}

// sameAddress tells whether two canonical addresses are one: the same
// type, street, postal code, city and country, ignoring case.
func sameAddress(a, b customer.Address) bool {
	return a.Type == b.Type && a.PostalCode == b.PostalCode && a.Country == b.Country &&
		strings.EqualFold(a.StreetAddress1, b.StreetAddress1) &&
		strings.EqualFold(a.StreetAddress2, b.StreetAddress2) &&
		strings.EqualFold(a.City, b.City)
}
