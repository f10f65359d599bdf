// Package commerce is the commerce system API: a gRPC service over the storefront platform
// (Shopify) that speaks the canonical model only. It validates requests, bounds each call's
// time and hands the work to the vendor's connector; business rules live in the process services.
// Webhooks the platform sends come in through IngestWebhook: the connector verifies them on the
// raw body and normalises them, and the service publishes the canonical events to JetStream with
// ids derived from the vendor's delivery id, so a delivery repeated at any time has one effect.
package commerce

import (
	"context"
	"fmt"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/webhook"
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
	// JetStream publishes the events webhooks become; IngestWebhook is Unavailable without it.
	JetStream jetstream.JetStream
}

// Service implements commercev1.CommerceServiceServer. Methods return *errs.Error values; the
// gRPC interceptor turns them into status.
type Service struct {
	commercev1.UnimplementedCommerceServiceServer

	vendor  string
	timeout time.Duration
	conn    Connector
	hooks   webhookReceiver
	// intake verifies, normalises and publishes webhooks once (nil: the vendor sends none).
	intake *intake.Intake
	log    *slog.Logger
}

// webhookReceiver verifies and normalises a vendor's webhook deliveries.
type webhookReceiver interface {
	ReceiveWebhook(headers map[string]string, body []byte) (*webhook.Delivery, error)
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
	c, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		return nil, err
	}
	return FromConnector(cfg.Connection.Vendor(), c, cfg.Timeout, deps), nil
}

// FromConnector is the service over a connector a vendor's registration built (its Serve reads
// its own configuration and constructs its connector): New without Shopify's typed
// configuration. A connector that also receives webhooks (ReceiveWebhook) is served an intake.
func FromConnector(vendor string, conn Connector, timeout time.Duration, deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	log := deps.Logger.With("service", "commerce")
	s := &Service{vendor: vendor, timeout: timeout, conn: conn, log: log}
	if h, ok := conn.(webhookReceiver); ok {
		s.hooks = h
		s.intake = intake.New(vendor, vendors.InboundFunc(s.normalise),
			events.NewDeliveries(vendor, deps.JetStream, timeout, deps.Now, log), log)
	}
	return s
}

// Ready reports whether the platform answers and accepts our credentials, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return classify(s.conn.Ready(ctx))
}

// bound applies the configured timeout; an earlier caller deadline wins.
func (s *Service) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
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

// untracked: a delivery of lines that need no shipping (gift cards, digital goods), delivered
// from no location. It has no tracking number; the storefront marks its lines fulfilled.
func untracked(sh *canonicalv1.Shipment) bool {
	return sh.GetFromLocationId() == "" && sh.GetStatus() == canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED
}

// CreateFulfillment records a shipment on the order: its lines, carrier and tracking number (which
// identifies it: a repeat returns the fulfilment recorded before).
func (s *Service) CreateFulfillment(ctx context.Context, req *commercev1.CreateFulfillmentRequest) (*commercev1.CreateFulfillmentResponse, error) {
	var bad []errs.FieldViolation
	sh := req.GetShipment()
	if id := req.GetOrderId(); id == "" || len(id) > 256 {
		bad = append(bad, errs.FieldViolation{Field: "order_id", Description: "required, at most 256 characters"})
	}
	if t := sh.GetTrackingNumber(); (t == "" && !untracked(sh)) || len(t) > 256 {
		bad = append(bad, errs.FieldViolation{Field: "shipment.tracking_number", Description: "required (it identifies the shipment) unless it is a delivery of lines that need no shipping, at most 256 characters"})
	}
	if len(sh.GetLines()) == 0 {
		bad = append(bad, errs.FieldViolation{Field: "shipment.lines", Description: "name at least one line"})
	}
	for i, l := range sh.GetLines() {
		if l.GetQuantity() < 1 || (l.GetOrderLineId() == "" && l.GetSku() == "") {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("shipment.lines[%d]", i), Description: "an order line id or SKU, and at least 1 unit"})
		}
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	id, err := s.conn.CreateFulfillment(ctx, req.GetOrderId(), sh, req.GetIdempotencyKey())
	if err != nil {
		return nil, err
	}
	return &commercev1.CreateFulfillmentResponse{FulfillmentId: id}, nil
}

// AdjustInventory is not implemented yet.
func (s *Service) AdjustInventory(context.Context, *commercev1.AdjustInventoryRequest) (*commercev1.AdjustInventoryResponse, error) {
	return nil, notImplemented("AdjustInventory")
}
