package businesscentral

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The return-to-refund writes. API v2.0 has no sales return orders, so the RMA is the returns
// extension's returnOrders page (a Sales Header of document type Return Order), receipts are its
// returnReceipts page, and the refund is a v2.0 salesCreditMemo, created in the same
// transactional $batch that marks the return order credited, then posted.

// Return order statuses, as the extension's page shows them.
const (
	rmaClosed   = "Closed"
	rmaCredited = "Credited"
)

// CreateReturnAuthorization opens a return order against the sales order the return is against:
// the one named by its id, or, with no id or the storefront order id in its place, the one
// booked for the return's order. Return lines are matched to order lines by SKU.
func (c *Client) CreateReturnAuthorization(ctx context.Context, req *erpv1.CreateReturnAuthorizationRequest) (*erpv1.CreateReturnAuthorizationResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	ret := req.GetReturn()
	so, err := c.returnedSalesOrder(ctx, req.GetSalesOrderId(), ret.GetOrderId())
	if err != nil {
		return nil, err
	}
	lines, err := rmaLines(so, ret.GetLines())
	if err != nil {
		return nil, err
	}
	rma, err := c.createOnce(ctx, "CreateReturnAuthorization", req.GetIdempotencyKey(), req, groupReturns, "returnOrders", "",
		func(ctx context.Context, ext string) (*document, error) {
			return c.post(ctx, c.entityURL(groupReturns, "returnOrders", nil), map[string]any{
				"externalDocumentNumber": ext, "yourReference": truncate(ret.GetId(), 35), "salesOrderId": so.ID,
				"returnOrderLines": lines,
			}, "returnOrder")
		})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateReturnAuthorizationResponse{ReturnAuthorizationId: rma.ID, RmaNumber: rma.Number, Status: rma.Status}, nil
}

func (c *Client) returnedSalesOrder(ctx context.Context, ref, orderID string) (*document, error) {
	const expand = "salesOrderLines"
	if ref == "" || ref == orderID {
		so, err := c.salesOrderFor(ctx, orderID, expand)
		if err == nil && so == nil {
			err = errs.E(errs.NotFound, "sales_order_not_found", "the ERP has no sales order for the order")
		}
		return so, err
	}
	so, err := c.read(ctx, groupV2, "salesOrders", ref, expand, "salesOrder")
	if err != nil {
		return nil, err
	}
	if orderID != "" && so.External != "" && so.External != orderID {
		return nil, errs.E(errs.FailedPrecondition, "sales_order_mismatch", "the sales order is not the returned order's").
			WithFields(errs.FieldViolation{Field: "sales_order_id", Description: "sales order " + so.Number + " books another order"})
	}
	return so, nil
}

// rmaLines are the return order's lines, one per SKU, each on the sales order.
func rmaLines(so *document, lines []*canonicalv1.ReturnLine) ([]docLine, error) {
	var out []docLine
	at := map[string]int{}
	for i, rl := range lines {
		onOrder := false
		for _, sl := range so.SalesOrderLines {
			onOrder = onOrder || sl.LineObjectNumber == rl.GetSku()
		}
		if !onOrder {
			return nil, errs.E(errs.FailedPrecondition, "return_line_not_on_order", "a returned line is not on the ERP's sales order").
				WithFields(errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d]", i), Description: "not on sales order " + so.Number})
		}
		if j, ok := at[rl.GetSku()]; ok {
			out[j].Quantity = count(out[j].qty() + int64(rl.GetQuantity()))
			continue
		}
		at[rl.GetSku()] = len(out)
		out = append(out, docLine{LineType: "Item", LineObjectNumber: rl.GetSku(), Quantity: count(int64(rl.GetQuantity())),
			ReturnReasonCode: reasonCode(rl.GetReason())})
	}
	return out, nil
}

// reasonCode is the return reason code: "SIZE_OR_FIT" for RETURN_REASON_SIZE_OR_FIT.
func reasonCode(r canonicalv1.ReturnReason) string {
	if r == canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED {
		return ""
	}
	return truncate(strings.TrimPrefix(r.String(), "RETURN_REASON_"), 10)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// GetReturnAuthorization reads a return order: its status and the return id it was opened under.
func (c *Client) GetReturnAuthorization(ctx context.Context, id string) (*erpv1.GetReturnAuthorizationResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	rma, err := c.read(ctx, groupReturns, "returnOrders", id, "", "returnOrder")
	if err != nil {
		return nil, err
	}
	return &erpv1.GetReturnAuthorizationResponse{ReturnAuthorizationId: rma.ID, Status: rma.Status, Reference: rma.YourReference}, nil
}

// maxConflicts bounds the re-reads after 412s before an update gives up.
const maxConflicts = 5

// CloseReturnAuthorization closes a return order, with the ETag of the version read; a 412 (a
// user changed it in between) means read it again and decide again. Closing a closed or credited
// return order does nothing.
func (c *Client) CloseReturnAuthorization(ctx context.Context, req *erpv1.CloseReturnAuthorizationRequest) error {
	if err := c.closed(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		rma, err := c.read(ctx, groupReturns, "returnOrders", req.GetReturnAuthorizationId(), "", "returnOrder")
		if err != nil {
			return err
		}
		if rma.Status == rmaClosed || rma.Status == rmaCredited {
			return nil
		}
		_, err = c.call(ctx, request{method: http.MethodPatch, url: c.entityURL(groupReturns, "returnOrders("+rma.ID+")", nil),
			body: map[string]any{"status": rmaClosed}, ifMatch: rma.ETag, entity: "returnOrder"})
		if errs.As(err) == nil || errs.As(err).Reason != "erp_record_changed" || attempt == maxConflicts {
			return err
		}
		c.conflicts.Add(1)
	}
}

// CreateItemReceipt receives units against a return order.
func (c *Client) CreateItemReceipt(ctx context.Context, req *erpv1.CreateItemReceiptRequest) (*erpv1.CreateItemReceiptResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	rma, err := c.read(ctx, groupReturns, "returnOrders", req.GetReturnAuthorizationId(), "returnOrderLines", "returnOrder")
	if err != nil {
		return nil, err
	}
	lines := make([]docLine, 0, len(req.GetLines()))
	for i, l := range req.GetLines() {
		if int64(l.GetQuantity()) > rma.authorised(l.GetSku()) {
			return nil, notAuthorized(rma, i, l.GetSku())
		}
		lines = append(lines, docLine{LineObjectNumber: l.GetSku(), Quantity: count(int64(l.GetQuantity())), Restock: l.GetRestock(),
			Condition: strings.ToLower(strings.TrimPrefix(l.GetCondition().String(), "ITEM_CONDITION_"))})
	}
	rc, err := c.createOnce(ctx, "CreateItemReceipt", req.GetIdempotencyKey(), req, groupReturns, "returnReceipts", "",
		func(ctx context.Context, ext string) (*document, error) {
			return c.post(ctx, c.entityURL(groupReturns, "returnReceipts", nil), map[string]any{
				"externalDocumentNumber": ext, "returnOrderId": rma.ID, "locationCode": req.GetLocationId(), "returnReceiptLines": lines,
			}, "returnReceipt")
		})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateItemReceiptResponse{ItemReceiptId: rc.ID}, nil
}

func notAuthorized(rma *document, i int, sku string) error {
	return errs.E(errs.FailedPrecondition, "line_not_authorized", "a line is not on the return authorization in that quantity").
		WithFields(errs.FieldViolation{Field: fmt.Sprintf("lines[%d]", i), Description: sku + " is not authorised in that quantity on " + rma.Number})
}

func (c *Client) checkCurrency(field string, m *canonicalv1.Money) error {
	if m == nil || strings.EqualFold(m.GetCurrencyCode(), c.currency) {
		return nil
	}
	return errs.E(errs.Invalid, "currency_not_supported", "the ERP company books in "+c.currency).
		WithFields(errs.FieldViolation{Field: field, Description: "must be " + c.currency})
}

// CreateCreditMemo refunds from a return order: one transactional $batch creates the sales
// credit memo (lines deep-inserted) and marks the return order credited with the ETag read, so
// neither happens without the other; a 412 re-reads the return order and sends the batch again.
// The memo is then posted. A repeat finds the memo by its external document number and posts it
// if the first attempt stopped before.
func (c *Client) CreateCreditMemo(ctx context.Context, req *erpv1.CreateCreditMemoRequest) (*canonicalv1.CreditMemo, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	if err := c.checkCurrency("total.currency_code", req.GetTotal()); err != nil {
		return nil, err
	}
	rma, err := c.read(ctx, groupReturns, "returnOrders", req.GetReturnAuthorizationId(), "returnOrderLines", "returnOrder")
	if err != nil {
		return nil, err
	}
	lines := make([]docLine, 0, len(req.GetLines()))
	for i, ml := range req.GetLines() {
		if err := c.checkCurrency(fmt.Sprintf("lines[%d].amount.currency_code", i), ml.GetAmount()); err != nil {
			return nil, err
		}
		q := int64(ml.GetQuantity())
		if q > rma.authorised(ml.GetSku()) {
			return nil, notAuthorized(rma, i, ml.GetSku())
		}
		// Business Central computes a line's amount as quantity × unit price − discount: the unit
		// price rounded up and the rest as a discount give exactly the refunded amount.
		amt := ml.GetAmount().GetAmountMinor()
		unit := (amt + q - 1) / q
		lines = append(lines, docLine{LineType: "Item", LineObjectNumber: ml.GetSku(), Quantity: count(q),
			UnitPrice: decimal(unit), DiscountAmount: decimal(unit*q - amt)})
	}
	memo, err := c.createOnce(ctx, "CreateCreditMemo", req.GetIdempotencyKey(), req, groupV2, "salesCreditMemos", "",
		func(ctx context.Context, ext string) (*document, error) { return c.creditAndMark(ctx, rma, ext, lines) })
	if err != nil {
		return nil, err
	}
	if memo.Status == "Draft" {
		if _, err := c.call(ctx, request{method: http.MethodPost, url: c.entityURL(groupV2, "salesCreditMemos("+memo.ID+")/Microsoft.NAV.post", nil),
			entity: "salesCreditMemo"}); err != nil {
			return nil, err
		}
	}
	created, err := time.Parse(time.RFC3339Nano, memo.SystemCreatedAt)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return &canonicalv1.CreditMemo{Id: memo.ID, Number: memo.Number, ReturnAuthorizationId: rma.ID, Lines: req.GetLines(),
		Total: req.GetTotal(), Status: canonicalv1.CreditMemoStatus_CREDIT_MEMO_STATUS_OPEN, CreatedAt: timestamppb.New(created)}, nil
}

// creditAndMark is the credit memo's transactional batch, sent again on a fresh read after a 412.
func (c *Client) creditAndMark(ctx context.Context, rma *document, ext string, lines []docLine) (*document, error) {
	for attempt := 1; ; attempt++ {
		ops := []batchOp{
			{ID: "memo", Method: http.MethodPost, URL: c.entityURL(groupV2, "salesCreditMemos", nil).String(), entity: "salesCreditMemo",
				Body: map[string]any{"externalDocumentNumber": ext, "customerNumber": rma.CustomerNumber, "currencyCode": c.currency,
					"salesCreditMemoLines": lines}},
			{ID: "credited", Method: http.MethodPatch, URL: c.entityURL(groupReturns, "returnOrders("+rma.ID+")", nil).String(),
				Headers: map[string]string{"If-Match": rma.ETag}, Body: map[string]any{"status": rmaCredited}, entity: "returnOrder"},
		}
		out, err := c.batch(ctx, ops)
		if err == nil {
			var memo document
			if err := decodeInto(out[0].Body, &memo); err != nil {
				return nil, err
			}
			return &memo, nil
		}
		if errs.As(err) == nil || errs.As(err).Reason != "erp_record_changed" || attempt == maxConflicts {
			return nil, err
		}
		c.conflicts.Add(1)
		if rma, err = c.read(ctx, groupReturns, "returnOrders", rma.ID, "returnOrderLines", "returnOrder"); err != nil {
			return nil, err
		}
	}
}
