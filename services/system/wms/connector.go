package wms

import (
	"context"
	"net/http"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// Connector is what the service needs from a warehouse vendor. Implementations return *errs.Error
// values, classified by one function per vendor, and are safe for concurrent use.
// internal/connectortest is the suite every implementation passes against its sandbox.
type Connector interface {
	// ExpectReturn announces an inbound return at a location and returns the warehouse's receipt
	// id. The warehouse knows a return by its id: announcing it again returns the same receipt;
	// announcing different content under the same id is errs.AlreadyExists "reference_conflict".
	ExpectReturn(ctx context.Context, ret *canonicalv1.Return, locationID, idempotencyKey string) (string, error)
	// GetReturnReceipt reads what arrived (received_at unset until then) and what inspection
	// found. An unknown id is errs.NotFound "receipt_not_found".
	GetReturnReceipt(ctx context.Context, receiptID string) (*wmsv1.GetReturnReceiptResponse, error)
	// CreateShippingOrder asks the warehouse to ship s from s.from_location_id and returns its
	// order id; the same shipment id again returns the same order.
	CreateShippingOrder(ctx context.Context, s *canonicalv1.Shipment, idempotencyKey string) (string, error)
	// GetShippingOrder reads an order's acknowledgement and, once shipped, the shipment. An
	// unknown id is errs.NotFound "order_not_found".
	GetShippingOrder(ctx context.Context, orderID string) (*wmsv1.GetShippingOrderResponse, error)
	// CancelShippingOrder cancels an order the warehouse has not shipped; cancelling a cancelled
	// order does nothing. A shipped order is errs.FailedPrecondition "already_shipped"; an
	// unknown one errs.NotFound "order_not_found".
	CancelShippingOrder(ctx context.Context, orderID, shipmentID, reason, idempotencyKey string) error
	// ListPositions reads stock per SKU, location and state; empty filters mean all.
	ListPositions(ctx context.Context, skus, locationIDs []string) ([]*canonicalv1.InventoryPosition, error)
	// ParseWebhook verifies a webhook on its raw body and normalises it into canonical events
	// with deterministic ids, so the same delivery always gives the same events. It returns the
	// vendor's delivery id and no events for topics Retailbridge ignores. A missing or wrong
	// signature is errs.Unauthenticated "webhook_signature_invalid", a signature older than the
	// tolerance errs.Unauthenticated "webhook_timestamp_stale", and a signed body that is not a
	// vendor payload errs.Invalid "webhook_payload_invalid".
	ParseWebhook(h http.Header, body []byte) (deliveryID string, evs []*canonicalv1.Event, err error)
	// Ready reports whether the warehouse answers the connector's authenticated requests.
	Ready(ctx context.Context) error
}
