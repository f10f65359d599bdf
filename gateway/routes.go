package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
)

// routes is the whole route table of the gateway.
func (g *Gateway) routes(process *runtime.ServeMux) {
	r := g.engine
	r.Use(g.observe(), g.recovery(), g.securityHeaders(), g.deprecation(), g.wellFormedURL())
	r.NoRoute(func(c *gin.Context) {
		g.problem(c, errs.NewProblem(http.StatusNotFound, "route_not_found", "Not found", "no route matches "+c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		g.problem(c, errs.NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed",
			c.Request.Method+" is not allowed on "+c.Request.URL.Path))
	})

	// Operational endpoints.
	r.GET("/healthz", g.healthz)
	r.GET("/readyz", g.readyz)
	r.GET("/metrics", gin.WrapH(g.deps.Metrics.Handler()))
	r.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", g.openapi) })
	g.referenceRoutes(r)

	// Vendor webhooks: no bearer token — the vendor's signature over the raw body is verified by
	// the system API (webhook.go).
	r.POST("/webhooks/:vendor", g.timeout(), g.webhook)

	// Identity: token endpoint, published keys (identity.go).
	g.identityRoutes(r)

	// Every request is checked against the served document first (contract.go); then mutating
	// routes need an Idempotency-Key (eligibility checks are POSTs that change nothing).
	processAPI := gin.WrapH(g.validate(g.idempotent(process)))

	// Storefront: customer tokens, per-customer limits, process APIs through grpc-gateway.
	storefront := r.Group("/v1/storefront", g.cors(), g.timeout(), g.bodyLimit(), g.authenticate(auth.Storefront), g.rateLimit(auth.Storefront))
	storefront.Any("/*path", processAPI)

	// Customer service: support tokens; every route needs its scope (SupportRoutes, identity.go),
	// and the process services check the scopes of every action again.
	support := r.Group("/v1/support", g.timeout(), g.bodyLimit(), g.authenticate(auth.Support), g.rateLimit(auth.Support), g.supportScopes(), g.audit())
	support.Any("/*path", processAPI)

	// Operations: operators' views (support tokens with the operator scope).
	ops := r.Group("/v1/operations", g.timeout(), g.authenticate(auth.Support), g.rateLimit(auth.Support), g.requireScopes(ScopeOperator))
	ops.GET("/audit", g.auditLog)
	ops.GET("/audit/verify", g.auditVerify)

	// The operations console: its own sessions, CSRF tokens and scope checks (gateway/console).
	if g.deps.Console != nil {
		r.Any("/console", g.timeout(), gin.WrapH(g.deps.Console))
		r.Any("/console/*path", g.timeout(), gin.WrapH(g.deps.Console))
	}

	// Partners: client-credentials tokens, one tenant each, per-client limits.
	partner := r.Group("/v1/partner", g.timeout(), g.bodyLimit(), g.authenticate(auth.Partner), g.rateLimit(auth.Partner), g.audit())
	partner.Any("/*path", processAPI)
}
