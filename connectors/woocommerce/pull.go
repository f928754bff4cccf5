package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// staffRoles are the roles of the site's staff in WordPress and
// WooCommerce (the role options of GET /customers but customer and
// subscriber). A pull lists every role (role=all), since the default,
// customer, leaves out subscribers (WordPress's own registrations, and
// WooCommerce Subscriptions' active subscribers) and the roles of B2B and
// wholesale plugins; it then leaves out the staff, who are not the shop's
// customers.
var staffRoles = map[string]bool{
	"administrator": true,
	"editor":        true,
	"author":        true,
	"contributor":   true,
	"shop_manager":  true,
}

// maxPage bounds a cursor (a million pages of 100 is far beyond any shop).
const maxPage = 1_000_000

// isStaff tells whether the customer JSON raw has a staff role. The role
// is read apart from the customer, which the webhooks' parser reads.
func isStaff(raw []byte) bool {
	var r struct {
		Role json.RawMessage `json:"role"`
	}
	var role string
	return json.Unmarshal(raw, &r) == nil && json.Unmarshal(r.Role, &role) == nil && staffRoles[role]
}

// Pull reads the page after cursor of the shop's customers:
// GET /wp-json/wc/v3/customers?page=N&per_page=pageSize&orderby=id&order=asc&role=all.
// The cursor is the page's number ("" is 1). Ordered by id, the pages stay
// put while customers register (new ids come last); a customer deleted in
// the shop during a pull moves the later ones a place back, so one may be
// missed by this pull (its webhooks and the next pull bring it). Each
// customer becomes the draft its customer.updated webhook would make; the
// staff are left out. The last page is the one at X-WP-TotalPages, or
// without that header, a short or empty one; its Next is "": a later
// catch-up reads the shop again from the start, as WooCommerce cannot list
// only the customers changed since.
func (c *PullConnector) Pull(ctx context.Context, cursor string) (inbound.Page, error) {
	page := 1
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 1 || n > maxPage || strconv.Itoa(n) != cursor {
			return inbound.Page{}, &inbound.Permanent{Err: errors.New("cursor: must be a page number from 1, as this connector writes it: start the sync over")}
		}
		page = n
	}
	return c.api.customers(ctx, page)
}

// customers reads one page of customers.
func (a *api) customers(ctx context.Context, page int) (inbound.Page, error) {
	op := fmt.Sprintf("GET customers page %d", page)
	q := url.Values{
		"page":     {strconv.Itoa(page)},
		"per_page": {strconv.Itoa(a.pageSize)},
		"orderby":  {"id"},
		"order":    {"asc"},
		"role":     {"all"},
	}
	h, body, err := a.do(ctx, call{op: op, method: http.MethodGet, url: a.endpoint("customers", q),
		max: maxPageBody, tooLarge: ": a smaller pageSize makes smaller pages"})
	if err != nil {
		return inbound.Page{}, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("%s: the answer is not a list of customers (%s): %w", op, describeType(h), delivery.JSONError(err, ""))}
	}
	drafts := make([]intake.Draft, 0, len(items))
	for i, raw := range items {
		var wc wcCustomer
		if err := decode(raw, &wc, "customer"); err != nil {
			return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("%s: customer %d of the page: %w", op, i+1, err)}
		}
		if isStaff(raw) {
			continue
		}
		d, err := wc.draft()
		if err != nil {
			return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("%s: customer %d of the page%s: %w", op, i+1, showID(wc.ID), err)}
		}
		drafts = append(drafts, d)
	}
	total, pages := header(h, "X-WP-Total"), header(h, "X-WP-TotalPages")
	// X-WP-TotalPages counts pages of the size the shop really served (a
	// plugin may cap per_page below what was asked), so it decides when
	// the shop gives it; a short page only when it does not.
	done := len(items) == 0 || (pages >= 0 && page >= pages) || (pages < 0 && len(items) < a.pageSize)
	p := inbound.Page{Drafts: drafts, Done: done, Total: total}
	if !done {
		p.Next = strconv.Itoa(page + 1)
	}
	return p, nil
}

// header is a count header (X-WP-Total, X-WP-TotalPages), or -1 when it
// is absent or not a count.
func header(h http.Header, name string) int {
	n, err := strconv.Atoi(h.Get(name))
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// showID is " (id N)" for an id read, "" otherwise.
func showID(id *int64) string {
	if id == nil {
		return ""
	}
	return fmt.Sprintf(" (id %d)", *id)
}
