package httpapi

import (
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// checkQuery holds every operation's query parameters to one rule before
// Huma parses them (a Huma middleware, after authorize): a parameter that is
// present must say something. A parameter given empty or blank
// (`email=`, `q=%20`, `limit`) or given more than once (`limit=1&limit=2`,
// `systemId=6&systemId=7`) is 422 naming it. Huma alone would treat an
// empty value as absent and take the first of several, so that a filter a
// client meant to apply would silently list every customer. Unknown
// parameters are Huma's to refuse (RejectUnknownQueryParameters).
func (a *API) checkQuery(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	if u.RawQuery == "" {
		next(ctx)
		return
	}
	// A malformed pair (a bad %-escape) is left out here and reported by
	// Huma's own parsing.
	values, _ := url.ParseQuery(u.RawQuery)
	var details []error
	for _, p := range ctx.Operation().Parameters {
		if p == nil || p.In != "query" {
			continue
		}
		given, ok := values[p.Name]
		switch {
		case !ok:
		case len(given) > 1:
			details = append(details, &huma.ErrorDetail{Location: "query." + p.Name,
				Message: "is given more than once; give it once"})
		case strings.TrimSpace(given[0]) == "":
			details = append(details, &huma.ErrorDetail{Location: "query." + p.Name,
				Message: "is empty; give a value, or leave the parameter out"})
		}
	}
	if len(details) > 0 {
		a.writeErr(ctx, huma.Error422UnprocessableEntity("validation failed", details...))
		return
	}
	next(ctx)
}
