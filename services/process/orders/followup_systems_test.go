package orders

import (
	"context"
	"sync"

	"github.com/retailbridge/retailbridge/pkg/errs"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// The in-memory systems' side of the cash and follow-up calls: the ERP customer payment (one
// per order, whatever the key, as both ERPs keep it), the ERP's sales order changes a test
// plants, and the warehouse's cancellation, refused once the warehouse shipped.

// wfFollowUp is per-harness state the follow-up fakes keep beside wfSystems.
type wfFollowUp struct {
	mu      sync.Mutex
	changes []*erpv1.SalesOrderChange
	shipped map[string]bool // warehouse order ids the warehouse shipped
	asked   []string        // warehouse order ids asked to cancel, in order
	// gone are the changes of sales orders the ERP deleted, reported only when followed.
	gone     map[string]*erpv1.SalesOrderChange
	followed [][]string // the followed ids of each listing
}

var wfFollowUps sync.Map // *wfSystems → *wfFollowUp

func (s *wfSystems) followUp() *wfFollowUp {
	f, _ := wfFollowUps.LoadOrStore(s, &wfFollowUp{shipped: map[string]bool{}})
	return f.(*wfFollowUp)
}

// plantChange makes the ERP report a sales order change.
func (s *wfSystems) plantChange(c *erpv1.SalesOrderChange) {
	f := s.followUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, c)
}

// plantGone makes the ERP report a followed sales order as gone (Billed or Deleted).
func (s *wfSystems) plantGone(c *erpv1.SalesOrderChange) {
	f := s.followUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone == nil {
		f.gone = map[string]*erpv1.SalesOrderChange{}
	}
	f.gone[c.GetSalesOrderId()] = c
}

// shipAtWarehouse marks a warehouse order shipped: the warehouse refuses to cancel it.
func (s *wfSystems) shipAtWarehouse(id string) {
	f := s.followUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shipped[id] = true
}

// RecordCustomerPayment records one payment per order.
func (e *wfERP) RecordCustomerPayment(_ context.Context, req *erpv1.RecordCustomerPaymentRequest) (*erpv1.RecordCustomerPaymentResponse, error) {
	if err := e.s.failing("RecordCustomerPayment"); err != nil {
		return nil, err
	}
	return &erpv1.RecordCustomerPaymentResponse{CustomerPaymentId: e.s.once("customer_payment", req.GetOrderId(), req.GetOrderId())}, nil
}

// ListSalesOrderChanges lists the planted changes at or after modified_since, and the planted
// gone sales orders the request follows.
func (e *wfERP) ListSalesOrderChanges(_ context.Context, req *erpv1.ListSalesOrderChangesRequest) (*erpv1.ListSalesOrderChangesResponse, error) {
	f := e.s.followUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	resp := &erpv1.ListSalesOrderChangesResponse{}
	for _, c := range f.changes {
		if !c.GetModifiedAt().AsTime().Before(req.GetModifiedSince().AsTime()) {
			resp.Changes = append(resp.Changes, c)
		}
	}
	f.followed = append(f.followed, req.GetFollowedSalesOrderIds())
	for _, id := range req.GetFollowedSalesOrderIds() {
		if c := f.gone[id]; c != nil {
			resp.Changes = append(resp.Changes, c)
		}
	}
	return resp, nil
}

// CancelShippingOrder cancels once per key; a shipped order is refused.
func (w *wfWMS) CancelShippingOrder(_ context.Context, req *wmsv1.CancelShippingOrderRequest) (*wmsv1.CancelShippingOrderResponse, error) {
	if err := w.s.failing("CancelShippingOrder"); err != nil {
		return nil, err
	}
	f := w.s.followUp()
	f.mu.Lock()
	shipped := f.shipped[req.GetWarehouseOrderId()]
	f.asked = append(f.asked, req.GetWarehouseOrderId())
	f.mu.Unlock()
	if shipped {
		return nil, errs.ToStatus(errs.E(errs.FailedPrecondition, "already_shipped", "the warehouse shipped "+req.GetWarehouseOrderId())).Err()
	}
	w.s.once("cancelled_shipping_order", req.GetWarehouseOrderId(), req.GetIdempotencyKey())
	return &wmsv1.CancelShippingOrderResponse{}, nil
}
