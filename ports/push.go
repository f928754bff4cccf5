package ports

// PushArgs is the job that pushes one customer's state to one connector.
// It carries ids only; the worker reads the customer as it is when it runs,
// so that changes made while it waited are sent together.
type PushArgs struct {
	Connector string `json:"connector"`
	Customer  string `json:"customer"`
}

// Kind is the job's kind.
func (PushArgs) Kind() string { return "connector.push" }

