package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kirjuri/core/consent"
	"kirjuri/core/customer"
	"kirjuri/core/fault"
	"kirjuri/ports"
)

var (
	_ ports.CustomerStore = (*Store)(nil)
	_ ports.Outbox        = (*Store)(nil)
	_ ports.KeyStore      = (*Store)(nil)
	_ ports.Idempotency   = (*Store)(nil)
	_ ports.Readiness     = (*Store)(nil)
)

// Store keeps customers, their consent outbox, API keys and idempotency keys
// in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
	ssn  *SSNCipher
}

// New builds a store on a pool. The cipher protects personal identity codes.
func New(pool *pgxpool.Pool, cipher *SSNCipher) *Store {
	return &Store{pool: pool, ssn: cipher}
}

// Name is the dependency's name in readiness reports.
func (s *Store) Name() string { return "postgres" }

// Ready reports whether PostgreSQL answers.
func (s *Store) Ready(ctx context.Context) error { return s.pool.Ping(ctx) }

// NextNumber takes the next customer number from customer_number_seq (on
// the session's connection within a session: a sequence is not rolled
// back, but the session holds no second connection for it).
func (s *Store) NextNumber(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db(ctx).QueryRow(ctx, `SELECT nextval('customer_number_seq')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: next customer number: %w", err)
	}
	return n, nil
}

// Create stores a new customer, its identifiers and its events in one
// transaction (a savepoint within a session).
func (s *Store) Create(ctx context.Context, c *customer.Customer, events []consent.Event) error {
	return s.create(ctx, c, events, nil, nil)
}

// create is Create that also records st, when not nil, as the source time
// of its link (CreateFromSource), and stores jobs after the events
// (CreateWithJobs).
func (s *Store) create(ctx context.Context, c *customer.Customer, events []consent.Event, st *ports.SourceTime, jobs []ports.Job) error {
	d := c.Data()
	args, err := s.writeArgs(d)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.beginner(ctx), func(tx pgx.Tx) error {
		if err := checkGroups(ctx, tx, d.Groups); err != nil {
			return err
		}
		if err := s.checkSSNUnderOldKeys(ctx, tx, d.ID, "", d.SSN); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, insertCustomerSQL, args...); err != nil {
			return mapError(err)
		}
		if err := syncIdentifiers(ctx, tx, d.ID, customer.Data{}, d); err != nil {
			return err
		}
		if err := recordSource(ctx, tx, d.ID, st); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, events); err != nil {
			return err
		}
		return insertJobs(ctx, tx, jobs)
	})
	return wrap("create customer", err)
}

// Update loads the customer under a row lock, runs fn and, when the version
// grew, saves the customer, its identifiers and fn's events, all in one
// transaction (a savepoint within a session).
func (s *Store) Update(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, error)) (*customer.Customer, error) {
	return s.update(ctx, id, func(c *customer.Customer) ([]consent.Event, []ports.Job, error) {
		events, err := fn(c)
		return events, nil, err
	})
}

// update is Update whose fn may also return jobs (UpdateWithJobs): they are
// stored after the change's events, in its transaction, when it is saved.
func (s *Store) update(ctx context.Context, id uuid.UUID, fn func(c *customer.Customer) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	return s.updateFrom(ctx, id, nil, func(c *customer.Customer, _ ports.LinkSource) ([]consent.Event, []ports.Job, error) { return fn(c) })
}

// updateFrom is update whose fn also gets what is kept with st's link on
// the customer, read under the row lock, and that records st after fn
// (UpdateFromSource); st nil: none.
func (s *Store) updateFrom(ctx context.Context, id uuid.UUID, st *ports.SourceTime, fn func(c *customer.Customer, kept ports.LinkSource) ([]consent.Event, []ports.Job, error)) (*customer.Customer, error) {
	var out *customer.Customer
	err := pgx.BeginFunc(ctx, s.beginner(ctx), func(tx pgx.Tx) error {
		if err := awaitPush(ctx, tx, st); err != nil {
			return err
		}
		c, err := s.getCustomer(ctx, tx, "id = $1 FOR UPDATE", id)
		if err != nil {
			return notFound(err, id.String())
		}
		last, err := sourceAt(ctx, tx, id, st)
		if err != nil {
			return err
		}
		before := c.Data()
		events, jobs, err := fn(c, last)
		if err != nil {
			return err
		}
		after := c.Data()
		if after.Version <= before.Version {
			out = c
			return recordSource(ctx, tx, id, st)
		}
		if !slices.Equal(before.Groups, after.Groups) {
			if err := checkGroups(ctx, tx, newEntries(before.Groups, after.Groups)); err != nil {
				return err
			}
		}
		if err := s.checkSSNUnderOldKeys(ctx, tx, id, before.SSN, after.SSN); err != nil {
			return err
		}
		args, err := s.writeArgs(after)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, updateCustomerSQL, append(args, before.Version)...)
		if err != nil {
			return mapError(err)
		}
		if tag.RowsAffected() != 1 {
			// Cannot happen under the row lock; refuse rather than lose a write.
			return fmt.Errorf("customer %s changed under its row lock", id)
		}
		if err := syncIdentifiers(ctx, tx, id, before, after); err != nil {
			return err
		}
		if err := recordSource(ctx, tx, id, st); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, events); err != nil {
			return err
		}
		if err := insertJobs(ctx, tx, jobs); err != nil {
			return err
		}
		if before.ErasedAt == nil && after.ErasedAt != nil {
			if err := scrubIdempotency(ctx, tx, id); err != nil {
				return err
			}
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, wrap("update customer", err)
	}
	return out, nil
}

// Get reads a customer by id.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*customer.Customer, error) {
	c, err := s.getCustomer(ctx, s.db(ctx), "id = $1", id)
	return c, wrap("get customer", notFound(err, id.String()))
}

// GetByNumber reads a customer by customer number.
func (s *Store) GetByNumber(ctx context.Context, number int64) (*customer.Customer, error) {
	c, err := s.getCustomer(ctx, s.db(ctx), "number = $1", number)
	return c, wrap("get customer by number", notFound(err, "number "+strconv.FormatInt(number, 10)))
}

// GetByExternal reads the customer that holds an external-system link.
func (s *Store) GetByExternal(ctx context.Context, link customer.ExternalLink) (*customer.Customer, error) {
	c, err := s.getCustomer(ctx, s.db(ctx),
		"id = (SELECT customer_id FROM customer_links WHERE system_id = $1 AND identifier = $2)",
		int(link.SystemID), link.Identifier)
	return c, wrap("get customer by link", notFound(err, "link "+link.String()))
}

func (s *Store) getCustomer(ctx context.Context, q querier, where string, args ...any) (*customer.Customer, error) {
	return s.scanCustomer(q.QueryRow(ctx, "SELECT "+readColumns+" FROM customers WHERE "+where, args...))
}

// notFound turns "no rows" into *fault.NotFound.
func notFound(err error, key string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return &fault.NotFound{What: "customer", Key: key}
	}
	return err
}

// wrap adds context to unexpected errors and leaves the core's typed errors
// as they are, so that adapters can translate them.
func wrap(op string, err error) error {
	if err == nil || isFault(err) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func isFault(err error) bool {
	return fault.IsNotFound(err) || fault.IsConflict(err) || fault.IsValidation(err) || fault.IsStale(err)
}

// checkGroups reports groups that do not exist.
func checkGroups(ctx context.Context, q querier, groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, `SELECT g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, i)
		WHERE NOT EXISTS (SELECT 1 FROM customer_groups WHERE external_id = u.g) ORDER BY i`, groups)
	if err != nil {
		return err
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	v := &fault.Validation{}
	for _, g := range missing {
		v.Add("groups", "group %q does not exist", g)
	}
	return v.Err()
}

// syncIdentifiers brings the uniqueness side tables (customer_links,
// customer_cards) from before to after. Identifiers another customer holds
// are reported as a *fault.Conflict naming the first of them.
func syncIdentifiers(ctx context.Context, tx pgx.Tx, id uuid.UUID, before, after customer.Data) error {
	if gone := newEntries(after.CustomerCards, before.CustomerCards); len(gone) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM customer_cards WHERE customer_id = $1 AND card = ANY($2)`, id, gone); err != nil {
			return err
		}
	}
	// New identifiers are inserted in sorted order, so that two
	// transactions claiming the same ones wait for each other instead of
	// deadlocking.
	if added := newEntries(before.CustomerCards, after.CustomerCards); len(added) > 0 {
		slices.Sort(added)
		rows, err := tx.Query(ctx, `INSERT INTO customer_cards (card, customer_id)
			SELECT unnest($1::text[]), $2 ON CONFLICT (card) DO NOTHING RETURNING card`, added, id)
		if err != nil {
			return mapError(err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return mapError(err)
		}
		for _, c := range added {
			if !slices.Contains(got, c) {
				return &fault.Conflict{Field: "customerCards", Message: fmt.Sprintf("another customer already has the customer card %q", c)}
			}
		}
	}
	if gone := newEntries(after.ExternalSystems, before.ExternalSystems); len(gone) > 0 {
		sys, ids := splitLinks(gone)
		if _, err := tx.Exec(ctx, `DELETE FROM customer_links l USING unnest($2::int[], $3::text[]) AS g(system_id, identifier)
			WHERE l.customer_id = $1 AND l.system_id = g.system_id AND l.identifier = g.identifier`, id, sys, ids); err != nil {
			return err
		}
	}
	if added := newEntries(before.ExternalSystems, after.ExternalSystems); len(added) > 0 {
		slices.SortFunc(added, func(a, b customer.ExternalLink) int {
			return cmp.Or(cmp.Compare(a.SystemID, b.SystemID), strings.Compare(a.Identifier, b.Identifier))
		})
		sys, ids := splitLinks(added)
		rows, err := tx.Query(ctx, `INSERT INTO customer_links (system_id, identifier, customer_id)
			SELECT system_id, identifier, $3 FROM unnest($1::int[], $2::text[]) AS g(system_id, identifier)
			ON CONFLICT (system_id, identifier) DO NOTHING RETURNING system_id, identifier`, sys, ids, id)
		if err != nil {
			return mapError(err)
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (customer.ExternalLink, error) {
			var l customer.ExternalLink
			var sys int
			err := r.Scan(&sys, &l.Identifier)
			l.SystemID = customer.SystemID(sys)
			return l, err
		})
		if err != nil {
			return mapError(err)
		}
		for _, l := range added {
			if !slices.Contains(got, l) {
				return &fault.Conflict{Field: "externalSystems", Message: fmt.Sprintf("another customer already has the external system link %s", l)}
			}
		}
	}
	return nil
}

func splitLinks(links []customer.ExternalLink) ([]int32, []string) {
	sys := make([]int32, len(links))
	ids := make([]string, len(links))
	for i, l := range links {
		sys[i], ids[i] = int32(l.SystemID), l.Identifier
	}
	return sys, ids
}

// newEntries lists what is in next but not in prev.
func newEntries[T comparable](prev, next []T) []T {
	var out []T
	for _, x := range next {
		if !slices.Contains(prev, x) {
			out = append(out, x)
		}
	}
	return out
}

// CreateGroup stores a customer group; an existing external id is a
// *fault.Conflict.
func (s *Store) CreateGroup(ctx context.Context, g customer.Group) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO customer_groups (external_id, name) VALUES ($1, $2)`, g.ExternalID, g.Name)
	return wrap("create group", mapError(err))
}

// ListGroups lists every group by external id.
func (s *Store) ListGroups(ctx context.Context) ([]customer.Group, error) {
	rows, err := s.db(ctx).Query(ctx, `SELECT external_id, name FROM customer_groups ORDER BY external_id`)
	if err != nil {
		return nil, wrap("list groups", err)
	}
	groups, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (customer.Group, error) {
		var g customer.Group
		err := r.Scan(&g.ExternalID, &g.Name)
		return g, err
	})
	return groups, wrap("list groups", err)
}
