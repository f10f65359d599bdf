package orders

import (
	"google.golang.org/protobuf/proto"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Lines that hold no stock: a gift card (the storefront issues it), a digital good or a service
// (nothing ships), an item the ERP's item master keeps as non-inventory. The inventory process
// holds no stock for them, so they are never reserved, never routed by the OMS and never on a
// warehouse's shipping order; they are on the ERP sales order like every line (under their
// own ERP item) and invoiced with it. On the storefront they are marked fulfilled, as Shopify's
// model has it for lines that need no shipping, and the ERP records their fulfilment: an order of such lines only goes from its sales
// order straight to the storefront's fulfilment; a mixed order ships its stocked lines and
// marks the rest fulfilled with the first shipment.

// digitalSuffix names an order's delivery of its lines that hold no stock.
const digitalSuffix = "-D"

// holdsNoStock: what the storefront says of the line, or what the ERP's item master says of its
// item, makes it a line without stock.
func holdsNoStock(l *canonicalv1.OrderLine, it *erpv1.Item) bool {
	return !stockedKind(l.GetKind()) || (it != nil && !stockedKind(it.GetKind()))
}

func stockedKind(k canonicalv1.LineKind) bool {
	return k == canonicalv1.LineKind_LINE_KIND_UNSPECIFIED || k == canonicalv1.LineKind_LINE_KIND_STOCKED
}

// noStock reports whether the order's line holds no stock: its kind, or the item master's kind
// of its item as enrichment found it.
func (d *orderData) noStock(l *canonicalv1.OrderLine) bool {
	return !stockedKind(l.GetKind()) || d.LineRefs[l.GetId()].NoStock
}

// stockLines are the order's lines that hold stock.
func (d *orderData) stockLines(o *canonicalv1.Order) []*canonicalv1.OrderLine {
	var out []*canonicalv1.OrderLine
	for _, l := range o.GetLines() {
		if !d.noStock(l) {
			out = append(out, l)
		}
	}
	return out
}

// stockedOrder is o with only the lines that hold stock: what the OMS routes.
func (d *orderData) stockedOrder(o *canonicalv1.Order) *canonicalv1.Order {
	c := proto.Clone(o).(*canonicalv1.Order)
	c.Lines = d.stockLines(o)
	return c
}

// addDigitalDelivery records, once, the delivery of the order's lines that hold no stock: a
// shipment from no location and without tracking, fulfilled on the storefront and recorded as an
// ERP item fulfilment like any shipment (NetSuite fulfils gift certificate items, and bills a
// sales order once every line is fulfilled).
func (d *orderData) addDigitalDelivery(o *canonicalv1.Order) {
	id := d.OrderID + digitalSuffix
	if d.hasShipment(id) {
		return
	}
	s := shipment{ID: id, Digital: true, Lines: map[string]int{}, SKUs: map[string]int{}, LineSKUs: map[string]string{}}
	for _, l := range o.GetLines() {
		if d.noStock(l) {
			s.Lines[l.GetId()] += int(l.GetQuantity())
			s.SKUs[l.GetSku()] += int(l.GetQuantity())
			s.LineSKUs[l.GetId()] = l.GetSku()
		}
	}
	if len(s.Lines) > 0 {
		d.Shipments = append(d.Shipments, s)
	}
}
