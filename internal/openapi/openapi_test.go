package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
)

// The committed documents: the generator's input and the served output.
const (
	swaggerPath = "../../gateway/apidocs/retailbridge.swagger.json"
	servedPath  = "../../gateway/apidocs/openapi.json"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadServed loads the served document as a client would, every reference resolved. Each call
// returns a fresh copy, so tests may change it.
func loadServed(t testing.TB) *openapi3.T {
	t.Helper()
	l := openapi3.NewLoader()
	doc, err := l.LoadFromFile(servedPath)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func loadSwagger(t testing.TB) *openapi2.T {
	t.Helper()
	var doc openapi2.T
	if err := json.Unmarshal(readFile(t, swaggerPath), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func TestServedDocumentIsCurrentAndDeterministic(t *testing.T) {
	t.Parallel()
	swagger := readFile(t, swaggerPath)
	first, err := Build(context.Background(), swagger)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := Build(context.Background(), swagger)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("two builds from the same input differ; gen-check would flap")
		}
	}
	if !bytes.Equal(first, readFile(t, servedPath)) {
		t.Error("gateway/apidocs/openapi.json is stale: run 'make gen'")
	}
}

func TestServedDocumentValidates(t *testing.T) {
	t.Parallel()
	doc := loadServed(t)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != Version || !doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want %s", doc.OpenAPI, Version)
	}
	if doc.Info.Title != "Retailbridge API" || doc.Info.Version == "" || doc.Info.Description == "" {
		t.Errorf("info = %+v", doc.Info)
	}
}

// A check returns what is wrong with doc, one line per problem.
type check func(swagger *openapi2.T, doc *openapi3.T) []string

var checks = map[string]check{
	"every Swagger route is served":                       checkSwaggerPaths,
	"partner routes need the partner scope they use":      checkPartnerSecurity,
	"mutating routes require an Idempotency-Key":          checkIdempotencyKey,
	"operation ids are unique and readable":               checkOperationIDs,
	"errors are problem details; limits are documented":   checkResponses,
	"every operation has one declared tag and a security": checkTagsAndSecurity,
}

func TestServedDocumentInvariants(t *testing.T) {
	t.Parallel()
	swagger, doc := loadSwagger(t), loadServed(t)
	for _, name := range sortedKeys(checks) {
		t.Run(name, func(t *testing.T) {
			for _, p := range checks[name](swagger, doc) {
				t.Error(p)
			}
		})
	}
}

// TestInvariantChecksCatchMistakes breaks a copy of the served document in one way per case and
// requires the matching check to notice, so the invariants above cannot pass vacuously.
func TestInvariantChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	op := func(doc *openapi3.T, method, path string) *openapi3.Operation {
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Fatalf("no %s %s in the served document", method, path)
		}
		return item.GetOperation(method)
	}
	for _, tc := range []struct {
		name, check string
		breakIt     func(*openapi3.T)
	}{
		{"a generated path is dropped", "every Swagger route is served", func(d *openapi3.T) {
			d.Paths.Delete("/v1/partner/returns/{return_id}")
		}},
		{"a generated method is dropped", "every Swagger route is served", func(d *openapi3.T) {
			d.Paths.Value("/v1/partner/returns").Post = nil
		}},
		{"a partner route has no security", "partner routes need the partner scope they use", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/partner/orders/{order_id}").Security = nil
		}},
		{"a partner write asks for a read scope", "partner routes need the partner scope they use", func(d *openapi3.T) {
			op(d, http.MethodPost, "/v1/partner/returns/{return_id}:cancel").Security =
				&openapi3.SecurityRequirements{{SchemePartner: {partnerScopeReturns}}}
		}},
		{"a partner route uses another scheme", "partner routes need the partner scope they use", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/partner/inventory/positions").Security =
				&openapi3.SecurityRequirements{{SchemeSupport: {partnerScopeStock}}}
		}},
		{"a partner scope is not declared by the flow", "partner routes need the partner scope they use", func(d *openapi3.T) {
			delete(d.Components.SecuritySchemes[SchemePartner].Value.Flows.ClientCredentials.Scopes, partnerScopeStock)
		}},
		{"a create loses its Idempotency-Key", "mutating routes require an Idempotency-Key", func(d *openapi3.T) {
			o := op(d, http.MethodPost, "/v1/storefront/returns")
			o.Parameters = slices.DeleteFunc(o.Parameters, func(p *openapi3.ParameterRef) bool { return p.Value.Name == "Idempotency-Key" })
		}},
		{"the Idempotency-Key becomes optional", "mutating routes require an Idempotency-Key", func(d *openapi3.T) {
			d.Components.Parameters[paramIdempotencyKey].Value.Required = false
		}},
		{"eligibility demands a key", "mutating routes require an Idempotency-Key", func(d *openapi3.T) {
			o := op(d, http.MethodPost, "/v1/support/returns/eligibility")
			o.Parameters = append(o.Parameters, d.Components.Parameters[paramIdempotencyKey])
		}},
		{"two operations share an id", "operation ids are unique and readable", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/support/orders").OperationID = "storefront.ListOrders"
		}},
		{"a generated operation id survives", "operation ids are unique and readable", func(d *openapi3.T) {
			op(d, http.MethodPost, "/v1/partner/returns").OperationID = "ReturnsService_CreateReturn3"
		}},
		{"an operation has no problem default", "errors are problem details; limits are documented", func(d *openapi3.T) {
			op(d, http.MethodGet, "/healthz").Responses.Delete("default")
		}},
		{"a limited route loses its 429", "errors are problem details; limits are documented", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/storefront/orders").Responses.Delete("429")
		}},
		{"the 429 loses Retry-After", "errors are problem details; limits are documented", func(d *openapi3.T) {
			delete(d.Components.Responses[respTooManyRequests].Value.Headers, headerRetryAfter)
		}},
		{"a success loses its RateLimit header", "errors are problem details; limits are documented", func(d *openapi3.T) {
			delete(op(d, http.MethodGet, "/v1/partner/returns").Responses.Status(200).Value.Headers, headerRateLimit)
		}},
		{"a scoped route loses its 403", "errors are problem details; limits are documented", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/operations/audit").Responses.Delete("403")
		}},
		{"an operation has no tag", "every operation has one declared tag and a security", func(d *openapi3.T) {
			op(d, http.MethodGet, "/readyz").Tags = nil
		}},
		{"an operation uses an undeclared tag", "every operation has one declared tag and a security", func(d *openapi3.T) {
			op(d, http.MethodGet, "/v1/support/orders").Tags = []string{"OrdersService"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			swagger, doc := loadSwagger(t), loadServed(t)
			c, ok := checks[tc.check]
			if !ok {
				t.Fatalf("no check %q", tc.check)
			}
			if got := c(swagger, doc); len(got) != 0 {
				t.Fatalf("the intact document already fails: %q", got)
			}
			tc.breakIt(doc)
			if got := c(swagger, doc); len(got) == 0 {
				t.Errorf("check %q did not notice", tc.check)
			}
		})
	}
}

func checkSwaggerPaths(swagger *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	for _, path := range sortedKeys(swagger.Paths) {
		for _, method := range sortedKeys(swagger.Paths[path].Operations()) {
			if item := doc.Paths.Value(path); item == nil || item.GetOperation(method) == nil {
				problems = append(problems, fmt.Sprintf("%s %s is in the Swagger input but not served", method, path))
			}
		}
	}
	return problems
}

// wantPartnerScope is the scope a partner route needs, as the process services check it
// (tenancy.Authorize): orders → orders:read; reading returns and checking eligibility →
// returns:read; starting and cancelling returns → returns:write; stock → inventory:read.
func wantPartnerScope(method, path string) string {
	rest := strings.TrimPrefix(path, "/v1/partner/")
	switch {
	case strings.HasPrefix(rest, "orders"):
		return "orders:read"
	case strings.HasPrefix(rest, "inventory/"):
		return "inventory:read"
	case strings.HasPrefix(rest, "returns") && (method == http.MethodGet || rest == "returns/eligibility"):
		return "returns:read"
	case strings.HasPrefix(rest, "returns") && method == http.MethodPost:
		return "returns:write"
	}
	return "(no rule for this route)"
}

func checkPartnerSecurity(_ *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	declared := map[string]string{}
	if s := doc.Components.SecuritySchemes[SchemePartner]; s == nil || s.Value.Type != "oauth2" || s.Value.Flows == nil ||
		s.Value.Flows.ClientCredentials == nil || s.Value.Flows.ClientCredentials.TokenURL != "/oauth/token" {
		problems = append(problems, "the partner scheme is not OAuth 2.0 client credentials at /oauth/token")
	} else {
		declared = s.Value.Flows.ClientCredentials.Scopes
	}
	for _, scope := range []string{"orders:read", "returns:read", "returns:write", "inventory:read"} {
		if declared[scope] == "" {
			problems = append(problems, "the partner flow does not declare (and describe) "+scope)
		}
	}
	partnerOps := 0
	for _, e := range operations(doc) {
		path, method, op := e.path, e.method, e.op
		if !strings.HasPrefix(path, "/v1/partner/") {
			continue
		}
		partnerOps++
		want := openapi3.SecurityRequirements{{SchemePartner: {wantPartnerScope(method, path)}}}
		if op.Security == nil || !equalSecurity(*op.Security, want) {
			problems = append(problems, fmt.Sprintf("%s %s: security %v, want %v", method, path, op.Security, want))
		}
	}
	if partnerOps == 0 {
		problems = append(problems, "no partner operations")
	}
	return problems
}

func equalSecurity(a, b openapi3.SecurityRequirements) bool {
	return slices.EqualFunc(a, b, func(x, y openapi3.SecurityRequirement) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !slices.Equal(v, w) {
				return false
			}
		}
		return true
	})
}

// checkIdempotencyKey: the gateway guards every POST of the process APIs except eligibility
// checks (gateway/process.go); those and only those must declare the header, required.
func checkIdempotencyKey(_ *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	guarded := 0
	for _, e := range operations(doc) {
		path, method, op := e.path, e.method, e.op
		var key *openapi3.Parameter
		for _, p := range op.Parameters {
			if p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, "Idempotency-Key") {
				key = p.Value
			}
		}
		want := method == http.MethodPost && strings.HasPrefix(path, "/v1/") && !strings.HasSuffix(path, "/returns/eligibility")
		switch {
		case want && (key == nil || !key.Required):
			problems = append(problems, fmt.Sprintf("%s %s: no required Idempotency-Key header", method, path))
		case want:
			guarded++
			s := key.Schema
			if s == nil || s.Value == nil || !s.Value.Type.Is(openapi3.TypeString) || s.Value.MinLength != 1 ||
				s.Value.MaxLength == nil || *s.Value.MaxLength != 255 || key.Description == "" {
				problems = append(problems, fmt.Sprintf("%s %s: Idempotency-Key is not a described string of 1..255", method, path))
			}
		case key != nil:
			problems = append(problems, fmt.Sprintf("%s %s: declares an Idempotency-Key the gateway does not ask for", method, path))
		}
	}
	if guarded == 0 {
		problems = append(problems, "no operation requires an Idempotency-Key")
	}
	return problems
}

var readableID = regexp.MustCompile(`^(storefront|support|partner|identity|operations|webhooks)\.[A-Z][A-Za-z]+$`)

func checkOperationIDs(_ *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	seen := map[string]string{}
	for _, e := range operations(doc) {
		path, method, op := e.path, e.method, e.op
		where := method + " " + path
		if !readableID.MatchString(op.OperationID) {
			problems = append(problems, fmt.Sprintf("%s: operation id %q is not <audience>.<Name>", where, op.OperationID))
		}
		if other, dup := seen[op.OperationID]; dup {
			problems = append(problems, fmt.Sprintf("%s and %s share operation id %q", other, where, op.OperationID))
		}
		seen[op.OperationID] = where
	}
	return problems
}

// checkResponses: every operation answers errors as problem details by default; every route
// behind a bearer token documents 401 and 403; every rate-limited route (the audience groups and
// the operations group) documents 429 with Retry-After and the RateLimit headers, and the
// RateLimit headers on success.
func checkResponses(_ *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	isProblem := func(r *openapi3.ResponseRef) bool {
		if r == nil || r.Value == nil {
			return false
		}
		mt := r.Value.Content.Get("application/problem+json")
		return mt != nil && mt.Schema != nil && mt.Schema.Ref == "#/components/schemas/Problem"
	}
	hasHeaders := func(r *openapi3.ResponseRef, names ...string) bool {
		for _, n := range names {
			if r == nil || r.Value == nil || r.Value.Headers[n] == nil {
				return false
			}
		}
		return true
	}
	problem := doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value == nil {
		problems = append(problems, "no Problem schema")
	} else {
		for _, f := range []string{"type", "title", "status", "detail", "instance", "reason", "request_id", "retryable", "errors"} {
			if problem.Value.Properties[f] == nil {
				problems = append(problems, "the Problem schema lacks "+f)
			}
		}
	}
	limited := regexp.MustCompile(`^/v1/(storefront|support|partner|operations)/`)
	for _, e := range operations(doc) {
		path, method, op := e.path, e.method, e.op
		where := method + " " + path
		if !isProblem(op.Responses.Default()) {
			problems = append(problems, where+": the default response is not a problem document")
		}
		if op.Security != nil && slices.ContainsFunc(*op.Security, func(r openapi3.SecurityRequirement) bool {
			return r[SchemeStorefront] != nil || r[SchemeSupport] != nil || r[SchemePartner] != nil
		}) {
			for _, code := range []int{401, 403} {
				if !isProblem(op.Responses.Status(code)) {
					problems = append(problems, fmt.Sprintf("%s: no %d problem response", where, code))
				}
			}
		}
		if !limited.MatchString(path) {
			continue
		}
		if r := op.Responses.Status(429); !isProblem(r) || !hasHeaders(r, "Retry-After", "RateLimit-Policy", "RateLimit") {
			problems = append(problems, where+": no 429 problem with Retry-After, RateLimit-Policy and RateLimit")
		}
		for code, r := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") && !hasHeaders(r, "RateLimit-Policy", "RateLimit") {
				problems = append(problems, fmt.Sprintf("%s: the %s response does not document RateLimit-Policy and RateLimit", where, code))
			}
		}
	}
	return problems
}

func checkTagsAndSecurity(_ *openapi2.T, doc *openapi3.T) []string {
	var problems []string
	declared := map[string]bool{}
	for _, t := range doc.Tags {
		if t.Description == "" {
			problems = append(problems, "tag "+t.Name+" has no description")
		}
		declared[t.Name] = true
	}
	for _, want := range []string{"Storefront", "Customer service", "Partner", "Identity", "Operations"} {
		if !declared[want] {
			problems = append(problems, "no tag "+want)
		}
	}
	for _, e := range operations(doc) {
		path, method, op := e.path, e.method, e.op
		if len(op.Tags) != 1 || !declared[op.Tags[0]] {
			problems = append(problems, fmt.Sprintf("%s %s: tags %q, want one declared tag", method, path, op.Tags))
		}
		// No document-wide default: each operation says what it needs, [] meaning nothing.
		if op.Security == nil {
			problems = append(problems, fmt.Sprintf("%s %s: no security requirement", method, path))
		}
	}
	return problems
}

type opEntry struct {
	path, method string
	op           *openapi3.Operation
}

// operations lists every operation of doc in path, then method order.
func operations(doc *openapi3.T) []opEntry {
	var out []opEntry
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		ops := item.Operations()
		for _, method := range sortedKeys(ops) {
			out = append(out, opEntry{path, method, ops[method]})
		}
	}
	return out
}
