// Package oms is the order-management system API: orders handed to the OMS for routing, where
// it allocated their lines (one location, or a split), cancellation, and its stock positions,
// over one vendor connector (Fluent Commerce today). Callers meet it over gRPC; the vendor's
// protocol and errors stay behind it.
package oms

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// Deps are the service's collaborators.
type Deps struct {
	// Logger receives vendor failure detail; discarded when nil.
	Logger *slog.Logger
	// HTTPClient reaches the vendor; required, so that the caller's tracing and metrics apply.
	HTTPClient *http.Client
	// Now is the clock for token expiry; time.Now when nil.
	Now func() time.Time
}

// Service implements omsv1.OmsServiceServer.
type Service struct {
	omsv1.UnimplementedOmsServiceServer

	conn    Connector
	log     *slog.Logger
	timeout time.Duration
}

var _ omsv1.OmsServiceServer = (*Service)(nil)

// New validates cfg; the first RPC makes the first vendor call.
func New(cfg Config, deps Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.HTTPClient == nil {
		return nil, errs.E(errs.Invalid, "invalid_deps", "oms: deps.HTTPClient is required")
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
	log := deps.Logger.With("service", "oms", "vendor", cfg.Connection.Vendor())
	conn, err := cfg.Connection.Connect(deps, log)
	if err != nil {
		return nil, err
	}
	return &Service{conn: conn, log: log, timeout: cfg.Timeout}, nil
}

func invalid(bad []errs.FieldViolation) error {
	if len(bad) == 0 {
		return nil
	}
	return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
}

func required(field, v string) []errs.FieldViolation {
	if v == "" || len(v) > 256 {
		return []errs.FieldViolation{{Field: field, Description: "required, at most 256 characters"}}
	}
	return nil
}

// failed logs a vendor failure and returns it as it was classified.
func (s *Service) failed(ctx context.Context, op string, err error) error {
	s.log.WarnContext(ctx, "oms call failed", "op", op, "error", err.Error())
	return err
}

// SubmitOrder hands an order to the OMS.
func (s *Service) SubmitOrder(ctx context.Context, req *omsv1.SubmitOrderRequest) (*omsv1.SubmitOrderResponse, error) {
	o := req.GetOrder()
	bad := required("order.id", o.GetId())
	bad = append(bad, required("idempotency_key", req.GetIdempotencyKey())...)
	if len(o.GetLines()) == 0 {
		bad = append(bad, errs.FieldViolation{Field: "order.lines", Description: "name at least one line"})
	}
	for i, l := range o.GetLines() {
		bad = append(bad, required(fmt.Sprintf("order.lines[%d].sku", i), l.GetSku())...)
		if l.GetQuantity() < 1 {
			bad = append(bad, errs.FieldViolation{Field: fmt.Sprintf("order.lines[%d].quantity", i), Description: "must be at least 1"})
		}
	}
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	id, err := s.conn.SubmitOrder(ctx, o, req.GetIdempotencyKey())
	if err != nil {
		return nil, s.failed(ctx, "SubmitOrder", err)
	}
	return &omsv1.SubmitOrderResponse{OmsOrderId: id}, nil
}

// GetAllocation reads where each line was allocated.
func (s *Service) GetAllocation(ctx context.Context, req *omsv1.GetAllocationRequest) (*omsv1.GetAllocationResponse, error) {
	if err := invalid(required("oms_order_id", req.GetOmsOrderId())); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	a, err := s.conn.GetAllocation(ctx, req.GetOmsOrderId())
	if err != nil {
		return nil, s.failed(ctx, "GetAllocation", err)
	}
	return &omsv1.GetAllocationResponse{Allocations: a}, nil
}

// CancelOrder cancels an order in the OMS.
func (s *Service) CancelOrder(ctx context.Context, req *omsv1.CancelOrderRequest) (*omsv1.CancelOrderResponse, error) {
	bad := required("oms_order_id", req.GetOmsOrderId())
	bad = append(bad, required("idempotency_key", req.GetIdempotencyKey())...)
	if err := invalid(bad); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.conn.CancelOrder(ctx, req.GetOmsOrderId(), req.GetReason(), req.GetIdempotencyKey()); err != nil {
		return nil, s.failed(ctx, "CancelOrder", err)
	}
	return &omsv1.CancelOrderResponse{}, nil
}

// ListPositions reads the OMS's stock positions.
func (s *Service) ListPositions(ctx context.Context, req *omsv1.ListPositionsRequest) (*omsv1.ListPositionsResponse, error) {
	if len(req.GetSkus()) > 100 || len(req.GetLocationIds()) > 50 {
		return nil, invalid([]errs.FieldViolation{{Field: "skus", Description: "at most 100 SKUs and 50 locations"}})
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	p, err := s.conn.ListPositions(ctx, req.GetSkus(), req.GetLocationIds())
	if err != nil {
		return nil, s.failed(ctx, "ListPositions", err)
	}
	return &omsv1.ListPositionsResponse{Positions: p}, nil
}
