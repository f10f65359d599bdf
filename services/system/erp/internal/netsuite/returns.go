package netsuite

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// The return-to-refund writes: a return authorisation transformed from the sales order, item
// receipts and credit memos transformed from the return authorisation, and closing it.

// rmaLine is one line of the body transforming a sales order into a return authorisation.
type rmaLine struct {
	OrderLine    int    `json:"orderLine"`
	Quantity     int64  `json:"quantity"`
	ReturnReason string `json:"custcol_rb_return_reason,omitempty"`
}

type rmaBody struct {
	ExternalID  string           `json:"externalId,omitempty"`
	OrderStatus ref              `json:"orderStatus"`
	Memo        string           `json:"memo,omitempty"`
	Item        sublist[rmaLine] `json:"item"`
}

// approved is the orderStatus of a return authorisation ready to receive: Pending Receipt.
var approved = ref{ID: "B"}

// CreateReturnAuthorization opens an RMA by transforming the sales order the return is against.
// With no sales order id, or with the storefront order id in its place, it uses the sales order
// whose external id is the return's order id, which is how storefront orders are synchronised;
// an ERP id naming another order's sales order is refused. Return lines are matched to order lines by the storefront
// line id the order carries (custcol_rb_order_line_id), or else by SKU.
func (c *Client) CreateReturnAuthorization(ctx context.Context, req *erpv1.CreateReturnAuthorizationRequest) (*erpv1.CreateReturnAuthorizationResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	ret := req.GetReturn()
	soRef := req.GetSalesOrderId()
	switch soRef {
	case "", ret.GetOrderId():
		// No ERP id, or the caller named the storefront order as the return does: the sales
		// order booked for that order, by its external id.
		soRef = "eid:" + ret.GetOrderId()
	}
	so, err := c.getTransaction(ctx, typeSalesOrder, soRef, true)
	if err != nil {
		return nil, err
	}
	if ret.GetOrderId() != "" && so.ExternalID != "" && so.ExternalID != ret.GetOrderId() {
		return nil, errs.E(errs.FailedPrecondition, "sales_order_mismatch", "the sales order is not the returned order's").
			WithFields(errs.FieldViolation{Field: "sales_order_id", Description: "sales order " + so.TranID + " books another order"})
	}
	lines, err := toRMALines(so, ret.GetLines())
	if err != nil {
		return nil, err
	}
	body := rmaBody{ExternalID: ret.GetId(), OrderStatus: approved, Item: sublist[rmaLine]{Items: lines}}
	if ret.GetId() != "" {
		body.Memo = "Retailbridge return " + ret.GetId()
	}
	id, err := c.submit(ctx, write{
		op: "CreateReturnAuthorization", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url:  c.recordURL(typeSalesOrder+"/"+escapeID(so.ID)+"/!transform/"+typeReturnAuthorization, nil),
		body: body, record: typeSalesOrder,
	})
	if err != nil {
		return nil, err
	}
	rma, err := c.getTransaction(ctx, typeReturnAuthorization, id, false)
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateReturnAuthorizationResponse{ReturnAuthorizationId: rma.ID, RmaNumber: rma.TranID, Status: rma.status()}, nil
}

// toRMALines matches return lines to sales order lines, one body line per order line.
func toRMALines(so *transaction, lines []*canonicalv1.ReturnLine) ([]rmaLine, error) {
	byLine := map[int]*rmaLine{}
	for i, rl := range lines {
		n := 0
		for _, sl := range so.lines() {
			if rl.GetOrderLineId() != "" && sl.OrderLineID == rl.GetOrderLineId() {
				n = sl.Line
				break
			}
			if n == 0 && sl.Item.RefName == rl.GetSku() {
				n = sl.Line // by SKU unless a line id matches later
			}
		}
		if n == 0 {
			return nil, errs.E(errs.FailedPrecondition, "return_line_not_on_order",
				"a returned line is not on the ERP's sales order").
				WithFields(errs.FieldViolation{Field: fmt.Sprintf("return.lines[%d]", i), Description: "not on sales order " + so.TranID})
		}
		if l, ok := byLine[n]; ok {
			l.Quantity += int64(rl.GetQuantity())
			continue
		}
		byLine[n] = &rmaLine{OrderLine: n, Quantity: int64(rl.GetQuantity()), ReturnReason: reasonCode(rl.GetReason())}
	}
	out := make([]rmaLine, 0, len(byLine))
	for _, l := range byLine {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b rmaLine) int { return a.OrderLine - b.OrderLine })
	return out, nil
}

// reasonCode is the custom list value of a return reason: "size_or_fit" for RETURN_REASON_SIZE_OR_FIT.
func reasonCode(r canonicalv1.ReturnReason) string {
	if r == canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(r.String(), "RETURN_REASON_"))
}

// closeLine closes one line of a return authorisation.
type closeLine struct {
	Line     int  `json:"line"`
	IsClosed bool `json:"isClosed"`
}

// GetReturnAuthorization reads an RMA: its status and its external id, the return id it was
// opened under.
func (c *Client) GetReturnAuthorization(ctx context.Context, id string) (*erpv1.GetReturnAuthorizationResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	rma, err := c.getTransaction(ctx, typeReturnAuthorization, id, false)
	if err != nil {
		return nil, err
	}
	return &erpv1.GetReturnAuthorizationResponse{ReturnAuthorizationId: rma.ID, Status: rma.status(), Reference: rma.ExternalID}, nil
}

// CloseReturnAuthorization closes every line of an RMA, which closes the RMA. An RMA already
// closed, refunded or cancelled needs nothing more.
func (c *Client) CloseReturnAuthorization(ctx context.Context, req *erpv1.CloseReturnAuthorizationRequest) error {
	if err := c.window.closed(); err != nil {
		return err
	}
	rma, err := c.getTransaction(ctx, typeReturnAuthorization, req.GetReturnAuthorizationId(), true)
	if err != nil {
		return err
	}
	switch rma.status() {
	case "Closed", "Refunded", "Cancelled":
		return nil
	}
	var lines []closeLine
	for _, ln := range rma.lines() {
		lines = append(lines, closeLine{Line: ln.Line, IsClosed: true})
	}
	_, err = c.submit(ctx, write{
		op: "CloseReturnAuthorization", key: req.GetIdempotencyKey(), method: http.MethodPatch,
		url: c.recordURL(typeReturnAuthorization+"/"+escapeID(rma.ID), nil),
		body: struct {
			Item sublist[closeLine] `json:"item"`
		}{sublist[closeLine]{Items: lines}},
		record: typeReturnAuthorization,
	})
	return err
}

// receiptLine is one line of the body transforming an RMA into an item receipt.
type receiptLine struct {
	OrderLine   int    `json:"orderLine"`
	ItemReceive bool   `json:"itemReceive"`
	Quantity    int64  `json:"quantity"`
	Restock     bool   `json:"restock"`
	Location    ref    `json:"location"`
	Condition   string `json:"custcol_rb_condition,omitempty"`
}

// CreateItemReceipt receives returned units against an RMA at a location, each line with its
// restock flag. Lines are matched to the RMA's lines by SKU.
func (c *Client) CreateItemReceipt(ctx context.Context, req *erpv1.CreateItemReceiptRequest) (*erpv1.CreateItemReceiptResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	rma, err := c.getTransaction(ctx, typeReturnAuthorization, req.GetReturnAuthorizationId(), true)
	if err != nil {
		return nil, err
	}
	loc := ref{ID: req.GetLocationId()}
	var lines []receiptLine
	taken := map[int]int64{}
	for i, rl := range req.GetLines() {
		shares, ok := allocate(rma, rl.GetSku(), int64(rl.GetQuantity()), taken)
		if !ok {
			return nil, notAuthorized(rma, i, rl.GetSku())
		}
		for _, s := range shares {
			lines = append(lines, receiptLine{OrderLine: s.line, ItemReceive: true, Quantity: s.quantity,
				Restock: rl.GetRestock(), Location: loc, Condition: conditionCode(rl.GetCondition())})
		}
	}
	id, err := c.submit(ctx, write{
		op: "CreateItemReceipt", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeReturnAuthorization+"/"+escapeID(rma.ID)+"/!transform/"+typeItemReceipt, nil),
		body: struct {
			Location ref                  `json:"location"`
			Item     sublist[receiptLine] `json:"item"`
		}{loc, sublist[receiptLine]{Items: lines}},
		record: typeReturnAuthorization,
	})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateItemReceiptResponse{ItemReceiptId: id}, nil
}

func notAuthorized(rma *transaction, i int, sku string) error {
	return errs.E(errs.FailedPrecondition, "line_not_authorized", "a line is not on the return authorization in that quantity").
		WithFields(errs.FieldViolation{Field: fmt.Sprintf("lines[%d]", i), Description: sku + " is not authorised in that quantity on " + rma.TranID})
}

func conditionCode(c canonicalv1.ItemCondition) string {
	if c == canonicalv1.ItemCondition_ITEM_CONDITION_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(c.String(), "ITEM_CONDITION_"))
}

// memoLine is one line of the body transforming an RMA into a credit memo.
type memoLine struct {
	OrderLine int         `json:"orderLine"`
	Quantity  int64       `json:"quantity"`
	Amount    json.Number `json:"amount"`
	Restock   bool        `json:"restock"`
}

// CreateCreditMemo posts the credit memo for a refund from an RMA, with the amount credited per
// line, and returns it as NetSuite booked it.
func (c *Client) CreateCreditMemo(ctx context.Context, req *erpv1.CreateCreditMemoRequest) (*canonicalv1.CreditMemo, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	if err := c.checkCurrency("total.currency_code", req.GetTotal()); err != nil {
		return nil, err
	}
	rma, err := c.getTransaction(ctx, typeReturnAuthorization, req.GetReturnAuthorizationId(), true)
	if err != nil {
		return nil, err
	}
	var lines []memoLine
	taken := map[int]int64{}
	for i, ml := range req.GetLines() {
		if err := c.checkCurrency(fmt.Sprintf("lines[%d].amount.currency_code", i), ml.GetAmount()); err != nil {
			return nil, err
		}
		shares, ok := allocate(rma, ml.GetSku(), int64(ml.GetQuantity()), taken)
		if !ok {
			return nil, notAuthorized(rma, i, ml.GetSku())
		}
		// A line spread over several RMA lines splits its amount by quantity, the remainder on
		// the last share, so the memo's total is exactly the refund.
		left := ml.GetAmount().GetAmountMinor()
		for j, s := range shares {
			amt := ml.GetAmount().GetAmountMinor() * s.quantity / int64(ml.GetQuantity())
			if j == len(shares)-1 {
				amt = left
			}
			left -= amt
			lines = append(lines, memoLine{OrderLine: s.line, Quantity: s.quantity, Amount: decimal(amt, c.currency), Restock: ml.GetRestock()})
		}
	}
	id, err := c.submit(ctx, write{
		op: "CreateCreditMemo", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeReturnAuthorization+"/"+escapeID(rma.ID)+"/!transform/"+typeCreditMemo, nil),
		body: struct {
			Memo string            `json:"memo"`
			Item sublist[memoLine] `json:"item"`
		}{"Retailbridge refund for " + rma.TranID, sublist[memoLine]{Items: lines}},
		record: typeReturnAuthorization,
	})
	if err != nil {
		return nil, err
	}
	cm, err := c.getTransaction(ctx, typeCreditMemo, id, true)
	if err != nil {
		return nil, err
	}
	memo, err := toCreditMemo(cm, c.currency)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	return memo, nil
}

// checkCurrency refuses amounts in a currency other than the account's: NetSuite would book
// them in the account's currency without converting.
func (c *Client) checkCurrency(field string, m *canonicalv1.Money) error {
	if m == nil || strings.EqualFold(m.GetCurrencyCode(), c.currency) {
		return nil
	}
	return errs.E(errs.Invalid, "currency_not_supported", "the ERP account books in "+c.currency).
		WithFields(errs.FieldViolation{Field: field, Description: "must be " + c.currency})
}

// toCreditMemo converts a credit memo record. Amounts are read from the JSON numbers' text.
func toCreditMemo(t *transaction, currency string) (*canonicalv1.CreditMemo, error) {
	cm := &canonicalv1.CreditMemo{Id: t.ID, Number: t.TranID, Status: toCreditMemoStatus(t.status())}
	if t.CreatedFrom != nil {
		cm.ReturnAuthorizationId = t.CreatedFrom.ID
	}
	if t.Total != "" {
		total, err := money.ParseDecimal(t.Total.String(), currency)
		if err != nil {
			return nil, fmt.Errorf("credit memo %s total: %w", t.ID, err)
		}
		cm.Total = money.New(total, currency)
	}
	if t.CreatedDate != "" {
		at, err := time.Parse(time.RFC3339, t.CreatedDate)
		if err != nil {
			return nil, fmt.Errorf("credit memo %s createdDate: %w", t.ID, err)
		}
		cm.CreatedAt = timestamppb.New(at)
	}
	for _, ln := range t.lines() {
		q, err := count(ln.Quantity)
		if err != nil {
			return nil, fmt.Errorf("credit memo %s line %d quantity %q: %w", t.ID, ln.Line, ln.Quantity, err)
		}
		amt, err := money.ParseDecimal(ln.Amount.String(), currency)
		if err != nil {
			return nil, fmt.Errorf("credit memo %s line %d amount: %w", t.ID, ln.Line, err)
		}
		cm.Lines = append(cm.Lines, &canonicalv1.CreditMemoLine{Sku: ln.Item.RefName, Quantity: int32(q),
			Amount: money.New(amt, currency), Restock: ln.Restock})
	}
	return cm, nil
}

func toCreditMemoStatus(s string) canonicalv1.CreditMemoStatus {
	switch s {
	case "Open":
		return canonicalv1.CreditMemoStatus_CREDIT_MEMO_STATUS_OPEN
	case "Fully Applied":
		return canonicalv1.CreditMemoStatus_CREDIT_MEMO_STATUS_FULLY_APPLIED
	}
	return canonicalv1.CreditMemoStatus_CREDIT_MEMO_STATUS_UNSPECIFIED
}
