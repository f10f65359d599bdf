package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/retailbridge/retailbridge/pkg/store"
)

// Settlement is the cash end of order-to-cash: the payment platform's payouts are read, each
// balance transaction they paid out is matched to the order (or the refund of an order) whose
// payment it was, its fee is compared with the contracted fee schedule, and orders captured long
// ago that no payout carried are found. Results and mismatches are kept in the settlement_*
// tables (migration 0006), keyed by the platform's ids, so a run over the same payouts changes
// nothing twice.

// Mismatch kinds.
const (
	MismatchNoOrder     = "no_order"     // a payout line whose payment no order holds
	MismatchFee         = "fee_mismatch" // a charge whose fee differs from the fee schedule
	MismatchNotPaidOut  = "not_paid_out" // an order paid longer ago than the grace, in no payout
	MismatchNoDeposit   = "no_deposit"   // an order paid out whose ERP payment no ERP deposit carried (settlement_erp.go)
	lineMatched         = "matched"
	settlementWatermark = "settlement"
)

// SettlementPayout is one payout as the payment platform reports it.
type SettlementPayout struct {
	ID       string
	Amount   int64 // minor units
	Currency string
	Created  time.Time
}

// SettlementLine is one balance transaction a payout paid out.
type SettlementLine struct {
	ID               string
	Type             string // charge, refund, …
	Amount, Fee      int64
	PaymentReference string // the payment intent the charge or refund belongs to
}

// PayoutSource reads the payment platform's payouts.
type PayoutSource interface {
	Payouts(ctx context.Context, since time.Time) ([]SettlementPayout, error)
	PayoutLines(ctx context.Context, payoutID string) ([]SettlementLine, error)
}

// FeeSchedule is the fee the contract with the payment platform sets per charge.
type FeeSchedule struct {
	BasisPoints int64 // of the charged amount
	Fixed       int64 // minor units per charge
}

// Expected is the fee for a charge of amount, rounded half up as the platform rounds.
func (f FeeSchedule) Expected(amount int64) int64 { return (amount*f.BasisPoints+5000)/10000 + f.Fixed }

// SettlementConfig tunes the settlement job.
type SettlementConfig struct {
	Fees FeeSchedule
	// PayoutGrace is how long after an order was placed its payment must have been paid out.
	PayoutGrace time.Duration
	// Lookback bounds the orders a run matches payouts against and checks for payment.
	Lookback time.Duration
	// RunLease is how long a run's lease lasts unrenewed (DefaultRunLease when zero): a run whose
	// replica stopped is failed, and another may start, this long after its last renewal.
	RunLease time.Duration
	// Log receives what a background run cannot return (nil: discarded).
	Log *slog.Logger
}

// Settler runs settlement over the orders owner's database.
type Settler struct {
	db      *store.DB
	orders  *orderStore
	payouts PayoutSource
	erp     ERPCashSource // nil: the ERP side is not connected and nothing is checked against it
	cfg     SettlementConfig
	now     func() time.Time
	found   *prometheus.CounterVec
	log     *slog.Logger
	replica string        // this replica's name on the runs' leases
	lease   time.Duration // a run's lease
	jobs    runJobs
}

// NewSettler returns a settler; erp may be nil. Its mismatch counter,
// retailbridge_settlement_mismatches_total{kind}, is registered with reg when reg is not nil.
func NewSettler(db *store.DB, payouts PayoutSource, erp ERPCashSource, cfg SettlementConfig,
	now func() time.Time, reg prometheus.Registerer) (*Settler, error) {
	if now == nil {
		now = time.Now
	}
	if cfg.RunLease <= 0 {
		cfg.RunLease = DefaultRunLease
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Settler{db: db, orders: &orderStore{db: db, now: now}, payouts: payouts, erp: erp, cfg: cfg, now: now,
		log: cfg.Log, replica: uuid.NewString(), lease: cfg.RunLease,
		found: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "retailbridge_settlement_mismatches_total",
			Help: "Settlement mismatches found, by kind (each reported once)."}, []string{"kind"})}
	if reg != nil {
		// A retried construction (the stack waits out a database that went away) registers again:
		// it keeps counting on the instrument registered first.
		var dup prometheus.AlreadyRegisteredError
		switch err := reg.Register(s.found); {
		case errors.As(err, &dup):
			s.found = dup.ExistingCollector.(*prometheus.CounterVec)
		case err != nil:
			return nil, fmt.Errorf("settlement metrics: %w", err)
		}
	}
	return s, migrateStore(context.Background(), db)
}

// SettlementRun says what one run did.
type SettlementRun struct {
	Payouts, Lines, NewMismatches int
}

// Run settles in the caller's goroutine, outside any recorded run (tests, tools); the service
// runs settlement as background jobs (Trigger, settlement_run.go).
func (s *Settler) Run(ctx context.Context) (SettlementRun, error) { return s.settle(ctx, "") }

// settle reads the payouts created since the watermark (less a day, as a payout's lines can be
// listed only once it exists), records them and their lines, and reports mismatches, each
// credited to runID.
func (s *Settler) settle(ctx context.Context, runID string) (SettlementRun, error) {
	var run SettlementRun
	since, _, err := s.orders.watermark(ctx, settlementWatermark)
	if err != nil {
		return run, err
	}
	if !since.IsZero() {
		since = since.Add(-24 * time.Hour)
	}
	byRef, err := s.ordersByReference(ctx)
	if err != nil {
		return run, err
	}
	pos, err := s.payouts.Payouts(ctx, since)
	if err != nil {
		return run, fmt.Errorf("settlement: listing payouts: %w", err)
	}
	newest := since
	for _, p := range pos {
		lines, fresh, err := s.settlePayout(ctx, p, byRef, runID)
		if err != nil {
			return run, err
		}
		run.Payouts++
		run.Lines += lines
		run.NewMismatches += fresh
		if p.Created.After(newest) {
			newest = p.Created
		}
	}
	fresh, err := s.checkNotPaidOut(ctx, byRef, runID)
	if err != nil {
		return run, err
	}
	run.NewMismatches += fresh
	if fresh, err = s.checkERP(ctx, runID); err != nil {
		return run, err
	}
	run.NewMismatches += fresh
	return run, s.orders.setWatermark(ctx, settlementWatermark, newest)
}

// ordersByReference maps payment references to order ids for orders placed within the lookback.
func (s *Settler) ordersByReference(ctx context.Context) (map[string]orderRef, error) {
	from := s.now().Add(-s.cfg.Lookback).UnixMicro()
	rows, err := s.orders.query(ctx, `SELECT `+storedColumns+` FROM order_store WHERE created_us >= $1`, from)
	if err != nil {
		return nil, fmt.Errorf("settlement: reading orders: %w", err)
	}
	out := map[string]orderRef{}
	for _, so := range rows {
		if ref := so.order.GetPaymentReference(); ref != "" && so.cancelledAt == nil {
			out[ref] = orderRef{id: so.order.GetId(), placed: so.order.GetCreatedAt().AsTime()}
		}
	}
	return out, nil
}

type orderRef struct {
	id     string
	placed time.Time
}
