package governor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// Free counts what a new call would get without waiting: slots held by calls in flight and
// slots promised to queued callers are not free, and an empty rate bucket leaves nothing free.
func TestFreeCountsHeldAndPromisedSlotsAndTheRateBudget(t *testing.T) {
	t.Parallel()
	v := &vendor{gate: make(chan struct{})}
	c, g, url := client(t, Config{MaxConcurrent: 3}, v)
	if g.Limit() != 3 || g.Free() != 3 {
		t.Fatalf("idle: limit %d, free %d; want 3 and 3", g.Limit(), g.Free())
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _, _ = get(c, url, context.Background()) })
	}
	testkit.Eventually(t, 30*time.Second, "two calls at the vendor", func() bool { return v.inFlight.Load() == 2 })
	if g.Free() != 1 {
		t.Fatalf("two calls in flight: free %d; want 1", g.Free())
	}
	for range 2 {
		wg.Go(func() { _, _ = get(c, url, context.Background()) })
	}
	waitQueued(t, g, Interactive, 1)
	if g.Free() != 0 {
		t.Fatalf("three in flight and one queued: free %d; want 0", g.Free())
	}
	close(v.gate)
	wg.Wait()
	if g.Free() != 3 {
		t.Fatalf("all done: free %d; want 3", g.Free())
	}

	// A bucket of one token, refilled once an hour: after one call nothing is free, though
	// every slot is.
	rc, rg, rurl := client(t, Config{MaxConcurrent: 3, Rate: 1.0 / 3600, Burst: 1}, &vendor{})
	if rg.Free() != 3 {
		t.Fatalf("full bucket: free %d; want 3", rg.Free())
	}
	if st, err := get(rc, rurl, context.Background()); err != nil || st != 200 {
		t.Fatal(fmt.Sprint(st, err))
	}
	if rg.Free() != 0 {
		t.Fatalf("empty bucket: free %d; want 0", rg.Free())
	}
}
