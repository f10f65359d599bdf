package warehouse

import (
	"context"
	"net/http"
	"net/url"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// shippingOrder is the body of POST /v1/outbound/orders.
type shippingOrder struct {
	Reference  string      `json:"reference"`
	OrderID    string      `json:"order_id,omitempty"`
	LocationID string      `json:"location_id"`
	Carrier    string      `json:"carrier,omitempty"`
	ShipTo     address     `json:"ship_to"`
	Lines      []orderLine `json:"lines"`
}

type address struct {
	Name         string   `json:"name"`
	AddressLines []string `json:"address_lines"`
	City         string   `json:"city"`
	Region       string   `json:"region,omitempty"`
	PostalCode   string   `json:"postal_code,omitempty"`
	CountryCode  string   `json:"country_code"`
	Phone        string   `json:"phone,omitempty"`
}

type orderLine struct {
	OrderLineID string `json:"order_line_id,omitempty"`
	SKU         string `json:"sku"`
	Quantity    int64  `json:"quantity"`
}

// orderDoc is a shipping order as the API answers and as shipment webhooks carry it.
type orderDoc struct {
	ID             string         `json:"id"`
	Reference      string         `json:"reference"`
	OrderID        string         `json:"order_id"`
	LocationID     string         `json:"location_id"`
	Status         string         `json:"status"`
	CreatedAt      string         `json:"created_at"`
	AcknowledgedAt string         `json:"acknowledged_at"`
	ShippedAt      string         `json:"shipped_at"`
	Carrier        string         `json:"carrier"`
	TrackingNumber string         `json:"tracking_number"`
	ShipTo         address        `json:"ship_to"`
	Lines          []orderLineDoc `json:"lines"`
}

type orderLineDoc struct {
	LineNumber      int    `json:"line_number"`
	OrderLineID     string `json:"order_line_id"`
	SKU             string `json:"sku"`
	Quantity        int64  `json:"quantity"`
	ShippedQuantity int64  `json:"shipped_quantity"`
}

// CreateShippingOrder asks the warehouse to ship s. The shipment's id is the warehouse reference,
// so the same shipment sent again gets the same order.
func (c *Client) CreateShippingOrder(ctx context.Context, s *canonicalv1.Shipment, idempotencyKey string) (string, error) {
	a := s.GetToAddress()
	req := shippingOrder{
		Reference: s.GetId(), OrderID: s.GetOrderId(), LocationID: s.GetFromLocationId(), Carrier: s.GetCarrier(),
		ShipTo: address{Name: a.GetName(), AddressLines: a.GetLines(), City: a.GetCity(), Region: a.GetRegion(),
			PostalCode: a.GetPostalCode(), CountryCode: a.GetCountryCode(), Phone: a.GetPhone()},
	}
	for _, l := range s.GetLines() {
		req.Lines = append(req.Lines, orderLine{OrderLineID: l.GetOrderLineId(), SKU: l.GetSku(), Quantity: int64(l.GetQuantity())})
	}
	var doc orderDoc
	if err := c.call(ctx, http.MethodPost, "v1/outbound/orders", nil, idempotencyKey, req, &doc); err != nil {
		return "", err
	}
	return doc.ID, nil
}

// CancelShippingOrder cancels an order the warehouse has not shipped (POST …/cancel, under
// the caller's key); cancelling a cancelled order does nothing, a shipped one is refused
// (409 order_already_shipped → FailedPrecondition "already_shipped").
func (c *Client) CancelShippingOrder(ctx context.Context, orderID, _, reason, idempotencyKey string) error {
	var doc orderDoc
	return c.call(ctx, http.MethodPost, "v1/outbound/orders/"+url.PathEscape(orderID)+"/cancel", nil, idempotencyKey,
		struct {
			Reason string `json:"reason,omitempty"`
		}{reason}, &doc)
}

// GetShippingOrder reads an order's acknowledgement and, once shipped, the shipment.
func (c *Client) GetShippingOrder(ctx context.Context, orderID string) (*wmsv1.GetShippingOrderResponse, error) {
	var doc orderDoc
	if err := c.call(ctx, http.MethodGet, "v1/outbound/orders/"+url.PathEscape(orderID), nil, "", nil, &doc); err != nil {
		return nil, err
	}
	resp := &wmsv1.GetShippingOrderResponse{}
	var err error
	if resp.AcknowledgedAt, err = parseTime(doc.AcknowledgedAt); err != nil {
		return nil, toErr(badPayload(err))
	}
	if doc.Status == "shipped" {
		if resp.Shipment, err = toShipment(&doc); err != nil {
			return nil, toErr(badPayload(err))
		}
	}
	return resp, nil
}

// toShipment is the canonical view of a shipping order: the shipment (its id is the reference,
// Retailbridge's shipment id) with what was shipped of each line. It is in transit once shipped.
func toShipment(d *orderDoc) (*canonicalv1.Shipment, error) {
	s := &canonicalv1.Shipment{
		Id: d.Reference, OrderId: d.OrderID, Carrier: d.Carrier, TrackingNumber: d.TrackingNumber,
		FromLocationId: d.LocationID,
		ToAddress: &canonicalv1.Address{Name: d.ShipTo.Name, Lines: d.ShipTo.AddressLines, City: d.ShipTo.City,
			Region: d.ShipTo.Region, PostalCode: d.ShipTo.PostalCode, CountryCode: d.ShipTo.CountryCode, Phone: d.ShipTo.Phone},
	}
	shipped := d.Status == "shipped"
	if shipped {
		s.Status = canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT
	}
	for _, l := range d.Lines {
		q := l.Quantity
		if shipped {
			q = l.ShippedQuantity
		}
		s.Lines = append(s.Lines, &canonicalv1.ShipmentLine{Sku: l.SKU, OrderLineId: l.OrderLineID, Quantity: int32(q)})
	}
	var err error
	if s.ShippedAt, err = parseTime(d.ShippedAt); err != nil {
		return nil, err
	}
	return s, nil
}
