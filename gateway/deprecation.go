package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/retailbridge/retailbridge/pkg/errs"
)

// MinSunsetNotice is the shortest time between an operation's deprecation and its sunset. Partners
// release on their own schedules; half a year lets a quarterly release train see the Deprecation
// header twice before anything breaks.
const MinSunsetNotice = 180 * 24 * time.Hour

// Deprecation announces that one HTTP operation will go away (configs/http/deprecations.yaml).
type Deprecation struct {
	// Method and Path name the operation as the served OpenAPI document does
	// (GET, /v1/partner/orders/{order_id}).
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	// DeprecatedAt is when the operation became deprecated (RFC 9745 Deprecation header).
	DeprecatedAt time.Time `yaml:"deprecated_at"`
	// SunsetAt is when it stops answering (RFC 8594 Sunset header); from then on it is 410 Gone.
	SunsetAt time.Time `yaml:"sunset_at"`
	// Link is the notice for people: what changes, why, and how to move (rel="deprecation").
	Link string `yaml:"link"`
	// Successor is the operation to use instead, if any (rel="successor-version").
	Successor string `yaml:"successor"`
	// Removed says the operation is gone from the HTTP rules, which is allowed only after its
	// sunset; the gateway keeps answering it 410 Gone with these headers instead of 404.
	Removed bool `yaml:"removed"`
}

// ParseDeprecations reads a deprecation file strictly and checks every entry against the
// OpenAPI document the gateway serves at the instant now, naming every bad field at once.
func ParseDeprecations(b, openapi []byte, now time.Time) ([]Deprecation, error) {
	var doc struct {
		Deprecations []Deprecation `yaml:"deprecations"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("deprecations: %w", err)
	}
	var ops struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &ops); err != nil {
		return nil, fmt.Errorf("deprecations: the OpenAPI document: %w", err)
	}
	var bad []string
	seen := map[string]bool{}
	for i, d := range doc.Deprecations {
		bad = append(bad, d.problems(fmt.Sprintf("deprecations[%d]", i), ops.Paths, now)...)
		if op := d.Method + " " + d.Path; seen[op] {
			bad = append(bad, fmt.Sprintf("deprecations[%d]: %s is listed twice", i, op))
		} else {
			seen[op] = true
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("invalid deprecations:\n  %s", strings.Join(bad, "\n  "))
	}
	return doc.Deprecations, nil
}

// problems names what is wrong with d, each prefixed with at.
func (d Deprecation) problems(at string, paths map[string]map[string]json.RawMessage, now time.Time) []string {
	var bad []string
	_, served := paths[d.Path][strings.ToLower(d.Method)]
	switch {
	case !slices.Contains(httpMethods, strings.ToLower(d.Method)) || d.Method != strings.ToUpper(d.Method):
		bad = append(bad, at+".method: must be an upper-case HTTP method such as GET or POST")
	case d.Removed && served:
		bad = append(bad, fmt.Sprintf("%s.removed: the served API still has %s %s", at, d.Method, d.Path))
	case d.Removed && now.Before(d.SunsetAt):
		bad = append(bad, fmt.Sprintf("%s.removed: %s %s may leave the API only after its sunset_at", at, d.Method, d.Path))
	case !d.Removed && !served:
		bad = append(bad, fmt.Sprintf("%s.path: the served API has no operation %s %s", at, d.Method, d.Path))
	}
	if d.DeprecatedAt.IsZero() {
		bad = append(bad, at+".deprecated_at: required (RFC 3339, e.g. 2027-01-04T00:00:00Z)")
	}
	switch {
	case d.SunsetAt.IsZero():
		bad = append(bad, at+".sunset_at: required (RFC 3339)")
	case !d.DeprecatedAt.IsZero() && d.SunsetAt.Sub(d.DeprecatedAt) < MinSunsetNotice:
		bad = append(bad, fmt.Sprintf("%s.sunset_at: must be at least %d days after deprecated_at", at, MinSunsetNotice/(24*time.Hour)))
	}
	if !validLink(d.Link) {
		bad = append(bad, at+".link: required: an https URL or an absolute path of the notice for people")
	}
	if d.Successor != "" && !validLink(d.Successor) {
		bad = append(bad, at+".successor: must be an https URL or an absolute path")
	}
	return bad
}

// validLink accepts what may go between the angle brackets of a Link header: an https URL, or an
// absolute path on this API.
func validLink(s string) bool {
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, "<>\" \t\r\n") {
		return false
	}
	if u.Scheme == "" {
		return u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
	}
	return u.Scheme == "https" && u.Host != ""
}

// deprecatedRoute is a Deprecation with its path template compiled and its headers rendered.
type deprecatedRoute struct {
	Deprecation
	pattern             *regexp.Regexp
	deprecation, sunset string
	links               []string
}

// deprecations answers which configured operation, if any, a request is for.
type deprecations struct {
	routes []deprecatedRoute
	now    func() time.Time
}

func newDeprecations(ds []Deprecation, now func() time.Time) *deprecations {
	d := &deprecations{now: now}
	for _, dep := range ds {
		r := deprecatedRoute{Deprecation: dep, pattern: pathPattern(dep.Path),
			deprecation: fmt.Sprintf("@%d", dep.DeprecatedAt.Unix()),
			sunset:      dep.SunsetAt.UTC().Format(http.TimeFormat),
			links:       []string{fmt.Sprintf(`<%s>; rel="deprecation"; type="text/html"`, dep.Link)}}
		if dep.Successor != "" {
			r.links = append(r.links, fmt.Sprintf(`<%s>; rel="successor-version"`, dep.Successor))
		}
		d.routes = append(d.routes, r)
	}
	return d
}

// pathPattern compiles an OpenAPI path template: a {variable} matches one path segment up to a
// custom-method colon, as grpc-gateway binds it.
func pathPattern(template string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	rest := template
	for {
		open := strings.IndexByte(rest, '{')
		closing := strings.IndexByte(rest, '}')
		if open < 0 || closing < open {
			b.WriteString(regexp.QuoteMeta(rest))
			break
		}
		b.WriteString(regexp.QuoteMeta(rest[:open]))
		b.WriteString(`[^/:]+`)
		rest = rest[closing+1:]
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (d *deprecations) match(method, path string) *deprecatedRoute {
	for i := range d.routes {
		if r := &d.routes[i]; r.Method == method && r.pattern.MatchString(path) {
			return r
		}
	}
	return nil
}

// deprecation tells callers of a deprecated operation, on every answer, when it was deprecated,
// when it goes away and where to read why; past its sunset it answers 410 Gone with the same
// headers, so the retirement of a route is a configuration change made long in advance.
func (g *Gateway) deprecation() gin.HandlerFunc {
	d := g.deprecations
	return func(c *gin.Context) {
		if d == nil || len(d.routes) == 0 {
			c.Next()
			return
		}
		r := d.match(c.Request.Method, c.Request.URL.Path)
		if r == nil {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Deprecation", r.deprecation)
		h.Set("Sunset", r.sunset)
		for _, l := range r.links {
			h.Add("Link", l)
		}
		if !d.now().Before(r.SunsetAt) {
			detail := fmt.Sprintf("%s %s was retired on %s; see %s", r.Method, r.Path, r.SunsetAt.UTC().Format(time.DateOnly), r.Link)
			if r.Successor != "" {
				detail += "; use " + r.Successor
			}
			g.problem(c, errs.NewProblem(http.StatusGone, "route_sunset", "Gone", detail))
			return
		}
		c.Next()
	}
}

// markDeprecated returns the OpenAPI document with each deprecated operation marked
// `deprecated: true` and its dates and notice added to its description. The generated document
// stays as generated (gen-check compares it byte for byte); with nothing deprecated this returns
// doc itself.
func markDeprecated(doc []byte, ds []Deprecation) ([]byte, error) {
	if !slices.ContainsFunc(ds, func(d Deprecation) bool { return !d.Removed }) {
		return doc, nil
	}
	var d map[string]any
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("deprecations: %w", err)
	}
	paths, _ := d["paths"].(map[string]any)
	for _, dep := range ds {
		if dep.Removed {
			continue
		}
		item, _ := paths[dep.Path].(map[string]any)
		op, ok := item[strings.ToLower(dep.Method)].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("deprecations: the document has no operation %s %s", dep.Method, dep.Path)
		}
		op["deprecated"] = true
		op["x-sunset"] = dep.SunsetAt.UTC().Format(time.RFC3339)
		notice := fmt.Sprintf("**Deprecated** since %s; sunset on %s, after which it answers 410 Gone. See %s.",
			dep.DeprecatedAt.UTC().Format(time.DateOnly), dep.SunsetAt.UTC().Format(time.DateOnly), dep.Link)
		if dep.Successor != "" {
			notice += " Use `" + dep.Successor + "` instead."
		}
		if desc, _ := op["description"].(string); desc != "" {
			notice += "\n\n" + desc
		}
		op["description"] = notice
	}
	return json.Marshal(d)
}

// Operations lists the operations of an OpenAPI document as "METHOD /path/template", sorted: the
// HTTP surface that proto/released/http-operations.txt records at each release.
func Operations(openapi []byte) ([]string, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		return nil, fmt.Errorf("operations: %w", err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for _, m := range httpMethods {
			if _, ok := item[m]; ok {
				ops = append(ops, strings.ToUpper(m)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops, nil
}
