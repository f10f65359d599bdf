package orders

import (
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
)

// orderData is an order workflow's data: the canonical order as accepted, and every decision
// and identifier the systems gave it.
type orderData struct {
	OrderID string `json:"order_id"`
	// Order is the canonical order (protojson), replaced by a later orders/updated while the
	// order is held.
	Order     string `json:"order"`
	Model     string `json:"model"`     // ship_to_home, pick_up_in_store, ship_from_store, in_store_purchase
	Financial string `json:"financial"` // pending, authorized, partially_paid, paid, …

	// Held: why (the queue is the state's).
	Reasons []string `json:"reasons,omitempty"`

	// Enrichment: per order line, the ERP item and tax code.
	Jurisdiction string             `json:"jurisdiction,omitempty"`
	LineRefs     map[string]lineRef `json:"line_refs,omitempty"`
	TaxOverride  string             `json:"tax_override,omitempty"` // support's choice for a held order

	// Routing: where each line's units come from.
	OMSOrderID  string       `json:"oms_order_id,omitempty"`
	Allocations []allocation `json:"allocations,omitempty"`
	// Re-routing after a lost race (reroute.go): attempts so far (each its own OMS order and
	// keys), re-routes since the order was last released, and the locations that ran out.
	RouteAttempt int         `json:"route_attempt,omitempty"`
	Reroutes     int         `json:"reroutes,omitempty"`
	Exhausted    []exhausted `json:"exhausted,omitempty"`

	SalesOrderID     string `json:"sales_order_id,omitempty"`
	SalesOrderNumber string `json:"sales_order_number,omitempty"`

	Reservations []reservation `json:"reservations,omitempty"`

	// WarehouseOrders are the shipping orders sent, one per location.
	WarehouseOrders []warehouseOrder `json:"warehouse_orders,omitempty"`
	Acknowledged    bool             `json:"acknowledged,omitempty"`
	Escalated       bool             `json:"escalated,omitempty"`

	Shipments []shipment `json:"shipments,omitempty"`

	InvoiceID string `json:"invoice_id,omitempty"`
	CaptureID string `json:"capture_id,omitempty"`

	cashAndFollowUp

	// note is this step's line on the order's timeline, when the state's name does not say it
	// (not kept: the timeline keeps it).
	note string
}

type lineRef struct {
	SKU      string `json:"sku"`
	ERPID    string `json:"erp_id"`
	Category string `json:"category"`
	TaxCode  string `json:"tax_code"`
	// NoStock: the item master keeps the item as non-inventory, a gift card, a service or a
	// digital good (lines.go).
	NoStock bool `json:"no_stock,omitempty"`
}

type allocation struct {
	LineID   string `json:"line_id"`
	SKU      string `json:"sku"`
	Location string `json:"location"`
	Quantity int32  `json:"quantity"`
}

type reservation struct {
	LineID    string `json:"line_id"`
	Location  string `json:"location"`
	ID        string `json:"id"`
	Committed bool   `json:"committed"`
}

type warehouseOrder struct {
	Location string `json:"location"`
	ID       string `json:"id"`
}

// shipment is one shipment the warehouse reported, and what was recorded of it.
type shipment struct {
	ID                string            `json:"id"`
	Carrier           string            `json:"carrier"`
	Tracking          string            `json:"tracking"`
	Location          string            `json:"location"`
	Lines             map[string]int    `json:"lines"`     // order line id → units
	SKUs              map[string]int    `json:"skus"`      // SKU → units, for the ERP
	LineSKUs          map[string]string `json:"line_skus"` // order line id → SKU
	FulfillmentID     string            `json:"fulfillment_id,omitempty"`
	ItemFulfillmentID string            `json:"item_fulfillment_id,omitempty"`
	// Digital: the delivery of the lines that hold no stock (lines.go): from no location,
	// without tracking.
	Digital bool `json:"digital,omitempty"`
}

// order decodes the canonical order.
func (d *orderData) order() (*canonicalv1.Order, error) {
	o := &canonicalv1.Order{}
	if err := protojson.Unmarshal([]byte(d.Order), o); err != nil {
		return nil, errs.Wrap(err, errs.Internal, "order_data_corrupt", "the workflow's order does not decode")
	}
	return o, nil
}

// setOrder replaces the canonical order and the facts read from it.
func (d *orderData) setOrder(o *canonicalv1.Order) error {
	b, err := protojson.Marshal(o)
	if err != nil {
		return err
	}
	d.OrderID, d.Order = o.GetId(), string(b)
	d.Model = enumName(o.GetFulfillmentModel().String(), "FULFILLMENT_MODEL_")
	d.Financial = enumName(o.GetFinancialStatus().String(), "FINANCIAL_STATUS_")
	return nil
}

func enumName(s, prefix string) string { return strings.ToLower(strings.TrimPrefix(s, prefix)) }

// paymentSecured: the money is authorised or taken, so goods may leave.
func (d *orderData) paymentSecured() bool {
	return d.Financial == "authorized" || d.Financial == "paid"
}

// needsOMS: the models whose locations the OMS decides. Ship-to-home orders ship from the
// warehouse and go straight to the ERP.
func (d *orderData) needsOMS() bool {
	return d.Model == "pick_up_in_store" || d.Model == "ship_from_store"
}

// shippedUnits counts units shipped per order line.
func (d *orderData) shippedUnits() map[string]int {
	n := map[string]int{}
	for _, s := range d.Shipments {
		for line, q := range s.Lines {
			n[line] += q
		}
	}
	return n
}

// fullyShipped: every unit of every line shipped (and recorded).
func (d *orderData) fullyShipped() bool {
	o, err := d.order()
	if err != nil || len(o.GetLines()) == 0 {
		return false
	}
	shipped := d.shippedUnits()
	for _, l := range o.GetLines() {
		if shipped[l.GetId()] < int(l.GetQuantity()) {
			return false
		}
	}
	for _, s := range d.Shipments {
		if s.FulfillmentID == "" || s.ItemFulfillmentID == "" {
			return false
		}
	}
	return true
}

// hasShipment reports whether a shipment was reported with this id.
func (d *orderData) hasShipment(id string) bool {
	for _, s := range d.Shipments {
		if s.ID == id {
			return true
		}
	}
	return false
}

func skuOf(lines []*canonicalv1.OrderLine, lineID string) string {
	for _, l := range lines {
		if l.GetId() == lineID {
			return l.GetSku()
		}
	}
	return ""
}

// allocatedInFull: every unit of every line that holds stock has a location.
func (d *orderData) allocatedInFull() bool {
	o, err := d.order()
	if err != nil {
		return false
	}
	got := map[string]int32{}
	for _, a := range d.Allocations {
		got[a.LineID] += a.Quantity
	}
	for _, l := range d.stockLines(o) {
		if got[l.GetId()] < l.GetQuantity() {
			return false
		}
	}
	return true
}

// allocate places every line that holds stock at location (orders the OMS does not route).
func (d *orderData) allocate(location string) error {
	o, err := d.order()
	if err != nil {
		return err
	}
	d.Allocations = nil
	for _, l := range d.stockLines(o) {
		d.Allocations = append(d.Allocations, allocation{LineID: l.GetId(), SKU: l.GetSku(), Location: location, Quantity: l.GetQuantity()})
	}
	return nil
}

// skuOf is the SKU a shipment line shipped.
func (s *shipment) skuOf(lineID string) string { return s.LineSKUs[lineID] }
