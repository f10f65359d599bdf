package erp

import (
	"context"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Connector is what the service needs from an ERP vendor. Implementations return *errs.Error
// values, classified by one function per vendor.
type Connector interface {
	// GetItems reads items by distinct SKUs; SKUs the ERP does not know come back in missing.
	GetItems(ctx context.Context, skus []string) (found []*erpv1.Item, missing []string, err error)
	// Ready reports whether the ERP answers the connector's authenticated requests.
	Ready(ctx context.Context) error
}
