package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	rbconfig "github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/services/process/orders"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
)

// orderFlowResult is the end-to-end order figures: webhook → invoiced.
type orderFlowResult struct {
	n, concurrency int
	accept         result
	elapsed        time.Duration // first checkout → last order completed
	toSalesOrder   []time.Duration
	toShipped      []time.Duration
	toCompleted    []time.Duration
	notCompleted   map[string]int
	stepAttempts   int
	inbox, timers  int
	retries        int
	load           string
}

func (r orderFlowResult) rate() float64 { return float64(len(r.toCompleted)) / r.elapsed.Seconds() }

// writeTx is the lower bound of the orders database's write transactions per order placed.
func (r orderFlowResult) writeTx() float64 {
	return float64(2*r.stepAttempts+r.inbox+r.timers) / float64(max(r.n, 1))
}

// runOrderFlow places n orders at a fixed concurrency and follows each to its end.
func runOrderFlow(work, redisURL string, n, concurrency, customers, ordersN int, vendorDelay, timeout time.Duration) (orderFlowResult, error) {
	res := orderFlowResult{n: n, concurrency: concurrency, notCompleted: map[string]int{}, load: loadAverage()}
	w, err := bootWorkflowStack(work, "o2c", redisURL, customers, ordersN, vendorDelay, nil)
	if err != nil {
		return res, err
	}
	defer w.warns.report("O2C")
	hooks, err := w.prepareOrders()
	if err != nil {
		w.Close()
		return res, err
	}
	defer hooks.srv.Close()
	t0 := time.Now()
	ids, err := w.placeOrders(n, concurrency)
	if err != nil {
		w.Close()
		return res, err
	}
	marks, werr := w.waitOrders(ids, timeout, func(m orderMarks) bool { return !m.finished.IsZero() })
	res.accept = hooks.accept()
	var last time.Time
	explained := 0
	for _, id := range ids {
		m, arrived := marks[id], time.Time{}
		if at, ok := hooks.arrivedAt(id); ok {
			arrived = at
		}
		if arrived.IsZero() {
			res.notCompleted["webhook not seen"]++
			continue
		}
		if !m.booked.IsZero() {
			res.toSalesOrder = append(res.toSalesOrder, m.booked.Sub(arrived))
		}
		if !m.shipped.IsZero() {
			res.toShipped = append(res.toShipped, m.shipped.Sub(arrived))
		}
		if m.state != orders.StateCompleted {
			res.notCompleted[m.state]++
			if m.lastErr != "" && explained < 3 {
				explained++
				warnf("O2C: order %s is %s: %s", id, m.state, m.lastErr)
			}
			continue
		}
		res.toCompleted = append(res.toCompleted, m.finished.Sub(arrived))
		if m.finished.After(last) {
			last = m.finished
		}
	}
	res.elapsed = last.Sub(t0)
	for _, l := range [][]time.Duration{res.toSalesOrder, res.toShipped, res.toCompleted} {
		slices.Sort(l)
	}
	w.Close()
	res.stepAttempts, res.inbox, res.timers, res.retries, err = orderWrites(w.dir)
	if err != nil {
		warnf("O2C evidence: %v", err)
	}
	if len(res.toCompleted) == 0 {
		return res, errors.Join(werr, errors.New("no order completed"))
	}
	return res, werr
}

// orderBurstResult is the governed 10× burst through an ERP maintenance window.
type orderBurstResult struct {
	burst, erpLimit, erpRate int
	erpLatency, window       time.Duration
	accept                   result
	windowCalls              int64 // ERP requests while it was down
	drain                    time.Duration
	drainCalls               int64 // ERP requests from the window's end to the last sales order
	salesOrders              int64
	maxInFlight              int64
	peakRate                 float64
	refused                  int64
	load                     string
}

// budget is the ERP's admitted call rate: the governor's rate, or what the concurrency limit
// admits at the added latency (Little's law), whichever is lower.
func (r orderBurstResult) budget() float64 {
	return min(float64(r.erpRate), float64(r.erpLimit)/r.erpLatency.Seconds())
}

// runOrderBurst places burst orders at once while NetSuite is in maintenance, waits until each
// is parked, ends the window and measures the drain to the last sales order.
func runOrderBurst(work, redisURL string, burst, erpLimit, erpRate, customers, ordersN int, erpLatency, vendorDelay, timeout time.Duration) (orderBurstResult, error) {
	res := orderBurstResult{burst: burst, erpLimit: erpLimit, erpRate: erpRate, erpLatency: erpLatency, window: 2 * time.Second, load: loadAverage()}
	w, err := bootWorkflowStack(work, "o2c-burst", redisURL, customers, ordersN, vendorDelay, func(c *rbconfig.Config) {
		env := c.Env
		c.Env = func(k string) string {
			switch k {
			case "NETSUITE_MAX_CONCURRENCY":
				return strconv.Itoa(erpLimit)
			case "RB_GOVERNOR_NETSUITE":
				return fmt.Sprintf("concurrency=%d,rate=%d,burst=%d", erpLimit, erpRate, erpLimit)
			}
			return env(k)
		}
	})
	if err != nil {
		return res, err
	}
	defer w.Close()
	defer w.warns.report("O2C burst")
	hooks, err := w.prepareOrders()
	if err != nil {
		return res, err
	}
	defer hooks.srv.Close()
	w.NetSuite.SetConcurrencyLimit(erpLimit)
	w.NetSuite.Faults().Set(faults.Settings{Latency: erpLatency})
	w.NetSuite.SetMaintenance(true, res.window)
	ns0 := w.NetSuite.Stats()
	ids, err := w.placeOrders(burst, burst)
	if err != nil {
		return res, err
	}
	parked := func(m orderMarks) bool { return m.parked }
	if _, err := w.waitOrders(ids, timeout, parked); err != nil {
		return res, err
	}
	res.accept = hooks.accept()
	nsDown := w.NetSuite.Stats()
	res.windowCalls = nsDown.Requests - ns0.Requests
	w.NetSuite.SetMaintenance(false, 0)
	end := time.Now()
	samples := newSampler(func() int64 { return w.NetSuite.Stats().Requests })
	_, werr := w.waitOrders(ids, timeout, func(m orderMarks) bool { return !m.booked.IsZero() })
	res.drain = time.Since(end)
	res.peakRate = samples.stop()
	ns := w.NetSuite.Stats()
	res.drainCalls = ns.Requests - nsDown.Requests
	res.salesOrders = ns.Created["salesOrder"] - ns0.Created["salesOrder"]
	res.maxInFlight, res.refused = ns.MaxInFlight, ns.Refused-ns0.Refused
	return res, werr
}
