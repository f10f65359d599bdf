package netsuite

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// orderLine is one line of a sales order body.
type orderLine struct {
	Item        ref         `json:"item"`
	Quantity    int32       `json:"quantity"`
	Rate        json.Number `json:"rate,omitempty"`
	OrderLineID string      `json:"custcol_rb_order_line_id,omitempty"`
	TaxCode     *ref        `json:"taxCode,omitempty"`
}

// CreateSalesOrder books a storefront order as a sales order whose external id is the order id.
// An order booked before (by this or any earlier call) is returned as it is.
func (c *Client) CreateSalesOrder(ctx context.Context, req *erpv1.CreateSalesOrderRequest) (*erpv1.CreateSalesOrderResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	o := req.GetOrder()
	existing, err := c.getTransaction(ctx, typeSalesOrder, "eid:"+o.GetId(), false)
	switch {
	case err == nil:
		return &erpv1.CreateSalesOrderResponse{SalesOrderId: existing.ID, Number: existing.TranID}, nil
	case errs.KindOf(err) != errs.NotFound:
		return nil, err
	}
	if err := c.checkCurrency("order.total.currency_code", o.GetTotal()); err != nil {
		return nil, err
	}
	var skus []string
	for _, l := range o.GetLines() {
		if !slices.Contains(skus, l.GetSku()) {
			skus = append(skus, l.GetSku())
		}
	}
	found, missing, err := c.GetItems(ctx, skus)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, errs.E(errs.FailedPrecondition, "item_not_in_erp", "an ordered item is not in the ERP").
			WithFields(errs.FieldViolation{Field: "order.lines", Description: "unknown SKUs: " + strings.Join(missing, ", ")})
	}
	erpID := make(map[string]string, len(found))
	for _, it := range found {
		erpID[it.GetSku()] = it.GetErpId()
	}
	tax := map[string]string{}
	for _, r := range req.GetLineRefs() {
		tax[r.GetOrderLineId()] = r.GetTaxCode()
	}
	var lines []orderLine
	for _, l := range o.GetLines() {
		ln := orderLine{Item: ref{ID: erpID[l.GetSku()]}, Quantity: l.GetQuantity(), OrderLineID: l.GetId()}
		if code := tax[l.GetId()]; code != "" {
			ln.TaxCode = &ref{ID: code}
		}
		if p := l.GetUnitPrice(); p != nil {
			ln.Rate = decimal(p.GetAmountMinor(), c.currency)
		}
		lines = append(lines, ln)
	}
	body := struct {
		ExternalID string             `json:"externalId"`
		Entity     ref                `json:"entity"`
		Item       sublist[orderLine] `json:"item"`
	}{o.GetId(), ref{ExternalID: o.GetCustomer().GetId()}, sublist[orderLine]{Items: lines}}
	id, err := c.submit(ctx, write{op: "CreateSalesOrder", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeSalesOrder, nil), body: body, record: typeSalesOrder})
	if err != nil {
		return nil, err
	}
	so, err := c.getTransaction(ctx, typeSalesOrder, id, false)
	if err != nil {
		return nil, err
	}
	return &erpv1.CreateSalesOrderResponse{SalesOrderId: so.ID, Number: so.TranID}, nil
}

// GetSalesOrder reads a sales order's status.
func (c *Client) GetSalesOrder(ctx context.Context, id string) (*erpv1.GetSalesOrderResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	so, err := c.getTransaction(ctx, typeSalesOrder, id, false)
	if err != nil {
		return nil, err
	}
	return &erpv1.GetSalesOrderResponse{SalesOrderId: so.ID, Status: so.status()}, nil
}
