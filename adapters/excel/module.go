package excel

import (
	"go.uber.org/fx"

	"kirjuri/ports"
)

// Module provides the customer spreadsheet writer as ports.CustomerSheets
// (the HTTP export streams it).
var Module = fx.Module("excel",
	fx.Provide(fx.Annotate(NewCustomerSheets, fx.As(new(ports.CustomerSheets)))),
)
