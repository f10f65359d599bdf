// Package wms is the warehouse system API: advance notices of inbound returns and what their
// receipt and inspection found, shipping orders and their acknowledgement, and stock per location
// and state, over one vendor connector (a 3PL's REST API, or EDI X12 files over SFTP).
// Warehouse webhooks, and the EDI 3PL's files (polled), become canonical events on JetStream. Callers meet it over gRPC; vendor protocol and
// vendor errors stay behind it.
package wms

import (
	"context"
	"fmt"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/intake"
	"github.com/retailbridge/retailbridge/pkg/vendors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Limits on one ListPositions call.
const (
	MaxSKUs      = 100
	MaxLocations = 50
)

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives vendor failure detail; discarded when nil.
	Logger *slog.Logger
	// HTTPClient reaches the vendor; required, so that the caller's tracing and metrics apply.
	HTTPClient *http.Client
	// JetStream receives the events webhooks become; without it IngestWebhook answers
	// errs.Unavailable "events_unavailable" (after checking the signature).
	JetStream jetstream.JetStream
	// Now is the clock for signature ages; time.Now when nil.
	Now func() time.Time
}

// Service implements wmsv1.WmsServiceServer.
type Service struct {
	wmsv1.UnimplementedWmsServiceServer

	conn    Connector
	log     *slog.Logger
	timeout time.Duration

	deliveries *events.Deliveries // publishes what the intake normalised, and the files polled
	intake     *intake.Intake     // webhook intake (webhook.go)
	poll       time.Duration      // how often a file vendor's inbound folder is read (inbound.go)
	inboundMu  sync.Mutex
	inbound    InboundStats
}

var _ wmsv1.WmsServiceServer = (*Service)(nil)

// New validates cfg and connects nothing yet: the first RPC makes the first vendor call, and the
// first webhook creates the event stream if it does not exist.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	log := deps.Logger.With("service", "wms", "vendor", cfg.Connection.Vendor())
	conn, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		if errs.As(err) != nil {
			return nil, err
		}
		return nil, errs.Wrap(err, errs.Invalid, "invalid_config", "wms: "+err.Error())
	}
	s := FromConnector(cfg.Connection.Vendor(), conn, cfg.Timeout, deps)
	if p, ok := cfg.Connection.(poller); ok && p.pollEvery() > 0 {
		s.poll = p.pollEvery()
	}
	return s, nil
}

// FromConnector is the service over a connector a vendor's registration built (its Serve reads
// its own configuration and constructs its connector): New without the warehouse's typed
// configuration. Its webhooks (and files and polls) go through the intake over the connector's
// ParseWebhook.
func FromConnector(vendor string, conn Connector, timeout time.Duration, deps Deps) *Service {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	log := deps.Logger.With("service", "wms", "vendor", vendor)
	s := &Service{conn: conn, log: log, timeout: timeout, poll: DefaultPollInterval,
		deliveries: events.NewDeliveries(vendor, deps.JetStream, timeout, deps.Now, log)}
	s.intake = intake.New(vendor, vendors.ParseWebhook(conn.ParseWebhook), s.deliveries, log)
	return s
}

// Ready reports whether the warehouse answers, for health checks.
func (s *Service) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.conn.Ready(ctx)
}

// ExpectReturn announces an inbound return. The warehouse deduplicates by the return's id, so
// announcing it again returns the same receipt; the idempotency key is optional and forwarded.
func (s *Service) ExpectReturn(ctx context.Context, req *wmsv1.ExpectReturnRequest) (*wmsv1.ExpectReturnResponse, error) {
	bad := checkReturn(req.GetReturn())
	bad = append(bad, checkID("location_id", req.GetLocationId())...)
	bad = append(bad, checkOptional("idempotency_key", req.GetIdempotencyKey())...)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := s.conn.ExpectReturn(ctx, req.GetReturn(), req.GetLocationId(), req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "expect return", err)
	}
	return &wmsv1.ExpectReturnResponse{ReceiptId: id}, nil
}

// GetReturnReceipt reads what arrived and what inspection found.
func (s *Service) GetReturnReceipt(ctx context.Context, req *wmsv1.GetReturnReceiptRequest) (*wmsv1.GetReturnReceiptResponse, error) {
	if err := invalid(checkID("receipt_id", req.GetReceiptId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetReturnReceipt(ctx, req.GetReceiptId())
	if err != nil {
		return nil, s.failed(ctx, "get return receipt", err)
	}
	return resp, nil
}

// CreateShippingOrder asks the warehouse to ship. The warehouse deduplicates by the shipment's
// id; the idempotency key is optional and forwarded.
func (s *Service) CreateShippingOrder(ctx context.Context, req *wmsv1.CreateShippingOrderRequest) (*wmsv1.CreateShippingOrderResponse, error) {
	bad := checkShipment(req.GetShipment())
	bad = append(bad, checkOptional("idempotency_key", req.GetIdempotencyKey())...)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := s.conn.CreateShippingOrder(ctx, req.GetShipment(), req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "create shipping order", err)
	}
	return &wmsv1.CreateShippingOrderResponse{WarehouseOrderId: id}, nil
}

// GetShippingOrder reads an order's acknowledgement and shipment.
func (s *Service) GetShippingOrder(ctx context.Context, req *wmsv1.GetShippingOrderRequest) (*wmsv1.GetShippingOrderResponse, error) {
	if err := invalid(checkID("warehouse_order_id", req.GetWarehouseOrderId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetShippingOrder(ctx, req.GetWarehouseOrderId())
	if err != nil {
		return nil, s.failed(ctx, "get shipping order", err)
	}
	return resp, nil
}

// ListPositions reads stock per SKU, location and state; empty filters mean all.
func (s *Service) ListPositions(ctx context.Context, req *wmsv1.ListPositionsRequest) (*wmsv1.ListPositionsResponse, error) {
	var bad []errs.FieldViolation
	if n := len(req.GetSkus()); n > MaxSKUs {
		bad = append(bad, errs.FieldViolation{Field: "skus", Description: fmt.Sprintf("name at most %d SKUs", MaxSKUs)})
	}
	if n := len(req.GetLocationIds()); n > MaxLocations {
		bad = append(bad, errs.FieldViolation{Field: "location_ids", Description: fmt.Sprintf("name at most %d locations", MaxLocations)})
	}
	for i, v := range req.GetSkus() {
		bad = append(bad, checkID(fmt.Sprintf("skus[%d]", i), v)...)
	}
	for i, v := range req.GetLocationIds() {
		bad = append(bad, checkID(fmt.Sprintf("location_ids[%d]", i), v)...)
	}
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	positions, err := s.conn.ListPositions(ctx, req.GetSkus(), req.GetLocationIds())
	if err != nil {
		return nil, s.failed(ctx, "list positions", err)
	}
	return &wmsv1.ListPositionsResponse{Positions: positions}, nil
}

// failed logs a vendor failure's detail and returns it; the interceptor shows callers only the
// kind, reason and safe message.
func (s *Service) failed(ctx context.Context, op string, err error) error {
	if e := errs.As(err); e != nil {
		s.log.DebugContext(ctx, "wms "+op+" failed", "reason", e.Reason, "err", err)
	}
	return err
}

// maxIDLen bounds ids and references: what warehouse APIs accept for a reference.
const maxIDLen = 128

func checkID(field, v string) []errs.FieldViolation {
	switch {
	case v == "":
		return []errs.FieldViolation{{Field: field, Description: "is required"}}
	case len(v) > maxIDLen:
		return []errs.FieldViolation{{Field: field, Description: fmt.Sprintf("must be at most %d characters", maxIDLen)}}
	}
	return nil
}

// maxKeyLen bounds an idempotency key, as Stripe and the IETF draft do.
const maxKeyLen = 255

func checkOptional(field, v string) []errs.FieldViolation {
	if len(v) > maxKeyLen {
		return []errs.FieldViolation{{Field: field, Description: fmt.Sprintf("must be at most %d characters", maxKeyLen)}}
	}
	return nil
}

func checkReturn(r *canonicalv1.Return) []errs.FieldViolation {
	if r == nil {
		return []errs.FieldViolation{{Field: "return", Description: "is required"}}
	}
	bad := checkID("return.id", r.GetId())
	if len(r.GetLines()) == 0 {
		bad = append(bad, errs.FieldViolation{Field: "return.lines", Description: "name at least one line"})
	}
	for i, l := range r.GetLines() {
		bad = append(bad, checkID(fmt.Sprintf("return.lines[%d].sku", i), l.GetSku())...)
		if l.GetQuantity() < 1 {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d].quantity", i), Description: "must be at least 1"})
		}
	}
	return bad
}

func checkShipment(sh *canonicalv1.Shipment) []errs.FieldViolation {
	if sh == nil {
		return []errs.FieldViolation{{Field: "shipment", Description: "is required"}}
	}
	bad := checkID("shipment.id", sh.GetId())
	bad = append(bad, checkID("shipment.from_location_id", sh.GetFromLocationId())...)
	a := sh.GetToAddress()
	if a == nil {
		bad = append(bad, errs.FieldViolation{Field: "shipment.to_address", Description: "is required"})
	} else {
		if a.GetName() == "" {
			bad = append(bad, errs.FieldViolation{Field: "shipment.to_address.name", Description: "is required"})
		}
		if len(a.GetLines()) == 0 || a.GetLines()[0] == "" {
			bad = append(bad, errs.FieldViolation{Field: "shipment.to_address.lines", Description: "name at least one street line"})
		}
		if a.GetCity() == "" {
			bad = append(bad, errs.FieldViolation{Field: "shipment.to_address.city", Description: "is required"})
		}
		if c := a.GetCountryCode(); len(c) != 2 {
			bad = append(bad, errs.FieldViolation{Field: "shipment.to_address.country_code", Description: "must be an ISO 3166-1 alpha-2 code"})
		}
	}
	if len(sh.GetLines()) == 0 {
		bad = append(bad, errs.FieldViolation{Field: "shipment.lines", Description: "name at least one line"})
	}
	for i, l := range sh.GetLines() {
		bad = append(bad, checkID(fmt.Sprintf("shipment.lines[%d].sku", i), l.GetSku())...)
		if l.GetQuantity() < 1 {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("shipment.lines[%d].quantity", i), Description: "must be at least 1"})
		}
	}
	return bad
}

func invalid(bad []errs.FieldViolation) error {
	if len(bad) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
}
