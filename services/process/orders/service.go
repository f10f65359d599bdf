// Package orders is the order-to-cash process API. Its reads — a customer's orders, one order,
// a partner's change feed — are served from the order store (store.go), the canonical copy of
// every order the commerce platform created or changed, fed by the platform's events and
// repaired by a poller; without a database they go to the commerce platform through
// short-lived caches, scoped to the caller.
package orders

import (
	"context"

	"errors"
	"fmt"
	"github.com/nats-io/nats.go/jetstream"
	"log/slog"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/cache"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/tenancy"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Defaults for Config fields left zero.
const (
	DefaultOrderTTL     = 30 * time.Second
	DefaultListTTL      = 5 * time.Second
	DefaultCacheEntries = 100_000
)

// Request limits.
const (
	defaultPageSize = 20
	maxPageSize     = 100
	maxIDLength     = 256
	maxTokenLength  = 1024
)

// Config configures the orders service.
type Config struct {
	// OrderTTL is how long an order read from the commerce platform is served; default 30s.
	OrderTTL time.Duration
	// ListTTL is how long a page of a customer's orders is served; default 5s, so a new order
	// shows up almost at once while a burst of page views costs one call.
	ListTTL time.Duration
	// CacheEntries caps each cache (orders, pages); default 100000.
	CacheEntries int
	// Store configures the order store (used when Deps.DB is set).
	Store StoreConfig
}

func (c Config) withDefaults() Config {
	if c.OrderTTL == 0 {
		c.OrderTTL = DefaultOrderTTL
	}
	if c.ListTTL == 0 {
		c.ListTTL = DefaultListTTL
	}
	if c.CacheEntries == 0 {
		c.CacheEntries = DefaultCacheEntries
	}
	c.Store = c.Store.withDefaults()
	return c
}

// Validate names every bad field at once.
func (c Config) Validate() error {
	var bad []string
	if c.OrderTTL < 0 {
		bad = append(bad, "OrderTTL: must not be negative")
	}
	if c.ListTTL < 0 {
		bad = append(bad, "ListTTL: must not be negative")
	}
	if c.CacheEntries < 0 {
		bad = append(bad, "CacheEntries: must not be negative")
	}
	bad = append(bad, c.Store.validate()...)
	if len(bad) > 0 {
		return fmt.Errorf("orders config: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Deps are the service's collaborators.
type Deps struct {
	// Commerce reads orders; required.
	Commerce commercev1.CommerceServiceClient
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
	// JetStream, when set, lets Run drop cached orders as soon as the commerce platform reports a
	// change (order and refund webhooks); without it entries live out OrderTTL.
	JetStream jetstream.JetStream
	// Tenants says which orders each partner tenant owns; nil means partners own nothing.
	Tenants *tenancy.Directory
	// DB holds the order store; with it (and JetStream) every read of a known order is served
	// from the store. Without it reads go to the commerce platform through the caches.
	DB *store.DB
	// Registerer receives the order store's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Service implements ordersv1.OrdersServiceServer.
type Service struct {
	ordersv1.UnimplementedOrdersServiceServer

	commerce commercev1.CommerceServiceClient
	log      *slog.Logger
	js       jetstream.JetStream
	tenants  *tenancy.Directory

	orders *cache.Cache[string, *canonicalv1.Order]
	pages  *cache.Cache[string, page]

	storeSide
}

// page is one cached page of a customer's orders.
type page struct {
	orders []*canonicalv1.Order
	next   string
}

// New returns the service. Config fields left zero take their defaults.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	err := cfg.Validate()
	if deps.Commerce == nil {
		err = errors.Join(err, errors.New("orders deps: Commerce required"))
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
	s := &Service{
		commerce: deps.Commerce,
		log:      deps.Logger,
		js:       deps.JetStream,
		tenants:  deps.Tenants,
		orders:   cache.New[string, *canonicalv1.Order](cfg.OrderTTL, cfg.CacheEntries, deps.Now),
		pages:    cache.New[string, page](cfg.ListTTL, cfg.CacheEntries, deps.Now),
	}
	if err := s.initStore(cfg.Store, deps); err != nil {
		return nil, err
	}
	return s, nil
}

// Run keeps the read model fresh until ctx ends: order and refund events drop cached orders in
// this replica (every replica watches for itself). Without JetStream it only waits.
func (s *Service) Run(ctx context.Context) error {
	if s.js == nil {
		<-ctx.Done()
		return nil
	}
	if s.db != nil {
		return s.runStore(ctx)
	}
	return events.WatchOrders(ctx, s.js, s.orders.Invalidate)
}

// InvalidateOrder drops the cached order, so the next read goes to the commerce platform.
// Order webhooks call it. Cached list pages expire on their own within ListTTL.
func (s *Service) InvalidateOrder(id string) { s.orders.Invalidate(id) }

// ListOrders lists orders newest first: a customer's own (request.customer_id is ignored), for
// customer service the customer the request names, and for a partner the orders placed through
// its tenant's sales channels (of one customer, if the request names one).
func (s *Service) ListOrders(ctx context.Context, req *ordersv1.ListOrdersRequest) (*ordersv1.ListOrdersResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || (p.IsCustomer() && p.Subject == "") {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeOrdersRead); err != nil {
		return nil, err
	}
	customerID := req.GetCustomerId()
	if p.IsCustomer() {
		customerID = p.Subject
	}
	partner := p.Audience == auth.Partner
	var sources []string
	if partner {
		t, _ := s.tenants.Get(p.Tenant)
		sources = t.OrderSources
	}
	size, err := validateList(req, customerID, !partner)
	if err != nil {
		return nil, err
	}
	if partner && len(sources) == 0 {
		return &ordersv1.ListOrdersResponse{AsOf: timestamppb.New(s.now())}, nil // a tenant without channels (or unknown) owns no orders
	}
	if resp, ok, err := s.listStored(ctx, customerID, sources, size, req); ok || err != nil {
		return resp, err
	}
	key := fmt.Sprintf("%s\x00%s\x00%d\x00%s", customerID, strings.Join(sources, ","), size, req.GetPageToken())
	pg, asOf, err := s.pages.Get(ctx, key, func(ctx context.Context) (page, error) {
		return s.loadPage(ctx, customerID, sources, size, req.GetPageToken())
	})
	if err != nil {
		return nil, err
	}
	return &ordersv1.ListOrdersResponse{Orders: pg.orders, NextPageToken: pg.next, AsOf: timestamppb.New(asOf)}, nil
}

// validateList checks a listing; the customer is required unless the listing is of sales
// channels (a partner's).
func validateList(req *ordersv1.ListOrdersRequest, customerID string, customerRequired bool) (int32, error) {
	reason := "invalid_request"
	var bad []errs.FieldViolation
	size := req.GetPageSize()
	switch {
	case size == 0:
		size = defaultPageSize
	case size < 0:
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: fmt.Sprintf("must be between 1 and %d", maxPageSize)})
	case size > maxPageSize:
		reason = "page_size_too_large"
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: fmt.Sprintf("at most %d", maxPageSize)})
	}
	switch {
	case customerID == "" && customerRequired:
		bad = append(bad, errs.FieldViolation{Field: "customer_id", Description: "required"})
	case len(customerID) > maxIDLength:
		bad = append(bad, errs.FieldViolation{Field: "customer_id", Description: fmt.Sprintf("at most %d characters", maxIDLength)})
	}
	if len(req.GetPageToken()) > maxTokenLength {
		bad = append(bad, errs.FieldViolation{Field: "page_token", Description: "not a token this service issued"})
	}
	if len(bad) > 0 {
		return 0, errs.E(errs.Invalid, reason, "the request has invalid fields").WithFields(bad...)
	}
	return size, nil
}

// loadPage reads a page from the commerce platform and keeps its orders in the order cache too,
// so opening an order from the list costs nothing.
func (s *Service) loadPage(ctx context.Context, customerID string, sources []string, size int32, token string) (page, error) {
	resp, err := s.commerce.ListOrders(ctx, &commercev1.ListOrdersRequest{CustomerId: customerID, Sources: sources, PageSize: size, PageToken: token})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return page{}, errs.E(errs.NotFound, "customer_not_found", "customer not found")
		}
		return page{}, err
	}
	pg := page{next: resp.GetNextPageToken()}
	for _, o := range resp.GetOrders() {
		// The platform was asked for this customer's (or these channels') orders; anything else
		// would leak.
		if (customerID != "" && o.GetCustomer().GetId() != customerID) || (len(sources) > 0 && !slices.Contains(sources, o.GetSource())) {
			s.log.WarnContext(ctx, "commerce listed an order outside the listing; dropped",
				"order_id", o.GetId(), "customer_id", customerID, "sources", sources)
			continue
		}
		pg.orders = append(pg.orders, o)
		s.orders.Put(o.GetId(), o)
	}
	return pg, nil
}

// GetOrder reads one order. A customer's request for another customer's order, and a partner's
// for an order that did not come through its tenant's channels, answer exactly as an unknown
// order does.
func (s *Service) GetOrder(ctx context.Context, req *ordersv1.GetOrderRequest) (*ordersv1.GetOrderResponse, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeOrdersRead); err != nil {
		return nil, err
	}
	switch id := req.GetOrderId(); {
	case id == "":
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "order_id", Description: "required"})
	case len(id) > maxIDLength:
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "order_id", Description: fmt.Sprintf("at most %d characters", maxIDLength)})
	}
	if s.db != nil {
		return s.getStored(ctx, p, req.GetOrderId())
	}
	order, asOf, err := s.orders.Get(ctx, req.GetOrderId(), func(ctx context.Context) (*canonicalv1.Order, error) {
		resp, err := s.commerce.GetOrder(ctx, &commercev1.GetOrderRequest{OrderId: req.GetOrderId()})
		switch {
		case status.Code(err) == codes.NotFound:
			return nil, errOrderNotFound()
		case err != nil:
			return nil, err
		case resp.GetOrder() == nil:
			return nil, errs.E(errs.Internal, "commerce_empty_order", "the commerce platform returned no order")
		}
		return resp.GetOrder(), nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case p.IsCustomer() && (p.Subject == "" || order.GetCustomer().GetId() != p.Subject):
		return nil, errOrderNotFound()
	case p.Audience == auth.Partner && !s.tenants.Owns(p.Tenant, order.GetSource()):
		s.log.DebugContext(ctx, "order is not the partner's", "order_id", order.GetId(), "tenant", p.Tenant)
		return nil, errOrderNotFound()
	}
	return &ordersv1.GetOrderResponse{Order: order, AsOf: timestamppb.New(asOf)}, nil
}

func errOrderNotFound() error { return errs.E(errs.NotFound, "order_not_found", "order not found") }

func errUnauthenticated() error {
	return errs.E(errs.Unauthenticated, "unauthenticated", "caller identity is missing")
}
