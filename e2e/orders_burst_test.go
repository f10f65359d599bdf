package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/internal/stack"
	"github.com/retailbridge/retailbridge/pkg/config"
	"github.com/retailbridge/retailbridge/pkg/testkit"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
	"github.com/retailbridge/retailbridge/services/sandbox/faults"
	netsuitesb "github.com/retailbridge/retailbridge/services/sandbox/netsuite"
)

// webhookTimer stands between the vendors' webhook senders and the gateway and keeps how the
// gateway answered each delivery (what the storefront's ~5 s webhook timeout sees).
type webhookTimer struct {
	mu       sync.Mutex
	took     []time.Duration
	refused  int
	statuses map[int]int
}

func (w *webhookTimer) serve(t testing.TB, gateway string) *httptest.Server {
	t.Helper()
	target, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: rw, status: http.StatusOK}
		t0 := time.Now()
		proxy.ServeHTTP(rec, r)
		if !strings.Contains(r.URL.Path, "shopify") {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.took = append(w.took, time.Since(t0))
		if w.statuses == nil {
			w.statuses = map[int]int{}
		}
		w.statuses[rec.status]++
		if rec.status >= 300 {
			w.refused++
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// figures are the deliveries' count, refusals and p99.
func (w *webhookTimer) figures() (n, refused int, p99 time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := slices.Clone(w.took)
	slices.Sort(s)
	if len(s) > 0 {
		p99 = s[min(len(s)-1, len(s)*99/100)]
	}
	return len(s), w.refused, p99
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// orderTimeline is an order's workflow view with the times of its timeline.
type orderTimeline struct {
	Workflow struct {
		State        string `json:"state"`
		SalesOrderID string `json:"sales_order_id"`
	} `json:"workflow"`
	Timeline []struct {
		At          time.Time `json:"at"`
		Kind        string    `json:"kind"`
		Description string    `json:"description"`
		Outcome     string    `json:"outcome"`
	} `json:"timeline"`
}

func (h *harness) orderTimeline(t testing.TB, tok, id string) (orderTimeline, bool) {
	t.Helper()
	var v orderTimeline
	resp := h.do(t, http.MethodGet, "/v1/support/order-workflows/"+id, tok, nil)
	if resp.Status != http.StatusOK {
		return v, false
	}
	resp.JSON(t, &v)
	return v, true
}

// booked is when the order's sales order call succeeded (zero when it has not).
func (v orderTimeline) booked() time.Time {
	for _, e := range v.Timeline {
		if e.Kind == "call" && strings.HasPrefix(e.Description, "booking ") && e.Outcome == "ok" {
			return e.At
		}
	}
	return time.Time{}
}

func (v orderTimeline) parked() bool {
	return slices.ContainsFunc(v.Timeline, func(e struct {
		At          time.Time `json:"at"`
		Kind        string    `json:"kind"`
		Description string    `json:"description"`
		Outcome     string    `json:"outcome"`
	}) bool {
		return e.Kind == "retry"
	})
}

// FM-3 and FM-5 for orders: a 10× burst of storefront orders lands while the ERP is in a
// maintenance window (every call answered 503 + Retry-After). Every webhook is answered at once;
// the orders park instead of retrying against the closed ERP; afterwards the backlog drains
// within the ERP's budget (its concurrency limit and call rate, measured at the sandbox) with
// one sales order per order; and a customer's order placed while the backlog drains is booked
// ahead of it (the parked orders re-drive in the bulk lane).
func TestOrderBurstThroughAnERPMaintenanceWindow(t *testing.T) {
	t.Parallel()
	const (
		burst    = 40 // ten times the four orders at once of a normal minute
		erpLimit = 2
		erpRate  = 40 // calls per second
		erpBurst = 4
	)
	h, agent, hooks, place := burstStack(t, erpLimit, erpRate, erpBurst)
	window := 2 * time.Second // Retry-After of every 503: the ERP's announced window, renewed until it ends
	h.NetSuite.SetMaintenance(true, window)
	down := time.Now()
	before := h.NetSuite.Stats()
	ids := make([]string, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() { ids[i] = place(i) })
	}
	wg.Wait()
	testkit.Eventually(t, 4*time.Minute, "every order of the burst accepted and parked", func() bool {
		for _, id := range ids {
			if v, ok := h.orderTimeline(t, agent, id); !ok || !v.parked() {
				return false
			}
		}
		return true
	})
	during := h.NetSuite.Stats()
	h.NetSuite.SetMaintenance(false, 0)
	n, refused, p99 := hooks.figures()
	t.Logf("burst: %d orders, %d webhook deliveries answered (%d refused; by status %v), accept p99 %v; ERP calls while down %d (%d answered 503)",
		burst, n, refused, hooks.statuses, p99.Round(time.Millisecond), during.Requests-before.Requests, during.Maintenance-before.Maintenance)
	checkAcceptedAndParked(t, hooks, burst, during.Requests-before.Requests, int64(erpLimit)+int64(time.Since(down)/window)+2)

	// The drain begins; a customer's order comes in while the backlog is queued.
	testkit.Eventually(t, 2*time.Minute, "the drain started", func() bool {
		return h.NetSuite.Stats().Created[netsuitesb.TypeSalesOrder] > before.Created[netsuitesb.TypeSalesOrder]
	})
	samples := sampleRequests(h.NetSuite)
	customer := place(burst)
	all := append(slices.Clone(ids), customer)
	booked, soIDs := h.waitBooked(t, agent, all)
	peak := samples.stop()
	after := h.NetSuite.Stats()
	behind := 0
	for _, id := range ids {
		if booked[id].After(booked[customer]) {
			behind++
		}
	}
	distinct := map[string]bool{}
	for _, so := range soIDs {
		distinct[so] = true
	}
	created := after.Created[netsuitesb.TypeSalesOrder] - before.Created[netsuitesb.TypeSalesOrder]
	t.Logf("drain: %d sales orders created for %d orders (%d distinct ids); the customer's order booked ahead of %d of the %d parked; "+
		"ERP max in flight %d (limit %d), peak %.1f calls/s (budget %d/s, burst %d), 429s %d",
		created, len(all), len(distinct), behind, burst, after.MaxInFlight, erpLimit, peak, erpRate, erpBurst, after.Refused-before.Refused)
	if created != int64(len(all)) || len(distinct) != len(all) {
		t.Errorf("%d sales orders (%d distinct) for %d orders; want one each", created, len(distinct), len(all))
	}
	if after.MaxInFlight > erpLimit {
		t.Errorf("the ERP saw %d calls in flight; its limit is %d", after.MaxInFlight, erpLimit)
	}
	if peak > erpRate+erpBurst {
		t.Errorf("the ERP saw %.1f calls in one second; the budget is %d/s with a burst of %d", peak, erpRate, erpBurst)
	}
	if behind < burst/2 {
		t.Errorf("the customer's order was booked ahead of %d of %d parked orders; want it ahead of most of the backlog", behind, burst)
	}
}

// burstStack is a stack whose NetSuite serves erpLimit requests at once, each 10 ms, behind a
// governor of erpRate calls/s, with tax codes set and the webhooks timed; place checks out one
// order in the Shopify sandbox.
func burstStack(t *testing.T, erpLimit, erpRate, erpBurst int) (*harness, string, *webhookTimer, func(int) string) {
	t.Helper()
	// The storefront's own 5 s webhook timeout, rather than the suite's 2 s: what is measured is
	// that accepting does not wait for the ERP; on a loaded machine the gateway's own work can
	// take longer than 2 s, and a refused delivery would only be sent again.
	h := newStackWith(t, func(o *stack.Options) { o.FastVendors = true }, func(c *config.Config) { c.RequestTimeout = 5 * time.Second },
		withVendorSetting("RB_ERP_VENDOR", "netsuite"),
		withVendorSetting("NETSUITE_MAX_CONCURRENCY", fmt.Sprint(erpLimit)),
		withVendorSetting("RB_GOVERNOR_NETSUITE", fmt.Sprintf("concurrency=%d,rate=%d,burst=%d", erpLimit, erpRate, erpBurst)))
	h.NetSuite.SetConcurrencyLimit(erpLimit)
	h.NetSuite.Faults().Set(faults.Settings{Latency: 10 * time.Millisecond}) // the ERP, not the machine, is the bottleneck
	agent := h.supportToken(t, "agent-7", "support:read support:write")
	items := h.Demo.Items[:4]
	for _, it := range items {
		if resp := h.do(t, http.MethodPut, "/v1/support/tax-codes/US/"+it.Category, agent, map[string]string{"tax_code": "US-STD"}); resp.Status != http.StatusOK {
			t.Fatalf("put tax code: %d %s", resp.Status, resp.Body)
		}
	}
	hooks := &webhookTimer{}
	h.PointWebhooksAt(hooks.serve(t, h.GatewayURL).URL)
	place := func(i int) string {
		it := items[i%len(items)]
		id, err := h.Shopify.PlaceOrder(h.Demo.Customers[i%len(h.Demo.Customers)].ID,
			[]demo.Line{{SKU: it.SKU, Title: it.Title, Quantity: 1, UnitPriceMinor: it.PriceMinor}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	return h, agent, hooks, place
}

// checkAcceptedAndParked checks what the storefront and the ERP saw during the window: every
// order accepted (its workflow exists and parked, checked by the caller), no delivery refused
// for a reason that depends on the ERP, and at most budget ERP calls — the first wave (at most
// its concurrency) and one probe per Retry-After the window lasted, not a retry per order.
func checkAcceptedAndParked(t *testing.T, hooks *webhookTimer, burst int, calls, budget int64) {
	t.Helper()
	n, refused, _ := hooks.figures()
	// A delivery the gateway did not answer within the sender's timeout on a loaded machine (502
	// from the timing proxy when the sender gave up, 504 at the gateway's deadline) is sent again
	// and absorbed; an answer that depends on the ERP (503, or any other error) is a defect.
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	for code, k := range hooks.statuses {
		if code != http.StatusOK && code != http.StatusBadGateway && code != http.StatusGatewayTimeout {
			t.Errorf("%d webhook deliveries answered %d; accepting must not depend on the ERP", k, code)
		}
	}
	if n-refused < burst {
		t.Errorf("webhooks: %d answered 2xx; want every one of the %d orders accepted", n-refused, burst)
	}
	if calls > budget {
		t.Errorf("%d ERP calls while it was down; want at most %d (the first wave and one probe per Retry-After): "+
			"the orders retry against a closed ERP instead of parking", calls, budget)
	}
}

// waitBooked waits until every order has its sales order, and returns when each was booked and
// its sales order id.
func (h *harness) waitBooked(t *testing.T, agent string, ids []string) (map[string]time.Time, map[string]string) {
	t.Helper()
	booked, soIDs := map[string]time.Time{}, map[string]string{}
	testkit.Eventually(t, 3*time.Minute, "every order booked", func() bool {
		for _, id := range ids {
			if _, ok := booked[id]; ok {
				continue
			}
			if v, ok := h.orderTimeline(t, agent, id); ok && v.Workflow.SalesOrderID != "" && !v.booked().IsZero() {
				booked[id], soIDs[id] = v.booked(), v.Workflow.SalesOrderID
			}
		}
		return len(booked) == len(ids)
	})
	return booked, soIDs
}

// requestSampler reads a NetSuite sandbox's request counter every 100 ms.
type requestSampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	at   []time.Time
	n    []int64
}

func sampleRequests(ns *netsuitesb.Sandbox) *requestSampler {
	s := &requestSampler{done: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			s.at, s.n = append(s.at, time.Now()), append(s.n, ns.Stats().Requests)
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// stop ends sampling and returns the highest call rate over any span of at least one second
// (the span's calls over its length: a token bucket admits at most rate·span + burst).
func (s *requestSampler) stop() float64 {
	close(s.done)
	s.wg.Wait()
	peak := 0.0
	for i := range s.at {
		for j := i + 1; j < len(s.at); j++ {
			if d := s.at[j].Sub(s.at[i]); d >= time.Second {
				peak = max(peak, float64(s.n[j]-s.n[i])/d.Seconds())
				break
			}
		}
	}
	return peak
}
