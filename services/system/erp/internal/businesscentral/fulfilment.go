package businesscentral

import (
	"context"
	"fmt"
	"net/http"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The order-to-cash writes after booking. API v2.0 posts a sales order only through its bound
// action Microsoft.NAV.shipAndInvoice, which ships whatever is left AND invoices it in one
// posting: it cannot post a partial shipment without billing it, nor bill what was shipped
// earlier under a key of Retailbridge's (the posted invoice takes the order's external document
// number, the storefront order id). So, as for returns, the connector uses the Retailbridge
// extension's API pages: orderShipments (inserting one posts the sales order with Ship only, for
// the lines' quantities: Qty. to Ship then Sales-Post) and orderInvoices (posts the order with
// Invoice only, for what was shipped). Both carry the deterministic external document number of
// idempotency.go, so a repeat finds the posted document instead of posting again.
//
// Business Central has no "close" for a sales order: an order nothing was shipped from is
// deleted (DELETE salesOrders({id}) with If-Match), which is what a user does in Business Central
// with a cancelled order; one with shipped lines cannot be deleted, and is refused.

// orderLine is a sales order line with the quantities posting keeps on it.
type orderLine struct {
	LineObjectNumber string `json:"lineObjectNumber"`
	Quantity         int64  `json:"quantity"`
	ShippedQuantity  int64  `json:"shippedQuantity"`
	InvoicedQuantity int64  `json:"invoicedQuantity"`
}

// salesOrderLines is a sales order read with its lines' posted quantities.
type salesOrderLines struct {
	ETag   string      `json:"@odata.etag"`
	ID     string      `json:"id"`
	Number string      `json:"number"`
	Lines  []orderLine `json:"salesOrderLines"`
}

func (c *Client) readOrderLines(ctx context.Context, id string) (*salesOrderLines, error) {
	if !isGUID(id) {
		return nil, toErr(&vendorError{status: http.StatusNotFound, odata: true, entity: "salesOrder", detail: "not a document id"})
	}
	var so salesOrderLines
	q := map[string][]string{"$expand": {"salesOrderLines"}}
	if err := c.get(ctx, c.entityURL(groupV2, "salesOrders("+id+")", q), &so, "salesOrder"); err != nil {
		return nil, err
	}
	return &so, nil
}

// open is how many units of sku are left to ship on the order.
func (so *salesOrderLines) open(sku string) int64 {
	var n int64
	for _, l := range so.Lines {
		if l.LineObjectNumber == sku {
			n += l.Quantity - l.ShippedQuantity
		}
	}
	return n
}

// CreateItemFulfillment posts a shipment of the lines' units against the sales order; a SKU's
// units go to what is still open of it, so a second shipment ships the rest.
func (c *Client) CreateItemFulfillment(ctx context.Context, req *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	so, err := c.readOrderLines(ctx, req.GetSalesOrderId())
	if err != nil {
		return nil, err
	}
	sh, err := c.createOnce(ctx, "CreateItemFulfillment", req.GetIdempotencyKey(), req, groupReturns, "orderShipments", "",
		func(ctx context.Context, ext string) (*document, error) {
			// Checked only when nothing was posted under the key: a repeat finds its shipment,
			// whose units are no longer open.
			lines, err := shipmentLines(so, req.GetLines())
			if err != nil {
				return nil, err
			}
			return c.post(ctx, c.entityURL(groupReturns, "orderShipments", nil), map[string]any{
				"externalDocumentNumber": ext, "salesOrderId": so.ID, "locationCode": req.GetLocationId(),
				"packageTrackingNumber": truncate(req.GetTrackingNumber(), 30), "orderShipmentLines": lines,
			}, "orderShipment")
		})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateItemFulfillmentResponse{ItemFulfillmentId: sh.ID}, nil
}

func shipmentLines(so *salesOrderLines, lines []*erpv1.FulfillmentLine) ([]docLine, error) {
	out := make([]docLine, 0, len(lines))
	want := map[string]int64{}
	for i, fl := range lines {
		want[fl.GetSku()] += int64(fl.GetQuantity())
		if want[fl.GetSku()] > so.open(fl.GetSku()) {
			return nil, errs.E(errs.FailedPrecondition, "line_not_on_order", "a shipped line is not on the sales order in that quantity").
				WithFields(errs.FieldViolation{Field: fmt.Sprintf("lines[%d]", i), Description: fl.GetSku() + " is not open in that quantity on " + so.Number})
		}
		out = append(out, docLine{LineType: "Item", LineObjectNumber: fl.GetSku(), Quantity: count(int64(fl.GetQuantity()))})
	}
	return out, nil
}

// CreateInvoice posts the invoice of everything shipped; Business Central refuses it while a
// line is not fully shipped or once the order was invoiced.
func (c *Client) CreateInvoice(ctx context.Context, req *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	if !isGUID(req.GetSalesOrderId()) {
		return nil, toErr(&vendorError{status: http.StatusNotFound, odata: true, entity: "salesOrder", detail: "not a document id"})
	}
	inv, err := c.createOnce(ctx, "CreateInvoice", req.GetIdempotencyKey(), req, groupReturns, "orderInvoices", "",
		func(ctx context.Context, ext string) (*document, error) {
			return c.post(ctx, c.entityURL(groupReturns, "orderInvoices", nil), map[string]any{
				"externalDocumentNumber": ext, "salesOrderId": req.GetSalesOrderId(),
			}, "orderInvoice")
		})
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateInvoiceResponse{InvoiceId: inv.ID, Number: inv.Number}, nil
}

// CloseSalesOrder deletes a sales order nothing was shipped from, with the ETag read (a 412
// re-reads and decides again). An order already gone is closed: repeats do nothing.
func (c *Client) CloseSalesOrder(ctx context.Context, req *erpv1.CloseSalesOrderRequest) error {
	if err := c.closed(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		so, err := c.readOrderLines(ctx, req.GetSalesOrderId())
		if isNotFound(err) {
			return c.goneUnbilled(ctx, req.GetSalesOrderId())
		}
		if err != nil {
			return err
		}
		for _, l := range so.Lines {
			if l.ShippedQuantity > 0 {
				return errs.E(errs.FailedPrecondition, "sales_order_fulfilled", "units were shipped from the sales order; it cannot be closed").
					WithFields(errs.FieldViolation{Field: "sales_order_id", Description: "sales order " + so.Number + " has shipped lines"})
			}
		}
		_, err = c.call(ctx, request{method: http.MethodDelete, url: c.entityURL(groupV2, "salesOrders("+so.ID+")", nil),
			ifMatch: so.ETag, entity: "salesOrder"})
		if isNotFound(err) {
			return c.goneUnbilled(ctx, so.ID)
		}
		if errs.As(err) == nil || errs.As(err).Reason != "erp_record_changed" || attempt == maxConflicts {
			return err
		}
		c.conflicts.Add(1)
	}
}

// goneUnbilled decides on a sales order that no longer exists: closed (a repeat, or a user
// deleted it) unless an invoice records it, as posting deletes an order fully shipped and
// invoiced, which is fulfilled, not closed.
func (c *Client) goneUnbilled(ctx context.Context, id string) error {
	if !isGUID(id) {
		return nil
	}
	var page collection[salesInvoice]
	if err := c.get(ctx, c.entityURL(groupV2, "salesInvoices", guidFilter("orderId", []string{id})), &page, "salesInvoice"); err != nil {
		return err
	}
	if len(page.Value) > 0 {
		return errs.E(errs.FailedPrecondition, "sales_order_fulfilled", "the sales order was shipped and invoiced; it cannot be closed").
			WithFields(errs.FieldViolation{Field: "sales_order_id", Description: "invoice " + page.Value[0].Number + " posted it"})
	}
	return nil
}

func isNotFound(err error) bool {
	e := errs.As(err)
	return e != nil && e.Kind == errs.NotFound
}
