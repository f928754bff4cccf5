// Package postgres is the customer store on PostgreSQL (pgx v5): the
// embedded schema migrations, the customer store with its consent outbox,
// API keys and idempotency keys. Every change of a customer is saved together
// with the consent events it produced, in one transaction.
package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kirjuri/core/fault"
)

// querier is what both *pgxpool.Pool and pgx.Tx offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// uniqueViolation is SQLSTATE 23505.
const uniqueViolation = "23505"

// conflicts maps unique constraints and indexes to the field they protect
// and a message for the caller. The SQL message is never passed on: it
// holds the offending value, which may be personal data.
var conflicts = map[string]fault.Conflict{
	"customers_pkey":               {Field: "id", Message: "another customer already has this id"},
	"customers_number_key":         {Field: "number", Message: "another customer already has this customer number"},
	"customers_email_key":          {Field: "email", Message: "another customer already has this email address"},
	"customers_external_id_key":    {Field: "externalId", Message: "another customer already has this external id"},
	"customers_netvisor_id_key":    {Field: "netvisorId", Message: "another customer already has this Netvisor id"},
	"customers_ssn_hash_key":       {Field: "ssn", Message: "another customer already has this personal identity code"},
	"customer_links_pkey":          {Field: "externalSystems", Message: "another customer already has this external system link"},
	"customer_cards_pkey":          {Field: "customerCards", Message: "another customer already has this customer card"},
	"customer_groups_pkey":         {Field: "externalId", Message: "a group with this external id already exists"},
	"consent_outbox_batches_pkey":  {Field: "seq", Message: "an outbox entry with this sequence number already exists"},
	"api_keys_pkey":                {Field: "id", Message: "another API key already has this id"},
	"api_keys_hash_key":            {Field: "key", Message: "this API key already exists"},
	"idempotency_keys_pkey":        {Field: "Idempotency-Key", Message: "this idempotency key is already in use"},
	"imports_pkey":                 {Field: "id", Message: "another import already has this id"},
	"imports_idempotency_key":      {Field: "Idempotency-Key", Message: "this idempotency key was already used for another import"},
	"import_files_pkey":            {Field: "file", Message: "this part of the import's file is already stored"},
	"import_rejected_rows_pkey":    {Field: "row", Message: "this rejected row of the import is already stored"},
	"connector_inbox_pkey":         {Field: "id", Message: "another delivery already has this id"},
	"connector_inbox_delivery_key": {Field: "deliveryKey", Message: "this delivery has already been received"},
	// Connectors' bookkeeping: one row per connector or sync, written by
	// upserts or under a lock; a conflict here is a bug, not a caller's.
	"connector_pulls_pkey":   {Field: "connector", Message: "this connector's pull state is already stored"},
	"connector_pushes_pkey":  {Field: "connector", Message: "this connector's push state is already stored"},
	"connector_syncs_pkey":   {Field: "id", Message: "another sync already has this id"},
	"connector_syncs_active": {Field: "connector", Message: "a sync of this connector is already queued or running"},
	"connector_drains_pkey":  {Field: "connector", Message: "this connector's drain state is already stored"},
	// The search text's copies are upserted and listed with ON CONFLICT:
	// these never reach a caller.
	"customer_search_pkey":                {Field: "id", Message: "this customer's search text is already copied"},
	"customer_search_pending_pkey":        {Field: "id", Message: "this customer's search text is already waiting to be copied"},
	"customer_search_pending_ranges_pkey": {Field: "id", Message: "this range of customers is already waiting for its search text"},
}

// mapError turns a unique violation into a *fault.Conflict naming the field
// and leaves every other error as it is.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
		return err
	}
	if c, ok := conflicts[pgErr.ConstraintName]; ok {
		return &c
	}
	return &fault.Conflict{Message: "the change conflicts with another record"}
}
