package governor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

type vendor struct {
	calls, inFlight, maxInFlight atomic.Int64
	status                       atomic.Int64
	retryAfter                   atomic.Value
	delay                        time.Duration
	gate                         chan struct{} // when set, every call waits until it is closed
}

func (v *vendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.calls.Add(1)
	n := v.inFlight.Add(1)
	defer v.inFlight.Add(-1)
	for {
		m := v.maxInFlight.Load()
		if n <= m || v.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(v.delay)
	if v.gate != nil {
		<-v.gate
	}
	if ra, _ := v.retryAfter.Load().(string); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	if s := v.status.Load(); s != 0 {
		w.WriteHeader(int(s))
	}
}

func client(t testing.TB, cfg Config, v *vendor) (*http.Client, *Governor, string) {
	t.Helper()
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	g := New("vendor", cfg, http.DefaultTransport)
	return &http.Client{Transport: g}, g, srv.URL
}

func get(c *http.Client, url string, ctx context.Context) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func TestConcurrencyCap(t *testing.T) {
	t.Parallel()
	v := &vendor{delay: 20 * time.Millisecond}
	c, _, url := client(t, Config{MaxConcurrent: 3}, v)
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() { _, _ = get(c, url, context.Background()) })
	}
	wg.Wait()
	if v.calls.Load() != 30 || v.maxInFlight.Load() > 3 {
		t.Errorf("calls %d, max in flight %d; want 30 calls, at most 3 at once", v.calls.Load(), v.maxInFlight.Load())
	}
}

func TestRateBudgetFailsFastPastTheDeadline(t *testing.T) {
	t.Parallel()
	v := &vendor{}
	c, _, url := client(t, Config{Rate: 5, Burst: 1}, v)
	start := time.Now()
	for range 3 {
		if _, err := get(c, url, context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 350*time.Millisecond {
		t.Errorf("3 calls at 5/s with burst 1 took %v; want the budget to space them", took)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _ = get(c, url, context.Background())
	_, err := get(c, url, ctx)
	if e := errs.As(err); e == nil || e.Reason != "rate_budget" || e.RetryAfter == 0 {
		t.Errorf("over budget with a short deadline: %v; want rate_budget with a retry hint", err)
	}
}

func TestBreakerOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	v := &vendor{}
	v.status.Store(500)
	c, g, url := client(t, Config{BreakerFailures: 3, BreakerCooldown: 100 * time.Millisecond}, v)
	for range 3 {
		_, _ = get(c, url, context.Background())
	}
	_, err := get(c, url, context.Background())
	if e := errs.As(err); e == nil || e.Reason != "circuit_open" {
		t.Fatalf("after 3 failures: %v; want circuit_open", err)
	}
	if v.calls.Load() != 3 {
		t.Errorf("vendor saw %d calls; the open breaker must not call it", v.calls.Load())
	}
	time.Sleep(120 * time.Millisecond)
	v.status.Store(200)
	if st, err := get(c, url, context.Background()); err != nil || st != 200 {
		t.Fatalf("probe after the cooldown: %d %v", st, err)
	}
	if st, err := get(c, url, context.Background()); err != nil || st != 200 || g.Stats().Open {
		t.Errorf("after a good probe: %d %v open=%v; want closed", st, err, g.Stats().Open)
	}
}

func TestMaintenanceWindowParksCalls(t *testing.T) {
	t.Parallel()
	v := &vendor{}
	v.status.Store(503)
	v.retryAfter.Store("1")
	c, _, url := client(t, Config{}, v)
	if st, _ := get(c, url, context.Background()); st != 503 {
		t.Fatalf("first call: %d", st)
	}
	for range 20 {
		if _, err := get(c, url, context.Background()); errs.As(err) == nil {
			t.Fatalf("a call went through during the maintenance window: %v", err)
		}
	}
	if v.calls.Load() != 1 {
		t.Errorf("vendor saw %d calls during its maintenance window; want 1", v.calls.Load())
	}
}

func TestInteractiveWorkGoesFirst(t *testing.T) {
	t.Parallel()
	v := &vendor{gate: make(chan struct{})}
	c, g, url := client(t, Config{MaxConcurrent: 1}, v)
	var mu sync.Mutex
	var order []Priority
	var wg sync.WaitGroup
	call := func(p Priority) {
		wg.Go(func() {
			_, _ = get(c, url, WithPriority(context.Background(), p))
			mu.Lock()
			order = append(order, p)
			mu.Unlock()
		})
	}
	// Occupy the only slot (a bulk call: it is not counted), queue bulk work, then interactive work.
	wg.Go(func() { _, _ = get(c, url, WithPriority(context.Background(), Bulk)) })
	testkit.Eventually(t, 30*time.Second, "the occupying call holds the slot at the vendor", func() bool { return v.inFlight.Load() > 0 })
	for range 3 {
		call(Bulk)
	}
	waitQueued(t, g, Bulk, 3)
	for range 3 {
		call(Interactive)
	}
	waitQueued(t, g, Interactive, 3)
	close(v.gate) // the occupying call returns; the queue is served
	wg.Wait()
	if len(order) != 6 || order[0] != Interactive || order[1] != Interactive || order[2] != Interactive {
		t.Errorf("completion order %v; want the three interactive calls before the queued bulk ones", order)
	}
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	c, err := ParseConfig("concurrency=10, rate=50,burst=20,breaker=4,cooldown=30s")
	if err != nil || c.MaxConcurrent != 10 || c.Rate != 50 || c.Burst != 20 || c.BreakerFailures != 4 || c.BreakerCooldown != 30*time.Second {
		t.Errorf("ParseConfig = %+v, %v", c, err)
	}
	for _, bad := range []string{"speed=1", "rate=fast", "concurrency", "rate=-1"} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(%q) accepted", bad)
		}
	}
}
