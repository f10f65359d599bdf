package erp

import (
	"context"
	"fmt"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// CreateCreditMemo posts the credit memo for a refund from an RMA. Its lines must add up to the
// total, in one currency: the memo must equal the refund to the cent.
func (s *Service) CreateCreditMemo(ctx context.Context, req *erpv1.CreateCreditMemoRequest) (*erpv1.CreateCreditMemoResponse, error) {
	var v violations
	v.key("idempotency_key", req.GetIdempotencyKey())
	v.id("return_authorization_id", req.GetReturnAuthorizationId(), true)
	v.money("total", req.GetTotal())
	v.lines("lines", len(req.GetLines()))
	var sum int64
	for i, l := range req.GetLines() {
		f := fmt.Sprintf("lines[%d]", i)
		v.sku(f+".sku", l.GetSku())
		v.quantity(f+".quantity", int64(l.GetQuantity()))
		v.money(f+".amount", l.GetAmount())
		sum += l.GetAmount().GetAmountMinor()
		if l.GetAmount() != nil && req.GetTotal() != nil && l.GetAmount().GetCurrencyCode() != req.GetTotal().GetCurrencyCode() {
			v.add(f+".amount.currency_code", "must be the total's currency")
		}
	}
	if len(v) == 0 && sum != req.GetTotal().GetAmountMinor() {
		v.add("total", "must equal the sum of the lines (%d)", sum)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	memo, err := s.conn.CreateCreditMemo(ctx, req)
	if err != nil {
		return nil, s.failed(ctx, "CreateCreditMemo", err)
	}
	return &erpv1.CreateCreditMemoResponse{CreditMemo: memo}, nil
}
