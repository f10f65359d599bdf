package oms

import (
	"context"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
)

// Connector is what the service needs from an OMS vendor. Implementations return *errs.Error
// values, classified by one function per vendor. Requests reach a connector validated.
type Connector interface {
	// SubmitOrder hands an order to the OMS under its order id (the OMS's unique order ref): an
	// order submitted before is returned as it is.
	SubmitOrder(ctx context.Context, o *canonicalv1.Order, idempotencyKey string) (string, error)
	// GetAllocation reads the OMS's fulfilments of an order: which location ships which lines.
	GetAllocation(ctx context.Context, omsOrderID string) ([]*omsv1.Allocation, error)
	// CancelOrder asks the OMS to cancel an order; cancelling a cancelled order does nothing.
	CancelOrder(ctx context.Context, omsOrderID, reason, idempotencyKey string) error
	// ListPositions reads stock positions.
	ListPositions(ctx context.Context, skus, locations []string) ([]*canonicalv1.InventoryPosition, error)
}
