package vendorhttp_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// TestBackoffDelay covers the settings the connectors use (the payment gateway's, the ERP's and
// the returns platform's) and a base so large that doubling it would overflow.
func TestBackoffDelay(t *testing.T) {
	t.Parallel()
	for _, b := range []vendorhttp.Backoff{
		{First: 20 * time.Millisecond, Cap: time.Second},
		{First: 25 * time.Millisecond, Cap: time.Second, Attempts: 10},
		{First: 100 * time.Millisecond, Cap: 5 * time.Second, Attempts: 5},
		{First: time.Hour, Cap: math.MaxInt64},
	} {
		for attempt := 1; attempt <= 70; attempt++ {
			ceil := b.Cap
			if attempt < 40 && b.First <= b.Cap/(1<<attempt) {
				ceil = b.First * (1 << attempt)
			}
			for range 50 {
				if d := b.Delay(attempt); d < b.First/2 || d >= ceil {
					t.Fatalf("%+v: Delay(%d) = %v; want within [%v, %v)", b, attempt, d, b.First/2, ceil)
				}
			}
		}
	}
}

func TestSleepAndFits(t *testing.T) {
	t.Parallel()
	if err := vendorhttp.Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep = %v; want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := vendorhttp.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep on an ended context = %v; want context.Canceled", err)
	}
	if !vendorhttp.Fits(context.Background(), time.Hour) {
		t.Error("Fits without a deadline = false; want true")
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if vendorhttp.Fits(ctx, time.Hour) || !vendorhttp.Fits(ctx, time.Millisecond) {
		t.Error("Fits under a minute's deadline: want an hour refused and a millisecond accepted")
	}
}
