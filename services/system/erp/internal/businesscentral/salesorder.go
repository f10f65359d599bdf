package businesscentral

import (
	"context"
	"errors"
	"net/http"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// CreateSalesOrder books a storefront order as a sales order whose external document number is
// the storefront order id, which is also how a booking is found again: an order booked before
// (under any key) is returned as it is. The customer card is created when the order's customer
// has none. Lines go in the same POST (a deep insert), so the order is never half written.
func (c *Client) CreateSalesOrder(ctx context.Context, req *erpv1.CreateSalesOrderRequest) (*erpv1.CreateSalesOrderResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	o := req.GetOrder()
	unlock, err := c.keys.lock(ctx, "salesOrder:"+o.GetId())
	if err != nil {
		return nil, toErr(err)
	}
	defer unlock()
	if so, err := c.salesOrderFor(ctx, o.GetId(), ""); err != nil || so != nil {
		if err != nil {
			return nil, err
		}
		return &erpv1.CreateSalesOrderResponse{SalesOrderId: so.ID, Number: so.Number}, nil
	}
	// Posting deletes an order fully shipped and invoiced; its invoice still names it, and a
	// repeat (a duplicate orders/create hours later) must not book the order again.
	var posted collection[salesInvoice]
	if err := c.get(ctx, c.entityURL(groupV2, "salesInvoices", filterEq("externalDocumentNumber", o.GetId())), &posted, "salesInvoice"); err != nil {
		return nil, err
	}
	for _, inv := range posted.Value {
		if inv.OrderID != "" {
			return &erpv1.CreateSalesOrderResponse{SalesOrderId: inv.OrderID, Number: inv.OrderNumber}, nil
		}
	}
	cust := o.GetCustomer().GetId()
	if err := c.ensureCustomer(ctx, cust, o.GetCustomer().GetEmail()); err != nil {
		return nil, err
	}
	if err := c.checkCurrency("order.total.currency_code", o.GetTotal()); err != nil {
		return nil, err
	}
	lines := make([]docLine, 0, len(o.GetLines()))
	for _, l := range o.GetLines() {
		lines = append(lines, docLine{LineType: "Item", LineObjectNumber: l.GetSku(), Quantity: count(int64(l.GetQuantity())),
			UnitPrice: decimal(l.GetUnitPrice().GetAmountMinor())})
	}
	so, err := c.post(ctx, c.entityURL(groupV2, "salesOrders", nil), map[string]any{
		"externalDocumentNumber": o.GetId(), "customerNumber": cust, "currencyCode": c.currency, "salesOrderLines": lines,
	}, "salesOrder")
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateSalesOrderResponse{SalesOrderId: so.ID, Number: so.Number}, nil
}

// salesOrderFor is the sales order booked for a storefront order, or nil.
func (c *Client) salesOrderFor(ctx context.Context, orderID, expand string) (*document, error) {
	q := filterEq("externalDocumentNumber", orderID)
	if expand != "" {
		q.Set("$expand", expand)
	}
	var page collection[document]
	if err := c.get(ctx, c.entityURL(groupV2, "salesOrders", q), &page, "salesOrder"); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, nil
	}
	return &page.Value[0], nil
}

// ensureCustomer creates the customer card numbered number unless there is one. A card another
// caller created in between is as good.
func (c *Client) ensureCustomer(ctx context.Context, number, email string) error {
	if number == "" {
		return errs.E(errs.Invalid, "invalid_request", "the order names no customer").
			WithFields(errs.FieldViolation{Field: "order.customer.id", Description: "is required"})
	}
	var page collection[document]
	if err := c.get(ctx, c.entityURL(groupV2, "customers", filterEq("number", number)), &page, "customer"); err != nil {
		return err
	}
	if len(page.Value) > 0 {
		return nil
	}
	_, err := c.call(ctx, request{method: http.MethodPost, url: c.entityURL(groupV2, "customers", nil),
		body: map[string]any{"number": number, "displayName": "Storefront customer " + number, "email": email}, entity: "customer"})
	var ve *vendorError
	if errors.As(err, &ve) && ve.code == "Internal_EntityWithSameKeyExists" {
		return nil
	}
	return err
}

// GetSalesOrder reads a sales order's status.
func (c *Client) GetSalesOrder(ctx context.Context, id string) (*erpv1.GetSalesOrderResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	so, err := c.read(ctx, groupV2, "salesOrders", id, "", "salesOrder")
	if err != nil {
		return nil, err
	}
	return &erpv1.GetSalesOrderResponse{SalesOrderId: so.ID, Status: so.Status}, nil
}
