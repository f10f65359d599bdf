package shopify

import (
	"context"
	"strings"

	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

type refundInput struct {
	OrderID         string             `json:"orderId"`
	Note            string             `json:"note"`
	Notify          bool               `json:"notify"`
	Currency        string             `json:"currency,omitempty"`
	RefundLineItems []refundLineInput  `json:"refundLineItems"`
	Transactions    []transactionInput `json:"transactions"`
}

type refundLineInput struct {
	LineItemID  string `json:"lineItemId"`
	Quantity    int32  `json:"quantity"`
	RestockType string `json:"restockType"`
}

type transactionInput struct {
	OrderID string `json:"orderId"`
	Kind    string `json:"kind"`
	Gateway string `json:"gateway"`
	Amount  string `json:"amount"`
}

// refundGateway names where the money moved: the payment gateway refunded it already, outside
// Shopify, so Shopify records the refund without charging anything back again.
const refundGateway = "manual"

// gatewayRefundPrefix introduces the payment gateway's refund id in the refund's note, where the
// refunds/create webhook brings it back.
const gatewayRefundPrefix = "gateway refund "

// RecordRefund records a refund the payment gateway made: the lines refunded (restocked or not)
// and the amount. The caller's idempotency key goes to Shopify as @idempotent, so a repeat
// returns the first refund instead of recording another.
func (c *Connector) RecordRefund(ctx context.Context, req *commercev1.RecordRefundRequest) (string, error) {
	if !isNumeric(req.GetOrderId()) {
		return "", toError(ctx, failure{notFound: true})
	}
	gid := "gid://shopify/Order/" + req.GetOrderId()
	note := "Retailbridge refund"
	if ref := req.GetGatewayRefundId(); ref != "" {
		note += "; " + gatewayRefundPrefix + ref
	}
	input := refundInput{OrderID: gid, Note: note, RefundLineItems: []refundLineInput{}, Transactions: []transactionInput{}}
	for _, l := range req.GetLines() {
		restock := "NO_RESTOCK"
		if l.GetRestock() {
			restock = "RETURN"
		}
		input.RefundLineItems = append(input.RefundLineItems, refundLineInput{
			LineItemID: "gid://shopify/LineItem/" + l.GetOrderLineId(), Quantity: l.GetQuantity(), RestockType: restock})
	}
	if amt := req.GetAmount(); amt.GetAmountMinor() > 0 {
		input.Currency = strings.ToUpper(amt.GetCurrencyCode())
		input.Transactions = append(input.Transactions, transactionInput{OrderID: gid, Kind: "REFUND", Gateway: refundGateway,
			Amount: money.FormatDecimal(amt.GetAmountMinor(), amt.GetCurrencyCode())})
	}
	var out struct {
		RefundCreate *struct {
			Refund *struct {
				ID string `json:"id"`
			} `json:"refund"`
			UserErrors []userError `json:"userErrors"`
		} `json:"refundCreate"`
	}
	if err := c.do(ctx, refundCreateOp, map[string]any{"input": input, "key": req.GetIdempotencyKey()}, &out); err != nil {
		return "", err
	}
	p := out.RefundCreate
	switch {
	case p == nil:
		return "", c.fail(ctx, refundCreateOp, mutationFailure(true, nil, "order"))
	case len(p.UserErrors) > 0 || p.Refund == nil:
		return "", c.fail(ctx, refundCreateOp, mutationFailure(false, p.UserErrors, "order"))
	}
	return numericIDOrFail(ctx, c, refundCreateOp, p.Refund.ID)
}
