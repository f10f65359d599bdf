package erp

import (
	"context"
	"time"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Connector is what the service needs from an ERP vendor. Implementations return *errs.Error
// values, classified by one function per vendor. Requests reach a connector validated.
//
// Every write carries the caller's idempotency key, and a connector makes a repeat of a write
// (same key, same request) return what the first one wrote, without writing again — whether the
// first attempt's answer arrived, was lost, or never came because the ERP went into maintenance
// in between. The same key with a different request is errs.FailedPrecondition
// "idempotency_key_reused".
type Connector interface {
	// GetItems reads items by distinct SKUs; SKUs the ERP does not know come back in missing.
	GetItems(ctx context.Context, skus []string) (found []*erpv1.Item, missing []string, err error)
	// Ready reports whether the ERP answers the connector's authenticated requests.
	Ready(ctx context.Context) error
	// CreateSalesOrder books an order; an order booked before is returned as it is.
	CreateSalesOrder(ctx context.Context, req *erpv1.CreateSalesOrderRequest) (*erpv1.CreateSalesOrderResponse, error)
	// GetSalesOrder reads a sales order's status ("sales_order_not_found" when there is none).
	GetSalesOrder(ctx context.Context, id string) (*erpv1.GetSalesOrderResponse, error)
	// CreateReturnAuthorization opens an RMA against the sales order, or, without one, against
	// the sales order booked for the return's order.
	CreateReturnAuthorization(ctx context.Context, req *erpv1.CreateReturnAuthorizationRequest) (*erpv1.CreateReturnAuthorizationResponse, error)
	// GetReturnAuthorization reads an RMA's status and the reference (external id) it was opened
	// under ("return_authorization_not_found" when there is none).
	GetReturnAuthorization(ctx context.Context, id string) (*erpv1.GetReturnAuthorizationResponse, error)
	// CloseReturnAuthorization closes an RMA; closing a closed or refunded RMA does nothing.
	CloseReturnAuthorization(ctx context.Context, req *erpv1.CloseReturnAuthorizationRequest) error
	// CreateItemReceipt receives units against an RMA.
	CreateItemReceipt(ctx context.Context, req *erpv1.CreateItemReceiptRequest) (*erpv1.CreateItemReceiptResponse, error)
	// CreateCreditMemo posts the credit memo for a refund from an RMA and returns it.
	CreateCreditMemo(ctx context.Context, req *erpv1.CreateCreditMemoRequest) (*canonicalv1.CreditMemo, error)
	// RecordInventoryAdjustment posts a write-off or vendor claim.
	RecordInventoryAdjustment(ctx context.Context, req *erpv1.RecordInventoryAdjustmentRequest) (*erpv1.RecordInventoryAdjustmentResponse, error)
	// CreateItemFulfillment records shipped units against a sales order.
	CreateItemFulfillment(ctx context.Context, req *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error)
	// CreateInvoice bills a fulfilled sales order; billing a billed order is refused.
	CreateInvoice(ctx context.Context, req *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error)
	// CloseSalesOrder closes a sales order nothing was fulfilled from; closing a closed one does nothing.
	CloseSalesOrder(ctx context.Context, req *erpv1.CloseSalesOrderRequest) error
	// ListItems reads every active inventory item (following the vendor's pages).
	ListItems(ctx context.Context) ([]*erpv1.Item, error)
	// ListInventoryBalances reads on-hand per item and location, narrowed to skus and locations
	// when given (following the vendor's pages); the result may come in any order.
	ListInventoryBalances(ctx context.Context, skus, locations []string) ([]*erpv1.InventoryBalance, error)
	// RecordCustomerPayment records an order's payment applied to its invoice; the ERP knows one
	// payment per order, so a payment recorded before (under any key) is returned as it is.
	RecordCustomerPayment(ctx context.Context, req *erpv1.RecordCustomerPaymentRequest) (*erpv1.RecordCustomerPaymentResponse, error)
	// ListCustomerPayments lists payments recorded at or after since, oldest first, each with the
	// deposit that carried it, if any.
	ListCustomerPayments(ctx context.Context, since time.Time) ([]*erpv1.CustomerPayment, error)
	// ListDeposits lists bank deposits recorded at or after since, oldest first.
	ListDeposits(ctx context.Context, since time.Time) ([]*erpv1.Deposit, error)
	// ListSalesOrderChanges lists sales orders changed at or after since, oldest change first.
	ListSalesOrderChanges(ctx context.Context, since time.Time) ([]*erpv1.SalesOrderChange, error)
}

// SalesOrderFollower is a connector whose ERP deletes a sales order when it closes (Business
// Central deletes one posted fully shipped and invoiced), so a listing of changes cannot show
// the close. FollowSalesOrders reports each followed sales order that no longer exists and
// that listed (the changes just listed) does not: Billed and closed when an invoice records
// it, Deleted otherwise.
type SalesOrderFollower interface {
	FollowSalesOrders(ctx context.Context, ids []string, listed []*erpv1.SalesOrderChange) ([]*erpv1.SalesOrderChange, error)
}
