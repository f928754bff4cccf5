package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// router is the mux Huma's humago adapter registers operations on. It takes
// the standard library's pattern syntax ("GET /v1/customers/{id}") and sets
// Request.Pattern and the path values as http.ServeMux does, so humago reads
// them unchanged. It differs from http.ServeMux in one rule: a literal path
// segment wins over a wildcard in the same place. http.ServeMux refuses to
// register the API's routes at all ("GET /v1/customers/by-number/{number}"
// and "GET /v1/customers/{id}/contacts" both match
// /v1/customers/by-number/contacts and neither is more specific), and
// literal-over-wildcard is the precedence clients expect.
//
// Unmatched requests get a problem response: 404, or 405 with Allow when the
// path exists for other methods. A GET route answers HEAD as well.
type router struct {
	methods map[string]*node // by method
}

type node struct {
	literal  map[string]*node
	wild     *node
	wildName string
	route    *route
}

type route struct {
	pattern string // "GET /v1/customers/{id}"
	path    string // "/v1/customers/{id}"
	names   []string
	handler http.Handler
}

// maxWildcards bounds the wildcards of one route, so matching needs no
// allocation for them.
const maxWildcards = 8

func newRouter() *router { return &router{methods: map[string]*node{}} }

// HandleFunc registers a handler for "METHOD /path". It panics on a
// malformed or duplicate pattern, as http.ServeMux does: both are
// programming errors.
func (rt *router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(h))
}

// Handle registers a handler for "METHOD /path".
func (rt *router) Handle(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") {
		panic("router: pattern must be \"METHOD /path\": " + pattern)
	}
	root := rt.methods[method]
	if root == nil {
		root = &node{}
		rt.methods[method] = root
	}
	n := root
	var names []string
	for _, seg := range splitPath(path) {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := seg[1 : len(seg)-1]
			if name == "" || strings.HasSuffix(name, "...") {
				panic("router: unsupported wildcard in " + pattern)
			}
			if n.wild == nil {
				n.wild = &node{wildName: name}
			} else if n.wild.wildName != name {
				panic("router: wildcard {" + name + "} clashes with {" + n.wild.wildName + "} in " + pattern)
			}
			names = append(names, name)
			n = n.wild
			continue
		}
		if n.literal == nil {
			n.literal = map[string]*node{}
		}
		child := n.literal[seg]
		if child == nil {
			child = &node{}
			n.literal[seg] = child
		}
		n = child
	}
	if len(names) > maxWildcards {
		panic("router: too many wildcards in " + pattern)
	}
	if n.route != nil {
		panic("router: duplicate pattern " + pattern)
	}
	n.route = &route{pattern: pattern, path: path, names: names, handler: h}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, ok := requestSegments(r.URL)
	if !ok {
		writeProblem(w, http.StatusNotFound, "no such resource")
		return
	}
	var vals [maxWildcards]string
	method := r.Method
	rte := rt.match(method, segs, &vals)
	if rte == nil && method == http.MethodHead {
		rte = rt.match(http.MethodGet, segs, &vals)
	}
	if rte == nil {
		if allow := rt.allowed(segs); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, http.StatusMethodNotAllowed, "method "+method+" is not allowed here")
			return
		}
		writeProblem(w, http.StatusNotFound, "no such resource")
		return
	}
	r.Pattern = rte.pattern
	for i, name := range rte.names {
		r.SetPathValue(name, vals[i])
	}
	if ex := exchangeFrom(r.Context()); ex != nil {
		ex.route = rte.path
	}
	rte.handler.ServeHTTP(w, r)
}

func (rt *router) match(method string, segs []string, vals *[maxWildcards]string) *route {
	root := rt.methods[method]
	if root == nil {
		return nil
	}
	return root.match(segs, vals, 0)
}

// match walks the tree; a literal child is tried before the wildcard, and a
// dead end on the literal side falls back to the wildcard.
func (n *node) match(segs []string, vals *[maxWildcards]string, depth int) *route {
	if len(segs) == 0 {
		return n.route
	}
	seg := segs[0]
	if child := n.literal[seg]; child != nil {
		if r := child.match(segs[1:], vals, depth); r != nil {
			return r
		}
	}
	if n.wild != nil && seg != "" && depth < maxWildcards {
		if r := n.wild.match(segs[1:], vals, depth+1); r != nil {
			vals[depth] = seg
			return r
		}
	}
	return nil
}

// allowed lists the methods that have a route for the path.
func (rt *router) allowed(segs []string) []string {
	var out []string
	var vals [maxWildcards]string
	for m, root := range rt.methods {
		if root.match(segs, &vals, 0) != nil {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	slices.Sort(out)
	return out
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// requestSegments splits the escaped path and unescapes each segment, so an
// encoded slash stays inside its segment (as http.ServeMux does).
func requestSegments(u *url.URL) ([]string, bool) {
	segs := splitPath(u.EscapedPath())
	for i, s := range segs {
		if strings.IndexByte(s, '%') < 0 {
			continue
		}
		un, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = un
	}
	return segs, true
}

// routeOf is the path pattern a request would be routed to ("" when none),
// for labelling requests answered before routing.
func (rt *router) routeOf(r *http.Request) string {
	segs, ok := requestSegments(r.URL)
	if !ok {
		return ""
	}
	var vals [maxWildcards]string
	rte := rt.match(r.Method, segs, &vals)
	if rte == nil && r.Method == http.MethodHead {
		rte = rt.match(http.MethodGet, segs, &vals)
	}
	if rte == nil {
		return ""
	}
	return rte.path
}
