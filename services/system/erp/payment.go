package erp

import (
	"context"
	"fmt"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The cash end of order-to-cash in the ERP: the customer payment the order workflow records
// once an order is paid and invoiced, and the reads settlement and the workflow make of what the
// ERP holds (payments, bank deposits, sales order statuses).

// maxLookback bounds how far back one listing may reach, so one call cannot ask the ERP for
// its whole history.
const maxLookback = 400 * 24 * time.Hour

// RecordCustomerPayment records an order's payment, applied to its invoice.
func (s *Service) RecordCustomerPayment(ctx context.Context, req *erpv1.RecordCustomerPaymentRequest) (*erpv1.RecordCustomerPaymentResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("order_id", req.GetOrderId(), true)
	v.id("invoice_id", req.GetInvoiceId(), true)
	v.id("customer_id", req.GetCustomerId(), true)
	v.money("amount", req.GetAmount())
	if len(req.GetPaymentReference()) > 255 {
		v.add("payment_reference", "must be at most 255 characters")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.conn.RecordCustomerPayment(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "RecordCustomerPayment", err)
	}
	return resp, nil
}

// since validates a listing's lower bound: required, not in the future, within maxLookback.
func since(field string, t interface{ AsTime() time.Time }, set bool) (time.Time, error) {
	var v violations
	at := t.AsTime()
	switch {
	case !set:
		v.add(field, "is required")
	case at.After(time.Now().Add(time.Hour)):
		v.add(field, "must not be in the future")
	case time.Since(at) > maxLookback:
		v.add(field, "must be within the last 400 days")
	}
	return at, v.err()
}

// ListCustomerPayments lists the payments recorded since created_since.
func (s *Service) ListCustomerPayments(ctx context.Context, req *erpv1.ListCustomerPaymentsRequest) (*erpv1.ListCustomerPaymentsResponse, error) {
	at, err := since("created_since", req.GetCreatedSince(), req.GetCreatedSince() != nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ps, err := s.conn.ListCustomerPayments(ctx, at)
	if err != nil {
		return nil, s.failed(ctx, "ListCustomerPayments", err)
	}
	return &erpv1.ListCustomerPaymentsResponse{Payments: ps}, nil
}

// ListDeposits lists the bank deposits recorded since created_since.
func (s *Service) ListDeposits(ctx context.Context, req *erpv1.ListDepositsRequest) (*erpv1.ListDepositsResponse, error) {
	at, err := since("created_since", req.GetCreatedSince(), req.GetCreatedSince() != nil)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ds, err := s.conn.ListDeposits(ctx, at)
	if err != nil {
		return nil, s.failed(ctx, "ListDeposits", err)
	}
	return &erpv1.ListDepositsResponse{Deposits: ds}, nil
}

// ListSalesOrderChanges lists the sales orders changed since modified_since.
func (s *Service) ListSalesOrderChanges(ctx context.Context, req *erpv1.ListSalesOrderChangesRequest) (*erpv1.ListSalesOrderChangesResponse, error) {
	at, err := since("modified_since", req.GetModifiedSince(), req.GetModifiedSince() != nil)
	if err != nil {
		return nil, err
	}
	if n := len(req.GetFollowedSalesOrderIds()); n > maxFollowed {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(
			errs.FieldViolation{Field: "followed_sales_order_ids", Description: fmt.Sprintf("at most %d, got %d", maxFollowed, n)})
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cs, err := s.conn.ListSalesOrderChanges(ctx, at)
	if err != nil {
		return nil, s.failed(ctx, "ListSalesOrderChanges", err)
	}
	if f, ok := s.conn.(SalesOrderFollower); ok && len(req.GetFollowedSalesOrderIds()) > 0 {
		gone, err := f.FollowSalesOrders(ctx, req.GetFollowedSalesOrderIds(), cs)
		if err != nil {
			return nil, s.failed(ctx, "ListSalesOrderChanges", err)
		}
		cs = append(cs, gone...)
	}
	return &erpv1.ListSalesOrderChangesResponse{Changes: cs}, nil
}

// maxFollowed bounds the sales orders one poll follows.
const maxFollowed = 500
