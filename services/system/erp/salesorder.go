package erp

import (
	"context"
	"fmt"
	"google.golang.org/protobuf/proto"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// CreateSalesOrder books a storefront order in the ERP, with the order id as its external id. An
// order booked before is returned as it is.
func (s *Service) CreateSalesOrder(ctx context.Context, req *erpv1.CreateSalesOrderRequest) (*erpv1.CreateSalesOrderResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	o := req.GetOrder()
	if o == nil {
		v.add("order", "is required")
	} else {
		v.id("order.id", o.GetId(), true)
		v.id("order.customer.id", o.GetCustomer().GetId(), true)
		v.lines("order.lines", len(o.GetLines()))
		for i, l := range o.GetLines() {
			f := fmt.Sprintf("order.lines[%d]", i)
			v.id(f+".id", l.GetId(), false)
			v.sku(f+".sku", l.GetSku())
			v.quantity(f+".quantity", int64(l.GetQuantity()))
			if l.GetUnitPrice() != nil {
				v.money(f+".unit_price", l.GetUnitPrice())
			}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CreateSalesOrder(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateSalesOrder", err)
	}
	return resp, nil
}

// GetSalesOrder reads a sales order's status.
func (s *Service) GetSalesOrder(ctx context.Context, req *erpv1.GetSalesOrderRequest) (*erpv1.GetSalesOrderResponse, error) {
	var v violations
	v.id("sales_order_id", req.GetSalesOrderId(), true)
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.GetSalesOrder(ctx, req.GetSalesOrderId())
	if err != nil {
		return nil, s.failed(ctx, "GetSalesOrder", err)
	}
	return resp, nil
}

// CreateItemFulfillment records a shipment against a sales order.
func (s *Service) CreateItemFulfillment(ctx context.Context, req *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("sales_order_id", req.GetSalesOrderId(), true)
	v.id("location_id", req.GetLocationId(), false)
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
	resp, err := s.conn.CreateItemFulfillment(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateItemFulfillment", err)
	}
	return resp, nil
}

// CreateInvoice bills a sales order.
func (s *Service) CreateInvoice(ctx context.Context, req *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("sales_order_id", req.GetSalesOrderId(), true)
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.CreateInvoice(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateInvoice", err)
	}
	return resp, nil
}

// CloseSalesOrder closes a sales order (a cancelled order's compensation).
func (s *Service) CloseSalesOrder(ctx context.Context, req *erpv1.CloseSalesOrderRequest) (*erpv1.CloseSalesOrderResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("sales_order_id", req.GetSalesOrderId(), true)
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.conn.CloseSalesOrder(ctx, req); err != nil {
		return nil, s.failed(ctx, "CloseSalesOrder", err)
	}
	return &erpv1.CloseSalesOrderResponse{}, nil
}
