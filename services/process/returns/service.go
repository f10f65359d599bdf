// Package returns is the return-to-refund process API. It owns the return policy (loaded from
// configuration), decides eligibility from the commerce platform's order and the ERP's item
// records, and, later, runs the return workflow. It reaches those systems only through their
// system APIs' gRPC clients, reading them through short-lived caches.
package returns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/cache"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/telemetry"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	returnsplatformv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/returnsplatform/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Defaults for Config fields left zero.
const (
	DefaultOrderTTL     = 30 * time.Second
	DefaultItemTTL      = 10 * time.Minute
	DefaultCacheEntries = 100_000
)

// Request limits.
const (
	maxLines       = 100
	maxIDLength    = 256
	maxSKUsPerCall = 100 // the ERP system API's GetItems limit
)

// Config configures the returns service.
type Config struct {
	// Policy is the return policy; required (see LoadPolicy).
	Policy *Policy
	// OrderTTL is how long an order read from the commerce platform answers checks; default 30s.
	// Webhooks shorten it through InvalidateOrder.
	OrderTTL time.Duration
	// ItemTTL is how long an ERP item record (or the ERP's "unknown SKU") is trusted; default 10m.
	ItemTTL time.Duration
	// CacheEntries caps each cache (orders, items); default 100000.
	CacheEntries int
	// ReturnsLocation is the warehouse location id that receives mailed returns (and in-store
	// returns of orders without a pick-up store); required. It is a deployment fact, so it comes
	// from configuration, never from the code.
	ReturnsLocation string
}

func (c Config) withDefaults() Config {
	if c.OrderTTL == 0 {
		c.OrderTTL = DefaultOrderTTL
	}
	if c.ItemTTL == 0 {
		c.ItemTTL = DefaultItemTTL
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	return c
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	if c.Policy == nil {
		bad = append(bad, "Policy: required")
	} else if err := c.Policy.Validate(); err != nil {
		bad = append(bad, "Policy: "+err.Error())
	}
	if c.OrderTTL < 0 {
		bad = append(bad, "OrderTTL: must not be negative")
	}
	if c.ItemTTL < 0 {
		bad = append(bad, "ItemTTL: must not be negative")
	}
	if c.CacheEntries < 0 {
		bad = append(bad, "CacheEntries: must not be negative")
	}
	if l := c.ReturnsLocation; l == "" || strings.TrimSpace(l) != l || len(l) > maxIDLength {
		bad = append(bad, "ReturnsLocation: required, without surrounding spaces, at most 256 characters")
	}
	if len(bad) > 0 {
		return fmt.Errorf("returns config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Deps are the service's collaborators.
type Deps struct {
	// Commerce reads orders; required.
	Commerce commercev1.CommerceServiceClient
	// ERP reads item records; required.
	ERP erpv1.ErpServiceClient
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// Tenants says which orders each partner tenant owns; nil means partners own nothing.
	Tenants *tenancy.Directory
	// Orders, when set, is where eligibility reads orders (the order store); see eligibilityOrder.
	Orders ordersv1.OrdersServiceClient

	// The return-to-refund workflow needs the rest. With DB nil the service answers eligibility
	// only and the workflow RPCs are Unimplemented.

	// DB holds returns, claims, workflow state and the outbox; migrated by New.
	DB *store.DB
	// JetStream publishes the outbox and delivers vendor events (signals); required with DB.
	JetStream jetstream.JetStream
	// ReturnsPlatform, WMS and Payments are the other system APIs the workflow drives.
	ReturnsPlatform returnsplatformv1.ReturnsPlatformServiceClient
	WMS             wmsv1.WmsServiceClient
	Payments        paymentsv1.PaymentsServiceClient
	// Timings of waiting states; zero fields take defaults.
	Timings Timings
	// Metrics receives the business KPIs (kpi.go); nil records none.
	Metrics *telemetry.Metrics
	// Admission, when set, names the governor in front of each system the workflow's steps
	// call (workflow.Options.Admission): a step for a saturated vendor then waits in the queue
	// instead of holding a runner worker.
	Admission workflow.Admission
}

// Service implements returnsv1.ReturnsServiceServer.
type Service struct {
	returnsv1.UnimplementedReturnsServiceServer

	policy   *Policy
	commerce commercev1.CommerceServiceClient
	erp      erpv1.ErpServiceClient
	log      *slog.Logger
	now      func() time.Time
	tenants  *tenancy.Directory
	location string // where mailed returns are received

	orders *cache.Cache[string, *canonicalv1.Order]
	items  *itemReader

	db        *store.DB
	js        jetstream.JetStream
	outbox    *events.Outbox
	engine    *workflow.Engine
	wmsClient wmsv1.WmsServiceClient
	// platformClient and erpClient read the platform's returns and the ERP's RMAs for
	// reconciliation.
	platformClient returnsplatformv1.ReturnsPlatformServiceClient
	erpClient      erpv1.ErpServiceClient
	timings        Timings

	ordersAPI ordersv1.OrdersServiceClient // eligibility's order source (orderstore.go)
}

// New returns the service. Config fields left zero take their defaults.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	err := cfg.Validate()
	var missing []string
	if deps.Commerce == nil {
		missing = append(missing, "Commerce")
	}
	if deps.ERP == nil {
		missing = append(missing, "ERP")
	}
	if deps.DB != nil {
		for name, ok := range map[string]bool{"JetStream": deps.JetStream != nil, "ReturnsPlatform": deps.ReturnsPlatform != nil,
			"WMS": deps.WMS != nil, "Payments": deps.Payments != nil} {
			if !ok {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		err = errors.Join(err, fmt.Errorf("returns deps: %s required", strings.Join(missing, ", ")))
	}
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	deps.Logger.Info("return policy in force", "version", cfg.Policy.Version, "time_zone", cfg.Policy.location().String())
	svc := &Service{
		policy:   cfg.Policy,
		commerce: deps.Commerce,
		erp:      deps.ERP,
		log:      deps.Logger,
		now:      deps.Now,
		tenants:  deps.Tenants,
		location: cfg.ReturnsLocation,
		orders:   cache.New[string, *canonicalv1.Order](cfg.OrderTTL, cfg.CacheEntries, deps.Now),
		items: &itemReader{
			erp:   deps.ERP,
			cache: cache.New[string, *erpv1.Item](cfg.ItemTTL, cfg.CacheEntries, deps.Now),
		},
	}
	svc.ordersAPI = deps.Orders
	if deps.DB != nil {
		ctx := context.Background()
		for _, m := range []func(context.Context, *store.DB) error{events.Migrate, workflow.Migrate, migrate} {
			if err := m(ctx, deps.DB); err != nil {
				return nil, fmt.Errorf("returns: migrate: %w", err)
			}
		}
		svc.db, svc.js, svc.wmsClient, svc.timings = deps.DB, deps.JetStream, deps.WMS, deps.Timings.withDefaults()
		svc.platformClient, svc.erpClient = deps.ReturnsPlatform, deps.ERP
		svc.outbox = events.NewOutbox(deps.Now)
		// A step is one vendor call bounded by the request timeout; a runner that died holding one
		// frees it after the lease.
		svc.engine = workflow.New(deps.DB, svc.outbox, workflow.Options{Now: deps.Now, Logger: deps.Logger, Lease: 30 * time.Second, Observer: observer(deps),
			Admission: deps.Admission},
			definition(systems{commerce: deps.Commerce, erp: deps.ERP, platform: deps.ReturnsPlatform, wms: deps.WMS, payments: deps.Payments},
				deps.Timings.withDefaults(), deps.Now))
	}
	return svc, nil
}

func migrate(ctx context.Context, db *store.DB) error { return db.Migrate(ctx, "returns", migrations) }

// InvalidateOrder drops the cached order, so the next check reads it from the commerce platform.
// Order webhooks call it.
func (s *Service) InvalidateOrder(id string) { s.orders.Invalidate(id) }

// CheckEligibility answers, per line, whether it can be returned, until when, how, and for how
// much. Customers reach only their own orders, partners only orders from their tenant's
// channels; anyone else's answers exactly as an unknown order.
func (s *Service) CheckEligibility(ctx context.Context, req *returnsv1.CheckEligibilityRequest) (*returnsv1.CheckEligibilityResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeReturnsRead); err != nil {
		return nil, err
	}
	if err := validateCheck(req); err != nil {
		return nil, err
	}
	order, asOf, err := s.eligibilityOrder(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	if (p.IsCustomer() && (p.Subject == "" || order.GetCustomer().GetId() != p.Subject)) ||
		(p.Audience == auth.Partner && !s.tenants.Owns(p.Tenant, order.GetSource())) {
		s.log.DebugContext(ctx, "order belongs to another customer or tenant", "order_id", req.GetOrderId())
		return nil, errOrderNotFound()
	}
	items, err := s.items.get(ctx, skusOf(order, req.GetLines()))
	if err != nil {
		return nil, err
	}
	if s.db != nil {
		// Served from memory until a write in this process touches the claims (pkg/store Cached).
		claimed, err := store.Cached(ctx, s.db, "returns.activeClaims", order.GetId(), []string{"return_claims", "rb_workflows"},
			func(ctx context.Context) (map[string]int32, error) { return activeClaims(ctx, s.db, order.GetId()) })
		if err != nil {
			return nil, err
		}
		order = withClaims(order, claimed)
	}
	resp := Evaluate(s.policy, order, items, req.GetLines(), s.now())
	resp.OrderAsOf = timestamppb.New(asOf)
	return resp, nil
}

func validateCheck(req *returnsv1.CheckEligibilityRequest) error {
	var bad []errs.FieldViolation
	switch id := req.GetOrderId(); {
	case id == "":
		bad = append(bad, errs.FieldViolation{Field: "order_id", Description: "required"})
	case len(id) > maxIDLength:
		bad = append(bad, errs.FieldViolation{Field: "order_id", Description: fmt.Sprintf("at most %d characters", maxIDLength)})
	}
	if n := len(req.GetLines()); n > maxLines {
		bad = append(bad, errs.FieldViolation{Field: "lines", Description: fmt.Sprintf("at most %d lines, got %d", maxLines, n)})
	} else {
		seen := make(map[string]int, n)
		for i, l := range req.GetLines() {
			field := fmt.Sprintf("lines[%d]", i)
			switch j, dup := seen[l.GetOrderLineId()]; {
			case l.GetOrderLineId() == "":
				bad = append(bad, errs.FieldViolation{Field: field + ".order_line_id", Description: "required"})
			case dup:
				bad = append(bad, errs.FieldViolation{Field: field + ".order_line_id", Description: fmt.Sprintf("repeats lines[%d]", j)})
			default:
				seen[l.GetOrderLineId()] = i
			}
			if l.GetQuantity() < 0 {
				bad = append(bad, errs.FieldViolation{Field: field + ".quantity", Description: "must not be negative (0 means every returnable unit)"})
			}
		}
	}
	if len(bad) > 0 {
		return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	return nil
}

// order reads an order through the cache. The commerce API's NOT_FOUND becomes order_not_found;
// any other status passes through as it came.
func (s *Service) order(ctx context.Context, id string) (*canonicalv1.Order, time.Time, error) {
	return s.orders.Get(ctx, id, func(ctx context.Context) (*canonicalv1.Order, error) {
		resp, err := s.commerce.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: id})
		if err != nil {
			if isNotFound(err) {
				return nil, errOrderNotFound()
			}
			return nil, err
		}
		if resp.GetOrder() == nil {
			return nil, errs.E(errs.Internal, "commerce_empty_order", "the commerce platform returned no order")
		}
		return resp.GetOrder(), nil
	})
}

// errOrderNotFound is the one answer for an unknown order and for another customer's order, so
// that a customer cannot tell which order ids exist.
func errOrderNotFound() error {
	return errs.E(errs.NotFound, "order_not_found", "order not found")
}

// skusOf lists the distinct SKUs of the selected lines (every line when none is selected).
func skusOf(order *canonicalv1.Order, sel []*returnsv1.LineSelection) []string {
	wanted := make(map[string]bool, len(sel))
	for _, l := range sel {
		wanted[l.GetOrderLineId()] = true
	}
	var skus []string
	seen := map[string]bool{}
	for _, l := range order.GetLines() {
		if (len(sel) > 0 && !wanted[l.GetId()]) || l.GetSku() == "" || seen[l.GetSku()] {
			continue
		}
		seen[l.GetSku()] = true
		skus = append(skus, l.GetSku())
	}
	return skus
}

func errUnauthenticated() error {
	return errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing")
}

func errNotImplemented(rpc string) error {
	return errs.E(errs.Unimplemented, "not_implemented", rpc+" is not implemented yet")
}
