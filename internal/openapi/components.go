package openapi

import (
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/idempotency"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
)

// Security scheme names.
const (
	SchemeStorefront    = "storefront"
	SchemeSupport       = "support"
	SchemePartner       = "partner"
	SchemePartnerClient = "partnerClient"
)

// TokenURL is where partners get access tokens (gateway/identity.go).
const TokenURL = "/oauth/token"

// Tag names, one per audience and one per group of hand-written routes.
const (
	TagStorefront = "Storefront"
	TagSupport    = "Customer service"
	TagPartner    = "Partner"
	TagIdentity   = "Identity"
	TagOperations = "Operations"
	TagWebhooks   = "Webhooks"
)

// Shared component names.
const (
	schemaProblem        = "Problem"
	paramIdempotencyKey  = "IdempotencyKey"
	respProblem          = "Problem"
	respUnauthenticated  = "Unauthenticated"
	respForbidden        = "Forbidden"
	respNotFound         = "NotFound"
	respConflict         = "Conflict"
	respUnprocessable    = "Unprocessable"
	respTooManyRequests  = "TooManyRequests"
	headerRateLimitPol   = "RateLimit-Policy"
	headerRateLimit      = "RateLimit"
	headerRetryAfter     = "Retry-After"
	headerWWWAuth        = "WWW-Authenticate"
	headerReplayed       = idempotency.HeaderReplayed
	headerLocation       = "Location"
	problemMediaType     = errs.ProblemContentType
	jsonMediaType        = "application/json"
	successDescription   = "A successful response."
	partnerScopeOrders   = tenancy.ScopeOrdersRead
	partnerScopeReturns  = tenancy.ScopeReturnsRead
	partnerScopeWrite    = tenancy.ScopeReturnsWrite
	partnerScopeStock    = tenancy.ScopeInventoryRead
	supportScopeRead     = "support:read"     // gateway.ScopeSupportRead: every support read
	supportScopeWrite    = "support:write"    // services/process/returns.ScopeSupportWrite
	supportScopeOverride = "refunds:override" // services/process/returns.ScopeRefundOverride
	supportScopeOperator = "operator"         // gateway/routes.go: the /v1/operations group
)

func info() *openapi3.Info {
	return &openapi3.Info{
		Title:   "Retailbridge API",
		Version: "v1",
		Description: "Retailbridge runs order-to-cash and return-to-refund across the storefront, payments, " +
			"the ERP, warehouses and the returns platform, and offers one API to three audiences, each with " +
			"its own routes and tokens: the **storefront** (`/v1/storefront/…`, a customer's bearer token; " +
			"every read and write is the customer's own), **customer service** (`/v1/support/…`, an agent's " +
			"bearer token whose scopes allow actions beyond reading) and **partners** (`/v1/partner/…`, " +
			"OAuth 2.0 client-credentials tokens from `/oauth/token`, one tenant per client, with scopes).\n\n" +
			"Errors are RFC 9457 problem details (`application/problem+json`) with a stable `type` " +
			"(`" + errs.ProblemTypePrefix + "<reason>`), a machine-readable `reason` and a `retryable` flag; " +
			"only the token endpoint answers in the RFC 6749 §5.2 form OAuth clients expect. " +
			"Mutating requests (every POST under `/v1/` except eligibility checks) need an `Idempotency-Key` " +
			"header: a retry with the same key and body gets the stored response, marked " +
			"`Idempotent-Replayed: true`, instead of a second execution. " +
			"Rate limits apply per caller and route class; limited routes send `RateLimit-Policy` and " +
			"`RateLimit` (IETF draft), and a refusal is a 429 with `Retry-After`.\n\n" +
			"JSON uses proto field names; 64-bit integers (money in minor units) are strings.",
	}
}

func tags() openapi3.Tags {
	return openapi3.Tags{
		{Name: TagStorefront, Description: "A customer's own orders and returns, for the storefront and apps. " +
			"Customer bearer tokens; every request is scoped to the token's customer, and anyone else's " +
			"order or return answers as unknown. Per-customer rate limits; CORS for the configured storefront origins."},
		{Name: TagSupport, Description: "Customer-service agents acting on any customer's orders and returns. " +
			"Support bearer tokens; reading needs `" + supportScopeRead + "`, actions need `" + supportScopeWrite + "` (create, cancel, " +
			"resolve) or `" + supportScopeOverride + "` (change a refund). Every mutating request is audited."},
		{Name: TagPartner, Description: "Marketplaces, 3PLs and other partners. OAuth 2.0 client-credentials tokens " +
			"(`" + TokenURL + "`), one tenant per client: a partner reaches the orders of its tenant's sales channels and " +
			"the stock of its locations, within its token's scopes. Per-client rate limits; mutating requests are audited."},
		{Name: TagIdentity, Description: "Tokens, the keys that verify them, and what a token grants its holder."},
		{Name: TagOperations, Description: "Health, readiness, and the audit log of privileged actions."},
		{Name: TagWebhooks, Description: "The front door for vendor deliveries, verified by each vendor's signature over the raw body."},
	}
}

// addComponents declares the security schemes and the shared error responses, headers and
// parameters. It refuses to overwrite a component the contracts already define.
func addComponents(doc *openapi3.T) error {
	c := doc.Components
	if c == nil {
		c = &openapi3.Components{}
		doc.Components = c
	}
	c.SecuritySchemes = openapi3.SecuritySchemes{
		SchemeStorefront: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A customer's access token (JWT) from an accepted identity provider, or from Retailbridge " +
				"itself in development. Its subject is the customer, whose orders and returns are the only ones it reaches."}},
		SchemeSupport: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "A customer-service agent's access token (JWT). Its scopes are roles: `" + supportScopeRead + "` to read, `" + supportScopeWrite +
				"` to create, cancel and resolve returns, `" + supportScopeOverride + "` to change a refund, `" +
				supportScopeOperator + "` for the operations routes. The security requirements list the role an operation needs."}},
		SchemePartner: {Value: &openapi3.SecurityScheme{Type: "oauth2",
			Description: "OAuth 2.0 client credentials (RFC 6749 §4.4): a partner client exchanges its id and secret at `" +
				TokenURL + "` for a short-lived access token (JWT, RFC 9068) bound to its tenant. Ask for fewer scopes " +
				"than the client holds with `scope`; without it the token carries every scope the client holds.",
			Flows: &openapi3.OAuthFlows{ClientCredentials: &openapi3.OAuthFlow{TokenURL: TokenURL, Scopes: map[string]string{
				partnerScopeOrders:  "Read order status.",
				partnerScopeReturns: "Read return status and lists, and check eligibility.",
				partnerScopeWrite:   "Start and cancel returns; implies " + partnerScopeReturns + ".",
				partnerScopeStock:   "Read available-to-sell and inventory positions.",
			}}}}},
		SchemePartnerClient: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "basic",
			Description: "A partner client's id and secret at the token endpoint (client_secret_basic): each " +
				"form-urlencoded, then joined by a colon (RFC 6749 §2.3.1). The alternative is client_id and " +
				"client_secret in the form (client_secret_post), never both."}},
	}

	schemas := map[string]*openapi3.SchemaRef{schemaProblem: problemSchema()}
	for name, s := range gatewaySchemas() {
		schemas[name] = s
	}
	if c.Schemas == nil {
		c.Schemas = openapi3.Schemas{}
	}
	for _, name := range sortedKeys(schemas) {
		if _, ok := c.Schemas[name]; ok {
			return fmt.Errorf("openapi: schema %s is both generated from the contracts and added here", name)
		}
		c.Schemas[name] = schemas[name]
	}

	c.Headers = openapi3.Headers{
		headerRateLimitPol: header("The caller's limit for this route class (IETF draft-ietf-httpapi-ratelimit-headers): "+
			"`\"<audience>-<class>\";q=<burst>;w=<window seconds>`, e.g. `\"partner-bulk_read\";q=10;w=2`.", stringSchema()),
		headerRateLimit: header("What is left of that limit: `\"<policy>\";r=<remaining>;t=<seconds until the quota is full again>`.",
			stringSchema()),
		headerRetryAfter: header("Seconds to wait before retrying.", integerSchema(1)),
		headerLocation:   header("The started job's resource, relative to this API (e.g. `/v1/support/settlement/runs/{run_id}`).", stringSchema()),
		headerReplayed: header("`true` when the response is the stored response of an earlier request with the same Idempotency-Key.",
			&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Enum: []any{"true"}}),
		headerWWWAuth: header("The bearer challenge (RFC 6750), e.g. `Bearer realm=\"retailbridge\", error=\"invalid_token\"` "+
			"or, for a missing scope, `error=\"insufficient_scope\", scope=\"…\"`.", stringSchema()),
	}

	key := openapi3.NewHeaderParameter(idempotency.HeaderKey)
	key.Required = true
	key.Schema = (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, MinLength: 1,
		MaxLength: ptr(uint64(idempotency.MaxKeyLength))}).NewRef()
	key.Description = "A key unique to this request, such as a UUID: 1–255 characters, a Structured Fields string " +
		"(`\"abc\"`) or a bare token (`abc`), sent once. A retry with the same key and the same body does not execute " +
		"again: it gets the stored response with `Idempotent-Replayed: true` (for 24 hours by default). While the first " +
		"request is still running a retry gets 409 `idempotency_request_in_flight` with `Retry-After`; the same key with " +
		"another body gets 422 `idempotency_key_reused`. Responses that mean the request did not take effect (other 4xx, " +
		"5xx) are not kept, so a corrected retry with the same key executes. Keys are scoped to the caller and the route."
	c.Parameters = openapi3.ParametersMap{paramIdempotencyKey: {Value: key}}

	rateHeaders := openapi3.Headers{
		headerRetryAfter:   headerRef(headerRetryAfter),
		headerRateLimitPol: headerRef(headerRateLimitPol),
		headerRateLimit:    headerRef(headerRateLimit),
	}
	c.Responses = openapi3.ResponseBodies{
		respProblem: problemResponse("An error, as RFC 9457 problem details: 400 invalid request (with `errors` per field), "+
			"413 body too large, 415 not JSON, 5xx upstream trouble (`retryable` says whether to try again).", nil),
		respUnauthenticated: problemResponse("No bearer token, or one that is expired, malformed or not signed by an accepted issuer.",
			openapi3.Headers{headerWWWAuth: headerRef(headerWWWAuth)}),
		respForbidden: problemResponse("The token is for another audience (`wrong_audience`), or lacks a scope this operation "+
			"needs (`insufficient_scope`, on every audience; the `WWW-Authenticate` challenge names it too).", openapi3.Headers{headerWWWAuth: headerRef(headerWWWAuth)}),
		respNotFound: problemResponse("No such resource visible to the caller: unknown, or someone else's (the answer is the same).", nil),
		respConflict: problemResponse("A request with this Idempotency-Key is still running (`idempotency_request_in_flight`, "+
			"retry after `Retry-After`), or ran but its response was too large to keep (`idempotency_response_not_stored`).",
			openapi3.Headers{headerRetryAfter: headerRef(headerRetryAfter)}),
		respUnprocessable: problemResponse("The Idempotency-Key was used with another body (`idempotency_key_reused`), or the "+
			"action is not possible in the resource's current state.", nil),
		respTooManyRequests: problemResponse("The caller's rate limit for this route class is exhausted (`rate_limited`).", rateHeaders),
	}
	return nil
}

// problemSchema is errs.Problem.
func problemSchema() *openapi3.SchemaRef {
	violation := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Required: []string{"field", "description"},
		Properties: openapi3.Schemas{
			"field":       stringRef("The request field, in proto field names."),
			"description": stringRef("What is wrong with it."),
		}}
	typ := stringSchema()
	typ.Format = "uri"
	typ.Description = "A stable URI per reason: `" + errs.ProblemTypePrefix + "<reason>`."
	status := integerSchema(100)
	status.Max = ptr(float64(599))
	status.Description = "The HTTP status code."
	errors := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Items: violation.NewRef(),
		Description: "Per-field violations of an invalid request."}
	return (&openapi3.Schema{
		Type:        &openapi3.Types{openapi3.TypeObject},
		Description: "RFC 9457 problem details with Retailbridge's extension members. Internal errors say nothing about their cause.",
		Required:    []string{"type", "title", "status", "reason", "retryable"},
		Properties: openapi3.Schemas{
			"type":       typ.NewRef(),
			"title":      stringRef("A short summary of the kind of problem."),
			"status":     status.NewRef(),
			"detail":     stringRef("What went wrong with this request, for people."),
			"instance":   stringRef("The request path."),
			"reason":     stringRef("The stable, machine-readable reason, e.g. `rate_limited` or `return_not_found`."),
			"request_id": stringRef("The request id (also in the X-Request-Id header); quote it when asking for help."),
			"retryable":  (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean}, Description: "Whether the same request may succeed later."}).NewRef(),
			"errors":     errors.NewRef(),
		},
	}).NewRef()
}

func problemResponse(desc string, headers openapi3.Headers) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: &desc,
		Headers:     headers,
		Content:     openapi3.Content{problemMediaType: {Schema: schemaRef(schemaProblem)}},
	}}
}

func header(desc string, s *openapi3.Schema) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Description: desc, Schema: s.NewRef()}}}
}

func headerRef(name string) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Ref: "#/components/headers/" + name}
}

func responseRef(name string) *openapi3.ResponseRef {
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + name}
}

func schemaRef(name string) *openapi3.SchemaRef {
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + name}
}

func stringSchema() *openapi3.Schema {
	return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}
}

func stringRef(desc string) *openapi3.SchemaRef {
	s := stringSchema()
	s.Description = desc
	return s.NewRef()
}

func integerSchema(minimum float64) *openapi3.Schema {
	return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Min: &minimum}
}

func ptr[T any](v T) *T { return &v }
