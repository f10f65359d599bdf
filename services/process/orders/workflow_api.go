package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Support scopes of the workflow API (the gateway checks them too).
const (
	ScopeSupportRead  = "support:read"
	ScopeSupportWrite = "support:write"
	maxNoteLength     = 1000
	maxTaxCodeLength  = 64
)

// supportOnly admits support principals holding scope; anyone else is told the order does not
// exist (customers and partners see orders through OrdersService, never the workflow).
func supportOnly(ctx context.Context, scope string) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return p, errUnauthenticated()
	case p.Audience != auth.Support:
		return p, errs.E(errs.PermissionDenied, "support_only", "the order workflow is for support")
	case !p.HasScope(scope):
		return p, errs.E(errs.PermissionDenied, "insufficient_scope", "this action needs the "+scope+" scope")
	}
	return p, nil
}

// GetOrderWorkflow reads an order's workflow state and timeline.
func (w *Workflow) GetOrderWorkflow(ctx context.Context, req *ordersv1.GetOrderWorkflowRequest) (*ordersv1.GetOrderWorkflowResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	if err := checkOrderID(req.GetOrderId()); err != nil {
		return nil, err
	}
	inst, hist, err := w.engine.Get(ctx, req.GetOrderId())
	if err != nil || inst.Kind != WorkflowKind {
		return nil, errOrderNotFound()
	}
	wf, err := toWorkflow(inst)
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.GetOrderWorkflowResponse{Workflow: wf}
	for _, e := range hist {
		resp.Timeline = append(resp.Timeline, &ordersv1.TimelineEntry{At: timestamppb.New(e.At), State: e.State, Kind: e.Kind,
			Description: e.Description, System: e.System, CorrelationId: e.CorrelationID, Outcome: e.Outcome, Actor: e.Actor})
	}
	return resp, nil
}

func checkOrderID(id string) error {
	if id == "" || len(id) > maxIDLength {
		return errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").
			WithFields(errs.FieldViolation{Field: "order_id", Description: fmt.Sprintf("required, at most %d characters", maxIDLength)})
	}
	return nil
}

// toWorkflow is an instance as support sees it.
func toWorkflow(inst workflow.Instance) (*ordersv1.OrderWorkflow, error) {
	d, err := decode(inst.Data)
	if err != nil {
		return nil, err
	}
	wf := &ordersv1.OrderWorkflow{OrderId: inst.ID, State: inst.State, Terminal: inst.Terminal, Queue: queueOf(inst.State),
		SalesOrderId: d.SalesOrderID, InvoiceId: d.InvoiceID, LastError: inst.LastError,
		StateSince: timestamppb.New(inst.StateSince), AllowedNext: AllowedNext(inst.State)}
	if wf.Queue != "" {
		wf.Reasons = d.Reasons
	}
	if len(d.WarehouseOrders) > 0 {
		wf.WarehouseOrderId = d.WarehouseOrders[0].ID
	}
	return wf, nil
}

// ListOrderExceptions lists the orders held in a queue, oldest first.
func (w *Workflow) ListOrderExceptions(ctx context.Context, req *ordersv1.ListOrderExceptionsRequest) (*ordersv1.ListOrderExceptionsResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	state, ok := stateOfQueue(req.GetQueue())
	size := req.GetPageSize()
	if size == 0 {
		size = DefaultExceptionPageSize
	}
	var bad []errs.FieldViolation
	if !ok {
		bad = append(bad, errs.FieldViolation{Field: "queue", Description: "one of incomplete, failed_tax_enrichment, routing_unavailable, inventory_unavailable, storefront_unavailable, capture_unavailable, erp_status_conflict, awaiting_stock"})
	}
	if size < 1 || size > 500 {
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: "between 1 and 500"})
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	ids, err := w.idsInState(ctx, state, int(size))
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.ListOrderExceptionsResponse{}
	for _, id := range ids {
		inst, _, err := w.engine.Get(ctx, id)
		if err != nil || inst.State != state {
			continue // moved on meanwhile
		}
		wf, err := toWorkflow(inst)
		if err != nil {
			return nil, err
		}
		resp.Orders = append(resp.Orders, wf)
	}
	return resp, nil
}

func (w *Workflow) idsInState(ctx context.Context, state string, limit int) ([]string, error) {
	rows, err := w.db.Query(ctx, `SELECT id FROM rb_workflows WHERE kind = $1 AND state = $2 ORDER BY state_since, id LIMIT $3`,
		WorkflowKind, state, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ResolveOrderException releases, resolves or cancels a held order; the support agent is on
// the order's timeline (the audit of the decision).
func (w *Workflow) ResolveOrderException(ctx context.Context, req *ordersv1.ResolveOrderExceptionRequest) (*ordersv1.ResolveOrderExceptionResponse, error) {
	p, err := supportOnly(ctx, ScopeSupportWrite)
	if err != nil {
		return nil, err
	}
	rel, err := releaseFrom(req)
	if err != nil {
		return nil, err
	}
	inst, _, err := w.engine.Get(ctx, req.GetOrderId())
	if err != nil || inst.Kind != WorkflowKind {
		return nil, errOrderNotFound()
	}
	if queueOf(inst.State) == "" {
		return nil, errs.E(errs.FailedPrecondition, "order_not_held", "the order is "+inst.State+", not held in an exception queue")
	}
	raw, _ := json.Marshal(rel)
	ctx = workflow.WithLane(workflow.WithActor(ctx, string(p.Audience)+":"+p.Subject), supportReleaseLane(ctx))
	if _, err := w.Signal(ctx, req.GetOrderId(), SignalRelease, raw); err != nil {
		return nil, err
	}
	if inst, _, err = w.engine.Get(ctx, req.GetOrderId()); err != nil {
		return nil, err
	}
	wf, err := toWorkflow(inst)
	if err != nil {
		return nil, err
	}
	return &ordersv1.ResolveOrderExceptionResponse{Workflow: wf}, nil
}

func releaseFrom(req *ordersv1.ResolveOrderExceptionRequest) (release, error) {
	var bad []errs.FieldViolation
	if err := checkOrderID(req.GetOrderId()); err != nil {
		bad = append(bad, errs.As(err).Fields...)
	}
	rel := release{Resolution: map[ordersv1.ExceptionResolution]string{
		ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_RETRY:        "retry",
		ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_USE_TAX_CODE: "use_tax_code",
		ordersv1.ExceptionResolution_EXCEPTION_RESOLUTION_CANCEL:       "cancel",
	}[req.GetResolution()], TaxCode: strings.TrimSpace(req.GetTaxCode()), Note: strings.TrimSpace(req.GetNote())}
	if rel.Resolution == "" {
		bad = append(bad, errs.FieldViolation{Field: "resolution", Description: "EXCEPTION_RESOLUTION_RETRY, _USE_TAX_CODE or _CANCEL"})
	}
	if (rel.Resolution == "use_tax_code") != (rel.TaxCode != "") || len(rel.TaxCode) > maxTaxCodeLength {
		bad = append(bad, errs.FieldViolation{Field: "tax_code", Description: "required with EXCEPTION_RESOLUTION_USE_TAX_CODE only, at most 64 characters"})
	}
	if len(rel.Note) > maxNoteLength {
		bad = append(bad, errs.FieldViolation{Field: "note", Description: "at most 1000 characters"})
	}
	if len(bad) > 0 {
		return rel, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	return rel, nil
}

// PutTaxCode sets one entry of the tax configuration and releases every order held in
// failed_tax_enrichment for another attempt (those still without a code return to the queue).
func (w *Workflow) PutTaxCode(ctx context.Context, req *ordersv1.PutTaxCodeRequest) (*ordersv1.PutTaxCodeResponse, error) {
	p, err := supportOnly(ctx, ScopeSupportWrite)
	if err != nil {
		return nil, err
	}
	var bad []errs.FieldViolation
	if j := req.GetJurisdiction(); len(j) < 2 || len(j) > 16 {
		bad = append(bad, errs.FieldViolation{Field: "jurisdiction", Description: "a country code, optionally -region (US-CA)"})
	}
	if c := req.GetCategory(); c == "" || len(c) > 64 {
		bad = append(bad, errs.FieldViolation{Field: "category", Description: "an ERP item category or *"})
	}
	if c := strings.TrimSpace(req.GetTaxCode()); c == "" || len(c) > maxTaxCodeLength {
		bad = append(bad, errs.FieldViolation{Field: "tax_code", Description: "required, at most 64 characters"})
	}
	if len(bad) > 0 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	actor := string(p.Audience) + ":" + p.Subject
	if err := w.db.InTx(ctx, func(tx *store.Tx) error {
		return w.taxes.put(ctx, tx, req.GetJurisdiction(), req.GetCategory(), strings.TrimSpace(req.GetTaxCode()), actor)
	}); err != nil {
		return nil, err
	}
	n, err := w.releaseTaxHeld(workflow.WithActor(ctx, actor), "tax code "+req.GetTaxCode()+" set for "+req.GetCategory()+" in "+req.GetJurisdiction())
	return &ordersv1.PutTaxCodeResponse{Released: int32(n)}, err
}

// releaseTaxHeld retries every order in failed_tax_enrichment.
func (w *Workflow) releaseTaxHeld(ctx context.Context, note string) (int, error) {
	ctx = workflow.WithLane(ctx, laneBulkRelease)
	ids, err := w.idsInState(ctx, StateFailedTax, 10_000)
	if err != nil {
		return 0, err
	}
	raw, _ := json.Marshal(release{Resolution: "retry", Note: note})
	n := 0
	for _, id := range ids {
		applied, err := w.Signal(ctx, id, SignalRelease, raw)
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return n, err
		}
		if applied {
			n++
		}
	}
	return n, nil
}
