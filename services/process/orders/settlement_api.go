package orders

import (
	"context"
	"strconv"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"

	ordersv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/process/orders/v1"
)

// Settlement page sizes.
const (
	defaultSettlementPage = 50
	maxSettlementPage     = 500
	maxSettlementOffset   = 1_000_000
)

// SettlementAPI serves settlement to support: what runs recorded, and a run on demand.
type SettlementAPI struct {
	ordersv1.UnimplementedSettlementServiceServer
	Settler *Settler
}

// page validates a page request; the token is the offset of the page's first row, which is
// enough for support lists that grow only at one end.
func settlementPage(size int32, token string) (int, int, error) {
	var bad []errs.FieldViolation
	if size == 0 {
		size = defaultSettlementPage
	}
	if size < 1 || size > maxSettlementPage {
		bad = append(bad, errs.FieldViolation{Field: "page_size", Description: "between 1 and 500"})
	}
	offset := 0
	if token != "" {
		n, err := strconv.Atoi(token)
		if err != nil || n < 0 || n > maxSettlementOffset {
			bad = append(bad, errs.FieldViolation{Field: "page_token", Description: "not a token this service issued"})
		}
		offset = n
	}
	if len(bad) > 0 {
		return 0, 0, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(bad...)
	}
	return int(size), offset, nil
}

// nextToken is the token of the page after one of size rows at offset that returned n rows.
func nextToken(offset, size, n int) string {
	if n < size {
		return ""
	}
	return strconv.Itoa(offset + n)
}

// ListSettlementPayouts lists recorded payouts, newest first.
func (a *SettlementAPI) ListSettlementPayouts(ctx context.Context, req *ordersv1.ListSettlementPayoutsRequest) (*ordersv1.ListSettlementPayoutsResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	size, offset, err := settlementPage(req.GetPageSize(), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	ps, err := a.Settler.listPayouts(ctx, size, offset)
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.ListSettlementPayoutsResponse{NextPageToken: nextToken(offset, size, len(ps))}
	for _, p := range ps {
		resp.Payouts = append(resp.Payouts, &ordersv1.SettlementPayout{PayoutId: p.PayoutID, Currency: p.Currency,
			AmountMinor: p.Amount, CreatedAt: timestamppb.New(p.Created), Lines: int32(p.Lines),
			Mismatches: int32(p.Mismatches), Reconciled: p.Reconciled})
	}
	return resp, nil
}

// ListSettlementMismatches lists recorded mismatches, oldest first.
func (a *SettlementAPI) ListSettlementMismatches(ctx context.Context, req *ordersv1.ListSettlementMismatchesRequest) (*ordersv1.ListSettlementMismatchesResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	size, offset, err := settlementPage(req.GetPageSize(), req.GetPageToken())
	switch req.GetKind() {
	case "", MismatchNoOrder, MismatchFee, MismatchNotPaidOut, MismatchNoDeposit, MismatchPayoutNoDeposit,
		MismatchPaymentNoCharge, MismatchDepositFee:
	default:
		err = errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(
			errs.FieldViolation{Field: "kind", Description: "one of no_order, fee_mismatch, not_paid_out, no_deposit, " +
				"payout_no_deposit, payment_no_charge, deposit_fee_mismatch"})
	}
	if err != nil {
		return nil, err
	}
	ms, err := a.Settler.listMismatches(ctx, req.GetKind(), size, offset)
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.ListSettlementMismatchesResponse{NextPageToken: nextToken(offset, size, len(ms))}
	for _, m := range ms {
		resp.Mismatches = append(resp.Mismatches, &ordersv1.SettlementMismatch{Kind: m.Kind, Subject: m.Subject,
			PayoutId: m.PayoutID, Detail: m.Detail, FoundAt: timestamppb.New(m.Found)})
	}
	return resp, nil
}

// RunSettlement starts a run in the background, or returns the period's run already going; it
// needs support:write, as the run calls the payment platform. It answers once the run is
// recorded: how the run ends is read with GetSettlementRun.
func (a *SettlementAPI) RunSettlement(ctx context.Context, _ *ordersv1.RunSettlementRequest) (*ordersv1.RunSettlementResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportWrite); err != nil {
		return nil, err
	}
	run, started, err := a.Settler.Trigger(ctx, OriginOnDemand)
	if err != nil {
		return nil, err
	}
	return &ordersv1.RunSettlementResponse{Run: toProtoRun(run), Started: started}, nil
}

// GetSettlementRun reads a run's state and the mismatches it found.
func (a *SettlementAPI) GetSettlementRun(ctx context.Context, req *ordersv1.GetSettlementRunRequest) (*ordersv1.GetSettlementRunResponse, error) {
	if _, err := supportOnly(ctx, ScopeSupportRead); err != nil {
		return nil, err
	}
	if id := req.GetRunId(); id == "" || len(id) > 64 {
		return nil, errs.E(errs.Invalid, "invalid_request", "the request has invalid fields").WithFields(
			errs.FieldViolation{Field: "run_id", Description: "1 to 64 characters"})
	}
	run, ms, err := a.Settler.GetRun(ctx, req.GetRunId())
	if err != nil {
		return nil, err
	}
	resp := &ordersv1.GetSettlementRunResponse{Run: toProtoRun(run)}
	for _, m := range ms {
		resp.Mismatches = append(resp.Mismatches, &ordersv1.SettlementMismatch{Kind: m.Kind, Subject: m.Subject,
			PayoutId: m.PayoutID, Detail: m.Detail, FoundAt: timestamppb.New(m.Found)})
	}
	return resp, nil
}

func toProtoRun(r RunStatus) *ordersv1.SettlementRun {
	out := &ordersv1.SettlementRun{RunId: r.ID, Period: r.Period, Origin: r.Origin, State: r.State, Reason: r.Reason,
		StartedAt: timestamppb.New(r.Started), Payouts: int32(r.Payouts), Lines: int32(r.Lines), NewMismatches: int32(r.NewMismatches)}
	if !r.Finished.IsZero() {
		out.FinishedAt = timestamppb.New(r.Finished)
	}
	return out
}
