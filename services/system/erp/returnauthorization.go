package erp

import (
	"context"
	"fmt"
	"google.golang.org/protobuf/proto"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// CreateReturnAuthorization opens an RMA for a return. sales_order_id may be left empty, or carry
// the storefront order id: the return is then authorised against the sales order booked for its
// order (external id = the storefront order id). An ERP id of another order's sales order is
// errs.FailedPrecondition "sales_order_mismatch".
func (s *Service) CreateReturnAuthorization(ctx context.Context, req *erpv1.CreateReturnAuthorizationRequest) (*erpv1.CreateReturnAuthorizationResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("sales_order_id", req.GetSalesOrderId(), false)
	ret := req.GetReturn()
	if ret == nil {
		v.add("return", "is required")
	} else {
		v.id("return.id", ret.GetId(), false)
		v.id("return.order_id", ret.GetOrderId(), req.GetSalesOrderId() == "")
		v.lines("return.lines", len(ret.GetLines()))
		for i, l := range ret.GetLines() {
			f := fmt.Sprintf("return.lines[%d]", i)
			v.id(f+".order_line_id", l.GetOrderLineId(), false)
			v.sku(f+".sku", l.GetSku())
			v.quantity(f+".quantity", int64(l.GetQuantity()))
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CreateReturnAuthorization(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateReturnAuthorization", err)
	}
	return resp, nil
}

// GetReturnAuthorization reads an RMA's status and the reference it was opened under, so a
// caller can tell its RMA from another return's that an ERP which lost its records numbered alike.
func (s *Service) GetReturnAuthorization(ctx context.Context, req *erpv1.GetReturnAuthorizationRequest) (*erpv1.GetReturnAuthorizationResponse, error) {
	var v violations
	v.id("return_authorization_id", req.GetReturnAuthorizationId(), true)
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetReturnAuthorization(ctx, req.GetReturnAuthorizationId())
	if err != nil {
		return nil, s.failed(ctx, "GetReturnAuthorization", err)
	}
	return resp, nil
}

// CloseReturnAuthorization closes an RMA, the compensation for a cancelled return. Closing an RMA
// that is already closed or refunded succeeds without a change.
func (s *Service) CloseReturnAuthorization(ctx context.Context, req *erpv1.CloseReturnAuthorizationRequest) (*erpv1.CloseReturnAuthorizationResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("return_authorization_id", req.GetReturnAuthorizationId(), true)
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.conn.CloseReturnAuthorization(ctx, req); err != nil {
		return nil, s.failed(ctx, "CloseReturnAuthorization", err)
	}
	return &erpv1.CloseReturnAuthorizationResponse{}, nil
}

// CreateItemReceipt receives returned units against an RMA at a location, with a restock flag
// per line.
func (s *Service) CreateItemReceipt(ctx context.Context, req *erpv1.CreateItemReceiptRequest) (*erpv1.CreateItemReceiptResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("return_authorization_id", req.GetReturnAuthorizationId(), true)
	v.id("location_id", req.GetLocationId(), true)
	v.lines("lines", len(req.GetLines()))
	for i, l := range req.GetLines() {
		f := fmt.Sprintf("lines[%d]", i)
		v.sku(f+".sku", l.GetSku())
		v.quantity(f+".quantity", int64(l.GetQuantity()))
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	loc, err := s.erpLocation("location_id", req.GetLocationId())
	if err != nil {
		return nil, err
	}
	req = proto.CloneOf(req)
	req.LocationId = loc
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CreateItemReceipt(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateItemReceipt", err)
	}
	return resp, nil
}
