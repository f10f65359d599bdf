package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/retailbridge/retailbridge/pkg/auth"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/workflow"
	"github.com/retailbridge/retailbridge/services/process/orders"
	"github.com/retailbridge/retailbridge/services/sandbox/demo"
)

// The order-to-cash benchmarks place orders in the Shopify sandbox, whose signed orders/create
// webhooks reach the gateway through a timing proxy (the accept latency the storefront sees),
// and follow each order's workflow to its invoice.

// hookTimer proxies webhooks to the gateway and keeps, per order, when its orders/create arrived
// and how long the gateway took to answer it.
type hookTimer struct {
	mu       sync.Mutex
	arrived  map[string]time.Time
	took     []time.Duration
	refused  int
	srv      *httptest.Server
	gateway  *httputil.ReverseProxy
	onlyPath string
}

func newHookTimer(gateway string) (*hookTimer, error) {
	target, err := url.Parse(gateway)
	if err != nil {
		return nil, err
	}
	h := &hookTimer{arrived: map[string]time.Time{}, gateway: httputil.NewSingleHostReverseProxy(target), onlyPath: "shopify"}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	return h, nil
}

func (h *hookTimer) serve(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if !strings.Contains(r.URL.Path, h.onlyPath) || r.Header.Get("X-Shopify-Topic") != "orders/create" {
		h.gateway.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	var o struct {
		ID json.Number `json:"id"`
	}
	_ = json.Unmarshal(body, &o)
	rec := &codeRecorder{ResponseWriter: w, code: http.StatusOK}
	h.gateway.ServeHTTP(rec, r)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.took = append(h.took, time.Since(t0))
	if rec.code >= 300 {
		h.refused++
	}
	if _, seen := h.arrived[o.ID.String()]; !seen {
		h.arrived[o.ID.String()] = t0
	}
}

// accept is the answered deliveries' latencies, sorted.
func (h *hookTimer) accept() result {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := result{n: len(h.took), ok: len(h.took) - h.refused, latencies: slices.Clone(h.took)}
	slices.Sort(r.latencies)
	return r
}

func (h *hookTimer) arrivedAt(id string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.arrived[id]
	return t, ok
}

type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) { c.code = code; c.ResponseWriter.WriteHeader(code) }

// orderMarks are the moments of an order's workflow history the figures use.
type orderMarks struct {
	state                     string
	parked                    bool // a step was retried: the order waited for a system
	lastErr                   string
	booked, shipped, finished time.Time
}

// marksOf reads an order's workflow: when its sales order was booked, when the warehouse's
// shipment reached it, and when it ended.
func marksOf(inst workflow.Instance, hist []workflow.Entry) orderMarks {
	m := orderMarks{state: inst.State, lastErr: inst.LastError}
	for _, e := range hist {
		switch {
		case e.Kind == "call" && strings.HasPrefix(e.Description, orders.StateBooking+" ") && e.Outcome == "ok":
			m.booked = e.At
		case e.Kind == "signal" && strings.HasPrefix(e.Description, orders.SignalShipped) && m.shipped.IsZero():
			m.shipped = e.At
		case e.Kind == "transition" && e.State == inst.State && inst.Terminal:
			m.finished = e.At
		case e.Kind == "retry":
			m.parked = true
		case e.Kind == "failed" || (e.Kind == "transition" && e.State == orders.StateFailed):
			m.lastErr = e.Description // the engine clears last_error when it moves on
		}
	}
	return m
}

// supportToken mints a support agent's token for the stack.
func (w *wfStack) supportToken() (string, error) {
	now := time.Now()
	return w.SigningKey.Mint(auth.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: "retailbridge-dev", Audience: jwt.ClaimStrings{"retailbridge-support"}, Subject: "bench",
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Hour)),
	}, Scope: "support:read support:write"})
}

// prepareOrders sets a US tax code for every item category (so no order waits in the tax queue)
// and points the sandboxes' webhooks at a timing proxy.
func (w *wfStack) prepareOrders() (*hookTimer, error) {
	tok, err := w.supportToken()
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for _, it := range w.Demo.Items {
		if done[it.Category] {
			continue
		}
		done[it.Category] = true
		body, _ := json.Marshal(map[string]string{"tax_code": "US-STD"})
		st, resp, err := w.do(http.MethodPut, "/v1/support/tax-codes/US/"+it.Category, tok, body, "")
		if err != nil || st != http.StatusOK {
			return nil, fmt.Errorf("put tax code for %s: %d %s %v", it.Category, st, resp, err)
		}
	}
	hooks, err := newHookTimer(w.GatewayURL)
	if err != nil {
		return nil, err
	}
	w.PointWebhooksAt(hooks.srv.URL)
	return hooks, nil
}

// placeOrders places n one-line orders in the Shopify sandbox from concurrency checkouts at a
// time, spread over customers and items, and returns their ids.
func (w *wfStack) placeOrders(n, concurrency int) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	sem := make(chan struct{}, concurrency)
	// Physical goods only: a gift card has no stock to reserve (its order fails at reservation).
	var items []demo.Item
	for _, it := range w.Demo.Items {
		if it.Category != "gift_card" {
			items = append(items, it)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			it := items[i%len(items)]
			c := w.Demo.Customers[i%len(w.Demo.Customers)]
			ids[i], errs[i] = w.Shopify.PlaceOrder(c.ID, []demo.Line{{SKU: it.SKU, Title: it.Title, Quantity: 1, UnitPriceMinor: it.PriceMinor}})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// waitOrders polls each order's workflow until done says it is far enough (or timeout), and
// returns the marks of every order.
func (w *wfStack) waitOrders(ids []string, timeout time.Duration, done func(orderMarks) bool) (map[string]orderMarks, error) {
	ctx := context.Background()
	out := map[string]orderMarks{}
	deadline := time.Now().Add(timeout)
	for {
		pending := map[string]int{}
		for _, id := range ids {
			if m, ok := out[id]; ok && done(m) {
				continue
			}
			inst, hist, err := w.OrderWorkflow.State(ctx, id)
			if err != nil {
				pending["not accepted"]++
				continue
			}
			m := marksOf(inst, hist)
			out[id] = m
			if !done(m) {
				pending[m.state]++
			}
		}
		if len(pending) == 0 {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("orders not there after %s, by state: %v", timeout, pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// orderWrites counts, in the orders database, what bounds its write transactions from below:
// a claim and a record per step attempt, one transaction per consumed event (the store's feed
// and the workflow's consumers), one per fired timer.
func orderWrites(dir string) (stepAttempts, inbox, timers, retries int, err error) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "data", "orders.db"), store.Options{})
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer db.Close()
	for q, dst := range map[string]*int{
		`SELECT COALESCE(SUM(attempts), 0) FROM rb_workflow_steps`:           &stepAttempts,
		`SELECT COUNT(*) FROM rb_inbox`:                                      &inbox,
		`SELECT COUNT(*) FROM rb_workflow_timers WHERE fired_at IS NOT NULL`: &timers,
		`SELECT COUNT(*) FROM rb_workflow_history WHERE kind = 'retry'`:      &retries,
	} {
		if err := db.QueryRow(ctx, q).Scan(dst); err != nil {
			return 0, 0, 0, 0, fmt.Errorf("%s: %w", q, err)
		}
	}
	return stepAttempts, inbox, timers, retries, nil
}

// sampler reads a counter every 100 ms.
type sampler struct {
	done chan struct{}
	wg   sync.WaitGroup
	at   []time.Time
	n    []int64
}

func newSampler(read func() int64) *sampler {
	s := &sampler{done: make(chan struct{})}
	s.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			s.at, s.n = append(s.at, time.Now()), append(s.n, read())
			select {
			case <-s.done:
				return
			case <-tick.C:
			}
		}
	})
	return s
}

// stop ends sampling and returns the highest rate over any span of at least one second.
func (s *sampler) stop() float64 {
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

func warnf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
