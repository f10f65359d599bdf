package warehouse

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Keys of the warehouse's ids in a canonical Return's external_ids.
const (
	ReceiptIDKey  = "warehouse_receipt"
	LocationIDKey = "warehouse_location"
)

// expectReturn is the body of POST /v1/inbound/returns.
type expectReturn struct {
	Reference  string       `json:"reference"`
	OrderID    string       `json:"order_id,omitempty"`
	RMANumber  string       `json:"rma_number,omitempty"`
	LocationID string       `json:"location_id"`
	Lines      []expectLine `json:"lines"`
}

type expectLine struct {
	OrderLineID string `json:"order_line_id,omitempty"`
	SKU         string `json:"sku"`
	Quantity    int64  `json:"quantity"`
}

// receiptDoc is a receipt as the API answers and as receipt webhooks carry it.
type receiptDoc struct {
	ID          string           `json:"id"`
	Reference   string           `json:"reference"`
	OrderID     string           `json:"order_id"`
	RMANumber   string           `json:"rma_number"`
	LocationID  string           `json:"location_id"`
	Status      string           `json:"status"`
	CreatedAt   string           `json:"created_at"`
	ReceivedAt  string           `json:"received_at"`
	InspectedAt string           `json:"inspected_at"`
	Lines       []receiptLineDoc `json:"lines"`
}

type receiptLineDoc struct {
	LineNumber       int    `json:"line_number"`
	OrderLineID      string `json:"order_line_id"`
	SKU              string `json:"sku"`
	ExpectedQuantity int64  `json:"expected_quantity"`
	ReceivedQuantity int64  `json:"received_quantity"`
	Condition        string `json:"condition"`
}

// ExpectReturn announces ret at locationID. The return's id is the warehouse reference, so the
// same return announced again gets the same receipt.
func (c *Client) ExpectReturn(ctx context.Context, ret *canonicalv1.Return, locationID, idempotencyKey string) (string, error) {
	req := expectReturn{Reference: ret.GetId(), OrderID: ret.GetOrderId(), RMANumber: ret.GetRmaNumber(), LocationID: locationID}
	for _, l := range ret.GetLines() {
		req.Lines = append(req.Lines, expectLine{OrderLineID: l.GetOrderLineId(), SKU: l.GetSku(), Quantity: int64(l.GetQuantity())})
	}
	var doc receiptDoc
	if err := c.call(ctx, http.MethodPost, "v1/inbound/returns", nil, idempotencyKey, req, &doc); err != nil {
		return "", err
	}
	return doc.ID, nil
}

// GetReturnReceipt reads a receipt: what arrived and what inspection found.
func (c *Client) GetReturnReceipt(ctx context.Context, receiptID string) (*wmsv1.GetReturnReceiptResponse, error) {
	var doc receiptDoc
	if err := c.call(ctx, http.MethodGet, "v1/inbound/returns/"+url.PathEscape(receiptID), nil, "", nil, &doc); err != nil {
		return nil, err
	}
	ret, err := toReturn(&doc)
	if err != nil {
		return nil, toErr(badPayload(err))
	}
	resp := &wmsv1.GetReturnReceiptResponse{Lines: ret.GetLines(), Reference: doc.Reference}
	if doc.ReceivedAt != "" {
		if resp.ReceivedAt, err = parseTime(doc.ReceivedAt); err != nil {
			return nil, toErr(badPayload(err))
		}
	}
	return resp, nil
}

var conditions = map[string]canonicalv1.ItemCondition{
	"":                 canonicalv1.ItemCondition_ITEM_CONDITION_UNSPECIFIED,
	"resellable":       canonicalv1.ItemCondition_ITEM_CONDITION_RESELLABLE,
	"damaged":          canonicalv1.ItemCondition_ITEM_CONDITION_DAMAGED,
	"wrong_or_missing": canonicalv1.ItemCondition_ITEM_CONDITION_WRONG_OR_MISSING,
}

// toReturn is the canonical view of a receipt: the return it announced (the reference is
// Retailbridge's return id), with the received quantity once received, each line's condition
// once inspected, and the warehouse's status ("expected", "received", "inspected") as its state.
// updated_at is the latest of receipt and inspection.
func toReturn(d *receiptDoc) (*canonicalv1.Return, error) {
	r := &canonicalv1.Return{
		Id: d.Reference, OrderId: d.OrderID, RmaNumber: d.RMANumber, State: d.Status,
		ExternalIds: map[string]string{ReceiptIDKey: d.ID, LocationIDKey: d.LocationID},
	}
	for _, l := range d.Lines {
		cond, ok := conditions[l.Condition]
		if !ok {
			return nil, fmt.Errorf("unknown condition %q", l.Condition)
		}
		qty := l.ExpectedQuantity
		if d.ReceivedAt != "" {
			qty = l.ReceivedQuantity
		}
		r.Lines = append(r.Lines, &canonicalv1.ReturnLine{OrderLineId: l.OrderLineID, Sku: l.SKU, Quantity: int32(qty), Condition: cond})
	}
	var err error
	if r.CreatedAt, err = parseTime(d.CreatedAt); err != nil {
		return nil, err
	}
	for _, v := range []string{d.ReceivedAt, d.InspectedAt} {
		if v == "" {
			continue
		}
		if r.UpdatedAt, err = parseTime(v); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// parseTime reads an RFC 3339 timestamp; an empty one is nil.
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
