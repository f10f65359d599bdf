package shopify

import (
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/services/system/commerce/internal/webhook"
)

// webhookFulfillment is the REST shape of a fulfillments/create or fulfillments/update payload,
// as much as Retailbridge reads.
type webhookFulfillment struct {
	ID              json.Number `json:"id"`
	OrderID         json.Number `json:"order_id"`
	Status          string      `json:"status"`
	ShipmentStatus  *string     `json:"shipment_status"`
	TrackingCompany *string     `json:"tracking_company"`
	TrackingNumber  *string     `json:"tracking_number"`
	LocationID      json.Number `json:"location_id"`
	CreatedAt       time.Time   `json:"created_at"`
	UpdatedAt       time.Time   `json:"updated_at"`
	LineItems       []struct {
		ID       json.Number `json:"id"`
		SKU      *string     `json:"sku"`
		Quantity int32       `json:"quantity"`
	} `json:"line_items"`
}

// fulfillmentFact is the fact of a fulfillments/create or fulfillments/update delivery: the
// fulfilment as a canonical Shipment of its order, at the fulfilment's updated_at.
func fulfillmentFact(body []byte, triggered time.Time) (webhook.Fact, error) {
	var p webhookFulfillment
	if err := decodeStrict(body, &p); err != nil {
		return webhook.Fact{}, err
	}
	sh, err := toCanonicalShipmentFromWebhook(&p)
	if err != nil {
		return webhook.Fact{}, err
	}
	at := p.UpdatedAt
	if at.IsZero() {
		at = triggered
	}
	return webhook.Fact{Type: EventFulfillmentUpdated, Subject: "fulfillment/" + sh.GetId(), Time: at, Data: sh,
		References: &canonicalv1.EventReferences{OrderId: sh.GetOrderId(), SystemRecordId: sh.GetId()}}, nil
}

func toCanonicalShipmentFromWebhook(p *webhookFulfillment) (*canonicalv1.Shipment, error) {
	if _, err := gidOf("Fulfillment", p.ID); err != nil {
		return nil, err
	}
	if _, err := gidOf("Order", p.OrderID); err != nil {
		return nil, err
	}
	sh := &canonicalv1.Shipment{Id: p.ID.String(), OrderId: p.OrderID.String(), Status: shipmentStatusFromREST(p.Status, p.ShipmentStatus)}
	if p.TrackingCompany != nil {
		sh.Carrier = *p.TrackingCompany
	}
	if p.TrackingNumber != nil {
		sh.TrackingNumber = *p.TrackingNumber
	}
	if p.LocationID != "" && isNumeric(p.LocationID.String()) {
		sh.FromLocationId = p.LocationID.String()
	}
	if !p.CreatedAt.IsZero() {
		sh.ShippedAt = timestamppb.New(p.CreatedAt)
	}
	if sh.Status == canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED && !p.UpdatedAt.IsZero() {
		sh.DeliveredAt = timestamppb.New(p.UpdatedAt)
	}
	for _, l := range p.LineItems {
		if _, err := gidOf("LineItem", l.ID); err != nil {
			return nil, err
		}
		line := &canonicalv1.ShipmentLine{OrderLineId: l.ID.String(), Quantity: l.Quantity}
		if l.SKU != nil {
			line.Sku = *l.SKU
		}
		sh.Lines = append(sh.Lines, line)
	}
	return sh, nil
}

// shipmentStatusFromREST maps a fulfilment's status and shipment_status (Shopify's REST values).
func shipmentStatusFromREST(status string, shipment *string) canonicalv1.ShipmentStatus {
	switch status {
	case "cancelled", "error", "failure":
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_VOIDED
	}
	if shipment == nil {
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED
	}
	switch *shipment {
	case "delivered":
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED
	case "out_for_delivery":
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_OUT_FOR_DELIVERY
	case "in_transit", "confirmed", "ready_for_pickup", "picked_up", "attempted_delivery":
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT
	case "failure":
		return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_EXCEPTION
	}
	return canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED
}
