package commerce

import (
	"context"
	"fmt"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// RecordRefund records on the order a refund the payment gateway already made: the lines (and
// whether to restock them) and the amount. The idempotency key goes to the platform with the
// refund, so a repeat returns the first refund and never records a second.
func (s *Service) RecordRefund(ctx context.Context, req *commercev1.RecordRefundRequest) (*commercev1.RecordRefundResponse, error) {
	var bad []errs.FieldViolation
	checkID(&bad, "order_id", req.GetOrderId())
	checkKey(&bad, "idempotency_key", req.GetIdempotencyKey())
	if len(req.GetLines()) > MaxLines {
		bad = append(bad, errs.FieldViolation{Field: "lines", Description: fmt.Sprintf("name at most %d lines", MaxLines)})
	}
	for i, l := range req.GetLines() {
		f := fmt.Sprintf("lines[%d]", i)
		checkID(&bad, f+".order_line_id", l.GetOrderLineId())
		checkQuantity(&bad, f+".quantity", l.GetQuantity())
	}
	switch amt := req.GetAmount(); {
	case amt == nil:
		bad = append(bad, errs.FieldViolation{Field: "amount", Description: "required"})
	case amt.GetAmountMinor() < 0:
		bad = append(bad, errs.FieldViolation{Field: "amount.amount_minor", Description: "must not be negative"})
	case len(amt.GetCurrencyCode()) != 3 || strings.ToUpper(amt.GetCurrencyCode()) != amt.GetCurrencyCode():
		bad = append(bad, errs.FieldViolation{Field: "amount.currency_code", Description: "must be an upper-case ISO 4217 code"})
	case amt.GetAmountMinor() == 0 && len(req.GetLines()) == 0:
		bad = append(bad, errs.FieldViolation{Field: "lines", Description: "name a line or a positive amount: the refund records nothing"})
	}
	if ref := req.GetGatewayRefundId(); len(ref) > maxIDLength || strings.ContainsFunc(ref, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		bad = append(bad, errs.FieldViolation{Field: "gateway_refund_id", Description: "must be at most 64 printable characters without spaces"})
	}
	if len(bad) > 0 {
		return nil, invalid(bad)
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, err := s.conn.RecordRefund(ctx, req)
	if err != nil {
		return nil, classify(err)
	}
	return &commercev1.RecordRefundResponse{PlatformRefundId: id}, nil
}
