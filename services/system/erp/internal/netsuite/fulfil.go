package netsuite

import (
	"context"
	"fmt"
	"net/http"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The order-to-cash writes after the sales order: item fulfilments and the invoice transformed
// from it, and closing it when the storefront order is cancelled before shipment.

const (
	typeItemFulfillment = "itemFulfillment"
	typeInvoice         = "invoice"
)

// fulfilmentLine is one line of the body transforming a sales order into an item fulfilment.
type fulfilmentLine struct {
	OrderLine   int   `json:"orderLine"`
	ItemReceive bool  `json:"itemReceive"`
	Quantity    int64 `json:"quantity"`
	Location    ref   `json:"location"`
}

// CreateItemFulfillment records shipped units against the sales order; lines are matched to
// the order's lines by SKU.
func (c *Client) CreateItemFulfillment(ctx context.Context, req *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	so, err := c.getTransaction(ctx, typeSalesOrder, req.GetSalesOrderId(), true)
	if err != nil {
		return nil, err
	}
	loc := ref{ID: req.GetLocationId()}
	var lines []fulfilmentLine
	// Units fulfilled before count as taken, so a second shipment of a SKU goes to what is open.
	taken := map[int]int64{}
	for _, ln := range so.lines() {
		if n, err := count(ln.QuantityFulfilled); err == nil {
			taken[ln.Line] = n
		}
	}
	for i, fl := range req.GetLines() {
		shares, ok := allocate(so, fl.GetSku(), int64(fl.GetQuantity()), taken)
		if !ok {
			return nil, errs.E(errs.FailedPrecondition, "line_not_on_order", "a shipped line is not on the sales order in that quantity").
				WithFields(errs.FieldViolation{Field: fmt.Sprintf("lines[%d]", i), Description: fl.GetSku() + " is not open in that quantity on " + so.TranID})
		}
		for _, s := range shares {
			lines = append(lines, fulfilmentLine{OrderLine: s.line, ItemReceive: true, Quantity: s.quantity, Location: loc})
		}
	}
	id, err := c.submit(ctx, write{
		op: "CreateItemFulfillment", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeSalesOrder+"/"+escapeID(so.ID)+"/!transform/"+typeItemFulfillment, nil),
		body: struct {
			Memo string                  `json:"memo,omitempty"`
			Item sublist[fulfilmentLine] `json:"item"`
		}{trackingMemo(req.GetTrackingNumber()), sublist[fulfilmentLine]{Items: lines}},
		record: typeSalesOrder,
	})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateItemFulfillmentResponse{ItemFulfillmentId: id}, nil
}

func trackingMemo(tracking string) string {
	if tracking == "" {
		return ""
	}
	return "tracking " + tracking
}

// CreateInvoice bills the sales order (every fulfilled line).
func (c *Client) CreateInvoice(ctx context.Context, req *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	id, err := c.submit(ctx, write{
		op: "CreateInvoice", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url:    c.recordURL(typeSalesOrder+"/"+escapeID(req.GetSalesOrderId())+"/!transform/"+typeInvoice, nil),
		body:   struct{}{},
		record: typeSalesOrder,
	})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateInvoiceResponse{InvoiceId: id}, nil
}

// CloseSalesOrder closes every line of the sales order (NetSuite has no "close" action on the
// record: its lines are closed one by one, in one update).
func (c *Client) CloseSalesOrder(ctx context.Context, req *erpv1.CloseSalesOrderRequest) error {
	if err := c.window.closed(); err != nil {
		return err
	}
	so, err := c.getTransaction(ctx, typeSalesOrder, req.GetSalesOrderId(), true)
	if err != nil {
		return err
	}
	var lines []closeLine
	for _, ln := range so.lines() {
		lines = append(lines, closeLine{Line: ln.Line, IsClosed: true})
	}
	_, err = c.submit(ctx, write{
		op: "CloseSalesOrder", key: req.GetIdempotencyKey(), method: http.MethodPatch,
		url: c.recordURL(typeSalesOrder+"/"+escapeID(so.ID), nil),
		body: struct {
			Item sublist[closeLine] `json:"item"`
		}{sublist[closeLine]{Items: lines}},
		record: typeSalesOrder,
	})
	return err
}
