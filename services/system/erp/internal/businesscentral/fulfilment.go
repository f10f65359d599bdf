package businesscentral

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/errs"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// The order-to-cash writes after booking are not mapped onto Business Central yet: they answer
// Unimplemented, which the order workflow treats as "wait in a queue", never as done.

// CreateItemFulfillment is not mapped onto Business Central yet.
func (c *Client) CreateItemFulfillment(context.Context, *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error) {
	return nil, notMapped("item fulfilment")
}

// CreateInvoice is not mapped onto Business Central yet.
func (c *Client) CreateInvoice(context.Context, *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error) {
	return nil, notMapped("invoice")
}

// CloseSalesOrder is not mapped onto Business Central yet.
func (c *Client) CloseSalesOrder(context.Context, *erpv1.CloseSalesOrderRequest) error {
	return notMapped("closing a sales order")
}

func notMapped(what string) error {
	return errs.E(errs.Unimplemented, "not_implemented", "Business Central: "+what+" is not mapped yet")
}
