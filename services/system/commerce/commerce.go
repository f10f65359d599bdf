// Package commerce is the commerce system API: a gRPC service over the storefront platform
// (Shopify) that speaks the canonical model only. It validates requests, bounds each call's
// time and hands the work to the vendor's connector; business rules live in the process services.
package commerce

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/shopify"
)

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives vendor failure detail (slog's discard handler when nil).
	Logger *slog.Logger
	// HTTPClient carries calls to the platform; pass the shared client that injects tracing
	// (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service implements commercev1.CommerceServiceServer. Methods return *errs.Error values; the
// gRPC interceptor turns them into status.
type Service struct {
	commercev1.UnimplementedCommerceServiceServer

	cfg  Config
	conn Connector
	log  *slog.Logger
}

var _ commercev1.CommerceServiceServer = (*Service)(nil)

// New validates cfg and builds the service with the configured vendor's connector.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	log := deps.Logger.With("service", "commerce")
	var conn Connector
	switch cfg.Vendor {
	case VendorShopify:
		conn = shopify.New(shopify.Config{
			BaseURL: cfg.Shopify.BaseURL, APIVersion: cfg.Shopify.APIVersion, AccessToken: cfg.Shopify.AccessToken,
		}, shopify.Deps{HTTPClient: deps.HTTPClient, Logger: log, Now: deps.Now})
	}
	return &Service{cfg: cfg, conn: conn, log: log}, nil
}

// Ready reports whether the platform answers and accepts our credentials, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return classify(s.conn.Ready(ctx))
}

// bound applies the configured timeout; an earlier caller deadline wins.
func (s *Service) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.Timeout)
}

// classify makes sure only *errs.Error values leave the service.
func classify(err error) error {
	if err == nil {
		return nil
	}
	return errs.FromError(err)
}

func notImplemented(rpc string) error {
	return errs.E(errs.Unimplemented, "not_implemented", rpc+" is not implemented yet")
}

// CreateFulfillment is not implemented yet.
func (s *Service) CreateFulfillment(context.Context, *commercev1.CreateFulfillmentRequest) (*commercev1.CreateFulfillmentResponse, error) {
	return nil, notImplemented("CreateFulfillment")
}

// CreateReturn is not implemented yet.
func (s *Service) CreateReturn(context.Context, *commercev1.CreateReturnRequest) (*commercev1.CreateReturnResponse, error) {
	return nil, notImplemented("CreateReturn")
}

// CloseReturn is not implemented yet.
func (s *Service) CloseReturn(context.Context, *commercev1.CloseReturnRequest) (*commercev1.CloseReturnResponse, error) {
	return nil, notImplemented("CloseReturn")
}

// RecordRefund is not implemented yet.
func (s *Service) RecordRefund(context.Context, *commercev1.RecordRefundRequest) (*commercev1.RecordRefundResponse, error) {
	return nil, notImplemented("RecordRefund")
}

// AdjustInventory is not implemented yet.
func (s *Service) AdjustInventory(context.Context, *commercev1.AdjustInventoryRequest) (*commercev1.AdjustInventoryResponse, error) {
	return nil, notImplemented("AdjustInventory")
}
