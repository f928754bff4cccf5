package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kirjuri/core/customer"
)

// stagingTable receives a bulk write by COPY. It is a temporary table
// dropped at commit, so each transaction has its own.
const stagingTable = "customers_staging"

// CreateMany stores many new customers in one transaction: their rows are
// copied (COPY) into a temporary staging table with the same columns and
// encoding as Create writes, moved into customers with one INSERT ...
// SELECT, and their external-system links and customer cards claimed with
// one INSERT each. It is all or nothing: a uniqueness rule broken by any
// customer, against stored customers or within cs, fails the whole call
// with a *fault.Conflict naming the field; a group that does not exist is a
// *fault.Validation.
//
// The customers must be new ones built by customer.New, with numbers taken
// from the store (NextNumbers). CreateMany writes no consent events, so it
// refuses a customer that starts with a consent or a restriction: store
// such a customer with Create, which records its events.
func (s *Store) CreateMany(ctx context.Context, cs []*customer.Customer) error {
	if len(cs) == 0 {
		return nil
	}
	rows := make([][]any, len(cs))
	var (
		groups   []string
		linkSys  []int32
		linkIDs  []string
		linkOwn  []uuid.UUID
		cards    []string
		cardsOwn []uuid.UUID
	)
	for i, c := range cs {
		d := c.Data()
		switch {
		case d.ErasedAt != nil:
			return fmt.Errorf("postgres: create customers: customer %d (%s) is erased; only new customers can be created", d.Number, d.ID)
		case d.MarketingEmail || d.MarketingSMS || d.GDPRRestricted:
			return fmt.Errorf("postgres: create customers: customer %d (%s) starts with a consent or a restriction, whose events CreateMany does not record; store it with Create", d.Number, d.ID)
		}
		args, err := s.writeArgs(d)
		if err != nil {
			return err
		}
		rows[i] = args
		for _, g := range d.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		sys, ids := splitLinks(d.ExternalSystems)
		linkSys, linkIDs = append(linkSys, sys...), append(linkIDs, ids...)
		for range d.ExternalSystems {
			linkOwn = append(linkOwn, d.ID)
		}
		for _, card := range d.CustomerCards {
			cards, cardsOwn = append(cards, card), append(cardsOwn, d.ID)
		}
	}
	slices.Sort(groups)

	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := checkGroups(ctx, tx, groups); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE `+stagingTable+
			` (LIKE customers INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{stagingTable}, writeColumns, pgx.CopyFromRows(rows)); err != nil {
			return mapError(err)
		}
		// In number order, as customers created one by one would be, so the
		// indexes on number and id are appended to in order.
		if _, err := tx.Exec(ctx, moveStagedSQL); err != nil {
			return mapError(err)
		}
		// Identifiers are claimed in sorted order, so that two writers
		// claiming the same ones wait for each other instead of
		// deadlocking (as in syncIdentifiers).
		if len(linkSys) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO customer_links (system_id, identifier, customer_id)
				SELECT * FROM unnest($1::int[], $2::text[], $3::uuid[]) ORDER BY 1, 2`,
				linkSys, linkIDs, linkOwn); err != nil {
				return mapError(err)
			}
		}
		if len(cards) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO customer_cards (card, customer_id)
				SELECT * FROM unnest($1::text[], $2::uuid[]) ORDER BY 1`, cards, cardsOwn); err != nil {
				return mapError(err)
			}
		}
		return nil
	})
	return wrap(fmt.Sprintf("create %d customers", len(cs)), err)
}

var moveStagedSQL = func() string {
	cols := strings.Join(writeColumns, ", ")
	return "INSERT INTO customers (" + cols + ") SELECT " + cols + " FROM " + stagingTable + " ORDER BY number"
}()

// NextNumbers takes n customer numbers from customer_number_seq in one
// round trip, in ascending order. Like NextNumber's, numbers not used are
// simply skipped.
func (s *Store) NextNumbers(ctx context.Context, n int) ([]int64, error) {
	if n <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT nextval('customer_number_seq') FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("postgres: next %d customer numbers: %w", n, err)
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: next %d customer numbers: %w", n, err)
	}
	slices.Sort(nums)
	return nums, nil
}
