package orders

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/retailbridge/retailbridge/pkg/store"

	erpv1 "github.com/retailbridge/retailbridge/pkg/gen/retailbridge/system/erp/v1"
)

// Settlement's ERP side: the customer payments the order workflow recorded in the ERP
// (step_payment.go) and the bank deposits the ERP holds (a deposit records a payout: its memo
// or posting description names the payout, its lines the payments it carried, its cash back
// the fees deducted) are matched with the payouts and their lines recorded from the payment
// platform. Each problem is a mismatch row keyed by (kind, subject), reported once, so a run
// over the same records changes nothing.

// Mismatch kinds of the ERP side (no_deposit is declared with the others).
const (
	MismatchPayoutNoDeposit = "payout_no_deposit"    // a payout older than the grace that no ERP deposit records
	MismatchPaymentNoCharge = "payment_no_charge"    // an ERP payment older than the grace whose charge no payout carried
	MismatchDepositFee      = "deposit_fee_mismatch" // an ERP deposit whose fees differ from the payout's
)

// ERPPayment is a customer payment as the ERP holds it.
type ERPPayment struct {
	ID, OrderID, PaymentReference string
	Amount                        int64
	Created                       time.Time
}

// ERPDeposit is a bank deposit as the ERP holds it.
type ERPDeposit struct {
	ID, PayoutReference string
	Amount, Fee         int64
	PaymentIDs          []string
	Created             time.Time
}

// ERPCashSource reads the ERP's customer payments and bank deposits.
type ERPCashSource interface {
	Payments(ctx context.Context, since time.Time) ([]ERPPayment, error)
	Deposits(ctx context.Context, since time.Time) ([]ERPDeposit, error)
}

// ERPCash reads them through the ERP system API.
type ERPCash struct {
	Client erpv1.ErpServiceClient
}

// Payments lists the ERP's customer payments recorded since since.
func (e ERPCash) Payments(ctx context.Context, since time.Time) ([]ERPPayment, error) {
	resp, err := e.Client.ListCustomerPayments(ctx, &erpv1.ListCustomerPaymentsRequest{CreatedSince: timestamppb.New(since)})
	if err != nil {
		return nil, err
	}
	out := make([]ERPPayment, 0, len(resp.GetPayments()))
	for _, p := range resp.GetPayments() {
		out = append(out, ERPPayment{ID: p.GetId(), OrderID: p.GetOrderId(), PaymentReference: p.GetPaymentReference(),
			Amount: p.GetAmount().GetAmountMinor(), Created: p.GetCreatedAt().AsTime()})
	}
	return out, nil
}

// Deposits lists the ERP's bank deposits recorded since since.
func (e ERPCash) Deposits(ctx context.Context, since time.Time) ([]ERPDeposit, error) {
	resp, err := e.Client.ListDeposits(ctx, &erpv1.ListDepositsRequest{CreatedSince: timestamppb.New(since)})
	if err != nil {
		return nil, err
	}
	out := make([]ERPDeposit, 0, len(resp.GetDeposits()))
	for _, d := range resp.GetDeposits() {
		out = append(out, ERPDeposit{ID: d.GetId(), PayoutReference: d.GetPayoutReference(), Amount: d.GetAmount().GetAmountMinor(),
			Fee: d.GetFee().GetAmountMinor(), PaymentIDs: d.GetPaymentIds(), Created: d.GetCreatedAt().AsTime()})
	}
	return out, nil
}

// recordedPayout is a payout settlement recorded, with what its lines say.
type recordedPayout struct {
	id      string
	created time.Time
	fees    int64
	orders  []string // the orders whose charges it paid out
}

// checkERP matches the ERP's payments and deposits with the payouts recorded within the
// lookback and records what does not match; it returns how many mismatches were new.
func (s *Settler) checkERP(ctx context.Context, runID string) (int, error) {
	if s.erp == nil {
		return 0, nil
	}
	from := s.now().Add(-s.cfg.Lookback)
	pays, err := s.erp.Payments(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("settlement: listing ERP payments: %w", err)
	}
	deps, err := s.erp.Deposits(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("settlement: listing ERP deposits: %w", err)
	}
	payouts, charged, err := s.recordedPayouts(ctx, from)
	if err != nil {
		return 0, err
	}
	found := s.depositMismatches(payouts, pays, deps)
	cutoff := s.now().Add(-s.cfg.PayoutGrace)
	for _, p := range pays {
		if p.Created.Before(cutoff) && !charged[p.PaymentReference] {
			found = append(found, mismatch{MismatchPaymentNoCharge, p.ID, "",
				fmt.Sprintf("ERP payment %s of %d for order %q (payment %q) matches no charge any payout carried", p.ID, p.Amount, p.OrderID, p.PaymentReference)})
		}
	}
	fresh := 0
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		fresh, err = insertMismatches(ctx, tx, found, s.now().UnixMicro(), runID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("settlement: recording ERP mismatches: %w", err)
	}
	s.count(found[len(found)-fresh:])
	return fresh, nil
}

// depositMismatches checks each recorded payout against the ERP deposit that records it.
func (s *Settler) depositMismatches(payouts []recordedPayout, pays []ERPPayment, deps []ERPDeposit) []mismatch {
	depositOf := map[string]ERPDeposit{}
	carriedBy := map[string]string{} // ERP payment id → deposit id
	for _, d := range deps {
		depositOf[d.PayoutReference] = d
		for _, id := range d.PaymentIDs {
			carriedBy[id] = d.ID
		}
	}
	paymentOf := map[string]ERPPayment{}
	for _, p := range pays {
		paymentOf[p.OrderID] = p
	}
	cutoff := s.now().Add(-s.cfg.PayoutGrace)
	var found []mismatch
	for _, po := range payouts {
		d, ok := depositOf[po.id]
		if !ok {
			if po.created.Before(cutoff) {
				found = append(found, mismatch{MismatchPayoutNoDeposit, po.id, po.id, "no ERP deposit records payout " + po.id})
			}
			continue
		}
		if d.Fee != po.fees {
			found = append(found, mismatch{MismatchDepositFee, d.ID, po.id,
				fmt.Sprintf("ERP deposit %s deducts fees of %d; payout %s's lines carry %d", d.ID, d.Fee, po.id, po.fees)})
		}
		for _, orderID := range po.orders {
			p, ok := paymentOf[orderID]
			switch {
			case !ok:
				found = append(found, mismatch{MismatchNoDeposit, orderID, po.id,
					fmt.Sprintf("order %s was paid out in %s but the ERP holds no payment for it", orderID, po.id)})
			case carriedBy[p.ID] != d.ID:
				found = append(found, mismatch{MismatchNoDeposit, orderID, po.id,
					fmt.Sprintf("order %s was paid out in %s but its ERP payment %s is not in deposit %s", orderID, po.id, p.ID, d.ID)})
			}
		}
	}
	return found
}

// recordedPayouts reads the payouts recorded since from with their fees and the orders their
// charges paid, and every payment reference any recorded charge carried.
func (s *Settler) recordedPayouts(ctx context.Context, from time.Time) ([]recordedPayout, map[string]bool, error) {
	rows, err := s.db.Query(ctx, `SELECT p.payout_id, p.created_us, l.type, l.fee, l.order_id, l.payment_reference
		FROM settlement_payouts p LEFT JOIN settlement_lines l ON l.payout_id = p.payout_id
		WHERE p.created_us >= $1 ORDER BY p.created_us, p.payout_id, l.txn_id`, from.UnixMicro())
	if err != nil {
		return nil, nil, fmt.Errorf("settlement: reading recorded payouts: %w", err)
	}
	defer rows.Close()
	var out []recordedPayout
	charged := map[string]bool{}
	for rows.Next() {
		var id string
		var us int64
		var typ, orderID, ref *string
		var fee *int64
		if err := rows.Scan(&id, &us, &typ, &fee, &orderID, &ref); err != nil {
			return nil, nil, err
		}
		if len(out) == 0 || out[len(out)-1].id != id {
			out = append(out, recordedPayout{id: id, created: time.UnixMicro(us).UTC()})
		}
		po := &out[len(out)-1]
		if fee != nil {
			po.fees += *fee
		}
		if typ != nil && (*typ == "charge" || *typ == "payment") {
			charged[*ref] = true
			if *orderID != "" {
				po.orders = append(po.orders, *orderID)
			}
		}
	}
	return out, charged, rows.Err()
}
