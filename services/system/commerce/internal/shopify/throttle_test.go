package shopify

import (
	"context"
	"errors"
	"testing"
	"time"
)

func float(v float64) *float64 { return &v }

// knownBudget is a budget that has read a bucket holding avail of max points.
func knownBudget(tb testing.TB, max, avail, rate float64) *budget {
	tb.Helper()
	b := newBudget(time.Now)
	tk, err := b.acquire(context.Background(), "probe", 1)
	if err != nil || !tk.probe {
		tb.Fatalf("first acquire: %+v, %v; want a probe", tk, err)
	}
	b.settle(tk, &cost{requested: 1, actual: float(1), max: max, avail: avail, rate: rate})
	return b
}

func TestBudgetProbesAnUnknownBucketAlone(t *testing.T) {
	t.Parallel()
	b := newBudget(time.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	probe, err := b.acquire(ctx, "q", 10)
	if err != nil || !probe.probe {
		t.Fatalf("got %+v, %v; want a probe", probe, err)
	}
	second := make(chan error, 1)
	go func() { _, err := b.acquire(ctx, "q", 10); second <- err }()
	select {
	case err := <-second:
		t.Fatalf("second caller went out while the probe was in flight (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.settle(probe, &cost{requested: 10, actual: float(4), max: 100, avail: 96, rate: 50})
	if err := <-second; err != nil {
		t.Fatalf("second caller after the probe: %v", err)
	}
}

func TestBudgetWaitsForRestore(t *testing.T) {
	t.Parallel()
	b := knownBudget(t, 100, 40, 200) // needs 60 more points: 0.3 s
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := b.acquire(ctx, "q", 100); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("took %v, want about 300ms", took)
	}
}

func TestBudgetFailsFastPastDeadline(t *testing.T) {
	t.Parallel()
	b := knownBudget(t, 100, 10, 10) // 60 points need 5 s
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.acquire(ctx, "q", 60)
	var be *errBudget
	if !errors.As(err, &be) || be.wait < 4*time.Second || be.wait > 6*time.Second {
		t.Fatalf("got %v, want errBudget of about 5s", err)
	}
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Errorf("took %v, want an immediate answer", took)
	}
	if len(b.queue) != 0 {
		t.Errorf("queue holds %d waiters after failing, want 0", len(b.queue))
	}
}

func TestBudgetRefusesQueriesLargerThanTheBucket(t *testing.T) {
	t.Parallel()
	b := knownBudget(t, 100, 100, 10)
	if _, err := b.acquire(context.Background(), "q", 101); !errors.Is(err, errTooCostly) {
		t.Fatalf("got %v, want errTooCostly", err)
	}
}

// TestBudgetLearnsRequestedCost: once Shopify has reported a query's requested cost, that
// figure replaces the static estimate.
func TestBudgetLearnsRequestedCost(t *testing.T) {
	t.Parallel()
	b := knownBudget(t, 100, 100, 10)
	tk, err := b.acquire(context.Background(), "q", 5)
	if err != nil || tk.est != 5 {
		t.Fatalf("got %+v, %v; want the static estimate 5", tk, err)
	}
	b.settle(tk, &cost{requested: 30, actual: float(3), max: 100, avail: 97, rate: 10})
	tk, err = b.acquire(context.Background(), "q", 5)
	if err != nil || tk.est != 30 {
		t.Fatalf("got %+v, %v; want the learned estimate 30", tk, err)
	}
}

// TestBudgetQueuesInOrder: callers are admitted first come, first served.
func TestBudgetQueuesInOrder(t *testing.T) {
	t.Parallel()
	b := knownBudget(t, 100, 0, 400) // each 40-point call needs 0.1 s of restore
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	order := make(chan int, 5)
	for i := range 5 {
		go func() {
			if _, err := b.acquire(ctx, "q", 40); err == nil {
				order <- i
			}
		}()
		time.Sleep(10 * time.Millisecond) // enqueue in a known order
	}
	for want := range 5 {
		select {
		case got := <-order:
			if got != want {
				t.Fatalf("admitted caller %d, want %d", got, want)
			}
		case <-ctx.Done():
			t.Fatal("callers were not admitted")
		}
	}
}
