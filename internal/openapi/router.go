package openapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// Router finds the operation of the served document a request is for. It exists because the
// HTTP rules bind custom methods as a suffix of a path variable (`/returns/{return_id}:cancel`),
// which kin-openapi's legacy router cannot match; gorilla/mux could, at the price of another
// dependency for thirty lines. It matches as grpc-gateway does: segment by segment, a variable
// takes one whole segment (or its part before a literal suffix), and a literal segment beats a
// variable, so `/returns/eligibility` is never `/returns/{return_id}`.
type Router struct {
	routes []template
}

type template struct {
	segments []segment
	route    *routers.Route
}

// segment is one path segment of a template: a literal, or a variable with an optional literal
// suffix after it (`{return_id}:cancel`).
type segment struct {
	literal  string
	variable string
	suffix   string
}

var _ routers.Router = (*Router)(nil)

// LoadDocument loads the served document with every reference resolved and validated, as the
// gateway's request validation and the end-to-end tests' response validation both need it.
func LoadDocument(ctx context.Context, doc []byte) (*openapi3.T, error) {
	l := openapi3.NewLoader()
	l.IsExternalRefsAllowed = false
	t, err := l.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := t.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapi: validate: %w", err)
	}
	return t, nil
}

// NewRouter indexes every operation of doc.
func NewRouter(doc *openapi3.T) (*Router, error) {
	r := &Router{}
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		segs, err := parseTemplate(path)
		if err != nil {
			return nil, err
		}
		for _, method := range sortedKeys(item.Operations()) {
			r.routes = append(r.routes, template{segments: segs, route: &routers.Route{
				Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method),
			}})
		}
	}
	return r, nil
}

func parseTemplate(path string) ([]segment, error) {
	var segs []segment
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if !strings.HasPrefix(s, "{") {
			segs = append(segs, segment{literal: s})
			continue
		}
		name, suffix, ok := strings.Cut(s[1:], "}")
		if !ok || name == "" || strings.ContainsAny(suffix, "{}") {
			return nil, fmt.Errorf("openapi: path template %q: segment %q is not {name} or {name}suffix", path, s)
		}
		segs = append(segs, segment{variable: name, suffix: suffix})
	}
	return segs, nil
}

// FindRoute returns the operation req is for and its path parameters (unescaped). A path no
// template matches is routers.ErrPathNotFound; a path that matches only under another method is
// routers.ErrMethodNotAllowed.
func (r *Router) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	parts := strings.Split(strings.TrimPrefix(req.URL.EscapedPath(), "/"), "/")
	var best *routers.Route
	var bestParams map[string]string
	bestScore, pathFound := -1, false
	for _, rt := range r.routes {
		params, score, ok := rt.match(parts)
		if !ok {
			continue
		}
		pathFound = true
		if rt.route.Method == req.Method && score > bestScore {
			best, bestParams, bestScore = rt.route, params, score
		}
	}
	switch {
	case best != nil:
		return best, bestParams, nil
	case pathFound:
		return nil, nil, &routers.RouteError{Reason: routers.ErrMethodNotAllowed.Error()}
	}
	return nil, nil, &routers.RouteError{Reason: routers.ErrPathNotFound.Error()}
}

// match reports whether the escaped path segments parts fit the template, with its parameters
// and a score that ranks literal matches above variables.
func (rt template) match(parts []string) (map[string]string, int, bool) {
	if len(parts) != len(rt.segments) {
		return nil, 0, false
	}
	// The map is made on the first variable segment: most templates of the same length fail on
	// a literal first, and FindRoute tries every template on every request.
	var params map[string]string
	score := 0
	for i, seg := range rt.segments {
		if seg.variable == "" {
			if parts[i] != seg.literal {
				return nil, 0, false
			}
			score += 2
			continue
		}
		raw, ok := strings.CutSuffix(parts[i], seg.suffix)
		if !ok || raw == "" {
			return nil, 0, false
		}
		v, err := url.PathUnescape(raw)
		if err != nil {
			return nil, 0, false
		}
		if seg.suffix != "" {
			score++
		}
		if params == nil {
			params = make(map[string]string, 2)
		}
		params[seg.variable] = v
	}
	if params == nil {
		params = map[string]string{}
	}
	return params, score, true
}
