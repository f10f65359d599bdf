package businesscentral

import (
	"context"
	"strings"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// RecordInventoryAdjustment posts a write-off or vendor claim as a negative item journal
// adjustment through the returns extension's inventoryAdjustments page, after checking the item
// on the standard items page.
func (c *Client) RecordInventoryAdjustment(ctx context.Context, req *erpv1.RecordInventoryAdjustmentRequest) (*erpv1.RecordInventoryAdjustmentResponse, error) {
	if err := c.closed(); err != nil {
		return nil, err
	}
	if err := c.checkCurrency("value.currency_code", req.GetValue()); err != nil {
		return nil, err
	}
	adj := req.GetAdjustment()
	var page collection[document]
	if err := c.get(ctx, c.entityURL(groupV2, "items", filterEq("number", adj.GetSku())), &page, "item"); err != nil {
		return nil, err
	}
	if len(page.Value) == 0 {
		return nil, errs.E(errs.NotFound, "item_not_found", "the ERP has no such record").
			WithFields(errs.FieldViolation{Field: "adjustment.sku", Description: "not in the ERP"})
	}
	d, err := c.createOnce(ctx, "RecordInventoryAdjustment", req.GetIdempotencyKey(), req, groupReturns, "inventoryAdjustments", "",
		func(ctx context.Context, ext string) (*document, error) {
			return c.post(ctx, c.entityURL(groupReturns, "inventoryAdjustments", nil), map[string]any{
				"externalDocumentNumber": ext, "itemNumber": adj.GetSku(), "locationCode": adj.GetLocationId(),
				"quantity": count(int64(adj.GetQuantity())), "reasonCode": truncate(reason(req), 10),
				"amount": decimal(req.GetValue().GetAmountMinor()),
			}, "inventoryAdjustment")
		})
	if err != nil {
		return nil, err
	}
	return &erpv1.RecordInventoryAdjustmentResponse{AdjustmentId: d.ID}, nil
}

// reason is the journal line's reason code: the disposition (WRITE_OFF, VENDOR_CLA…).
func reason(req *erpv1.RecordInventoryAdjustmentRequest) string {
	if req.GetDisposition() == canonicalv1.Disposition_DISPOSITION_UNSPECIFIED {
		return strings.ToUpper(req.GetAdjustment().GetReason())
	}
	return strings.TrimPrefix(req.GetDisposition().String(), "DISPOSITION_")
}
