package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"kirjuri/core/access"
	"kirjuri/core/customer"
)

const tagContacts = "Contacts"

// ContactBody is a new contact person.
type ContactBody struct {
	Name  string `json:"name" minLength:"1" maxLength:"200"`
	Role  string `json:"role,omitempty" maxLength:"200"`
	Email string `json:"email,omitempty" maxLength:"254"`
	Phone string `json:"phone,omitempty" maxLength:"40" doc:"Stored in E.164."`
}

type addContactInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
	Body           ContactBody
}

type contactOutput struct {
	ETag string `header:"ETag" doc:"The customer's version after the change."`
	Body *Contact
}

// ContactList lists a customer's contact persons.
type ContactList struct {
	Items []Contact `json:"items" nullable:"false"`
}

type contactListOutput struct {
	ETag string `header:"ETag" doc:"The customer's version."`
	Body *ContactList
}

type removeContactInput struct {
	ID             string `path:"id" format:"uuid" doc:"Customer id."`
	ContactID      string `path:"contactId" format:"uuid" doc:"Contact id."`
	IfMatch        string `header:"If-Match" doc:"The customer's ETag (\"3\"): the change is made only while the customer is at that version, otherwise 412."`
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing; once the customer it showed is erased, 410 Gone."`
}

type removeContactOutput struct {
	ETag string `header:"ETag" doc:"The customer's version after the change."`
}

func (a *API) registerContacts() {
	handle(a, a.operation(huma.Operation{
		OperationID:   "addContact",
		Method:        http.MethodPost,
		Path:          "/v1/customers/{id}/contacts",
		Summary:       "Add a contact person",
		Description:   "Contact persons belong to company customers.",
		Tags:          []string{tagContacts},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite), a.addContact)

	handle(a, a.operation(huma.Operation{
		OperationID: "listContacts",
		Method:      http.MethodGet,
		Path:        "/v1/customers/{id}/contacts",
		Summary:     "List contact persons",
		Description: "The contact persons of a customer, in the order they were added.",
		Tags:        []string{tagContacts},
		Errors:      []int{http.StatusNotFound},
	}, access.CustomersRead), a.listContacts)

	handle(a, a.operation(huma.Operation{
		OperationID:   "removeContact",
		Method:        http.MethodDelete,
		Path:          "/v1/customers/{id}/contacts/{contactId}",
		Summary:       "Remove a contact person",
		Description:   "Removes one contact person of a company customer; the customer's version grows by one.",
		Tags:          []string{tagContacts},
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed},
	}, access.CustomersWrite), a.removeContact)
}

// contactLocation places the core's field paths: the contact's own fields
// are in the body; anything else (a person customer cannot have contacts)
// is about the customer of the path.
func contactLocation(field string) string {
	switch field {
	case "name", "role", "email", "phone":
		return "body." + field
	}
	return "path.id"
}

func (a *API) addContact(ctx context.Context, in *addContactInput) (*contactOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	ct := customer.Contact{Name: in.Body.Name, Role: in.Body.Role, Email: in.Body.Email, Phone: in.Body.Phone}
	c, contactID, err := a.reg.AddContact(ctx, id, ct, v, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, contactLocation)
	}
	for _, x := range c.Data().Contacts {
		if x.ID == contactID {
			v := contactView(x)
			return &contactOutput{ETag: etag(c), Body: &v}, nil
		}
	}
	// The store returned the customer without the contact just added.
	return nil, a.problem(ctx, errContactLost, inBody)
}

type lostContact struct{}

func (lostContact) Error() string {
	return "the store returned the customer without the contact just added"
}

var errContactLost error = lostContact{}

func (a *API) listContacts(ctx context.Context, in *getCustomerInput) (*contactListOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.Get(ctx, id, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	contacts := c.Data().Contacts
	out := &ContactList{Items: make([]Contact, len(contacts))}
	for i, x := range contacts {
		out.Items[i] = contactView(x)
	}
	return &contactListOutput{ETag: etag(c), Body: out}, nil
}

func (a *API) removeContact(ctx context.Context, in *removeContactInput) (*removeContactOutput, error) {
	id, err := parseID(in.ID)
	if err != nil {
		return nil, err
	}
	contactID, err := uuid.Parse(in.ContactID)
	if err != nil {
		return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "path.contactId", Message: "must be a UUID"})
	}
	v, err := parseIfMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	c, err := a.reg.RemoveContact(ctx, id, contactID, v, caller(ctx, ""))
	if err != nil {
		return nil, a.problem(ctx, err, inPath)
	}
	return &removeContactOutput{ETag: etag(c)}, nil
}
