package commerce

import (
	"context"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
)

// Connector is the storefront platform behind the service, one implementation per vendor
// (internal/shopify). Implementations speak the canonical model, return *errs.Error values,
// and are safe for concurrent use. internal/connectortest is the suite every implementation
// must pass.
type Connector interface {
	// GetOrder reads one order with its lines and their fulfilled, refunded, returned and
	// delivered state. An unknown id is errs.NotFound with reason "order_not_found".
	GetOrder(ctx context.Context, orderID string) (*canonicalv1.Order, error)
	// ListOrders returns one page of orders, newest first, and the token of the next page (""
	// on the last; a token is valid for the same listing only): a customer's, those placed
	// through one of sources (Order.source), or, with both, a customer's from those sources. An
	// unknown customer or source has no orders.
	ListOrders(ctx context.Context, customerID string, sources []string, pageSize int, pageToken string) ([]*canonicalv1.Order, string, error)
	// Ready reports whether the platform answers and accepts our credentials.
	Ready(ctx context.Context) error
	// CreateReturn opens a return for ret's lines on its order and returns the platform's return
	// id. A repeat with the same key returns the return the first call opened.
	CreateReturn(ctx context.Context, ret *canonicalv1.Return, idempotencyKey string) (string, error)
	// CloseReturn closes a return; closing a closed return succeeds. An unknown id is
	// errs.NotFound with reason "return_not_found".
	CloseReturn(ctx context.Context, platformReturnID string) error
	// CreateFulfillment records a shipment with tracking on the order and notifies the customer;
	// a shipment recorded before (its tracking number) is returned as it is.
	CreateFulfillment(ctx context.Context, orderID string, sh *canonicalv1.Shipment, idempotencyKey string) (string, error)
	// RecordRefund records a refund the payment gateway made and returns the platform's refund
	// id. A repeat with the same key returns the first refund and records nothing more; the same
	// key with another request is errs.FailedPrecondition "idempotency_key_reused".
	RecordRefund(ctx context.Context, req *commercev1.RecordRefundRequest) (string, error)
	// InventoryLevels reads the available quantity of each SKU at each platform location, in
	// request order. An unknown SKU is errs.NotFound "inventory_item_not_found"; a SKU not
	// stocked at the location "inventory_level_not_found".
	InventoryLevels(ctx context.Context, keys []*commercev1.InventoryLevelKey) ([]*commercev1.InventoryLevel, error)
	// SetInventory sets available quantities, all or none, each only if the platform still holds
	// its compare quantity (errs.Conflict "inventory_compare_stale" otherwise, nothing changed).
	// A repeat with the same key returns the first result and changes nothing.
	SetInventory(ctx context.Context, req *commercev1.SetInventoryRequest) ([]*commercev1.InventoryLevel, error)
	// ListVariants reads every variant with its SKU and inventory item, following the pages.
	ListVariants(ctx context.Context) ([]*commercev1.Variant, error)
}
