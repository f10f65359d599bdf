// Package console is the operations console the gateway serves at /console: server-rendered
// pages (html/template, assets embedded, no CDN) over the process APIs, the dead letters, the
// audit log and the business metrics, for customer-service agents and operators.
//
// Sign-in is OpenID Connect (authorization code with PKCE against the retailer's provider) or,
// in `retailbridge dev` only, a development login. Sessions live in Redis behind an HttpOnly,
// Secure, SameSite=Strict cookie whose id is rotated at login; every state-changing form
// carries a CSRF token. The agent's scopes (the same as the support API's) decide what each
// page shows and each action allows, and every action is written to the audit log with the
// agent's name.
package console

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/retailbridge/retailbridge/pkg/audit"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// The scopes the console understands: the support API's.
const (
	ScopeRead     = "support:read"
	ScopeWrite    = "support:write"
	ScopeRefunds  = "refunds:override"
	ScopeOperator = "operator"
)

// knownScopes are the only scopes a login may grant; anything else an identity provider sends
// is dropped.
var knownScopes = []string{ScopeRead, ScopeWrite, ScopeRefunds, ScopeOperator}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the console.
type Config struct {
	// DevLogin offers the development login (retailbridge dev only).
	DevLogin bool
	// OIDC is the identity provider; a zero Issuer disables the OpenID Connect login.
	OIDC OIDCConfig
	// SessionTTL is how long a session lives without activity (default 8 h).
	SessionTTL time.Duration
	// InsecureCookies drops the cookie's Secure attribute. Only for a browser that will not
	// keep Secure cookies over plain HTTP on a non-loopback host; never in production.
	InsecureCookies bool
}

// Deps are the console's collaborators.
type Deps struct {
	Logger *slog.Logger
	// Redis holds sessions; required.
	Redis *redis.Client
	// Returns is the returns process API; required.
	Returns returnsv1.ReturnsServiceClient
	// Orders is the order-to-cash workflow API (exception queues, timelines, release); nil
	// hides the order pages.
	Orders ordersv1.OrderWorkflowServiceClient
	// Audit records every action; required.
	Audit *audit.Log
	// DB holds exception assignments (the audit log's database); required.
	DB *store.DB
	// DeadLetters is the dead-letter triage; nil hides it.
	DeadLetters *events.DeadLetters
	// OrderInsight, ReturnInsight and InventoryInsight compute the KPIs from each process
	// service's stored records (and search orders and returns); nil leaves their charts empty.
	OrderInsight     ordersv1.OrderInsightServiceClient
	ReturnInsight    returnsv1.ReturnInsightServiceClient
	InventoryInsight inventoryv1.InventoryInsightServiceClient
	// Metrics is the process registry replays are counted in and the KPI page's live vendor
	// counters are read from; nil shows none.
	Metrics *telemetry.Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Console is the console's HTTP handler.
type Console struct {
	cfg      Config
	deps     Deps
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
	oidc     *oidcLogin
	assign   *assignments
	kpi      *sampler
}

// New builds the console; ctx bounds the OpenID Connect discovery and the migrations.
func New(ctx context.Context, cfg Config, deps Deps) (*Console, error) {
	if deps.Redis == nil || deps.Returns == nil || deps.Audit == nil || deps.DB == nil {
		return nil, fmt.Errorf("console: redis, returns, audit and db are required")
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Console{cfg: cfg, deps: deps, sessions: &sessions{rdb: deps.Redis, ttl: cfg.SessionTTL, secure: !cfg.InsecureCookies}}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if cfg.OIDC.Issuer != "" {
		if c.oidc, err = newOIDCLogin(ctx, cfg.OIDC); err != nil {
			return nil, err
		}
	}
	if c.assign, err = openAssignments(ctx, deps.DB, deps.Now); err != nil {
		return nil, err
	}
	if deps.Metrics != nil {
		c.kpi = newSampler(deps.Metrics.Registry)
		if deps.DeadLetters != nil {
			replays := deps.Metrics.Business.Replays
			deps.DeadLetters.ObserveReplays(func(consumer, outcome string, dry bool) {
				replays.WithLabelValues(consumer, outcome, fmt.Sprint(dry)).Inc()
			})
		}
	}
	c.routes()
	return c, nil
}

// ServeHTTP serves /console and everything under it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Pages load only the console's own assets; forms post only to the console.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/login", c.loginPage)
	m.HandleFunc("POST /console/login/dev", c.devLogin)
	m.HandleFunc("GET /console/login/oidc", c.oidcStart)
	m.HandleFunc("GET /console/callback", c.oidcCallback)
	m.HandleFunc("POST /console/logout", c.logout)

	m.HandleFunc("GET /console/{$}", c.page(ScopeRead, c.home))
	m.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/console/", http.StatusFound) })
	m.HandleFunc("GET /console/queues/{queue}", c.page(ScopeRead, c.queue))
	m.HandleFunc("GET /console/exceptions", c.page(ScopeRead, c.exceptions))
	m.HandleFunc("GET /console/search", c.page(ScopeRead, c.search))
	m.HandleFunc("GET /console/owners", c.page(ScopeRead, c.ownersPage))
	m.HandleFunc("GET /console/returns/{id}", c.page(ScopeRead, c.returnPage))
	m.HandleFunc("POST /console/returns/{id}/resolve", c.action(ScopeWrite, c.resolveException))
	m.HandleFunc("POST /console/returns/{id}/cancel", c.action(ScopeWrite, c.cancelReturn))
	m.HandleFunc("POST /console/returns/{id}/refund", c.action(ScopeRefunds, c.resolveRefund))
	m.HandleFunc("POST /console/returns/{id}/assign", c.action(ScopeWrite, c.assignException))

	if c.deps.Orders != nil {
		m.HandleFunc("GET /console/orders/queues/{queue}", c.page(ScopeRead, c.orderQueuePage))
		m.HandleFunc("GET /console/orders/{id}", c.page(ScopeRead, c.orderPage))
		m.HandleFunc("POST /console/orders/{id}/resolve", c.action(ScopeWrite, c.resolveOrder))
		m.HandleFunc("POST /console/orders/{id}/tax-code", c.action(ScopeWrite, c.setTaxCode))
		m.HandleFunc("POST /console/orders/{id}/assign", c.action(ScopeWrite, c.assignOrder))
		m.HandleFunc("POST /console/orders/queues/{queue}/bulk", c.action(ScopeWrite, c.bulkOrders))
	}

	m.HandleFunc("GET /console/deadletters", c.page(ScopeOperator, c.deadLetters))
	m.HandleFunc("GET /console/deadletters/{id}", c.page(ScopeOperator, c.deadLetter))
	m.HandleFunc("POST /console/deadletters/{id}/replay", c.action(ScopeOperator, c.replay))
	m.HandleFunc("POST /console/deadletters/bulk", c.action(ScopeOperator, c.bulkReplay))
	m.HandleFunc("GET /console/runbooks/{name}", c.page(ScopeRead, c.runbook))
	m.HandleFunc("GET /console/kpis", c.page(ScopeOperator, c.kpis))
	m.HandleFunc("GET /console/audit", c.page(ScopeOperator, c.auditPage))
	c.mux = m
}
