package returns

import (
	"context"
	"encoding/json"

	"github.com/retailbridge/retailbridge/pkg/workflow"

	returnsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/returns/v1"
)

// The return KPIs the insight API computes from the stored history, by the return's channel
// (its method: mail, in_store), bucketed by the time the observation ended.
const (
	kpiAuthorisation = "return_authorisation" // request → RMA (leaving requested for registering)
	kpiRefundCycle   = "refund_cycle"         // request → refunded; ok: refunded through the gateway
	kpiERPPostings   = "erp_postings"         // each ERP call of the workflow; ok: it succeeded
	kpiExceptions    = "exceptions"           // each entry into a state for people
)

// GetReturnKpis computes the return KPIs over a window from the workflow's stored history, so
// every replica and every topology answers the same figures.
func (in *insight) GetReturnKpis(ctx context.Context, req *returnsv1.GetReturnKpisRequest) (*returnsv1.GetReturnKpisResponse, error) {
	if in.s.db == nil {
		return nil, errNotImplemented("GetReturnKpis")
	}
	if err := supportRead(ctx); err != nil {
		return nil, err
	}
	w, err := workflow.NewKPIWindow(req.GetSince(), req.GetUntil(), req.GetInterval(), in.s.now())
	if err != nil {
		return nil, err
	}
	recs, err := workflow.History(ctx, in.s.db, Kind, []string{"transition", "call"}, w.Since, w.Until)
	if err != nil {
		return nil, err
	}
	series := workflow.NewKPISeries(w)
	first := map[string]bool{} // kpi + id: a duration is observed once per return
	once := func(kpi, id string) bool {
		if first[kpi+"\x00"+id] {
			return false
		}
		first[kpi+"\x00"+id] = true
		return true
	}
	for _, r := range recs {
		ch := channelOf(r.Instance())
		switch {
		case r.Kind == "call" && r.System == "erp" && erpDocuments[r.State] != "":
			series.Count(kpiERPPostings, r.At, ch, r.Outcome == "ok")
		case r.Kind != "transition":
		case r.State == StateRegistering && once(kpiAuthorisation, r.ID):
			series.Duration(kpiAuthorisation, r.At, ch, r.At.Sub(r.CreatedAt), true)
		case r.State == StateRefunded && once(kpiRefundCycle, r.ID):
			series.Duration(kpiRefundCycle, r.At, ch, r.At.Sub(r.CreatedAt), !settledOutside(r.Data))
		case r.State == StateException || r.State == StateFailed:
			series.Count(kpiExceptions, r.At, ch, false)
		}
	}
	return &returnsv1.GetReturnKpisResponse{Points: series.Points()}, nil
}

func settledOutside(data json.RawMessage) bool {
	var d returnData
	return json.Unmarshal(data, &d) == nil && d.SettledOutside
}
