package workflow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/events"
	"github.com/retailbridge/retailbridge/pkg/governor"
	"github.com/retailbridge/retailbridge/pkg/store"
	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// admissionRig is a two-step workflow over two real HTTP vendors behind real governors: a
// platform (unguarded, fast) and an ERP whose governor has erpSlots slots and whose calls wait
// for gate. Each step counts its calls and how many of its steps run at once.
type admissionRig struct {
	erpGov               *governor.Governor
	erp, platform        *http.Client
	erpURL, platformURL  string
	gate                 chan struct{}
	erpCalls, platCalls  atomic.Int64
	erpSteps, maxERPStep atomic.Int64
}

const erpSlots = 1

func newAdmissionRig(t *testing.T) *admissionRig {
	r := &admissionRig{gate: make(chan struct{})}
	erp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.erpCalls.Add(1)
		select {
		case <-r.gate:
		case <-req.Context().Done():
		}
	}))
	platform := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { r.platCalls.Add(1) }))
	t.Cleanup(func() { erp.Close(); platform.Close() })
	r.erpGov = governor.New("erp", governor.Config{MaxConcurrent: erpSlots}, http.DefaultTransport)
	r.erp, r.erpURL = &http.Client{Transport: r.erpGov}, erp.URL
	r.platform, r.platformURL = &http.Client{}, platform.URL
	return r
}

func (r *admissionRig) call(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return errs.Wrap(err, errs.Unavailable, "vendor_unreachable", "")
	}
	return resp.Body.Close()
}

func (r *admissionRig) definition() *Definition {
	return &Definition{
		Kind: "adm",
		Steps: map[string]Step{
			"registering": {Name: "register", System: "platform", Do: func(ctx context.Context, _ Run) (Result, error) {
				return Result{Next: "booking"}, r.call(ctx, r.platform, r.platformURL)
			}},
			"booking": {Name: "book", System: "erp", Do: func(ctx context.Context, _ Run) (Result, error) {
				n := r.erpSteps.Add(1)
				defer r.erpSteps.Add(-1)
				for m := r.maxERPStep.Load(); n > m && !r.maxERPStep.CompareAndSwap(m, n); m = r.maxERPStep.Load() {
				}
				return Result{Next: "booked"}, r.call(ctx, r.erp, r.erpURL)
			}},
		},
		Terminal:  map[string]bool{"booked": true, "failed": true},
		FailState: "failed",
	}
}

// With admission, steps for a saturated vendor wait in the queue and hold no worker: while the
// ERP's one slot is stuck, every return still gets its platform step (the chained ERP steps
// beyond what the ERP can take go back to the queue), at most overAdmit × the ERP's slots of ERP
// steps ever run at once, and once the ERP answers every return books exactly once, with no
// retry and no extra call. Without admission the six workers would all end up waiting on the
// ERP and the platform steps of the other returns would never start.
func TestAdmissionKeepsSaturatedVendorsStepsInTheQueue(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		r := newAdmissionRig(t)
		admission := func(system string) Capacity {
			if system == "erp" {
				return r.erpGov
			}
			return nil
		}
		e := New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Lease: time.Hour, Poll: 5 * time.Millisecond,
			Workers: 6, Admission: admission}, r.definition())
		const n = 12
		for i := range n {
			if err := h.db.InTx(context.Background(), func(tx *store.Tx) error {
				return e.Start(context.Background(), tx, "adm", fmt.Sprintf("adm-%02d", i), "registering", struct{}{}, "")
			}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = e.Run(ctx); close(done) }()
		var closeGate sync.Once
		t.Cleanup(func() { closeGate.Do(func() { close(r.gate) }); cancel(); <-done })

		testkit.Eventually(t, time.Minute, "every return's platform step ran while the ERP is stuck",
			func() bool { return r.platCalls.Load() == n })
		testkit.Eventually(t, time.Minute, "the ERP's slots taken", func() bool { return r.erpGov.Free() == 0 })
		if m := r.maxERPStep.Load(); m > overAdmit*erpSlots {
			t.Errorf("%d ERP steps ran at once, want at most %d (overAdmit × its slots)", m, overAdmit*erpSlots)
		}
		closeGate.Do(func() { close(r.gate) })
		for i := range n {
			id := fmt.Sprintf("adm-%02d", i)
			testkit.Eventually(t, time.Minute, id+" booked", func() bool { inst, _ := h.state(t, id); return inst.State == "booked" })
		}
		if m := r.maxERPStep.Load(); m > overAdmit*erpSlots {
			t.Errorf("%d ERP steps ran at once, want at most %d (overAdmit × its slots)", m, overAdmit*erpSlots)
		}
		if c := r.erpCalls.Load(); c != n {
			t.Errorf("%d ERP calls, want %d (one per return)", c, n)
		}
		var retries int
		if err := h.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM rb_workflow_history WHERE kind = 'retry'`).Scan(&retries); err != nil {
			t.Fatal(err)
		}
		if retries != 0 {
			t.Errorf("%d step retries, want none", retries)
		}
	})
}

// Admission keeps the lanes: while the ERP is saturated by a bulk backlog, a customer's step for
// it waits in the queue like the rest, and it is the first dispatched once the ERP takes steps
// again, after only the bulk steps admitted before it arrived; without lanes it would be the
// last of 13. (The order is the dispatcher's: workers handed steps in one pass race to their
// calls.)
func TestAdmissionKeepsInteractiveWorkFirst(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d store.Dialect) {
		h := newHarness(t, d)
		r := newAdmissionRig(t)
		var mu sync.Mutex
		var started []string
		def := &Definition{
			Kind: "adm",
			Steps: map[string]Step{"booking": {Name: "book", System: "erp", Do: func(ctx context.Context, run Run) (Result, error) {
				return Result{Next: "booked"}, r.call(ctx, r.erp, r.erpURL)
			}}},
			Terminal:  map[string]bool{"booked": true, "failed": true},
			FailState: "failed",
		}
		e := New(h.db, events.NewOutbox(h.clock.now), Options{Now: h.clock.now, Lease: time.Hour, Poll: 5 * time.Millisecond,
			Workers: overAdmit * erpSlots, Admission: func(string) Capacity { return r.erpGov }}, def)
		e.dispatched = func(id string) {
			mu.Lock()
			started = append(started, id)
			mu.Unlock()
		}
		start := func(ctx context.Context, id string) {
			t.Helper()
			if err := h.db.InTx(ctx, func(tx *store.Tx) error { return e.Start(ctx, tx, "adm", id, "booking", struct{}{}, "") }); err != nil {
				t.Fatal(err)
			}
		}
		const bulk = 12
		for i := range bulk {
			start(WithLane(context.Background(), LaneBulk), fmt.Sprintf("bulk-%02d", i))
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = e.Run(ctx); close(done) }()
		var closeGate sync.Once
		t.Cleanup(func() { closeGate.Do(func() { close(r.gate) }); cancel(); <-done })
		testkit.Eventually(t, time.Minute, "the ERP saturated by the backlog", func() bool { return r.erpGov.Free() == 0 })
		start(context.Background(), "customer")
		closeGate.Do(func() { close(r.gate) })
		testkit.Eventually(t, time.Minute, "every step dispatched", func() bool { mu.Lock(); defer mu.Unlock(); return len(started) == bulk+1 })
		mu.Lock()
		defer mu.Unlock()
		pos := slices.Index(started, "customer")
		// Ahead of it: only the bulk steps admitted before it arrived, at most overAdmit × slots.
		if want := overAdmit*erpSlots + 1; pos < 0 || pos+1 > want {
			t.Errorf("the customer's step was dispatched %d-th of %d (%v); want among the first %d", pos+1, len(started), started, want)
		}
	})
}
