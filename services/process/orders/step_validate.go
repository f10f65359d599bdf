package orders

import (
	"context"
	"fmt"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// validateStep checks the order is complete: lines with SKUs the ERP's item master knows and
// positive quantities, an address where the model ships, a payment that is authorised or taken,
// a known fulfilment model. An incomplete order is held with every reason, never half-booked.
func validateStep(sys systems) stepFunc {
	return func(ctx context.Context, _ workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		reasons := orderReasons(o)
		missing, err := unknownSKUs(ctx, sys, o)
		if err != nil {
			return "", err
		}
		for _, sku := range missing {
			reasons = append(reasons, "SKU "+sku+" is not in the ERP item master")
		}
		d.Reasons = reasons
		if len(reasons) > 0 {
			return StateIncomplete, nil
		}
		return StateEnriching, nil
	}
}

// orderReasons are what the order itself lacks.
func orderReasons(o *canonicalv1.Order) []string {
	var r []string
	if len(o.GetLines()) == 0 {
		r = append(r, "the order has no lines")
	}
	for i, l := range o.GetLines() {
		if l.GetId() == "" || l.GetSku() == "" {
			r = append(r, fmt.Sprintf("line %d has no id or no SKU", i+1))
		}
		if l.GetQuantity() <= 0 {
			r = append(r, fmt.Sprintf("line %d has no units", i+1))
		}
	}
	if o.GetCustomer().GetId() == "" {
		r = append(r, "the order has no customer")
	}
	if nothingShips(o) {
		// Gift cards and digital goods only (lines.go): Shopify names no delivery method and
		// asks for no address, and none is needed.
		return append(r, paymentReasons(o)...)
	}
	switch m := o.GetFulfillmentModel(); m {
	case canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED:
		r = append(r, "the fulfilment model is unknown")
	case canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_PICK_UP_IN_STORE:
		if o.GetPickupLocationId() == "" {
			r = append(r, "a pick-up order names no store")
		}
	case canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_TO_HOME, canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_SHIP_FROM_STORE:
		if a := o.GetShippingAddress(); len(a.GetLines()) == 0 || a.GetCity() == "" || a.GetCountryCode() == "" {
			r = append(r, "the shipping address is incomplete (street, city and country are required)")
		}
	}
	return append(r, paymentReasons(o)...)
}

// paymentReasons: the payment is neither authorised nor taken.
func paymentReasons(o *canonicalv1.Order) []string {
	switch o.GetFinancialStatus() {
	case canonicalv1.FinancialStatus_FINANCIAL_STATUS_AUTHORIZED, canonicalv1.FinancialStatus_FINANCIAL_STATUS_PAID:
		return nil
	}
	return []string{"the payment is " + enumName(o.GetFinancialStatus().String(), "FINANCIAL_STATUS_") + ", not authorised or paid"}
}

// nothingShips: the storefront says no line of the order holds stock or ships.
func nothingShips(o *canonicalv1.Order) bool {
	for _, l := range o.GetLines() {
		if stockedKind(l.GetKind()) {
			return false
		}
	}
	return len(o.GetLines()) > 0
}

// unknownSKUs asks the ERP item master which of the order's SKUs it does not know.
func unknownSKUs(ctx context.Context, sys systems, o *canonicalv1.Order) ([]string, error) {
	var skus []string
	for _, l := range o.GetLines() {
		if l.GetSku() != "" && !slices.Contains(skus, l.GetSku()) {
			skus = append(skus, l.GetSku())
		}
	}
	if len(skus) == 0 {
		return nil, nil
	}
	resp, err := sys.erp.GetItems(ctx, &erpv1.GetItemsRequest{Skus: skus})
	if err != nil {
		return nil, asError(err)
	}
	return resp.GetMissingSkus(), nil
}
