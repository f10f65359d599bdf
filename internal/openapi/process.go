package openapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi3"
)

// audience is one of the three route groups the HTTP rules bind the process APIs under.
type audience struct {
	prefix string // path prefix, with the trailing slash
	name   string // first part of operation ids
	tag    string
	scheme string
}

var audiences = []audience{
	{prefix: "/v1/storefront/", name: "storefront", tag: TagStorefront, scheme: SchemeStorefront},
	{prefix: "/v1/support/", name: "support", tag: TagSupport, scheme: SchemeSupport},
	{prefix: "/v1/partner/", name: "partner", tag: TagPartner, scheme: SchemePartner},
}

func audienceOf(path string) (audience, bool) {
	for _, a := range audiences {
		if strings.HasPrefix(path, a.prefix) {
			return a, true
		}
	}
	return audience{}, false
}

// rpcRule is what the contracts do not say about an RPC: the scope a partner token needs
// (tenancy.Authorize in the process service), the scope a support token needs (gateway.SupportRoutes enforces it),
// and whether it can answer 404. A new RPC needs an entry here, or generation fails rather than
// publish the route without its security.
type rpcRule struct {
	partnerScope string
	supportScope string
	notFound     bool
	// accepted: the RPC starts a background job, and the gateway answers 202 Accepted with the
	// job's resource in Location (gateway/accepted.go) instead of 200.
	accepted bool
}

var rpcRules = map[string]rpcRule{
	"ListOrders":               {partnerScope: partnerScopeOrders, supportScope: supportScopeRead},
	"GetOrder":                 {partnerScope: partnerScopeOrders, supportScope: supportScopeRead, notFound: true},
	"CheckEligibility":         {partnerScope: partnerScopeReturns, supportScope: supportScopeRead, notFound: true},
	"CreateReturn":             {partnerScope: partnerScopeWrite, supportScope: supportScopeWrite, notFound: true},
	"GetReturn":                {partnerScope: partnerScopeReturns, supportScope: supportScopeRead, notFound: true},
	"ListReturns":              {partnerScope: partnerScopeReturns, supportScope: supportScopeRead},
	"CancelReturn":             {partnerScope: partnerScopeWrite, supportScope: supportScopeWrite, notFound: true},
	"ResolveException":         {supportScope: supportScopeWrite, notFound: true},
	"OverrideRefund":           {supportScope: supportScopeOverride, notFound: true},
	"ResolveRefund":            {supportScope: supportScopeOverride, notFound: true},
	"GetAvailability":          {partnerScope: partnerScopeStock, supportScope: supportScopeRead},
	"ListPositions":            {partnerScope: partnerScopeStock, supportScope: supportScopeRead},
	"ListMovements":            {supportScope: supportScopeRead, notFound: true},
	"ListDrift":                {supportScope: supportScopeRead},
	"ListSkuMismatches":        {supportScope: supportScopeRead},
	"AdjustInventory":          {supportScope: supportScopeWrite},
	"GetOrderWorkflow":         {supportScope: supportScopeRead, notFound: true},
	"ListOrderExceptions":      {supportScope: supportScopeRead},
	"ResolveOrderException":    {supportScope: supportScopeWrite, notFound: true},
	"PutTaxCode":               {supportScope: supportScopeWrite},
	"ListSettlementPayouts":    {supportScope: supportScopeRead},
	"ListSettlementMismatches": {supportScope: supportScopeRead},
	"RunSettlement":            {supportScope: supportScopeWrite, accepted: true},
	"GetSettlementRun":         {supportScope: supportScopeRead, notFound: true},
	"ListItemMaster":           {supportScope: supportScopeRead},
	"GetItemMaster":            {supportScope: supportScopeRead, notFound: true},
	"ListFeedFiles":            {supportScope: supportScopeRead},
	"GetFeedFile":              {supportScope: supportScopeRead, notFound: true},
	"ListFeedRejects":          {supportScope: supportScopeRead, notFound: true},
	"SearchOrders":             {supportScope: supportScopeRead},
	"SearchReturns":            {supportScope: supportScopeRead},
}

// rpcNames maps each generated operation id to the RPC it calls. protoc-gen-openapiv2 names
// operations <Service>_<RPC> and numbers the additional bindings of one RPC (<Service>_<RPC>2,
// 3, …); a trailing number is stripped only when the unnumbered id exists, so an RPC whose name
// ends in a digit keeps it.
func rpcNames(doc *openapi2.T) (map[string]string, error) {
	ids := map[string]bool{}
	for _, path := range sortedKeys(doc.Paths) {
		for _, op := range doc.Paths[path].Operations() {
			ids[op.OperationID] = true
		}
	}
	names := map[string]string{}
	for id := range ids {
		base := strings.TrimRight(id, "0123456789")
		if base == id || !ids[base] {
			base = id
		}
		_, rpc, ok := strings.Cut(base, "_")
		if !ok || rpc == "" {
			return nil, fmt.Errorf("openapi: operation id %q is not <Service>_<RPC>", id)
		}
		names[id] = rpc
	}
	return names, nil
}

// idempotent reports whether the gateway requires an Idempotency-Key on method path: every POST
// of the process APIs except the eligibility checks, which change nothing (gateway/process.go,
// routeClass in gateway/ratepolicy.go).
func idempotent(method, path string) bool {
	return method == http.MethodPost && !strings.HasSuffix(path, "/returns/eligibility")
}

// decorateProcessRoutes gives every generated operation its audience's tag, a readable
// operation id, its security requirement, the Idempotency-Key where the gateway requires it, and
// the error and rate-limit responses of the gateway in front of it.
func decorateProcessRoutes(doc *openapi3.T, rpcs map[string]string) error {
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		for _, method := range sortedKeys(item.Operations()) {
			op := item.GetOperation(method)
			aud, ok := audienceOf(path)
			if !ok {
				return fmt.Errorf("%w for %s %s: not under %s, %s or %s", errUnknownRoute, method, path,
					audiences[0].prefix, audiences[1].prefix, audiences[2].prefix)
			}
			rpc := rpcs[op.OperationID]
			rule, ok := rpcRules[rpc]
			if !ok {
				return fmt.Errorf("%w for RPC %q (%s %s): add it to rpcRules", errUnknownRoute, rpc, method, path)
			}
			var scopes []string
			switch aud.scheme {
			case SchemePartner:
				if rule.partnerScope == "" {
					return fmt.Errorf("%w: %s %s is a partner route but RPC %s has no partner scope", errUnknownRoute, method, path, rpc)
				}
				scopes = []string{rule.partnerScope}
			case SchemeSupport:
				if rule.supportScope != "" {
					scopes = []string{rule.supportScope}
				}
			}

			op.OperationID = aud.name + "." + rpc
			op.Tags = []string{aud.tag}
			op.Security = &openapi3.SecurityRequirements{openapi3.NewSecurityRequirement().Authenticate(aud.scheme, scopes...)}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				// The Swagger body parameter's name, which means nothing in OpenAPI 3.
				delete(op.RequestBody.Value.Extensions, "x-originalParamName")
			}
			mutating := idempotent(method, path)
			if mutating {
				op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/" + paramIdempotencyKey})
			}
			if rule.accepted {
				acceptInstead(op)
			}
			for _, code := range sortedKeys(op.Responses.Map()) {
				if r := op.Responses.Value(code).Value; r != nil && strings.HasPrefix(code, "2") {
					addSuccessHeaders(r, true, mutating)
				}
			}
			op.Responses.Set("default", responseRef(respProblem))
			op.Responses.Set("401", responseRef(respUnauthenticated))
			op.Responses.Set("403", responseRef(respForbidden))
			if rule.notFound {
				op.Responses.Set("404", responseRef(respNotFound))
			}
			if mutating {
				op.Responses.Set("409", responseRef(respConflict))
				op.Responses.Set("422", responseRef(respUnprocessable))
			}
			op.Responses.Set("429", responseRef(respTooManyRequests))
		}
	}
	return nil
}

// acceptInstead documents a background job's trigger: 202 Accepted, not 200, with the job's
// resource in Location (RFC 9110 §15.3.3: the request was accepted, processing is not done).
func acceptInstead(op *openapi3.Operation) {
	ok := op.Responses.Value("200")
	if ok == nil || ok.Value == nil {
		return
	}
	op.Responses.Delete("200")
	r := *ok.Value
	desc := "Accepted: the job is recorded and runs in the background; poll the resource in Location for its state."
	r.Description = &desc
	r.Headers = openapi3.Headers{headerLocation: headerRef(headerLocation)}
	op.Responses.Set("202", &openapi3.ResponseRef{Value: &r})
}

// addSuccessHeaders documents the headers a successful response carries: the rate-limit state
// on limited routes, and the replay marker on idempotent ones.
func addSuccessHeaders(r *openapi3.Response, limited, replayable bool) {
	if r.Headers == nil {
		r.Headers = openapi3.Headers{}
	}
	if limited {
		r.Headers[headerRateLimitPol] = headerRef(headerRateLimitPol)
		r.Headers[headerRateLimit] = headerRef(headerRateLimit)
	}
	if replayable {
		r.Headers[headerReplayed] = headerRef(headerReplayed)
	}
}
