package orders

import (
	"context"
	"slices"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// enrichStep gives every line its ERP item reference and a tax code from the tax configuration
// for the order's jurisdiction and the item's category. A line without one holds the order in
// failed_tax_enrichment, before anything is allocated or booked; support's chosen code (a
// resolution) applies to every line.
func enrichStep(sys systems, taxes *taxTable) stepFunc {
	return func(ctx context.Context, _ workflow.Run, d *orderData) (string, error) {
		o, err := d.order()
		if err != nil {
			return "", err
		}
		var skus []string
		for _, l := range o.GetLines() {
			if !slices.Contains(skus, l.GetSku()) {
				skus = append(skus, l.GetSku())
			}
		}
		resp, err := sys.erp.GetItems(ctx, &erpv1.GetItemsRequest{Skus: skus})
		if err != nil {
			return "", asError(err)
		}
		items := map[string]*erpv1.Item{}
		for _, it := range resp.GetItems() {
			items[it.GetSku()] = it
		}
		d.Jurisdiction = jurisdictionOf(o)
		d.LineRefs, d.Reasons = map[string]lineRef{}, nil
		for _, l := range o.GetLines() {
			it := items[l.GetSku()]
			if it == nil {
				d.Reasons = append(d.Reasons, "SKU "+l.GetSku()+" left the ERP item master")
				continue
			}
			ref := lineRef{SKU: l.GetSku(), ERPID: it.GetErpId(), Category: it.GetCategory(), TaxCode: d.TaxOverride,
				NoStock: holdsNoStock(l, it)}
			if ref.TaxCode == "" {
				if ref.TaxCode, err = taxes.lookup(ctx, d.Jurisdiction, it.GetCategory()); err != nil {
					return "", err
				}
			}
			if ref.TaxCode == "" {
				d.Reasons = append(d.Reasons, "no tax code for category "+quoted(it.GetCategory())+" in "+quoted(d.Jurisdiction))
			}
			d.LineRefs[l.GetId()] = ref
		}
		switch {
		case len(d.Reasons) > 0:
			return StateFailedTax, nil
		case d.needsOMS() && len(d.stockLines(o)) > 0: // lines without stock are not the OMS's
			return StateRouting, nil
		}
		return StateBooking, nil
	}
}

func quoted(s string) string {
	if s == "" {
		return `""`
	}
	return `"` + s + `"`
}
