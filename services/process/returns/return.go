package returns

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	canonicalv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/canonical/v1"
	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
	"github.com/retailbridge/retailbridge/pkg/money"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/tenancy"
	"github.com/retailbridge/retailbridge/pkg/workflow"
)

//go:embed migrations/*.sql
var migrations embed.FS

// IdempotencyKeyHeader is the gRPC metadata key carrying the caller's Idempotency-Key; the
// gateway forwards it so a return is created once per key even if the gateway's own
// idempotency record is lost.
const IdempotencyKeyHeader = "idempotency-key"

// Scopes that customer-service actions need.
const (
	ScopeSupportWrite   = "support:write"    // approve, deny, cancel
	ScopeRefundOverride = "refunds:override" // change a refund amount
)

// CreateReturn starts the return-to-refund workflow after re-checking eligibility server side
// against a fresh read of the order: the client's copy of an eligibility answer is never trusted.
// Customers return their own orders, partners orders from their tenant's channels (anything else
// answers as an unknown order), customer service any order with the support:write scope.
func (s *Service) CreateReturn(ctx context.Context, req *returnsv1.CreateReturnRequest) (*returnsv1.CreateReturnResponse, error) {
	if s.db == nil {
		return nil, errNotImplemented("CreateReturn")
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeReturnsWrite); err != nil {
		return nil, err
	}
	key := incomingKey(ctx)
	if err := validateCreate(req, key); err != nil {
		return nil, err
	}
	requester := requesterOf(p)
	// A retry of a request that already created its return answers with that return.
	if r, err := s.returnByKey(ctx, requester, key); err == nil {
		return &returnsv1.CreateReturnResponse{Return: r}, nil
	} else if errs.KindOf(err) != errs.NotFound {
		return nil, err
	}

	created, err := s.createFor(ctx, req, key, requester, func(order *canonicalv1.Order) error {
		return s.mayReturn(p, order)
	}, "")
	if err != nil {
		return nil, err
	}
	return &returnsv1.CreateReturnResponse{Return: created}, nil
}

// mayReturn decides whether p may start a return of order.
func (s *Service) mayReturn(p auth.Principal, order *canonicalv1.Order) error {
	switch p.Audience {
	case auth.Storefront:
		if order.GetCustomer().GetId() != p.Subject {
			return errOrderNotFound()
		}
	case auth.Partner:
		if !s.tenants.Owns(p.Tenant, order.GetSource()) {
			return errOrderNotFound()
		}
	default:
		if !p.HasScope(ScopeSupportWrite) {
			return errs.E(errs.PermissionDenied, "insufficient_scope", "creating a return for a customer needs the "+ScopeSupportWrite+" scope")
		}
	}
	return nil
}

// requesterOf names who asks, for idempotent retries: "storefront:<customer>", "support:<agent>",
// "partner:<client>".
func requesterOf(p auth.Principal) string { return string(p.Audience) + ":" + p.Subject }

// createFor re-checks eligibility against a fresh read of the order and starts the workflow.
// allow decides whether the caller may return this order; platformID is the returns platform's
// id when the customer started the return there (the workflow then does not register it again).
func (s *Service) createFor(ctx context.Context, req *returnsv1.CreateReturnRequest, key, requester string,
	allow func(*canonicalv1.Order) error, platformID string) (*canonicalv1.Return, error) {
	s.orders.Invalidate(req.GetOrderId())
	order, _, err := s.order(ctx, req.GetOrderId())
	if err != nil {
		return nil, err
	}
	if err := allow(order); err != nil {
		return nil, err
	}
	customer := order.GetCustomer().GetId()
	sel := make([]*returnsv1.LineSelection, 0, len(req.GetLines()))
	for _, l := range req.GetLines() {
		sel = append(sel, &returnsv1.LineSelection{OrderLineId: l.GetOrderLineId(), Quantity: l.GetQuantity()})
	}
	items, err := s.items.get(ctx, skusOf(order, sel))
	if err != nil {
		return nil, err
	}

	id := newReturnID()
	now := s.now().UTC()
	var created *canonicalv1.Return
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := lockOrder(ctx, tx, order.GetId()); err != nil {
			return err
		}
		claimed, err := activeClaims(ctx, tx, order.GetId())
		if err != nil {
			return err
		}
		answer := Evaluate(s.policy, withClaims(order, claimed), items, sel, s.now())
		d, err := s.newReturnData(id, order, req, answer, now)
		if err != nil {
			return err
		}
		d.PlatformReturnID = platformID
		d.Tenant = s.tenants.OwnerOf(order.GetSource())
		if err := insertReturn(ctx, tx, d, customer, key, requester, now); err != nil {
			return err
		}
		if err := s.engine.Start(ctx, tx, Kind, id, StateRequested, d, "return requested"); err != nil {
			return err
		}
		if err := s.outbox.Add(ctx, tx, stateEvent(d, StateRequested, now)); err != nil {
			return err
		}
		created = d.canonical(StateRequested)
		created.UpdatedAt = timestamppb.New(now)
		return nil
	})
	return created, err
}

func (s *Service) newReturnData(id string, order *canonicalv1.Order, req *returnsv1.CreateReturnRequest, answer *returnsv1.CheckEligibilityResponse, now time.Time) (*returnData, error) {
	method := "mail"
	if req.GetMethod() == canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE {
		method = "in_store"
	}
	d := &returnData{
		ReturnID: id, OrderID: order.GetId(), CustomerID: order.GetCustomer().GetId(), Currency: orderCurrency(order),
		Method: method, LocationID: s.returnLocation(order, method), PaymentReference: order.GetPaymentReference(),
		Channel: order.GetSource(), CreatedAt: now,
	}
	// The refund goes to the payment the commerce platform recorded for the order; without one
	// there is nothing the gateway could refund, so the return is refused before it starts.
	if d.PaymentReference == "" {
		return nil, errs.E(errs.FailedPrecondition, "order_payment_unknown",
			"the commerce platform records no gateway payment for this order, so it cannot be refunded here")
	}
	var bad []errs.FieldViolation
	for i, l := range answer.GetLines() {
		field := fmt.Sprintf("lines[%d]", i)
		if !l.GetEligible() {
			bad = append(bad, errs.FieldViolation{Field: field, Description: "not returnable: " + l.GetReason().String()})
			continue
		}
		if !containsMethod(l.GetMethods(), req.GetMethod()) {
			bad = append(bad, errs.FieldViolation{Field: "method", Description: req.GetMethod().String() + " is not offered for " + l.GetOrderLineId()})
			continue
		}
		in := req.GetLines()[i]
		est := l.GetRefundEstimate()
		unit := int64(0)
		if l.GetRequestedQuantity() > 0 {
			unit = est.GetGross().GetAmountMinor() / int64(l.GetRequestedQuantity())
		}
		d.Lines = append(d.Lines, returnLine{
			OrderLineID: l.GetOrderLineId(), SKU: l.GetSku(), Quantity: l.GetRequestedQuantity(), Reason: in.GetReason().String(),
			Note: in.GetNote(), UnitPrice: unit, Fee: est.GetRestockingFee().GetAmountMinor(), Refund: est.GetRefund().GetAmountMinor(),
		})
		d.RefundTotal += est.GetRefund().GetAmountMinor()
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.FailedPrecondition, "lines_not_returnable", "some lines cannot be returned").WithFields(bad...)
	}
	return d, nil
}

// returnLocation is where a return is received: the pick-up store for in-store returns, the
// returns centre otherwise.
func (s *Service) returnLocation(order *canonicalv1.Order, method string) string {
	if method == "in_store" && order.GetPickupLocationId() != "" {
		return order.GetPickupLocationId()
	}
	return s.location
}

func containsMethod(ms []canonicalv1.ReturnMethod, m canonicalv1.ReturnMethod) bool {
	for _, x := range ms {
		if x == m {
			return true
		}
	}
	return false
}

func validateCreate(req *returnsv1.CreateReturnRequest, key string) error {
	var bad []errs.FieldViolation
	add := func(f, d string) { bad = append(bad, errs.FieldViolation{Field: f, Description: d}) }
	if key == "" {
		add("Idempotency-Key", "required: send an Idempotency-Key header")
	}
	if strings.TrimSpace(req.GetOrderId()) == "" || len(req.GetOrderId()) > maxIDLength {
		add("order_id", "required, at most 256 characters")
	}
	switch req.GetMethod() {
	case canonicalv1.ReturnMethod_RETURN_METHOD_MAIL, canonicalv1.ReturnMethod_RETURN_METHOD_IN_STORE:
	default:
		add("method", "RETURN_METHOD_MAIL or RETURN_METHOD_IN_STORE")
	}
	if n := len(req.GetLines()); n == 0 || n > maxLines {
		add("lines", fmt.Sprintf("between 1 and %d lines", maxLines))
	}
	seen := map[string]bool{}
	for i, l := range req.GetLines() {
		f := fmt.Sprintf("lines[%d]", i)
		if l.GetOrderLineId() == "" || seen[l.GetOrderLineId()] {
			add(f+".order_line_id", "required and unique")
		}
		seen[l.GetOrderLineId()] = true
		if l.GetQuantity() <= 0 {
			add(f+".quantity", "must be at least 1")
		}
		if l.GetReason() == canonicalv1.ReturnReason_RETURN_REASON_UNSPECIFIED {
			add(f+".reason", "required")
		}
		if len(l.GetNote()) > 1000 {
			add(f+".note", "at most 1000 characters")
		}
		// Amounts, conditions and dispositions are decided by policy and inspection, never by
		// the caller (mass assignment).
		if l.GetRefundAmount() != nil || l.GetRestockingFee() != nil {
			add(f+".refund_amount", "decided by the return policy; do not send it")
		}
		if l.GetCondition() != canonicalv1.ItemCondition_ITEM_CONDITION_UNSPECIFIED || l.GetDisposition() != canonicalv1.Disposition_DISPOSITION_UNSPECIFIED {
			add(f+".condition", "decided at inspection; do not send it")
		}
		if l.GetSku() != "" {
			add(f+".sku", "taken from the order; do not send it")
		}
	}
	if len(bad) > 0 {
		return errs.E(errs.Invalid, "invalid_request", "the return request is invalid").WithFields(bad...)
	}
	return nil
}

func incomingKey(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(IdempotencyKeyHeader); len(v) > 0 {
		return strings.Trim(v[0], `"`)
	}
	return ""
}

func newReturnID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "ret_" + hex.EncodeToString(b)
}

// withClaims returns a copy of order in which units claimed by returns in progress count as
// returned and refunded, so eligibility and creation see them as gone.
func withClaims(order *canonicalv1.Order, claimed map[string]int32) *canonicalv1.Order {
	if len(claimed) == 0 {
		return order
	}
	o := proto.Clone(order).(*canonicalv1.Order)
	for _, l := range o.GetLines() {
		if c := claimed[l.GetId()]; c > 0 {
			l.ReturnedQuantity += c
			l.RefundedQuantity += c
		}
	}
	return o
}

// returnByKey finds the return a caller created with an idempotency key.
func (s *Service) returnByKey(ctx context.Context, requester, key string) (*canonicalv1.Return, error) {
	id, err := returnIDByKey(ctx, s.db, requester, key)
	if err != nil {
		return nil, err
	}
	inst, _, err := s.engine.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return toReturn(inst)
}

func toReturn(inst workflow.Instance) (*canonicalv1.Return, error) {
	var d returnData
	if err := inst.Decode(&d); err != nil {
		return nil, errs.Wrap(err, errs.Internal, "return_data_corrupt", "")
	}
	r := d.canonical(inst.State)
	r.UpdatedAt = timestamppb.New(inst.UpdatedAt)
	return r, nil
}

// GetReturn reads a return and its timeline. Customers see their own returns only, partners their
// tenant's, and both only the customer-facing steps of the timeline; customer service sees every
// step, vendor call, retry and actor.
func (s *Service) GetReturn(ctx context.Context, req *returnsv1.GetReturnRequest) (*returnsv1.GetReturnResponse, error) {
	if s.db == nil {
		return nil, errNotImplemented("GetReturn")
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeReturnsRead); err != nil {
		return nil, err
	}
	inst, hist, err := s.engine.Get(ctx, req.GetReturnId())
	if err != nil || inst.Kind != Kind {
		return nil, errs.E(errs.NotFound, "return_not_found", "return not found")
	}
	var d returnData
	if err := inst.Decode(&d); err != nil {
		return nil, errs.Wrap(err, errs.Internal, "return_data_corrupt", "")
	}
	if !owns(p, d) {
		return nil, errs.E(errs.NotFound, "return_not_found", "return not found")
	}
	external := p.Audience != auth.Support // customers and partners see the customer-facing timeline
	r, err := toReturn(inst)
	if err != nil {
		return nil, err
	}
	resp := &returnsv1.GetReturnResponse{Return: r}
	for _, en := range hist {
		if external && en.Kind != "started" && en.Kind != "transition" {
			continue
		}
		desc := en.Description
		if external {
			desc = customerDescription(en.State)
		}
		if en.Actor != "" && !external {
			desc += " (by " + en.Actor + ")"
		}
		if en.Outcome != "" && !external {
			desc += " → " + en.Outcome
		}
		if external && len(resp.Timeline) > 0 && resp.Timeline[len(resp.Timeline)-1].GetDescription() == desc {
			resp.Timeline[len(resp.Timeline)-1].State = en.State // one line per step the customer sees
			continue
		}
		if external && inspectedBeforeReceipt(resp.Timeline, en.State) {
			// The warehouse's inspection overtook its receipt (webhooks arrive out of order, and
			// the late receipt is then ignored): an inspected parcel was received, and the
			// customer is told so.
			resp.Timeline = append(resp.Timeline, &returnsv1.TimelineEntry{Time: timestamppb.New(en.At),
				State: StateAwaitingInspection, Description: customerDescription(StateAwaitingInspection)})
		}
		te := &returnsv1.TimelineEntry{Time: timestamppb.New(en.At), State: en.State, Description: desc, System: en.System}
		if external {
			te.System = ""
		} else {
			te.CorrelationId = en.CorrelationID
		}
		resp.Timeline = append(resp.Timeline, te)
	}
	return resp, nil
}

// owns reports whether p may see return d: a customer their own, a partner its tenant's, customer
// service every return.
func owns(p auth.Principal, d returnData) bool {
	switch p.Audience {
	case auth.Storefront:
		return p.Subject != "" && d.CustomerID == p.Subject
	case auth.Partner:
		return p.Tenant != "" && d.Tenant == p.Tenant
	}
	return true
}

// inspectedBeforeReceipt reports whether state is the inspection's outcome reached straight
// from waiting for the parcel, with no "parcel received" step in the customer's timeline.
func inspectedBeforeReceipt(timeline []*returnsv1.TimelineEntry, state string) bool {
	if state != StateDispositioning && state != StateException || len(timeline) == 0 {
		return false
	}
	switch timeline[len(timeline)-1].GetState() {
	case StateAwaitingParcel, StateInTransit:
		return true
	}
	return false
}

// customerDescription says what a state means to the customer; internal notes (vendor errors,
// step names) are for customer service only.
func customerDescription(state string) string {
	switch state {
	case StateRequested, StateRegistering, StateLabelling, StateAnnouncing:
		return "Return requested"
	case StateAwaitingParcel:
		return "Return approved: send the parcel"
	case StateInTransit:
		return "Parcel on its way"
	case StateAwaitingInspection:
		return "Parcel received"
	case StateDispositioning, StateException:
		return "Items inspected"
	case StateRefunding, StateReceivingERP, StateCrediting, StateClosingCommerce, StateClosingPlatform:
		return "Refund on its way"
	case StateRefunded:
		return "Refunded"
	case StateDenied:
		return "Return declined"
	case StateCancelled:
		return "Return cancelled"
	case StateExpired:
		return "Return expired: no parcel arrived"
	case "compensating":
		return "Return being closed"
	}
	return "Return needs our attention: customer service will contact you"
}

// ListReturns searches returns: customers see their own; customer service filters by order,
// customer, state and age (the queues: awaiting inspection, refunds not yet posted to the ERP,
// anything past its SLA).
func (s *Service) ListReturns(ctx context.Context, req *returnsv1.ListReturnsRequest) (*returnsv1.ListReturnsResponse, error) {
	if s.db == nil {
		return nil, errNotImplemented("ListReturns")
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	size := req.GetPageSize()
	switch {
	case size == 0:
		size = 20
	case size < 0 || size > 100:
		return nil, errs.E(errs.Invalid, "page_size_out_of_range", "page_size must be between 1 and 100").
			WithFields(errs.FieldViolation{Field: "page_size", Description: "between 1 and 100"})
	}
	if err := tenancy.Authorize(p, tenancy.ScopeReturnsRead); err != nil {
		return nil, err
	}
	filter := listFilter{Customer: req.GetCustomerId(), Order: req.GetOrderId(), State: req.GetState(), Limit: size + 1}
	if p.IsCustomer() {
		filter.Customer = p.Subject
	}
	if p.Audience == auth.Partner {
		filter.Tenant = p.Tenant // never '' for a verified partner
	}
	if h := req.GetMinAgeHours(); h > 0 {
		filter.StateBefore = s.now().UTC().Add(-time.Duration(h) * time.Hour)
	}
	if tok := req.GetPageToken(); tok != "" {
		var err error
		if filter.AfterCreated, filter.AfterID, err = decodeCursor(tok); err != nil {
			return nil, errs.E(errs.Invalid, "invalid_page_token", "the page token is not valid").
				WithFields(errs.FieldViolation{Field: "page_token", Description: "is not a token this listing issued"})
		}
	}
	ids, err := listReturnIDs(ctx, s.db, filter)
	if err != nil {
		return nil, err
	}
	resp := &returnsv1.ListReturnsResponse{}
	for i, id := range ids {
		if i == int(size) {
			last := resp.Returns[len(resp.Returns)-1]
			resp.NextPageToken = encodeCursor(last.GetCreatedAt().AsTime(), last.GetId())
			break
		}
		inst, _, err := s.engine.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		r, err := toReturn(inst)
		if err != nil {
			return nil, err
		}
		resp.Returns = append(resp.Returns, r)
	}
	return resp, nil
}

// signal sends a customer-service or customer action to a return, auditing who did it.
func (s *Service) signal(ctx context.Context, rpc, id, name string, payload any, allowCustomer bool, scope string) (*canonicalv1.Return, error) {
	if s.db == nil {
		return nil, errNotImplemented(rpc)
	}
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, errUnauthenticated()
	}
	if err := tenancy.Authorize(p, tenancy.ScopeReturnsWrite); err != nil {
		return nil, err
	}
	inst, _, err := s.engine.Get(ctx, id)
	if err != nil || inst.Kind != Kind {
		return nil, errs.E(errs.NotFound, "return_not_found", "return not found")
	}
	var d returnData
	if err := inst.Decode(&d); err != nil {
		return nil, err
	}
	// Customers and partners may do what their own side of a return allows (cancel); anything
	// else, like a return that is not theirs, answers as an unknown return.
	external := p.Audience != auth.Support
	switch {
	case external && (!allowCustomer || !owns(p, d)):
		return nil, errs.E(errs.NotFound, "return_not_found", "return not found")
	case !external && !p.HasScope(scope):
		return nil, errs.E(errs.PermissionDenied, "insufficient_scope", "this action needs the "+scope+" scope")
	}
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	ctx = workflow.WithActor(ctx, string(p.Audience)+":"+p.Subject)
	var applied bool
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		applied, err = s.engine.Signal(ctx, tx, id, name, raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	if !applied {
		return nil, errs.E(errs.FailedPrecondition, "not_allowed_in_state", fmt.Sprintf("%s is not possible while the return is %s", name, inst.State))
	}
	inst, _, err = s.engine.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return toReturn(inst)
}

// CancelReturn cancels a return before the warehouse received it; completed steps are
// compensated (label voided, RMA closed, platform return closed).
func (s *Service) CancelReturn(ctx context.Context, req *returnsv1.CancelReturnRequest) (*returnsv1.CancelReturnResponse, error) {
	r, err := s.signal(ctx, "CancelReturn", req.GetReturnId(), SignalCancel, map[string]string{"note": req.GetNote()}, true, ScopeSupportWrite)
	if err != nil {
		return nil, err
	}
	return &returnsv1.CancelReturnResponse{Return: r}, nil
}

// ResolveException approves or denies a return held for customer service.
func (s *Service) ResolveException(ctx context.Context, req *returnsv1.ResolveExceptionRequest) (*returnsv1.ResolveExceptionResponse, error) {
	name := SignalDeny
	if req.GetApprove() {
		name = SignalApprove
	}
	r, err := s.signal(ctx, "ResolveException", req.GetReturnId(), name, map[string]string{"note": req.GetNote()}, false, ScopeSupportWrite)
	if err != nil {
		return nil, err
	}
	return &returnsv1.ResolveExceptionResponse{Return: r}, nil
}

// ResolveRefund records customer service's decision on a return whose refund the payment
// gateway failed (it waits in failed_needs_attention): a new refund through the gateway, or the
// return closed as paid another way. It needs the refunds:override scope and names the agent in
// the timeline and the audit log.
func (s *Service) ResolveRefund(ctx context.Context, req *returnsv1.ResolveRefundRequest) (*returnsv1.ResolveRefundResponse, error) {
	var bad []errs.FieldViolation
	resolution := map[returnsv1.RefundResolution]string{
		returnsv1.RefundResolution_REFUND_RESOLUTION_RETRY:           "retry",
		returnsv1.RefundResolution_REFUND_RESOLUTION_SETTLED_OUTSIDE: "settled_outside",
	}[req.GetResolution()]
	if resolution == "" {
		bad = append(bad, errs.FieldViolation{Field: "resolution", Description: "REFUND_RESOLUTION_RETRY or REFUND_RESOLUTION_SETTLED_OUTSIDE"})
	}
	switch note := strings.TrimSpace(req.GetNote()); {
	case note == "":
		bad = append(bad, errs.FieldViolation{Field: "note", Description: "required: why, and how the customer was paid"})
	case len(note) > 1000:
		bad = append(bad, errs.FieldViolation{Field: "note", Description: "at most 1000 characters"})
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	r, err := s.signal(ctx, "ResolveRefund", req.GetReturnId(), SignalRefundResolve,
		refundResolution{Resolution: resolution, Note: strings.TrimSpace(req.GetNote())}, false, ScopeRefundOverride)
	if err != nil {
		return nil, err
	}
	return &returnsv1.ResolveRefundResponse{Return: r}, nil
}

// OverrideRefund sets the refund amount before the refund is released. An agent's authority
// runs from zero to the price paid for the returned units (restocking fees may be waived, nothing
// more may be refunded than was paid).
func (s *Service) OverrideRefund(ctx context.Context, req *returnsv1.OverrideRefundRequest) (*returnsv1.OverrideRefundResponse, error) {
	if s.db == nil {
		return nil, errNotImplemented("OverrideRefund")
	}
	inst, _, err := s.engine.Get(ctx, req.GetReturnId())
	if err != nil || inst.Kind != Kind {
		return nil, errs.E(errs.NotFound, "return_not_found", "return not found")
	}
	var d returnData
	if err := inst.Decode(&d); err != nil {
		return nil, err
	}
	var gross int64
	for _, l := range d.Lines {
		gross += l.UnitPrice * int64(l.Quantity)
	}
	amt := req.GetAmount()
	if amt == nil || !strings.EqualFold(amt.GetCurrencyCode(), d.Currency) || amt.GetAmountMinor() < 0 || amt.GetAmountMinor() > gross {
		return nil, errs.E(errs.Invalid, "override_out_of_authority",
			fmt.Sprintf("the refund must be in %s, between 0 and %s", d.Currency, money.FormatDecimal(gross, d.Currency))).
			WithFields(errs.FieldViolation{Field: "amount", Description: "between 0 and the price paid"})
	}
	p, _ := auth.FromContext(ctx)
	r, err := s.signal(ctx, "OverrideRefund", req.GetReturnId(), SignalOverride, override{Amount: amt.GetAmountMinor(), By: p.Subject, Note: req.GetNote()}, false, ScopeRefundOverride)
	if err != nil {
		return nil, err
	}
	return &returnsv1.OverrideRefundResponse{Return: r}, nil
}
