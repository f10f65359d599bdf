package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// tokenRequestLimit bounds a token request body; a client-credentials form is a few hundred bytes.
const tokenRequestLimit = 4 << 10

// jwksMaxAge is how long clients may cache the published keys. Short, so a retired key drops
// out of verifiers' caches soon; a rotated-in key is found sooner still, because verifiers
// refetch on an unknown kid.
const jwksMaxAge = "public, max-age=60"

// identityRoutes mounts the identity endpoints: the OAuth 2.0 token endpoint for partners, the
// published JWKS, and per-audience "who am I" endpoints that show a caller what its token
// grants. The token endpoint and JWKS exist only when Retailbridge issues tokens itself.
func (g *Gateway) identityRoutes(r *gin.Engine) {
	for _, aud := range []auth.Audience{auth.Storefront, auth.Support, auth.Partner} {
		r.GET("/v1/identity/"+string(aud), g.timeout(), g.authenticate(aud), g.whoami)
	}
	a := g.deps.Verifier.Authority()
	if a == nil || a.Tokens == nil {
		return
	}
	r.GET("/.well-known/jwks.json", g.jwks(a.Keyring))
	r.POST("/oauth/token", g.timeout(), g.oauthToken(a.Tokens))
}

// whoamiResponse is what /v1/identity/{audience} answers.
type whoamiResponse struct {
	Audience auth.Audience `json:"audience"`
	Subject  string        `json:"subject"`
	Tenant   string        `json:"tenant,omitempty"`
	Scopes   []string      `json:"scopes"`
}

func (g *Gateway) whoami(c *gin.Context) {
	p, _ := auth.FromContext(c.Request.Context())
	scopes := p.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	c.JSON(http.StatusOK, whoamiResponse{Audience: p.Audience, Subject: p.Subject, Tenant: p.Tenant, Scopes: scopes})
}

// jwks publishes every key that verifies Retailbridge's tokens (RFC 7517), newest first.
func (g *Gateway) jwks(kr *auth.Keyring) gin.HandlerFunc {
	return func(c *gin.Context) {
		b, err := json.Marshal(kr.JWKS())
		if err != nil {
			g.problem(c, errs.ProblemFor(errs.Wrap(err, errs.Internal, "internal", "")))
			return
		}
		c.Header("Cache-Control", jwksMaxAge)
		c.Data(http.StatusOK, "application/jwk-set+json", b)
	}
}

// oauthToken is the OAuth 2.0 token endpoint for the client-credentials grant (RFC 6749 §4.4).
//
// It is the one endpoint whose errors are not problem+json: OAuth clients read the RFC 6749
// §5.2 form ({"error","error_description"}), so that is what it answers — 401 invalid_client
// with a WWW-Authenticate challenge, 400 for the rest. Routing errors around it (404, 405)
// stay problem+json.
func (g *Gateway) oauthToken(ts *auth.TokenService) gin.HandlerFunc {
	return func(c *gin.Context) {
		form, id, secret, oerr := readTokenRequest(c.Request)
		if oerr == nil {
			switch gt := form.Get("grant_type"); gt {
			case "":
				oerr = &auth.OAuthError{Status: http.StatusBadRequest, Code: auth.ErrInvalidRequest, Description: "grant_type is required"}
			case "client_credentials":
			default:
				oerr = &auth.OAuthError{Status: http.StatusBadRequest, Code: auth.ErrUnsupportedGrantType, Description: "only client_credentials is supported"}
			}
		}
		if oerr == nil && id == "" {
			oerr = &auth.OAuthError{Status: http.StatusUnauthorized, Code: auth.ErrInvalidClient, Description: "client authentication is required"}
		}
		if oerr != nil {
			g.oauthError(c, oerr)
			return
		}
		tok, err := ts.ClientCredentials(c.Request.Context(), id, secret, form.Get("scope"))
		if err != nil {
			var e *auth.OAuthError
			if !errors.As(err, &e) {
				e = &auth.OAuthError{Status: http.StatusInternalServerError, Code: "server_error"}
			}
			if cause := errors.Unwrap(e); cause != nil {
				g.deps.Logger.WarnContext(c.Request.Context(), "token request failed", "cause", cause.Error())
			}
			g.oauthError(c, e)
			return
		}
		c.Header("Cache-Control", "no-store")
		c.Header("Pragma", "no-cache")
		c.JSON(http.StatusOK, tok)
	}
}

// readTokenRequest parses the form and the client credentials: HTTP Basic (client_secret_basic,
// whose parts are form-urlencoded, RFC 6749 §2.3.1) or form fields (client_secret_post) — not
// both, no parameter twice, and no secret in the URL.
func readTokenRequest(r *http.Request) (url.Values, string, string, *auth.OAuthError) {
	bad := func(desc string) *auth.OAuthError {
		return &auth.OAuthError{Status: http.StatusBadRequest, Code: auth.ErrInvalidRequest, Description: desc}
	}
	if q := r.URL.Query(); q.Has("client_secret") || q.Has("client_id") || q.Has("grant_type") {
		return nil, "", "", bad("send parameters in the request body, never in the URL")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "", "", bad("send the request as application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, tokenRequestLimit+1))
	if err != nil || len(body) > tokenRequestLimit {
		return nil, "", "", bad("the request body is unreadable or too large")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, "", "", bad("the request body is not a valid form")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, "", "", bad("parameter " + k + " appears more than once")
		}
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if h := r.Header.Get("Authorization"); h != "" {
		if form.Has("client_secret") {
			return nil, "", "", bad("use one client authentication method, not two")
		}
		bid, bsecret, ok := parseBasic(h)
		if !ok {
			return nil, "", "", &auth.OAuthError{Status: http.StatusUnauthorized, Code: auth.ErrInvalidClient, Description: "malformed Basic credentials"}
		}
		if form.Has("client_id") && id != bid {
			return nil, "", "", bad("client_id does not match the authenticated client")
		}
		id, secret = bid, bsecret
	} else if form.Has("client_secret") && id == "" {
		return nil, "", "", bad("client_id is required with client_secret")
	}
	return form, id, secret, nil
}

func parseBasic(h string) (string, string, bool) {
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", false
	}
	return id, secret, true
}

// oauthError writes an RFC 6749 §5.2 error and aborts the chain.
func (g *Gateway) oauthError(c *gin.Context, e *auth.OAuthError) {
	if e.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="retailbridge", charset="UTF-8"`)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.AbortWithStatusJSON(e.Status, e)
}

// requireScopes refuses principals lacking any of scopes with 403 and an RFC 6750
// insufficient_scope challenge. It runs after authenticate.
func (g *Gateway) requireScopes(scopes ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if g.checkScopes(c, scopes) {
			c.Next()
		}
	}
}

// checkScopes answers 403 insufficient_scope and reports false when the caller lacks any of
// scopes.
func (g *Gateway) checkScopes(c *gin.Context, scopes []string) bool {
	p, ok := auth.FromContext(c.Request.Context())
	var missing []string
	for _, s := range scopes {
		if !ok || !slices.Contains(p.Scopes, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 {
		return true
	}
	c.Header("WWW-Authenticate", `Bearer realm="retailbridge", error="insufficient_scope", scope="`+strings.Join(scopes, " ")+`"`)
	g.problem(c, errs.ProblemFor(errs.E(errs.PermissionDenied, "insufficient_scope",
		"this route needs the scopes: "+strings.Join(missing, " "))))
	return false
}

// Customer-service scopes. Reads (eligibility included: it changes nothing) need support:read;
// acting on a return needs support:write; changing or settling a refund refunds:override; the
// operations views operator.
const (
	ScopeSupportRead     = "support:read"
	ScopeSupportWrite    = "support:write"
	ScopeRefundsOverride = "refunds:override"
	ScopeOperator        = "operator"
)

// scopedRoute is one route and the scopes a caller needs for it. Path segments in braces match
// one non-empty segment; "{id}:verb" matches a segment ending in ":verb" (the custom-method
// syntax of configs/http/gateway.yaml).
type scopedRoute struct {
	Method string
	Path   string
	Scopes []string
}

// SupportRoutes is every /v1/support route with its scopes. The support group serves nothing
// else: a route added to configs/http/gateway.yaml without a line here answers 404, and the
// tests that walk the HTTP rules fail, so no route is ever reachable without a scope.
var SupportRoutes = []scopedRoute{
	{http.MethodGet, "/v1/support/orders", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/orders/{order_id}", []string{ScopeSupportRead}},
	{http.MethodPost, "/v1/support/returns/eligibility", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/returns", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/returns/{return_id}", []string{ScopeSupportRead}},
	{http.MethodPost, "/v1/support/returns", []string{ScopeSupportWrite}},
	{http.MethodPost, "/v1/support/returns/{return_id}:cancel", []string{ScopeSupportWrite}},
	{http.MethodPost, "/v1/support/returns/{return_id}:resolve", []string{ScopeSupportWrite}},
	{http.MethodPost, "/v1/support/returns/{return_id}:override-refund", []string{ScopeRefundsOverride}},
	{http.MethodPost, "/v1/support/returns/{return_id}:resolve-refund", []string{ScopeRefundsOverride}},
	{http.MethodGet, "/v1/support/inventory/availability", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/inventory/positions", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/inventory/movements", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/inventory/drift", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/inventory/sku-mismatches", []string{ScopeSupportRead}},
	{http.MethodPost, "/v1/support/inventory/adjustments", []string{ScopeSupportWrite}},
	{http.MethodGet, "/v1/support/order-workflows/{order_id}", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/order-exceptions/{queue}", []string{ScopeSupportRead}},
	{http.MethodPost, "/v1/support/order-workflows/{order_id}:resolve", []string{ScopeSupportWrite}},
	{http.MethodPut, "/v1/support/tax-codes/{jurisdiction}/{category}", []string{ScopeSupportWrite}},
	{http.MethodGet, "/v1/support/settlement/payouts", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/settlement/mismatches", []string{ScopeSupportRead}},
	{http.MethodPost, "/v1/support/settlement:run", []string{ScopeSupportWrite}},
	{http.MethodGet, "/v1/support/settlement/runs/{run_id}", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/item-master", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/item-master/{sku}", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/product-feed/files", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/product-feed/files/{file_id}", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/product-feed/files/{file_id}/rejects", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/search/orders", []string{ScopeSupportRead}},
	{http.MethodGet, "/v1/support/search/returns", []string{ScopeSupportRead}},
}

// supportScopes admits a support request only to a route of SupportRoutes and only with the
// scopes that route needs: 404 for a route it does not list, 405 for another method of a listed
// path, 403 insufficient_scope without the scopes. It runs after authenticate.
func (g *Gateway) supportScopes() gin.HandlerFunc {
	return func(c *gin.Context) {
		rule, found, otherMethod := matchScopedRoute(SupportRoutes, c.Request.Method, c.Request.URL.Path)
		switch {
		case found:
			if g.checkScopes(c, rule.Scopes) {
				c.Next()
			}
		case otherMethod:
			g.problem(c, errs.NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
				c.Request.Method+" is not allowed on "+c.Request.URL.Path))
		default:
			g.problem(c, errs.NewProblem(http.StatusNotFound, "route_not_found", "Not found", "no route matches "+c.Request.URL.Path))
		}
	}
}

// matchScopedRoute finds the rule for method and path; otherMethod reports that the path
// matches a rule of another method.
func matchScopedRoute(rules []scopedRoute, method, path string) (rule scopedRoute, found, otherMethod bool) {
	for _, r := range rules {
		if !pathMatches(r.Path, path) {
			continue
		}
		if r.Method == method || (method == http.MethodHead && r.Method == http.MethodGet) {
			return r, true, false
		}
		otherMethod = true
	}
	return scopedRoute{}, false, otherMethod
}

func pathMatches(pattern, path string) bool {
	ps, segs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(segs) {
		return false
	}
	for i, p := range ps {
		if !strings.HasPrefix(p, "{") {
			if p != segs[i] {
				return false
			}
			continue
		}
		_, verb, _ := strings.Cut(p, "}")
		seg := segs[i]
		if verb == "" {
			// A bare variable is not a custom method: "{id}" never matches "x:cancel".
			if seg == "" || strings.Contains(seg, ":") {
				return false
			}
			continue
		}
		id, ok := strings.CutSuffix(seg, verb)
		if !ok || id == "" || strings.Contains(id, ":") {
			return false
		}
	}
	return true
}
