package orders

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// Lines that hold no stock (lines.go): a gift card the storefront names as one, an e-book the
// item master keeps as non-inventory. An order of only such lines is booked, marked fulfilled on
// the storefront (and in the ERP) and invoiced: no reservation, no shipping order. A mixed
// order reserves and ships its stocked line only, and marks the gift card fulfilled with the
// shipment.
func TestLinesWithoutStock(t *testing.T) {
	t.Parallel()
	forDialects(t, func(t *testing.T, h *wfHarness) {
		w := h.workflow(t)
		h.putTax(t, w, "US-CA", "*", "CA-STD")
		// A gift card bought on its own: Shopify names no delivery method and no address, so
		// nothing says the tax jurisdiction either: support resolves it with a code.
		noDelivery := giftCardOrder("9604", "SKU-GIFT")
		noDelivery.FulfillmentModel, noDelivery.ShippingAddress = canonicalv1.FulfillmentModel_FULFILLMENT_MODEL_UNSPECIFIED, nil
		for _, o := range []*canonicalv1.Order{giftCardOrder("9601", "SKU-GIFT"), wfOrder("9602", "SKU-EBOOK"), noDelivery} {
			h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, o)
			w = h.drive(t, w)
			if o == noDelivery {
				h.wantState(t, w, o.GetId(), StateFailedTax)
				if _, err := w.Signal(context.Background(), o.GetId(), SignalRelease, []byte(`{"resolution":"use_tax_code","tax_code":"EXEMPT"}`)); err != nil {
					t.Fatal(err)
				}
				w = h.drive(t, w)
			}
			d := h.wantState(t, w, o.GetId(), StateCompleted)
			for kind, want := range map[string]int{"sales_order": 1, "reservation": 0, "shipping_order": 0, "fulfillment": 1,
				"item_fulfillment": 1, "invoice": 1} {
				if got := h.sys.count(kind, perOrderKey(kind, o.GetId(), d)); got != want {
					t.Errorf("order %s (%s): %s: %d, want %d", o.GetId(), o.GetLines()[0].GetSku(), kind, got, want)
				}
			}
		}

		mixed := giftCardOrder("9603", "SKU-MUG", "SKU-GIFT")
		h.deliver(t, w, canonicalv1.EventType_EVENT_TYPE_COMMERCE_ORDER_CREATED, mixed)
		w = h.drive(t, w)
		d := h.wantState(t, w, mixed.GetId(), StateAwaitingAck)
		h.sys.mu.Lock()
		shipped, reserved := slices.Clone(h.sys.shippingSKUs[mixed.GetId()]), slices.Clone(h.sys.reservedSKUs[mixed.GetId()])
		h.sys.mu.Unlock()
		if !slices.Equal(shipped, []string{"SKU-MUG"}) || !slices.Equal(reserved, []string{"SKU-MUG"}) {
			t.Errorf("mixed order: shipping orders ask for %v and reservations hold %v, want only SKU-MUG", shipped, reserved)
		}
		if len(d.Allocations) != 1 || d.Allocations[0].SKU != "SKU-MUG" {
			t.Errorf("mixed order allocated %+v, want the mug only", d.Allocations)
		}
		shipLine(t, w, mixed, mixed.GetLines()[0])
		w = h.drive(t, w)
		d = h.wantState(t, w, mixed.GetId(), StateCompleted)
		for kind, want := range map[string]int{"shipping_order": 1, "fulfillment": 2, "item_fulfillment": 2, "invoice": 1} {
			if got := h.sys.count(kind, perOrderKey(kind, mixed.GetId(), d)); got != want {
				t.Errorf("mixed order: %s: %d, want %d", kind, got, want)
			}
		}
	})
}

// giftCardOrder is wfOrder with every SKU-GIFT line marked a gift card, as the storefront says.
func giftCardOrder(id string, skus ...string) *canonicalv1.Order {
	o := wfOrder(id, skus...)
	for _, l := range o.GetLines() {
		if l.GetSku() == "SKU-GIFT" {
			l.Kind = canonicalv1.LineKind_LINE_KIND_GIFT_CARD
		}
	}
	return o
}

// perOrderKey is what wfSystems counts a kind of record under: the order, or its sales order.
func perOrderKey(kind, orderID string, d *orderData) string {
	switch kind {
	case "item_fulfillment", "invoice":
		return d.SalesOrderID
	}
	return orderID
}

// shipLine signals the shipment of one line from the warehouse.
func shipLine(t testing.TB, w *Workflow, o *canonicalv1.Order, l *canonicalv1.OrderLine) {
	t.Helper()
	s := &canonicalv1.Shipment{Id: shipmentID(o.GetId(), 0), OrderId: o.GetId(), Carrier: "UPS", TrackingNumber: "1Z" + o.GetId(),
		FromLocationId: wfWarehouse, Lines: []*canonicalv1.ShipmentLine{{Sku: l.GetSku(), OrderLineId: l.GetId(), Quantity: l.GetQuantity()}}}
	b, _ := protojson.Marshal(s)
	for _, signal := range []string{SignalAcknowledged, SignalShipped} {
		if _, err := w.Signal(context.Background(), o.GetId(), signal, b); err != nil {
			t.Fatal(err)
		}
	}
}
