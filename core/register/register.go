// Package register is the use-case service of the customer register: the one
// path every door (API, spreadsheet import, connectors) takes to read and
// change customers. It reads the time and makes ids through ports, runs
// changes through the aggregate, and lets the store save each change with its
// consent events in one transaction.
package register

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

// Service is the customer register.
type Service struct {
	store ports.CustomerStore
	clock ports.Clock
	ids   ports.IDs

	// pushTo names the pushing connectors by the system they push to
	// (SetPushes); jobs is the store's way to store their jobs with a
	// change, nil when nothing is pushed.
	pushTo       map[customer.SystemID][]string
	jobs         ports.ChangeJobs
	pushAttempts int
}

// New builds the service.
func New(store ports.CustomerStore, clock ports.Clock, ids ports.IDs) *Service {
	return &Service{store: store, clock: clock, ids: ids}
}

// Caller is who asks, through which door, and what they may see.
type Caller struct {
	Origin consent.Origin
	// SeeRestricted lets the caller read and change customers under a
	// restriction of processing (gdprRestricted). Without it such customers
	// do not exist for the caller.
	SeeRestricted bool
}

// IfVersion is an optimistic-concurrency precondition: 0 means none.
type IfVersion int64

func (s *Service) change(c Caller) customer.Change {
	// PostgreSQL keeps microseconds: so does the core, so that what a write
	// returns equals what a later read shows.
	return customer.Change{At: s.clock.Now().UTC().Truncate(time.Microsecond), Origin: c.Origin, NewID: s.ids.New}
}

// Create makes a new customer from a patch.
func (s *Service) Create(ctx context.Context, p customer.Patch, c Caller) (*customer.Customer, error) {
	if err := checkOrigin(c.Origin); err != nil {
		return nil, err
	}
	// Built and checked before a number is taken, so bad input burns none.
	cu, events, err := customer.New(s.ids.New(), customer.Unnumbered, p, s.change(c))
	if err != nil {
		return nil, err
	}
	n, err := s.store.NextNumber(ctx)
	if err != nil {
		return nil, err
	}
	cu, events = customer.Numbered(cu, events, n)
	if err := s.create(ctx, cu, events, c.Origin); err != nil {
		return nil, err
	}
	return cu, nil
}

// Update applies a patch. A patch that changes nothing stores nothing and
// records no event.
func (s *Service) Update(ctx context.Context, id uuid.UUID, p customer.Patch, v IfVersion, c Caller) (*customer.Customer, error) {
	if err := checkOrigin(c.Origin); err != nil {
		return nil, err
	}
	return s.update(ctx, id, c.Origin, func(cu *customer.Customer) ([]consent.Event, error) {
		if err := visible(cu, c, id.String()); err != nil {
			return nil, err
		}
		if err := v.check(cu); err != nil {
			return nil, err
		}
		return cu.Apply(p, s.change(c))
	})
}

// SetConsents sets the marketing consents; Origin.Evidence says how they
// were given.
func (s *Service) SetConsents(ctx context.Context, id uuid.UUID, email, sms customer.Opt[bool], v IfVersion, c Caller) (*customer.Customer, error) {
	return s.Update(ctx, id, customer.Patch{MarketingEmail: email, MarketingSMS: sms}, v, c)
}

// Restrict sets or lifts the restriction of processing. Origin.Evidence
// carries the reason. Lifting needs a caller that can see restricted
// customers.
func (s *Service) Restrict(ctx context.Context, id uuid.UUID, restricted bool, v IfVersion, c Caller) (*customer.Customer, error) {
	return s.Update(ctx, id, customer.Patch{GDPRRestricted: customer.Set(restricted)}, v, c)
}

// Erase performs a GDPR erasure. The erased record is also restricted, so it
// is never listed or pushed anywhere again, and for callers that cannot see
// restricted customers it no longer exists (a repeated erasure answers not
// found); for those that can, erasing again is not an error and changes
// nothing.
func (s *Service) Erase(ctx context.Context, id uuid.UUID, v IfVersion, c Caller) (*customer.Customer, error) {
	if err := checkOrigin(c.Origin); err != nil {
		return nil, err
	}
	return s.update(ctx, id, c.Origin, func(cu *customer.Customer) ([]consent.Event, error) {
		if err := visible(cu, c, id.String()); err != nil {
			return nil, err
		}
		if err := v.check(cu); err != nil {
			return nil, err
		}
		return cu.Erase(s.change(c)), nil
	})
}

// AddContact adds a contact person and returns the customer and the new
// contact's id.
func (s *Service) AddContact(ctx context.Context, id uuid.UUID, ct customer.Contact, v IfVersion, c Caller) (*customer.Customer, uuid.UUID, error) {
	ct.ID = s.ids.New()
	cu, err := s.update(ctx, id, c.Origin, func(cu *customer.Customer) ([]consent.Event, error) {
		if err := visible(cu, c, id.String()); err != nil {
			return nil, err
		}
		if err := v.check(cu); err != nil {
			return nil, err
		}
		return nil, cu.AddContact(ct, s.change(c))
	})
	return cu, ct.ID, err
}

// RemoveContact removes a contact person.
func (s *Service) RemoveContact(ctx context.Context, id, contactID uuid.UUID, v IfVersion, c Caller) (*customer.Customer, error) {
	return s.update(ctx, id, c.Origin, func(cu *customer.Customer) ([]consent.Event, error) {
		if err := visible(cu, c, id.String()); err != nil {
			return nil, err
		}
		if err := v.check(cu); err != nil {
			return nil, err
		}
		return nil, cu.RemoveContact(contactID, s.change(c))
	})
}

// Get reads one customer by id.
func (s *Service) Get(ctx context.Context, id uuid.UUID, c Caller) (*customer.Customer, error) {
	cu, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := visible(cu, c, id.String()); err != nil {
		return nil, err
	}
	return cu, nil
}

// ByNumber reads one customer by customer number.
func (s *Service) ByNumber(ctx context.Context, number int64, c Caller) (*customer.Customer, error) {
	cu, err := s.store.GetByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	if err := visible(cu, c, "number "+strconv.FormatInt(number, 10)); err != nil {
		return nil, err
	}
	return cu, nil
}

// ByExternal reads one customer by its link to an external system.
func (s *Service) ByExternal(ctx context.Context, link customer.ExternalLink, c Caller) (*customer.Customer, error) {
	if !link.SystemID.Valid() {
		return nil, fault.Invalid("systemId", "%d is not a known external system; allowed: %s", link.SystemID, customer.AllowedSystemIDs())
	}
	if _, err := customer.ParseText(link.Identifier, customer.MaxIdentifierLen); err != nil {
		return nil, fault.Invalid("identifier", "%s", err)
	}
	cu, err := s.store.GetByExternal(ctx, link)
	if err != nil {
		return nil, err
	}
	if err := visible(cu, c, "link "+link.String()); err != nil {
		return nil, err
	}
	return cu, nil
}

// Find lists customers. Restricted customers are listed only when the
// caller may see them and asks for them.
func (s *Service) Find(ctx context.Context, q ports.CustomerQuery, c Caller) (ports.Page, error) {
	if err := s.checkFind(q, c); err != nil {
		return ports.Page{}, err
	}
	return s.store.Find(ctx, q)
}

// checkFind refuses a query no store should run, or one the caller may not.
func (s *Service) checkFind(q ports.CustomerQuery, c Caller) error {
	if err := checkQueryText(q); err != nil {
		return err
	}
	if q.IncludeRestricted && !c.SeeRestricted {
		return fault.Invalid("includeRestricted", "needs the admin scope")
	}
	if q.Identifier != "" && q.SystemID == 0 {
		return fault.Invalid("systemId", "is required when identifier is given")
	}
	if q.SystemID != 0 && !q.SystemID.Valid() {
		return fault.Invalid("systemId", "%d is not a known external system; allowed: %s", q.SystemID, customer.AllowedSystemIDs())
	}
	if q.Type != "" && !q.Type.Valid() {
		return fault.Invalid("type", "must be person or company")
	}
	return nil
}

// CreateGroup makes a customer group.
func (s *Service) CreateGroup(ctx context.Context, g customer.Group) (customer.Group, error) {
	id, err := customer.ParseGroupID(g.ExternalID)
	if err != nil {
		return customer.Group{}, fault.Invalid("externalId", "%s", err)
	}
	name, err := customer.ParseText(g.Name, customer.MaxNameLen)
	if err != nil {
		return customer.Group{}, fault.Invalid("name", "%s", err)
	}
	if name == "" {
		name = id
	}
	g = customer.Group{ExternalID: id, Name: name}
	return g, s.store.CreateGroup(ctx, g)
}

// ListGroups lists every customer group.
func (s *Service) ListGroups(ctx context.Context) ([]customer.Group, error) {
	return s.store.ListGroups(ctx)
}

// checkQueryText refuses search text that no customer can hold (control
// characters such as NUL, invalid UTF-8, overlong values), naming the
// parameter, before it reaches a store.
func checkQueryText(q ports.CustomerQuery) error {
	v := &fault.Validation{}
	for _, f := range []struct{ name, value string }{
		{"q", q.Q}, {"email", q.Email}, {"phone", q.Phone}, {"businessId", q.BusinessID},
		{"group", q.Group}, {"identifier", q.Identifier}, {"cursor", q.Cursor},
	} {
		if _, err := customer.ParseText(f.value, customer.MaxIdentifierLen); err != nil {
			v.AddErr(f.name, err)
		}
	}
	return v.Err()
}

// visible hides restricted customers from callers that may not see them:
// for them the customer does not exist.
func visible(cu *customer.Customer, c Caller, key string) error {
	if cu.Restricted() && !c.SeeRestricted {
		return &fault.NotFound{What: "customer", Key: key}
	}
	return nil
}

func (v IfVersion) check(cu *customer.Customer) error {
	if v != 0 && int64(v) != cu.Version() {
		return &fault.Stale{Want: int64(v), Have: cu.Version()}
	}
	return nil
}

// MaxEvidenceLen bounds the evidence (or reason) a caller sends with a
// change.
const MaxEvidenceLen = 1000

func checkOrigin(o consent.Origin) error {
	if !o.Source.Valid() {
		return fault.Invalid("source", "unknown change source %q", o.Source)
	}
	if _, err := customer.ParseText(o.Evidence, MaxEvidenceLen); err != nil {
		return fault.Invalid("evidence", "%s", err)
	}
	return nil
}
