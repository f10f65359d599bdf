package loop

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
)

// ExternalIDKey and LabelIDKey name Loop's ids in a canonical Return's external_ids. They are
// keyed by system kind, not by vendor, so consumers read them whichever returns platform is
// plugged in.
const (
	ExternalIDKey = "returnsplatform"
	LabelIDKey    = "returnsplatform_label"
)

// createReturn is the body of POST /api/v1/returns.
type createReturn struct {
	ExternalID      string           `json:"external_id"`
	ProviderOrderID string           `json:"provider_order_id"`
	CustomerID      string           `json:"customer_id,omitempty"`
	Currency        string           `json:"currency,omitempty"`
	Total           string           `json:"total,omitempty"`
	ReturnMethod    string           `json:"return_method,omitempty"`
	LineItems       []createLineItem `json:"line_items"`
}

type createLineItem struct {
	ProviderLineItemID string `json:"provider_line_item_id,omitempty"`
	SKU                string `json:"sku"`
	Quantity           int32  `json:"quantity"`
	Reason             string `json:"reason,omitempty"`
	Note               string `json:"note,omitempty"`
}

// returnDoc is a Loop return, as the API answers and as return webhooks carry it.
type returnDoc struct {
	Topic           string        `json:"topic"`
	Trigger         string        `json:"trigger"`
	WebhookID       string        `json:"webhook_id"`
	ID              flexID        `json:"id"`
	State           string        `json:"state"`
	ExternalID      string        `json:"external_id"`
	ProviderOrderID flexID        `json:"provider_order_id"`
	CustomerID      string        `json:"customer_id"`
	Currency        string        `json:"currency"`
	Total           string        `json:"total"`
	ReturnMethod    string        `json:"return_method"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
	LineItems       []lineItemDoc `json:"line_items"`
	Label           *labelDoc     `json:"label"`
}

type lineItemDoc struct {
	LineItemID         flexID `json:"line_item_id"`
	ProviderLineItemID flexID `json:"provider_line_item_id"`
	SKU                string `json:"sku"`
	Quantity           int32  `json:"quantity"`
	Reason             string `json:"reason"`
	Note               string `json:"note"`
}

type labelDoc struct {
	ID             flexID `json:"id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	LabelURL       string `json:"label_url"`
	Status         string `json:"status"`
	CreatedAt      string `json:"created_at"`
	UpdatedAt      string `json:"updated_at"`
}

var reasons = map[canonicalv1.ReturnReason]string{
	canonicalv1.ReturnReason_RETURN_REASON_SIZE_OR_FIT:      "size_or_fit",
	canonicalv1.ReturnReason_RETURN_REASON_NOT_AS_DESCRIBED: "not_as_described",
	canonicalv1.ReturnReason_RETURN_REASON_DEFECTIVE:        "defective",
	canonicalv1.ReturnReason_RETURN_REASON_WRONG_ITEM:       "wrong_item",
	canonicalv1.ReturnReason_RETURN_REASON_CHANGED_MIND:     "changed_mind",
	canonicalv1.ReturnReason_RETURN_REASON_OTHER:            "other",
	canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED:      "",
}

func fromReason(s string) canonicalv1.ReturnReason {
	for k, v := range reasons {
		if v == s {
			return k
		}
	}
	return canonicalv1.ReturnReason_RETURN_REASON_OTHER
}

// toCreateReturn renders a canonical return as Loop's create request.
func toCreateReturn(r *canonicalv1.Return) createReturn {
	out := createReturn{ExternalID: r.GetId(), ProviderOrderID: r.GetOrderId(), CustomerID: r.GetCustomerId()}
	switch r.GetMethod() {
	case canonicalv1.ReturnMethod_RETURN_METHOD_MAIL:
		out.ReturnMethod = "mail"
	case canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE:
		out.ReturnMethod = "in_store"
	}
	if t := r.GetRefundTotal(); t != nil && t.GetCurrencyCode() != "" {
		out.Currency = t.GetCurrencyCode()
		out.Total = money.FormatDecimal(t.GetAmountMinor(), t.GetCurrencyCode())
	}
	for _, l := range r.GetLines() {
		out.LineItems = append(out.LineItems, createLineItem{
			ProviderLineItemID: l.GetOrderLineId(), SKU: l.GetSku(), Quantity: l.GetQuantity(),
			Reason: reasons[l.GetReason()], Note: l.GetNote(),
		})
	}
	return out
}

// toReturn is the canonical view of a Loop return. Its state is Loop's ("open", "closed", …),
// not a Retailbridge workflow state; its id is Retailbridge's (Loop's external_id), and Loop's
// own ids are in external_ids.
func toReturn(d *returnDoc) (*canonicalv1.Return, error) {
	r := &canonicalv1.Return{
		Id: d.ExternalID, OrderId: string(d.ProviderOrderID), CustomerId: d.CustomerID, State: d.State,
		ExternalIds: map[string]string{ExternalIDKey: string(d.ID)},
	}
	switch d.ReturnMethod {
	case "mail":
		r.Method = canonicalv1.ReturnMethod_RETURN_METHOD_MAIL
	case "in_store":
		r.Method = canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE
	}
	if d.Total != "" {
		minor, err := money.ParseDecimal(d.Total, d.Currency)
		if err != nil || d.Currency == "" {
			return nil, fmt.Errorf("total %q %q: %v", d.Total, d.Currency, err)
		}
		r.RefundTotal = money.New(minor, d.Currency)
	}
	for _, l := range d.LineItems {
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{
			OrderLineId: string(l.ProviderLineItemID), Sku: l.SKU, Quantity: l.Quantity,
			Reason: fromReason(l.Reason), Note: l.Note,
		})
	}
	var err error
	if r.CreatedAt, err = parseTime(d.CreatedAt); err != nil {
		return nil, err
	}
	if r.UpdatedAt, err = parseTime(d.UpdatedAt); err != nil {
		return nil, err
	}
	if l := d.Label; l != nil {
		r.TrackingNumber = l.TrackingNumber
		r.ExternalIds[LabelIDKey] = string(l.ID)
	}
	return r, nil
}

// labelStatuses maps Loop's label (EasyPost tracker) statuses to canonical parcel progress.
var labelStatuses = map[string]canonicalv1.ShipmentStatus{
	"new":                  canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED,
	"pre_transit":          canonicalv1.ShipmentStatus_SHIPMENT_STATUS_LABEL_CREATED,
	"in_transit":           canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT,
	"out_for_delivery":     canonicalv1.ShipmentStatus_SHIPMENT_STATUS_OUT_FOR_DELIVERY,
	"available_for_pickup": canonicalv1.ShipmentStatus_SHIPMENT_STATUS_OUT_FOR_DELIVERY,
	"delivered":            canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED,
	"failure":              canonicalv1.ShipmentStatus_SHIPMENT_STATUS_EXCEPTION,
	"error":                canonicalv1.ShipmentStatus_SHIPMENT_STATUS_EXCEPTION,
	"return_to_sender":     canonicalv1.ShipmentStatus_SHIPMENT_STATUS_EXCEPTION,
	"cancelled":            canonicalv1.ShipmentStatus_SHIPMENT_STATUS_VOIDED,
}

// toShipment is the canonical parcel of a return's label. Its id is Loop's label id.
func toShipment(d *returnDoc, l *labelDoc) (*canonicalv1.Shipment, error) {
	status, ok := labelStatuses[l.Status]
	if !ok && l.Status != "" && l.Status != "N/A" && l.Status != "unknown" {
		return nil, fmt.Errorf("unknown label status %q", l.Status)
	}
	s := &canonicalv1.Shipment{
		Id: string(l.ID), OrderId: string(d.ProviderOrderID), Carrier: l.Carrier,
		TrackingNumber: l.TrackingNumber, Status: status,
	}
	for _, li := range d.LineItems {
		s.Lines = append(s.Lines, &canonicalv1.ShipmentLine{Sku: li.SKU, OrderLineId: string(li.ProviderLineItemID), Quantity: li.Quantity})
	}
	at, err := parseTime(l.UpdatedAt)
	if err != nil {
		return nil, err
	}
	switch status {
	case canonicalv1.ShipmentStatus_SHIPMENT_STATUS_IN_TRANSIT:
		s.ShippedAt = at
	case canonicalv1.ShipmentStatus_SHIPMENT_STATUS_DELIVERED:
		s.DeliveredAt = at
	}
	return s, nil
}

// parseTime reads an ISO 8601 timestamp; an empty one is nil.
func parseTime(v string) (*timestamppb.Timestamp, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("timestamp %q: %w", v, err)
	}
	return timestamppb.New(t), nil
}
