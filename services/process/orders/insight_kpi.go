package orders

import (
	"context"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// The order KPIs the insight API computes from the workflow's stored history, by the order's
// sales channel (the same closed set as the metrics), bucketed by the time the observation
// ended.
const (
	kpiOrderProcessing = "order_processing" // arrival → final state; ok: completed
	kpiOrderERP        = "erp_postings"     // each ERP call of the workflow; ok: it succeeded
	kpiOrderExceptions = "exceptions"       // each entry into an exception queue
)

// erpPostingStates are the steps that post a document to the ERP (sales order, shipment,
// invoice); validation and enrichment only read from it.
var erpPostingStates = map[string]bool{StateBooking: true, StateRecordingShipment: true, StateInvoicing: true}

// GetOrderKpis computes the order KPIs over a window from the workflow's stored history, so
// every replica and every topology answers the same figures. Support only.
func (in *Insight) GetOrderKpis(ctx context.Context, req *ordersv1.GetOrderKpisRequest) (*ordersv1.GetOrderKpisResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	w, err := workflow.NewKPIWindow(req.GetSince(), req.GetUntil(), req.GetInterval(), in.now())
	if err != nil {
		return nil, err
	}
	recs, err := workflow.History(ctx, in.db, WorkflowKind, []string{"transition", "call"}, w.Since, w.Until)
	if err != nil {
		return nil, err
	}
	series := workflow.NewKPISeries(w)
	for _, r := range recs {
		ch := orderChannelOf(r.Instance())
		switch {
		case r.Kind == "call" && r.System == "erp" && erpPostingStates[r.State]:
			series.Count(kpiOrderERP, r.At, ch, r.Outcome == "ok")
		case r.Kind != "transition":
		case r.State == StateCompleted || r.State == StateCancelled || r.State == StateFailed:
			series.Duration(kpiOrderProcessing, r.At, ch, r.At.Sub(r.CreatedAt), r.State == StateCompleted)
		case queueOf(r.State) != "":
			series.Count(kpiOrderExceptions, r.At, ch, false)
		}
	}
	return &ordersv1.GetOrderKpisResponse{Points: series.Points()}, nil
}
