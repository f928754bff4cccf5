package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The floor: the least a server can do to answer a lookup by external link
// over HTTP from this database. A bare net/http handler, one pgx query on
// a pool of the same size as the service's, encoding/json; no
// authentication, no access log, no metrics, no domain model.

const floorSQL = `SELECT id, number, type, first_name, last_name, company_name, business_id,
	vat_number, vat_status, email, language, ssn_enc, marketing_email, marketing_sms,
	gdpr_restricted, credit_allowed, external_id, netvisor_id, external_systems,
	customer_cards, groups, addresses, phone_numbers, e_invoice, contacts, version,
	created_at, updated_at, erased_at
	FROM customers c
	WHERE id = (SELECT customer_id FROM customer_links WHERE system_id = $1 AND identifier = $2)`

// floorCustomer has the fields of the service's answer; the JSON lists are
// passed through as stored.
type floorCustomer struct {
	ID              uuid.UUID       `json:"id"`
	Number          int64           `json:"number"`
	Type            string          `json:"type"`
	FirstName       string          `json:"firstName"`
	LastName        string          `json:"lastName"`
	CompanyName     string          `json:"companyName"`
	BusinessID      string          `json:"businessId"`
	VATNumber       string          `json:"vatNumber"`
	VATStatus       int16           `json:"vatStatus"`
	Email           *string         `json:"email"`
	Language        string          `json:"language"`
	HasSSN          bool            `json:"hasSsn"`
	MarketingEmail  bool            `json:"marketingEmail"`
	MarketingSMS    bool            `json:"marketingSms"`
	GDPRRestricted  bool            `json:"gdprRestricted"`
	CreditAllowed   bool            `json:"creditAllowed"`
	ExternalID      *string         `json:"externalId"`
	NetvisorID      *string         `json:"netvisorId"`
	ExternalSystems json.RawMessage `json:"externalSystems"`
	CustomerCards   []string        `json:"customerCards"`
	Groups          []string        `json:"groups"`
	Addresses       json.RawMessage `json:"addresses"`
	PhoneNumbers    []string        `json:"phoneNumbers"`
	EInvoice        json.RawMessage `json:"eInvoice"`
	Contacts        json.RawMessage `json:"contacts"`
	Version         int64           `json:"version"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       time.Time       `json:"updatedAt"`
	ErasedAt        *time.Time      `json:"erasedAt,omitempty"`
}

func floorHandler(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /by-external/{systemId}/{identifier}", func(w http.ResponseWriter, r *http.Request) {
		sys, err := strconv.Atoi(r.PathValue("systemId"))
		if err != nil {
			http.Error(w, "bad system id", http.StatusBadRequest)
			return
		}
		var c floorCustomer
		var ssn []byte
		err = pool.QueryRow(r.Context(), floorSQL, sys, r.PathValue("identifier")).Scan(
			&c.ID, &c.Number, &c.Type, &c.FirstName, &c.LastName, &c.CompanyName, &c.BusinessID,
			&c.VATNumber, &c.VATStatus, &c.Email, &c.Language, &ssn, &c.MarketingEmail, &c.MarketingSMS,
			&c.GDPRRestricted, &c.CreditAllowed, &c.ExternalID, &c.NetvisorID, &c.ExternalSystems,
			&c.CustomerCards, &c.Groups, &c.Addresses, &c.PhoneNumbers, &c.EInvoice, &c.Contacts, &c.Version,
			&c.CreatedAt, &c.UpdatedAt, &c.ErasedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			http.Error(w, "not found", http.StatusNotFound)
			return
		case err != nil:
			http.Error(w, "database error", http.StatusInternalServerError)
			return
		}
		c.HasSSN = ssn != nil
		body, err := json.Marshal(&c)
		if err != nil {
			http.Error(w, "encode", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
	return mux
}

// startFloor serves the floor on a free loopback port until ctx ends.
func startFloor(ctx context.Context, pool *pgxpool.Pool) (string, func(), error) {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           floorHandler(pool),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	return ln.Addr().String(), stop, nil
}
