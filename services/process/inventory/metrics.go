package inventory

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the inventory process's business instruments.
type metrics struct {
	// lag is how long a movement took from its source (occurred_at) to the ledger, by cause:
	// the inventory update lag of the warehouse's feeds.
	lag *prometheus.HistogramVec
	// reservations counts Reserve answers by outcome (granted, insufficient, replayed).
	reservations *prometheus.CounterVec
	// expired counts holds returned by the expiry sweeper.
	expired prometheus.Counter
	// driftUnits and drifted count what warehouse snapshots corrected.
	driftUnits, drifted prometheus.Counter
	// pushLag is how long a movement took from the ledger to the storefront's confirmation;
	// pushCalls counts the push's calls to the storefront by kind (read, set); pushConflicts
	// the compare-and-set conflicts it resolved.
	pushLag       prometheus.Histogram
	pushCalls     *prometheus.CounterVec
	pushConflicts prometheus.Counter
	// syncAccuracy is, per channel and source, the share of the channel's positions the last
	// reconciliation found agreeing with the source; reconcileDrift the positions (and units)
	// found out of step, by source and action (corrected, reported); reconcileRuns the runs by
	// source and outcome.
	syncAccuracy   *prometheus.GaugeVec
	reconcileDrift *prometheus.CounterVec
	reconcileUnits *prometheus.CounterVec
	reconcileRuns  *prometheus.CounterVec
	// mismatches is the open item master mismatches by kind, after the last refresh.
	mismatches *prometheus.GaugeVec
}

// observeAccuracy sets the channels' sync accuracy against source.
func (m *metrics) observeAccuracy(source string, a *accuracy) {
	for ch, r := range a.ratios() {
		m.syncAccuracy.WithLabelValues(ch, source).Set(r)
	}
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "retailbridge_inventory_movement_lag_seconds", Help: "Time from a stock movement at its source to the ledger, by cause.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"cause"}),
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_inventory_reservations_total", Help: "Reserve answers by outcome.",
		}, []string{"outcome"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "retailbridge_inventory_reservations_expired_total", Help: "Holds returned to sellable by the expiry sweeper.",
		}),
		driftUnits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "retailbridge_inventory_drift_units_total", Help: "Units corrected by warehouse snapshots (sum of the corrections' sizes).",
		}),
		drifted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "retailbridge_inventory_drifted_positions_total", Help: "Positions a warehouse snapshot found out of step with the ledger.",
		}),
		pushLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "retailbridge_inventory_push_lag_seconds", Help: "Time from a ledger movement to the storefront confirming the figure that covers it.",
			Buckets: []float64{.05, .1, .25, .5, .75, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300},
		}),
		pushCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_inventory_push_calls_total", Help: "Calls the storefront push made, by kind (read, set).",
		}, []string{"call"}),
		pushConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "retailbridge_inventory_push_conflicts_total", Help: "Compare-and-set conflicts (the storefront changed by someone else) the push resolved.",
		}),
		syncAccuracy: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "retailbridge_inventory_sync_accuracy_ratio",
			Help: "Share of a channel's positions the last reconciliation found agreeing with the source (erp, wms).",
		}, []string{"channel", "source"}),
		reconcileDrift: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_inventory_reconcile_drift_total",
			Help: "Positions reconciliation found out of step with a source, by source and action (corrected, reported).",
		}, []string{"source", "action"}),
		reconcileUnits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_inventory_reconcile_drift_units_total",
			Help: "Units reconciliation found out of step with a source (sum of absolute differences), by source and action.",
		}, []string{"source", "action"}),
		reconcileRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "retailbridge_inventory_reconcile_runs_total", Help: "Reconciliation runs by source and outcome (ok, failed).",
		}, []string{"source", "outcome"}),
		mismatches: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "retailbridge_inventory_sku_mismatches", Help: "Open item master mismatches after the last refresh, by kind.",
		}, []string{"kind"}),
	}
	if reg == nil {
		return m
	}
	m.syncAccuracy = register(reg, m.syncAccuracy)
	m.reconcileDrift = register(reg, m.reconcileDrift)
	m.reconcileUnits = register(reg, m.reconcileUnits)
	m.reconcileRuns = register(reg, m.reconcileRuns)
	m.mismatches = register(reg, m.mismatches)
	m.pushLag = register(reg, m.pushLag)
	m.pushCalls = register(reg, m.pushCalls)
	m.pushConflicts = register(reg, m.pushConflicts)
	m.lag = register(reg, m.lag)
	m.reservations = register(reg, m.reservations)
	m.expired = register(reg, m.expired)
	m.driftUnits = register(reg, m.driftUnits)
	m.drifted = register(reg, m.drifted)
	return m
}

// register registers c, or returns the collector already registered under its name (a second
// service in the same process shares the first one's).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
