package mycashflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/core/intake"
	"kirjuri/ports/delivery"
	"kirjuri/ports/inbound"
)

// maxPage bounds the page number of a cursor (500 per page, half a
// billion customers).
const maxPage = 1_000_000

// Pull fetches one page of customer accounts, sorted by id so that a page
// number names the same customers from one request to the next (new
// accounts get larger ids and come last). The cursor is the page number,
// "" for the first. When the last page is done, Next is "" so that a later
// catch-up starts over: MyCashFlow's customers cannot be asked for by
// update time (no such filter is verified), and a changed account keeps its
// place in the id order, so only a whole pass sees every change. Drafts
// the register already holds change nothing.
//
// An account that the register would refuse (no email and no names, a
// malformed phone) is still a draft: the register refuses it with its
// reason and the sync counts it. Only an answer that is not a page of
// customers is an error.
func (c *Connector) Pull(ctx context.Context, cursor string) (inbound.Page, error) {
	page, err := parseCursor(cursor)
	if err != nil {
		return inbound.Page{}, &inbound.Permanent{Err: err}
	}
	q := url.Values{}
	q.Set("page", strconv.Itoa(page))
	q.Set("page_size", strconv.Itoa(c.pageSize))
	q.Set("sort", "id-asc")
	what := fmt.Sprintf("GET customers page %d", page)
	body, err := c.call(ctx, http.MethodGet, "/customers", q, nil, what)
	if err != nil {
		return inbound.Page{}, err
	}
	p, err := parsePage(body, page, c.pageSize)
	if err != nil {
		return inbound.Page{}, &inbound.Permanent{Err: fmt.Errorf("mycashflow: %s: %w", what, err)}
	}
	return p, nil
}

func parseCursor(cursor string) (int, error) {
	if cursor == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(cursor)
	if err != nil || n < 1 || n > maxPage || strconv.Itoa(n) != cursor {
		shown := "(not shown)"
		if len(cursor) <= 20 {
			shown = strconv.Quote(cursor)
		}
		return 0, fmt.Errorf("mycashflow: cursor %s is not a page number between 1 and %d: start the sync over", shown, maxPage)
	}
	return n, nil
}

// collection is a collection answer: {"data": […], "meta": {…}}.
type collection struct {
	Data []mcfCustomer   `json:"data"`
	Meta json.RawMessage `json:"meta"`
}

// parsePage reads a page: page is the page asked for, size its size.
func parsePage(body []byte, page, size int) (inbound.Page, error) {
	var col collection
	if err := decode(body, &col); err != nil {
		return inbound.Page{}, err
	}
	if col.Data == nil {
		return inbound.Page{}, errors.New(`the answer is not a collection: its "data" array is missing`)
	}
	m := readMeta(col.Meta)
	p := inbound.Page{Total: -1, Drafts: make([]intake.Draft, 0, len(col.Data))}
	if m.items >= 0 {
		p.Total = m.items
	}
	for i := range col.Data {
		p.Drafts = append(p.Drafts, col.Data[i].draft())
	}
	if m.more(page, len(col.Data), size) {
		p.Next = strconv.Itoa(page + 1)
	} else {
		p.Done = true
	}
	return p, nil
}

// decode reads one JSON object into v: unknown members are allowed
// (MyCashFlow's resources have more than this connector reads), wrong
// types are not. Errors name the member, never its value.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the answer does not parse: %w", delivery.JSONError(err, ""))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the answer does not parse: data after the JSON object")
	}
	return nil
}

// meta is what a collection's meta says of paging; -1 for what it does
// not say.
type meta struct {
	hasNext   bool // a "next" member is present
	next      bool // and names a next page
	page      int
	pageCount int
	items     int
}

// readMeta reads meta leniently: a member of another type than expected
// counts as absent, and so does a meta that is not an object. It is read
// as MyCashFlow's clients read it: the Fivetran connector by the presence
// of "next" (§2.1); MyCashFlowSharp's MetaData also names page, page_size,
// page_count and item_count.
func readMeta(raw json.RawMessage) meta {
	m := meta{page: -1, pageCount: -1, items: -1}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return m
	}
	if v, ok := obj["next"]; ok {
		m.hasNext = true
		s := strings.TrimSpace(string(v))
		m.next = s != "null" && s != `""` && s != "false" && s != "0" && s != ""
	}
	m.page = metaInt(obj["page"])
	m.pageCount = metaInt(obj["page_count"])
	m.items = metaInt(obj["item_count"])
	return m
}

// metaInt is a non-negative integer written as a number or a string of
// digits; -1 otherwise.
func metaInt(raw json.RawMessage) int {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// more tells whether a page follows the page asked for (page, of size),
// which held n customers:
//
//   - an empty page is the last, whatever meta says (no endless pull);
//   - "next" present decides: a value is a next page, null or "" none;
//   - else page_count, against meta's page (or the page asked for);
//   - else, when meta says nothing of paging, a full page may have a
//     successor: it is asked for, and an empty answer ends the pull.
func (m meta) more(page, n, size int) bool {
	switch {
	case n == 0:
		return false
	case m.hasNext:
		return m.next
	case m.pageCount >= 0:
		cur := page
		if m.page > 0 {
			cur = m.page
		}
		return cur < m.pageCount
	}
	return n >= size
}

// Push sends the customer's state to its MyCashFlow account (PATCH
// /customers/{id} with pushBody) and parses the account MyCashFlow answers
// with, as a pull would, into the echo. A restricted or erased customer is
// never sent (the push job does not ask; this refuses anyway). MyCashFlow
// supports no idempotency key; the PATCH of the whole mapped state is
// harmless to repeat.
func (pc *PushConnector) Push(ctx context.Context, c *customer.Customer, link customer.ExternalLink) (inbound.PushResult, error) {
	if c == nil {
		return inbound.PushResult{}, &inbound.Permanent{Err: errors.New("mycashflow: push: no customer")}
	}
	if c.Restricted() || c.Erased() {
		return inbound.PushResult{}, &inbound.Permanent{Err: errors.New("mycashflow: push: a restricted or erased customer is never pushed")}
	}
	if link.SystemID != customer.MyCashFlow {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("mycashflow: push: the link is to system %d, not to MyCashFlow (%d)", link.SystemID, customer.MyCashFlow)}
	}
	id := link.Identifier
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != id {
		return inbound.PushResult{}, &inbound.Permanent{Err: errors.New("mycashflow: push: the link's identifier is not a MyCashFlow customer id (a positive integer)")}
	}
	body, err := json.Marshal(pushBody(c.Data()))
	if err != nil {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("mycashflow: push: %w", err)}
	}
	what := "PATCH customers/" + id
	answer, err := pc.call(ctx, http.MethodPatch, "/customers/"+id, nil, body, what)
	if err != nil {
		return inbound.PushResult{}, err
	}
	return inbound.PushResult{Echo: echo(answer, link)}, nil
}

// echo is the draft of the account MyCashFlow answered a PATCH with
// ({"data": {…}}), or nil when it answered with none, or with something
// else than the account pushed: the push itself has succeeded, and a
// missing echo only means the register cannot recognise it later.
func echo(answer []byte, link customer.ExternalLink) *intake.Draft {
	if len(bytes.TrimSpace(answer)) == 0 {
		return nil
	}
	var one struct {
		Data *mcfCustomer `json:"data"`
	}
	if decode(answer, &one) != nil || one.Data == nil {
		return nil
	}
	d := one.Data.draft()
	if d.Link != link {
		return nil
	}
	return &d
}
