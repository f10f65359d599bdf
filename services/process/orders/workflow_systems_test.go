package orders

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"

	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"

	inventoryv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/inventory/v1"
	commercev1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/commerce/v1"
	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
	omsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/oms/v1"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	wmsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/wms/v1"
)

// wfSystems are in-memory system APIs for the order workflow, behind real gRPC (bufconn). Each
// keeps its vendor's idempotency rule (a repeat with the same key, or of the same external id,
// returns the first record) and counts the records it really created, so a test can tell one
// sales order from two. Every system can be made to fail.
type wfSystems struct {
	mu sync.Mutex
	// fail makes the named method answer this error (an unavailable ERP, say).
	fail map[string]error
	// created counts records made, by kind: sales_order, item_fulfillment, invoice, closed,
	// shipping_order, fulfillment, reservation, released, capture.
	created map[string]int
	// perOrder counts records per kind and order.
	perOrder map[string]map[string]int
	byKey    map[string]string
	items    map[string]*erpv1.Item
	taxCodes map[string][]string // sales order → tax codes of its lines
	// noReservations answers Reserve with Unimplemented, as the inventory process did before
	// reservations landed.
	noReservations bool
	next           int
	// shippingSKUs lists, per order, the SKUs its shipping orders asked the warehouse for.
	shippingSKUs map[string][]string
	// reservedSKUs lists, per order, the SKUs reserved for it.
	reservedSKUs map[string][]string
	// stock, when set, is the sellable units per location and SKU ("loc/sku"): Reserve takes
	// from it and refuses with insufficient_stock past it, Release gives back.
	stock map[string]int64
	held  map[string]string // reservation id → "loc/sku", for Release
	// omsLocation, when set, deploys an OMS that allocates every line there (else the OMS
	// answers Unimplemented, as when none is deployed); omsOrders keeps what it was given.
	omsLocation string
	omsOrders   map[string]*canonicalv1.Order
}

func newWFSystems() *wfSystems {
	return &wfSystems{fail: map[string]error{}, created: map[string]int{}, perOrder: map[string]map[string]int{},
		byKey: map[string]string{}, taxCodes: map[string][]string{}, shippingSKUs: map[string][]string{}, reservedSKUs: map[string][]string{},
		items: map[string]*erpv1.Item{
			"SKU-SHIRT": {Sku: "SKU-SHIRT", ErpId: "101", Category: "apparel"},
			"SKU-MUG":   {Sku: "SKU-MUG", ErpId: "102", Category: "homeware"},
			"SKU-SOAP":  {Sku: "SKU-SOAP", ErpId: "103", Category: "hygiene"},
			"SKU-GIFT":  {Sku: "SKU-GIFT", ErpId: "104", Category: "gift_card", Kind: canonicalv1.LineKind_LINE_KIND_GIFT_CARD},
			// The item master keeps the e-book as a non-inventory item; the storefront does not say.
			"SKU-EBOOK": {Sku: "SKU-EBOOK", ErpId: "105", Category: "media", Kind: canonicalv1.LineKind_LINE_KIND_NON_INVENTORY},
		}}
}

func (s *wfSystems) failing(method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail[method]
}

func (s *wfSystems) setFail(method string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		delete(s.fail, method)
		return
	}
	s.fail[method] = err
}

// once records a keyed write once: a repeat of key returns the first id.
func (s *wfSystems) once(kind, order, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byKey[kind+"\x00"+key]; ok {
		return id
	}
	s.next++
	id := fmt.Sprintf("%s-%d", kind, s.next)
	s.byKey[kind+"\x00"+key] = id
	s.created[kind]++
	if s.perOrder[kind] == nil {
		s.perOrder[kind] = map[string]int{}
	}
	s.perOrder[kind][order]++
	return id
}

func (s *wfSystems) count(kind, order string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if order == "" {
		return s.created[kind]
	}
	return s.perOrder[kind][order]
}

func (s *wfSystems) register(srv *grpc.Server) {
	erpv1.RegisterErpServiceServer(srv, &wfERP{s: s})
	wmsv1.RegisterWmsServiceServer(srv, &wfWMS{s: s})
	commercev1.RegisterCommerceServiceServer(srv, &wfCommerce{s: s})
	inventoryv1.RegisterInventoryServiceServer(srv, &wfInventory{s: s})
	paymentsv1.RegisterPaymentsServiceServer(srv, &wfPayments{s: s})
	omsv1.RegisterOmsServiceServer(srv, &wfOMS{s: s})
}

type wfERP struct {
	erpv1.UnimplementedErpServiceServer
	s *wfSystems
}

func (e *wfERP) GetItems(_ context.Context, req *erpv1.GetItemsRequest) (*erpv1.GetItemsResponse, error) {
	if err := e.s.failing("GetItems"); err != nil {
		return nil, err
	}
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	resp := &erpv1.GetItemsResponse{}
	for _, sku := range req.GetSkus() {
		if it, ok := e.s.items[sku]; ok {
			resp.Items = append(resp.Items, it)
		} else {
			resp.MissingSkus = append(resp.MissingSkus, sku)
		}
	}
	return resp, nil
}

// CreateSalesOrder books an order once under its external id (the order id), as NetSuite does.
func (e *wfERP) CreateSalesOrder(_ context.Context, req *erpv1.CreateSalesOrderRequest) (*erpv1.CreateSalesOrderResponse, error) {
	if err := e.s.failing("CreateSalesOrder"); err != nil {
		return nil, err
	}
	id := e.s.once("sales_order", req.GetOrder().GetId(), req.GetOrder().GetId())
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.taxCodes[id] = nil
	for _, r := range req.GetLineRefs() {
		e.s.taxCodes[id] = append(e.s.taxCodes[id], r.GetTaxCode())
	}
	return &erpv1.CreateSalesOrderResponse{SalesOrderId: id, Number: "SO" + id}, nil
}

func (e *wfERP) CreateItemFulfillment(_ context.Context, req *erpv1.CreateItemFulfillmentRequest) (*erpv1.CreateItemFulfillmentResponse, error) {
	if err := e.s.failing("CreateItemFulfillment"); err != nil {
		return nil, err
	}
	return &erpv1.CreateItemFulfillmentResponse{ItemFulfillmentId: e.s.once("item_fulfillment", req.GetSalesOrderId(), req.GetIdempotencyKey())}, nil
}

// CreateInvoice bills a sales order once: a second invoice (another key) is refused.
func (e *wfERP) CreateInvoice(_ context.Context, req *erpv1.CreateInvoiceRequest) (*erpv1.CreateInvoiceResponse, error) {
	if err := e.s.failing("CreateInvoice"); err != nil {
		return nil, err
	}
	e.s.mu.Lock()
	id, repeat := e.s.byKey["invoice\x00"+req.GetIdempotencyKey()]
	billed := e.s.perOrder["invoice"][req.GetSalesOrderId()] > 0
	e.s.mu.Unlock()
	if billed && !repeat {
		return nil, status.Error(codes.FailedPrecondition, "the sales order is billed")
	}
	if !repeat {
		id = e.s.once("invoice", req.GetSalesOrderId(), req.GetIdempotencyKey())
	}
	return &erpv1.CreateInvoiceResponse{InvoiceId: id}, nil
}

func (e *wfERP) CloseSalesOrder(_ context.Context, req *erpv1.CloseSalesOrderRequest) (*erpv1.CloseSalesOrderResponse, error) {
	e.s.once("closed", req.GetSalesOrderId(), req.GetIdempotencyKey())
	return &erpv1.CloseSalesOrderResponse{}, nil
}

type wfWMS struct {
	wmsv1.UnimplementedWmsServiceServer
	s *wfSystems
}

// CreateShippingOrder deduplicates by the shipment id, as the warehouse does.
func (w *wfWMS) CreateShippingOrder(_ context.Context, req *wmsv1.CreateShippingOrderRequest) (*wmsv1.CreateShippingOrderResponse, error) {
	if err := w.s.failing("CreateShippingOrder"); err != nil {
		return nil, err
	}
	id := w.s.once("shipping_order", req.GetShipment().GetOrderId(), req.GetShipment().GetId())
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	for _, l := range req.GetShipment().GetLines() {
		w.s.shippingSKUs[req.GetShipment().GetOrderId()] = append(w.s.shippingSKUs[req.GetShipment().GetOrderId()], l.GetSku())
	}
	return &wmsv1.CreateShippingOrderResponse{WarehouseOrderId: id}, nil
}

type wfCommerce struct {
	commercev1.UnimplementedCommerceServiceServer
	s *wfSystems
}

func (c *wfCommerce) CreateFulfillment(_ context.Context, req *commercev1.CreateFulfillmentRequest) (*commercev1.CreateFulfillmentResponse, error) {
	if err := c.s.failing("CreateFulfillment"); err != nil {
		return nil, err
	}
	return &commercev1.CreateFulfillmentResponse{FulfillmentId: c.s.once("fulfillment", req.GetOrderId(), req.GetIdempotencyKey())}, nil
}

type wfInventory struct {
	inventoryv1.UnimplementedInventoryServiceServer
	s *wfSystems
}

func (i *wfInventory) Reserve(ctx context.Context, req *inventoryv1.ReserveRequest) (*inventoryv1.ReserveResponse, error) {
	i.s.mu.Lock()
	off := i.s.noReservations
	i.s.mu.Unlock()
	if off {
		return i.UnimplementedInventoryServiceServer.Reserve(ctx, req)
	}
	if err := i.s.take(req); err != nil {
		return nil, err
	}
	id := i.s.once("reservation", req.GetOrderId(), req.GetIdempotencyKey())
	i.s.mu.Lock()
	i.s.reservedSKUs[req.GetOrderId()] = append(i.s.reservedSKUs[req.GetOrderId()], req.GetSku())
	if i.s.stock != nil {
		i.s.held[id] = req.GetLocationId() + "/" + req.GetSku()
	}
	i.s.mu.Unlock()
	return &inventoryv1.ReserveResponse{ReservationId: id, LocationId: req.GetLocationId(), ExpiresAt: timestamppb.Now()}, nil
}

func (i *wfInventory) Commit(context.Context, *inventoryv1.CommitRequest) (*inventoryv1.CommitResponse, error) {
	return &inventoryv1.CommitResponse{}, nil
}

func (i *wfInventory) Release(_ context.Context, req *inventoryv1.ReleaseRequest) (*inventoryv1.ReleaseResponse, error) {
	i.s.once("released", "", req.GetReservationId())
	i.s.mu.Lock()
	if key, ok := i.s.held[req.GetReservationId()]; ok {
		i.s.stock[key]++
		delete(i.s.held, req.GetReservationId())
	}
	i.s.mu.Unlock()
	return &inventoryv1.ReleaseResponse{}, nil
}

// take holds a reservation's units when the test keeps stock; a repeat of a key takes nothing.
func (s *wfSystems) take(req *inventoryv1.ReserveRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, repeat := s.byKey["reservation\x00"+req.GetIdempotencyKey()]; s.stock == nil || repeat {
		return nil
	}
	key := req.GetLocationId() + "/" + req.GetSku()
	if s.stock[key] < req.GetQuantity() {
		return errs.ToStatus(errs.E(errs.FailedPrecondition, "insufficient_stock", "not enough units to hold")).Err()
	}
	s.stock[key] -= req.GetQuantity()
	return nil
}

type wfOMS struct {
	omsv1.UnimplementedOmsServiceServer
	s *wfSystems
}

func (o *wfOMS) deployed() bool {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.omsLocation != ""
}

// SubmitOrder keeps an order once per ref (the order's id), as Fluent does.
func (o *wfOMS) SubmitOrder(ctx context.Context, req *omsv1.SubmitOrderRequest) (*omsv1.SubmitOrderResponse, error) {
	if !o.deployed() {
		return o.UnimplementedOmsServiceServer.SubmitOrder(ctx, req)
	}
	id := o.s.once("oms_order", "", req.GetOrder().GetId())
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if o.s.omsOrders == nil {
		o.s.omsOrders = map[string]*canonicalv1.Order{}
	}
	o.s.omsOrders[id] = req.GetOrder()
	return &omsv1.SubmitOrderResponse{OmsOrderId: id}, nil
}

func (o *wfOMS) GetAllocation(ctx context.Context, req *omsv1.GetAllocationRequest) (*omsv1.GetAllocationResponse, error) {
	if !o.deployed() {
		return o.UnimplementedOmsServiceServer.GetAllocation(ctx, req)
	}
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	resp := &omsv1.GetAllocationResponse{}
	for _, l := range o.s.omsOrders[req.GetOmsOrderId()].GetLines() {
		resp.Allocations = append(resp.Allocations, &omsv1.Allocation{OrderLineId: l.GetId(), LocationId: o.s.omsLocation, Quantity: l.GetQuantity()})
	}
	return resp, nil
}

func (o *wfOMS) CancelOrder(ctx context.Context, req *omsv1.CancelOrderRequest) (*omsv1.CancelOrderResponse, error) {
	if !o.deployed() {
		return o.UnimplementedOmsServiceServer.CancelOrder(ctx, req)
	}
	o.s.once("oms_cancelled", "", req.GetOmsOrderId())
	return &omsv1.CancelOrderResponse{}, nil
}

type wfPayments struct {
	paymentsv1.UnimplementedPaymentsServiceServer
	s *wfSystems
}

func (p *wfPayments) CapturePayment(_ context.Context, req *paymentsv1.CapturePaymentRequest) (*paymentsv1.CapturePaymentResponse, error) {
	if err := p.s.failing("CapturePayment"); err != nil {
		return nil, err
	}
	p.s.once("capture", req.GetPaymentReference(), req.GetIdempotencyKey())
	return &paymentsv1.CapturePaymentResponse{Captured: req.GetAmount()}, nil
}
