// Package gateway is the experience API: the one door from storefronts, customer-service tools
// and partners to the process APIs. It owns authentication, rate limits, RFC 9457 problem
// responses, request ids and the served OpenAPI; the proto-defined routes are grpc-gateway
// handlers mounted inside gin.
package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/idempotency"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
)

// Config tunes the gateway.
type Config struct {
	// BodyLimit is the largest request body accepted (default 64 KiB); larger → 413.
	BodyLimit int64
	// RequestTimeout bounds every request's downstream work (default 5 s); the deadline
	// travels through every gRPC hop into connector HTTP calls.
	RequestTimeout time.Duration
	// RateLimits are the per-caller policies by audience and route class (configs/rate-limits.yaml).
	RateLimits RatePolicies
	// CORSOrigins are the storefront origins browsers may call the storefront routes from
	// (exact matches, for example https://shop.example.com); none by default.
	CORSOrigins []string
	// IdempotencyRetention is how long a mutating request's response is kept for replay under
	// its Idempotency-Key (default 24 h, like Stripe's).
	IdempotencyRetention time.Duration
	// Deprecations is a deprecation file (deprecation.go); nil means the built-in
	// configs/http/deprecations.yaml, which ships with the release.
	Deprecations []byte
}

func (c *Config) defaults() {
	if c.BodyLimit == 0 {
		c.BodyLimit = 64 << 10
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Second
	}
}

// Deps are the gateway's collaborators.
type Deps struct {
	Logger   *slog.Logger
	Metrics  *telemetry.Metrics
	Tracing  *telemetry.Tracing
	Verifier *auth.Verifier
	// Redis holds rate-limit state shared by every gateway replica.
	Redis *redis.Client
	// OnlyGateway says this process is the only gateway on Redis (the development stack's
	// embedded Redis, which nothing else can reach): rate-limit state (gcra.go) and idempotency
	// records (idempotency.Options.InProcess) are then kept in process, exactly, without a
	// round trip per request.
	OnlyGateway bool
	// Orders, Returns and Inventory are connections to the process APIs.
	Orders    *grpc.ClientConn
	Returns   *grpc.ClientConn
	Inventory *grpc.ClientConn
	// Webhooks maps a vendor name (as registered by its system kind) to the system API that
	// verifies and normalises its deliveries.
	Webhooks map[string]WebhookTarget
	// Audit is the durable log of privileged actions (audit.go).
	Audit *audit.Log
	// Console is the operations console served at /console (gateway/console); nil serves none.
	Console http.Handler
}

// Gateway is the HTTP handler of the experience API.
type Gateway struct {
	cfg     Config
	deps    Deps
	engine  *gin.Engine
	handler http.Handler
	limiter *limiter
	idem    *idempotency.Store
	// contract is the served OpenAPI document, which every process-API request is checked against.
	contract *contract
	// referencePage is the human-readable API reference, rendered once from the OpenAPI document.
	referencePage []byte
	// openapi is the served OpenAPI document: the generated one with deprecations marked.
	openapi []byte
	// deprecations are the deprecated operations and their sunsets (deprecation.go).
	deprecations *deprecations
}

// New builds the gateway.
func New(cfg Config, deps Deps) (*Gateway, error) {
	cfg.defaults()
	if cfg.RateLimits == nil {
		return nil, fmt.Errorf("gateway: rate-limit policies are required")
	}
	if deps.Verifier == nil || deps.Orders == nil || deps.Returns == nil || deps.Inventory == nil || deps.Redis == nil || deps.Audit == nil {
		return nil, fmt.Errorf("gateway: verifier, redis, audit log, orders, returns and inventory connections are required")
	}
	gin.SetMode(gin.ReleaseMode)
	g := &Gateway{cfg: cfg, deps: deps, limiter: newLimiter(deps.Redis, deps.Logger, deps.OnlyGateway),
		idem: idempotency.New(deps.Redis, idempotency.Options{Retention: cfg.IdempotencyRetention, Logger: deps.Logger,
			MaxRequestBody: cfg.BodyLimit, InProcess: deps.OnlyGateway})}
	g.engine = gin.New()
	g.engine.HandleMethodNotAllowed = true
	g.engine.RedirectTrailingSlash = false
	g.engine.RedirectFixedPath = false
	g.engine.ContextWithFallback = true
	if err := g.loadAPIDocs(time.Now); err != nil {
		return nil, err
	}
	var err error
	if g.contract, err = newContract(context.Background(), g.openapi); err != nil {
		return nil, err
	}
	mux, err := g.newProcessMux(context.Background())
	if err != nil {
		return nil, err
	}
	g.routes(mux) // traces, request ids and RED metrics: the first layer of every route (observe.go)
	g.handler = g.engine
	return g, nil
}

// ServeHTTP serves a request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }
