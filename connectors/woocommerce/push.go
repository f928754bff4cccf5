package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"kirjuri/core/customer"
	"kirjuri/ports/inbound"
)

// Push sends the customer to the shop's record named by link:
// PUT /wp-json/wc/v3/customers/{id} with the fields this connector maps
// (see pushBody), each as the register holds it, so that a push sent
// twice leaves the shop as once. The shop answers with the customer as
// it now is, which becomes Echo, parsed as its customer.updated webhook
// will be.
//
// A guest's link (guest-order-N, made from a guest's order) names no
// customer in the shop: it is not pushed, and the push succeeds without a
// request. A link of another system, or whose id is not a WooCommerce
// customer id, and a restricted or erased customer are refused
// (*inbound.Permanent): the push job never asks for them.
func (c *PushConnector) Push(ctx context.Context, cust *customer.Customer, link customer.ExternalLink) (inbound.PushResult, error) {
	if link.SystemID != customer.WooCommerce {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("link: is of external system %d, not WooCommerce (%d)", link.SystemID, customer.WooCommerce)}
	}
	if strings.HasPrefix(link.Identifier, GuestPrefix) {
		return inbound.PushResult{}, nil
	}
	id, err := strconv.ParseInt(link.Identifier, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != link.Identifier {
		return inbound.PushResult{}, &inbound.Permanent{Err: errors.New("link: the identifier is not a WooCommerce customer id (a positive integer) nor a guest's (guest-order-N)")}
	}
	switch {
	case cust == nil:
		return inbound.PushResult{}, &inbound.Permanent{Err: errors.New("customer: none given")}
	case cust.Erased():
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("customer %d is erased: never pushed", cust.Number())}
	case cust.Restricted():
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("customer %d is restricted (GDPR): never pushed", cust.Number())}
	}
	body, err := json.Marshal(pushBody(cust.Data()))
	if err != nil {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("customer %d: cannot write its JSON", cust.Number())}
	}
	op := fmt.Sprintf("PUT customer %d", id)
	h, answer, err := c.api.do(ctx, call{op: op, method: http.MethodPut, url: c.api.endpoint("customers/"+link.Identifier, nil),
		body: body, max: maxCustomerBody})
	if err != nil {
		return inbound.PushResult{}, err
	}
	// The shop has taken the change when it answers 2xx; an answer that
	// is not its customer is still an error for an admin to see (a plugin
	// or a proxy in the way), and retrying it is harmless.
	var wc wcCustomer
	if err := decode(answer, &wc, "customer"); err != nil {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("%s: the answer (%s): %w", op, describeType(h), err)}
	}
	d, err := wc.draft()
	if err != nil {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("%s: the answer: %w", op, err)}
	}
	if d.Link != link {
		return inbound.PushResult{}, &inbound.Permanent{Err: fmt.Errorf("%s: the shop answered with another customer%s", op, showID(wc.ID))}
	}
	return inbound.PushResult{Echo: &d}, nil
}

// pushBody is the body of the PUT, the reverse of the draft a customer's
// webhook makes:
//
//   - email, first_name and last_name of the account;
//   - billing: the same names and email, the company name of a company
//     customer, the first phone number (as the register keeps it, E.164),
//     and the first Invoice address;
//   - shipping: the first Delivery address, with the names and the
//     company name.
//
// Billing is the Invoice address and shipping the Delivery address, as
// the webhooks read them, so that what is pushed comes back unchanged; a
// Home address has no place in WooCommerce and is not sent. WooCommerce
// changes only the members a PUT holds, so a field the register holds
// empty is left out rather than sent empty: a push never erases what the
// shop knows and the register does not (a company name typed at
// checkout, an address the register did not take because it was
// incomplete, the state of a foreign address, which the register does
// not keep). When an address is sent, all its lines are, address_2 even
// when empty.
func pushBody(d customer.Data) map[string]any {
	body := map[string]any{}
	billing := map[string]string{}
	put := func(m map[string]any, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	putS := func(m map[string]string, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	put(body, "email", d.Email)
	put(body, "first_name", d.FirstName)
	put(body, "last_name", d.LastName)
	putS(billing, "first_name", d.FirstName)
	putS(billing, "last_name", d.LastName)
	putS(billing, "company", d.CompanyName)
	putS(billing, "email", d.Email)
	if len(d.PhoneNumbers) > 0 {
		putS(billing, "phone", d.PhoneNumbers[0])
	}
	if a, ok := firstAddress(d.Addresses, customer.Invoice); ok {
		addressLines(billing, a)
	}
	if len(billing) > 0 {
		body["billing"] = billing
	}
	if a, ok := firstAddress(d.Addresses, customer.Delivery); ok {
		shipping := map[string]string{}
		putS(shipping, "first_name", d.FirstName)
		putS(shipping, "last_name", d.LastName)
		putS(shipping, "company", d.CompanyName)
		addressLines(shipping, a)
		body["shipping"] = shipping
	}
	return body
}

func firstAddress(list []customer.Address, t customer.AddressType) (customer.Address, bool) {
	for _, a := range list {
		if a.Type == t {
			return a, true
		}
	}
	return customer.Address{}, false
}

// addressLines puts an address's lines into a billing or shipping object.
func addressLines(m map[string]string, a customer.Address) {
	m["address_1"] = a.StreetAddress1
	m["address_2"] = a.StreetAddress2
	m["postcode"] = a.PostalCode
	m["city"] = a.City
	m["country"] = a.Country
}
