package payments

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/errs"
	paymentsv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/payments/v1"
	"github.com/retailbridge/retailbridge/services/system/payments/internal/stripe"
)

// PayoutReader is what a connector offers for settlement; a connector without it answers
// Unimplemented.
type PayoutReader interface {
	ListPayouts(ctx context.Context, since int64) ([]stripe.Payout, error)
	ListBalanceTransactions(ctx context.Context, payoutID string) ([]stripe.BalanceTransaction, error)
}

func (s *Service) payoutReader() (PayoutReader, error) {
	r, ok := s.conn.(PayoutReader)
	if !ok {
		return nil, errs.E(errs.Unimplemented, "payouts_unsupported", "the payment connector does not read payouts")
	}
	return r, nil
}

// ListPayouts lists the payouts created since the request's time.
func (s *Service) ListPayouts(ctx context.Context, req *paymentsv1.ListPayoutsRequest) (*paymentsv1.ListPayoutsResponse, error) {
	r, err := s.payoutReader()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	pos, err := r.ListPayouts(ctx, req.GetCreatedSince().AsTime().Unix())
	if err != nil {
		s.logFailure(ctx, "list payouts", err)
		return nil, err
	}
	resp := &paymentsv1.ListPayoutsResponse{}
	for _, p := range pos {
		resp.Payouts = append(resp.Payouts, &paymentsv1.Payout{Id: p.ID, AmountMinor: p.Amount,
			Currency: strings.ToUpper(p.Currency), CreatedAt: timestamppb.New(time.Unix(p.Created, 0))})
	}
	return resp, nil
}

// ListPayoutLines lists what a payout paid out.
func (s *Service) ListPayoutLines(ctx context.Context, req *paymentsv1.ListPayoutLinesRequest) (*paymentsv1.ListPayoutLinesResponse, error) {
	if req.GetPayoutId() == "" {
		return nil, errs.E(errs.Invalid, "invalid_request", "a payout id is required").
			WithFields(errs.FieldViolation{Field: "payout_id", Description: "must be set"})
	}
	r, err := s.payoutReader()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	txns, err := r.ListBalanceTransactions(ctx, req.GetPayoutId())
	if err != nil {
		s.logFailure(ctx, "list payout lines", err, "payout_id", req.GetPayoutId())
		return nil, err
	}
	resp := &paymentsv1.ListPayoutLinesResponse{}
	for _, t := range txns {
		resp.Lines = append(resp.Lines, &paymentsv1.PayoutLine{Id: t.ID, Type: t.Type, AmountMinor: t.Amount,
			FeeMinor: t.Fee, PaymentReference: t.PaymentIntent})
	}
	return resp, nil
}
