package openapi

import (
	"fmt"
	"maps"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/retailbridge/retailbridge/services/system"
)

// The routes below are served by the gateway itself (gateway/routes.go, identity.go, audit.go,
// health.go, webhook.go) rather than by the process APIs through grpc-gateway, so no contract
// describes them. Keep each one as its handler behaves: a parameter or status named here is one
// the handler reads or answers.

// Schema names of the hand-written routes' bodies.
const (
	schemaTokenRequest   = "TokenRequest"
	schemaAccessToken    = "AccessToken"
	schemaOAuthError     = "OAuthError"
	schemaJWKSet         = "JSONWebKeySet"
	schemaWhoAmI         = "WhoAmI"
	schemaAuditLog       = "AuditLog"
	schemaAuditReport    = "AuditReport"
	schemaHealth         = "Health"
	schemaReadiness      = "Readiness"
	schemaWebhookReceipt = "WebhookReceipt"
)

// webhookVendors are the vendors that send webhooks, from the system kinds' registries.
func webhookVendors() []any {
	var out []any
	for _, v := range system.WebhookVendorNames() {
		out = append(out, v)
	}
	return out
}

func gatewaySchemas() map[string]*openapi3.SchemaRef {
	obj := func(desc string, required []string, props openapi3.Schemas) *openapi3.SchemaRef {
		return (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Description: desc, Required: required, Properties: props}).NewRef()
	}
	arrayOf := func(desc string, items *openapi3.SchemaRef) *openapi3.SchemaRef {
		return (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Description: desc, Items: items}).NewRef()
	}
	enum := func(desc string, values ...any) *openapi3.SchemaRef {
		s := stringSchema()
		s.Description, s.Enum = desc, values
		return s.NewRef()
	}
	integer := func(desc string) *openapi3.SchemaRef {
		s := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Description: desc}
		return s.NewRef()
	}
	jwk := obj("A public key (RFC 7517). Ed25519 keys (`kty` OKP, `crv` Ed25519) sign Retailbridge's own tokens.",
		[]string{"kty"}, openapi3.Schemas{
			"kty": stringRef("Key type."),
			"kid": stringRef("Key id; tokens name it in their `kid` header."),
			"use": stringRef("`sig`."),
			"alg": stringRef("The algorithm the key is used with, e.g. `EdDSA`."),
			"crv": stringRef("Curve (OKP and EC keys)."),
			"x":   stringRef("Public key (OKP) or x coordinate (EC), base64url."),
			"y":   stringRef("y coordinate (EC), base64url."),
			"n":   stringRef("Modulus (RSA), base64url."),
			"e":   stringRef("Exponent (RSA), base64url."),
		})
	schemas := map[string]*openapi3.SchemaRef{
		schemaTokenRequest: obj("A client-credentials token request (RFC 6749 §4.4). Each parameter at most once; "+
			"nothing in the URL.", []string{"grant_type"}, openapi3.Schemas{
			"grant_type":    enum("Only `client_credentials`.", "client_credentials"),
			"scope":         stringRef("Space-separated scopes to ask for, a subset of the client's; empty for all of them."),
			"client_id":     stringRef("The client id (client_secret_post). With Basic authentication it may be repeated here and must match."),
			"client_secret": stringRef("The client secret (client_secret_post); not with Basic authentication."),
		}),
		schemaAccessToken: obj("A token response (RFC 6749 §5.1).", []string{"access_token", "token_type", "expires_in", "scope"},
			openapi3.Schemas{
				"access_token": stringRef("The access token, a JWT (RFC 9068, `typ` at+jwt) bound to the client's tenant."),
				"token_type":   enum("Always `Bearer`.", "Bearer"),
				"expires_in":   integer("Lifetime in seconds (15 minutes by default)."),
				"scope":        stringRef("The granted scopes, space-separated."),
			}),
		schemaOAuthError: obj("An RFC 6749 §5.2 error.", []string{"error"}, openapi3.Schemas{
			"error": enum("The error code.", "invalid_request", "invalid_client", "invalid_grant", "invalid_scope",
				"unsupported_grant_type", "temporarily_unavailable", "server_error"),
			"error_description": stringRef("What went wrong, for people."),
		}),
		schemaJWKSet: obj("A JSON Web Key Set (RFC 7517), newest key first.", []string{"keys"}, openapi3.Schemas{
			"keys": arrayOf("Every key that verifies Retailbridge's tokens.", jwk),
		}),
		schemaWhoAmI: obj("What the caller's token grants.", []string{"audience", "subject", "scopes"}, openapi3.Schemas{
			"audience": enum("The token's audience.", "storefront", "support", "partner"),
			"subject":  stringRef("The customer, agent or partner client."),
			"tenant":   stringRef("The partner's tenant (partner tokens only)."),
			"scopes":   arrayOf("The granted scopes.", stringSchema().NewRef()),
		}),
		schemaHealth: obj("The process is up.", []string{"status"}, openapi3.Schemas{
			"status": enum("Always `ok`.", "ok"),
		}),
		schemaReadiness: obj("Every dependency answered.", []string{"status", "checks"}, openapi3.Schemas{
			"status": enum("Always `ready`.", "ready"),
			"checks": (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject},
				Description:          "Each dependency (`orders`, `returns`, `redis`) and its state.",
				AdditionalProperties: openapi3.AdditionalProperties{Schema: enum("", "ok")}}).NewRef(),
		}),
		schemaWebhookReceipt: obj("The delivery was verified and handled.", []string{"delivery_id", "event_ids", "ignored"}, openapi3.Schemas{
			"delivery_id": stringRef("The vendor's delivery id; repeated deliveries of it have one effect."),
			"event_ids":   arrayOf("The canonical events published for it (none when ignored).", stringSchema().NewRef()),
			"ignored":     (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean}, Description: "True for a topic Retailbridge does not act on."}).NewRef(),
		}),
	}
	maps.Copy(schemas, auditSchemas())
	return schemas
}

// auditSchemas are the bodies of the audit log routes (gateway/audit.go).
func auditSchemas() map[string]*openapi3.SchemaRef {
	obj := func(desc string, required []string, props openapi3.Schemas) *openapi3.SchemaRef {
		return (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Description: desc, Required: required, Properties: props}).NewRef()
	}
	arrayOf := func(desc string, items *openapi3.SchemaRef) *openapi3.SchemaRef {
		return (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeArray}, Description: desc, Items: items}).NewRef()
	}
	integer := func(desc string) *openapi3.SchemaRef {
		return (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Description: desc}).NewRef()
	}
	auditEntry := obj("One privileged action, a link of the hash chain.", []string{"id", "at", "actor", "action", "outcome", "origin", "correlation_id", "prev_hash", "hash"},
		openapi3.Schemas{
			"id":             stringRef("Entry id, its position in the chain (decimal); pass it as `before` to read older entries."),
			"at":             (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Format: "date-time", Description: "When it happened (UTC)."}).NewRef(),
			"actor":          stringRef("`<audience>:<subject>`, e.g. `support:agent-7` or `partner:<client id>`."),
			"tenant":         stringRef("The partner's tenant, for partner actions."),
			"action":         stringRef("`<method> <path>` of the request."),
			"outcome":        integer("The HTTP status it was answered with."),
			"origin":         stringRef("The client IP address."),
			"correlation_id": stringRef("The request id, which follows the action through every service."),
			"prev_hash":      stringRef("The previous entry's hash (64 zeros for the first entry), hex."),
			"hash":           stringRef("SHA-256 over prev_hash and the entry's canonical form, hex."),
		})
	return map[string]*openapi3.SchemaRef{
		schemaAuditLog: obj("Privileged actions, newest first.", []string{"entries"}, openapi3.Schemas{
			"entries": arrayOf("At most `limit` entries.", auditEntry),
		}),
		schemaAuditReport: obj("The result of walking the audit log's hash chain.", []string{"entries", "head", "intact"}, openapi3.Schemas{
			"entries": integer("Entries whose links hold, from the first."),
			"head":    stringRef("The hash of the last entry that holds; record it elsewhere to detect a truncated tail later."),
			"intact":  (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean}, Description: "True when every link holds."}).NewRef(),
			"broken": obj("The first link that does not hold (absent when intact).", []string{"seq", "reason"}, openapi3.Schemas{
				"seq":    integer("The entry's id."),
				"reason": stringRef("What does not hold: entries missing, prev_hash not the previous hash, or content altered."),
			}),
		}),
	}
}

// addGatewayRoutes adds the hand-written routes.
func addGatewayRoutes(doc *openapi3.T) error {
	none := &openapi3.SecurityRequirements{}
	bearer := func(scheme string, scopes ...string) *openapi3.SecurityRequirements {
		return &openapi3.SecurityRequirements{openapi3.NewSecurityRequirement().Authenticate(scheme, scopes...)}
	}
	jsonOK := func(desc, schema string) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc,
			Content: openapi3.Content{jsonMediaType: {Schema: schemaRef(schema)}}}}
	}
	oauthError := func(desc string, headers openapi3.Headers) *openapi3.ResponseRef {
		return &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc, Headers: headers,
			Content: openapi3.Content{jsonMediaType: {Schema: schemaRef(schemaOAuthError)}}}}
	}
	noStore := openapi3.Headers{"Cache-Control": header("`no-store`.", stringSchema())}

	var routes []route

	// Identity (gateway/identity.go). The token endpoint and the keys exist only when
	// Retailbridge issues tokens itself; with external issuers only the who-am-I routes do.
	token := &openapi3.Operation{
		OperationID: "identity.Token",
		Summary:     "Token issues a partner access token for the client-credentials grant.",
		Description: "OAuth 2.0 token endpoint (RFC 6749 §4.4), served when Retailbridge issues tokens itself. The client " +
			"authenticates with HTTP Basic (client_secret_basic) or with `client_id` and `client_secret` in the form " +
			"(client_secret_post), not both. Errors use the RFC 6749 §5.2 form, not problem details; only routing errors " +
			"around the endpoint are problem documents.",
		Security: &openapi3.SecurityRequirements{
			openapi3.NewSecurityRequirement().Authenticate(SchemePartnerClient),
			openapi3.NewSecurityRequirement(), // client_secret_post: the credentials are in the form
		},
		RequestBody: &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true,
			Description: "At most 4 KiB.",
			Content:     openapi3.Content{"application/x-www-form-urlencoded": {Schema: schemaRef(schemaTokenRequest)}}}},
		Responses: openapi3.NewResponses(),
	}
	token.Responses.Set("200", withHeaders(jsonOK("The access token.", schemaAccessToken), noStore))
	token.Responses.Set("400", oauthError("`invalid_request` (not a form, a parameter twice or in the URL, two authentication "+
		"methods), `invalid_grant` (the client's credentials were revoked), `invalid_scope` (a scope the client does not hold) "+
		"or `unsupported_grant_type`.", noStore))
	token.Responses.Set("401", oauthError("`invalid_client`: missing, malformed or wrong client credentials.", openapi3.Headers{
		headerWWWAuth:   header("`Basic realm=\"retailbridge\", charset=\"UTF-8\"`.", stringSchema()),
		"Cache-Control": header("`no-store`.", stringSchema()),
	}))
	token.Responses.Set("500", oauthError("`server_error`: the token could not be issued.", noStore))
	token.Responses.Set("503", oauthError("`temporarily_unavailable`: the token cannot be issued now; try again later.", noStore))
	routes = append(routes, route{http.MethodPost, TokenURL, TagIdentity, token})

	jwks := &openapi3.Operation{
		OperationID: "identity.Keys",
		Summary:     "Keys publishes every public key that verifies Retailbridge's tokens (RFC 7517).",
		Description: "Served when Retailbridge issues tokens itself. Cache for at most a minute; refetch when a token names an unknown `kid`.",
		Security:    none,
		Responses:   openapi3.NewResponses(),
	}
	desc := "The key set."
	jwks.Responses.Set("200", &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc,
		Headers: openapi3.Headers{"Cache-Control": header("`public, max-age=60`.", stringSchema())},
		Content: openapi3.Content{"application/jwk-set+json": {Schema: schemaRef(schemaJWKSet)}}}})
	routes = append(routes, route{http.MethodGet, "/.well-known/jwks.json", TagIdentity, jwks})

	for _, a := range audiences {
		who := &openapi3.Operation{
			OperationID: "identity.WhoAmI" + a.title(),
			Summary:     "WhoAmI shows what a " + a.name + " token grants: audience, subject, tenant and scopes.",
			Security:    bearer(a.scheme),
			Responses:   openapi3.NewResponses(),
		}
		who.Responses.Set("200", jsonOK("The token's grant.", schemaWhoAmI))
		who.Responses.Set("401", responseRef(respUnauthenticated))
		who.Responses.Set("403", responseRef(respForbidden))
		routes = append(routes, route{http.MethodGet, "/v1/identity/" + a.name, TagIdentity, who})
	}

	// Operations (gateway/health.go, audit.go).
	healthz := &openapi3.Operation{
		OperationID: "operations.Healthz",
		Summary:     "Healthz answers while the gateway process runs (liveness).",
		Security:    none,
		Responses:   openapi3.NewResponses(),
	}
	healthz.Responses.Set("200", jsonOK("Alive.", schemaHealth))
	routes = append(routes, route{http.MethodGet, "/healthz", TagOperations, healthz})

	readyz := &openapi3.Operation{
		OperationID: "operations.Readyz",
		Summary:     "Readyz answers ready only when the orders and returns services answer SERVING and Redis answers PING.",
		Security:    none,
		Responses:   openapi3.NewResponses(),
	}
	readyz.Responses.Set("200", jsonOK("Ready.", schemaReadiness))
	notReady := problemResponse("Not ready (`not_ready`); `detail` names the dependencies that failed.",
		openapi3.Headers{headerRetryAfter: headerRef(headerRetryAfter)})
	readyz.Responses.Set("503", notReady)
	routes = append(routes, route{http.MethodGet, "/readyz", TagOperations, readyz})

	routes = append(routes, auditRoutes(bearer, jsonOK)...)

	// Webhooks (gateway/webhook.go).
	vendor := openapi3.NewPathParameter("vendor")
	vendor.Description = "The vendor whose delivery this is."
	vendor.Schema = (&openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Enum: webhookVendors()}).NewRef()
	webhook := &openapi3.Operation{
		OperationID: "webhooks.Deliver",
		Summary:     "Deliver accepts a vendor's webhook delivery.",
		Description: "No bearer token: the vendor signs the raw body (for example `X-Shopify-Hmac-Sha256`, `X-Loop-Signature`, " +
			"`X-Warehouse-Signature`), and the system API for the vendor verifies that signature in constant time before " +
			"anything happens. The body and headers are forwarded untouched (except `Authorization` and `Cookie`). Events " +
			"are published with ids derived from the vendor's delivery id, so a delivery repeated, late or concurrent has one " +
			"effect; no Idempotency-Key is needed.",
		Security:   none,
		Parameters: openapi3.Parameters{{Value: vendor}},
		RequestBody: &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true,
			Description: "The vendor's payload, byte for byte; at most 1 MiB.",
			Content:     openapi3.Content{"*/*": {Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{}}}}}},
		Responses: openapi3.NewResponses(),
	}
	webhook.Responses.Set("200", jsonOK("Verified and handled, or ignored.", schemaWebhookReceipt))
	webhook.Responses.Set("401", problemResponse("The signature is missing or does not match the body (`webhook_signature_invalid`); "+
		"nothing changed.", nil))
	webhook.Responses.Set("404", responseRef(respNotFound))
	webhook.Responses.Set("413", problemResponse("The body exceeds 1 MiB (`body_too_large`).", nil))
	routes = append(routes, route{http.MethodPost, "/webhooks/{vendor}", TagWebhooks, webhook})

	for _, r := range routes {
		if doc.Paths.Value(r.path) != nil {
			return fmt.Errorf("openapi: %s is both generated from the contracts and served by hand", r.path)
		}
		r.op.Tags = []string{r.tag}
		r.op.Responses.Set("default", responseRef(respProblem))
		doc.AddOperation(r.path, r.method, r.op)
	}
	return nil
}

// auditRoutes documents the audit log routes (gateway/audit.go).
func auditRoutes(bearer func(string, ...string) *openapi3.SecurityRequirements, jsonOK func(desc, schema string) *openapi3.ResponseRef) []route {
	limit := openapi3.NewQueryParameter("limit")
	limit.Description = "Entries to return, 1..1000 (default 100); out of range answers 400 `page_size_out_of_range`."
	limitSchema := integerSchema(1)
	limitSchema.Max, limitSchema.Default = ptr(float64(1000)), 100
	limit.Schema = limitSchema.NewRef()
	before := openapi3.NewQueryParameter("before")
	before.Description = "Return only entries older than this entry id (the `id` of the last entry of the previous page)."
	before.Schema = stringSchema().NewRef()
	params := openapi3.Parameters{{Value: limit}, {Value: before}}
	for _, q := range []struct{ name, desc, format string }{
		{"actor", "Only this actor, e.g. `support:agent-7`.", ""},
		{"tenant", "Only this partner tenant.", ""},
		{"action", "Only this action, e.g. `POST /v1/support/returns/ret_…:cancel`.", ""},
		{"since", "Only actions at or after this time (RFC 3339).", "date-time"},
		{"until", "Only actions before this time (RFC 3339).", "date-time"},
	} {
		p := openapi3.NewQueryParameter(q.name)
		p.Description = q.desc
		sch := stringSchema()
		sch.Format = q.format
		p.Schema = sch.NewRef()
		params = append(params, &openapi3.ParameterRef{Value: p})
	}
	audit := &openapi3.Operation{
		OperationID: "operations.ListAuditEntries",
		Summary:     "ListAuditEntries lists privileged actions, newest first.",
		Description: "Every mutating request of a support agent or a partner (eligibility checks aside) is recorded after it " +
			"ran, whatever its outcome, in the durable SQL store: append-only and hash-chained. Filters combine; bad ones " +
			"answer 400 `invalid_query` naming each. Needs a support token with the `" + supportScopeOperator + "` scope.",
		Security:   bearer(SchemeSupport, supportScopeOperator),
		Parameters: params,
		Responses:  openapi3.NewResponses(),
	}
	ok := jsonOK("The entries.", schemaAuditLog)
	addSuccessHeaders(ok.Value, true, false)
	audit.Responses.Set("200", ok)
	audit.Responses.Set("400", problemResponse("A filter is invalid (`invalid_query`); `errors` names each.", nil))
	audit.Responses.Set("401", responseRef(respUnauthenticated))
	audit.Responses.Set("403", responseRef(respForbidden))
	audit.Responses.Set("429", responseRef(respTooManyRequests))
	audit.Responses.Set("503", problemResponse("The audit log cannot be read now (`audit_unavailable`).", nil))
	listRoute := route{http.MethodGet, "/v1/operations/audit", TagOperations, audit}

	verify := &openapi3.Operation{
		OperationID: "operations.VerifyAuditLog",
		Summary:     "VerifyAuditLog walks the audit log's hash chain and names the first broken link.",
		Description: "A row altered, removed or inserted behind the application's back breaks the chain. Needs a support " +
			"token with the `" + supportScopeOperator + "` scope.",
		Security:  bearer(SchemeSupport, supportScopeOperator),
		Responses: openapi3.NewResponses(),
	}
	vok := jsonOK("The report (also when the chain is broken).", schemaAuditReport)
	addSuccessHeaders(vok.Value, true, false)
	verify.Responses.Set("200", vok)
	verify.Responses.Set("401", responseRef(respUnauthenticated))
	verify.Responses.Set("403", responseRef(respForbidden))
	verify.Responses.Set("429", responseRef(respTooManyRequests))
	verify.Responses.Set("503", problemResponse("The audit log cannot be read now (`audit_unavailable`).", nil))
	return []route{listRoute, {http.MethodGet, "/v1/operations/audit/verify", TagOperations, verify}}
}

type route struct {
	method, path, tag string
	op                *openapi3.Operation
}

func withHeaders(r *openapi3.ResponseRef, h openapi3.Headers) *openapi3.ResponseRef {
	r.Value.Headers = h
	return r
}

// title is the audience name as an operation id suffix: WhoAmIStorefront, WhoAmISupport.
func (a audience) title() string {
	return string(a.name[0]-'a'+'A') + a.name[1:]
}
