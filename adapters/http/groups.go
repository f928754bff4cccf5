package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"kirjuri/core/access"
	"kirjuri/core/customer"
)

const tagGroups = "Groups"

// Group is a customer group. Customers name their groups by externalId.
type Group struct {
	ExternalID string `json:"externalId" minLength:"1" maxLength:"100"`
	Name       string `json:"name" maxLength:"200"`
}

// GroupBody is a new customer group.
type GroupBody struct {
	ExternalID string `json:"externalId" minLength:"1" maxLength:"100"`
	Name       string `json:"name,omitempty" maxLength:"200" doc:"The externalId when left out."`
}

// GroupList lists the customer groups.
type GroupList struct {
	Items []Group `json:"items" nullable:"false"`
}

type groupListOutput struct {
	Body *GroupList
}

type createGroupInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Makes the write safe to retry: the same key and body within 24 hours (the same JSON: member order and whitespace do not matter) return the first response and change nothing."`
	Body           GroupBody
}

type groupOutput struct {
	Body *Group
}

func (a *API) registerGroups() {
	handle(a, a.operation(huma.Operation{
		OperationID: "listGroups",
		Method:      http.MethodGet,
		Path:        "/v1/groups",
		Summary:     "List customer groups",
		Description: "Every customer group, by external id.",
		Tags:        []string{tagGroups},
	}, access.CustomersRead), a.listGroups)

	handle(a, a.operation(huma.Operation{
		OperationID:   "createGroup",
		Method:        http.MethodPost,
		Path:          "/v1/groups",
		Summary:       "Create a customer group",
		Description:   "Creates a group that customers can then be put in (the groups field of a customer). An external id already in use is a 409.",
		Tags:          []string{tagGroups},
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge},
	}, access.CustomersWrite), a.createGroup)
}

func (a *API) listGroups(ctx context.Context, _ *struct{}) (*groupListOutput, error) {
	groups, err := a.reg.ListGroups(ctx)
	if err != nil {
		return nil, a.problem(ctx, err, inQuery)
	}
	out := &GroupList{Items: make([]Group, len(groups))}
	for i, g := range groups {
		out.Items[i] = Group{ExternalID: g.ExternalID, Name: g.Name}
	}
	return &groupListOutput{Body: out}, nil
}

func (a *API) createGroup(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
	g, err := a.reg.CreateGroup(ctx, customer.Group{ExternalID: in.Body.ExternalID, Name: in.Body.Name})
	if err != nil {
		return nil, a.problem(ctx, err, inBody)
	}
	return &groupOutput{Body: &Group{ExternalID: g.ExternalID, Name: g.Name}}, nil
}
