package netsuite

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// adjustmentLine is one line of an inventory adjustment's inventory sublist.
type adjustmentLine struct {
	Item        ref   `json:"item"`
	Location    ref   `json:"location"`
	AdjustQtyBy int64 `json:"adjustQtyBy"`
}

// RecordInventoryAdjustment posts a write-off or vendor claim: the units leave the location's
// stock, and the disposition and value are kept on the adjustment for the ledger.
func (c *Client) RecordInventoryAdjustment(ctx context.Context, req *erpv1.RecordInventoryAdjustmentRequest) (*erpv1.RecordInventoryAdjustmentResponse, error) {
	if err := c.window.closed(); err != nil {
		return nil, err
	}
	if err := c.checkCurrency("value.currency_code", req.GetValue()); err != nil {
		return nil, err
	}
	adj := req.GetAdjustment()
	it, err := c.getItem(ctx, adj.GetSku())
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, errs.E(errs.NotFound, "item_not_found", "the ERP has no such record").
			WithFields(errs.FieldViolation{Field: "adjustment.sku", Description: "not in the ERP"})
	}
	loc := ref{ID: adj.GetLocationId()}
	body := struct {
		AdjLocation ref                     `json:"adjLocation"`
		Memo        string                  `json:"memo,omitempty"`
		Disposition string                  `json:"custbody_rb_disposition"`
		Value       json.Number             `json:"custbody_rb_value,omitempty"`
		Inventory   sublist[adjustmentLine] `json:"inventory"`
	}{
		AdjLocation: loc, Memo: adj.GetReason(), Disposition: dispositionCode(req.GetDisposition()),
		Inventory: sublist[adjustmentLine]{Items: []adjustmentLine{{Item: ref{ID: it.GetErpId()}, Location: loc, AdjustQtyBy: -adj.GetQuantity()}}},
	}
	if v := req.GetValue(); v != nil {
		body.Value = decimal(v.GetAmountMinor(), c.currency)
	}
	id, err := c.submit(ctx, write{op: "RecordInventoryAdjustment", key: req.GetIdempotencyKey(), method: http.MethodPost,
		url: c.recordURL(typeInventoryAdjustment, nil), body: body, record: typeInventoryAdjustment})
	if err != nil {
		return nil, err
	}
	return &erpv1.RecordInventoryAdjustmentResponse{AdjustmentId: id}, nil
}

// dispositionCode is the custom field value of a disposition: "write_off" for DISPOSITION_WRITE_OFF.
func dispositionCode(d canonicalv1.Disposition) string {
	return strings.ToLower(strings.TrimPrefix(d.String(), "DISPOSITION_"))
}
