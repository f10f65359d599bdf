package governor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/retailbridge/retailbridge/pkg/testkit"
)

// waitQueued waits until n calls of lane wait for a slot.
func waitQueued(t testing.TB, g *Governor, lane Priority, n int) {
	t.Helper()
	testkit.Eventually(t, 30*time.Second, fmt.Sprintf("%d calls of lane %d queued for a slot", n, lane),
		func() bool { return g.slots.queued(lane) >= n })
}

// The rate budget honours the lanes too: a bulk backlog queued for tokens does not take every
// token ahead of customer-facing calls that come after it.
func TestInteractiveWorkGoesFirstWithinTheRateBudget(t *testing.T) {
	t.Parallel()
	v := &vendor{}
	c, g, url := client(t, Config{MaxConcurrent: 2, Rate: 4, Burst: 1}, v)
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
	const bulk = 8
	for range bulk {
		call(Bulk)
	}
	// The first call spends the bucket's one token at once; two more hold the slots waiting for
	// tokens; the rest wait for a slot.
	waitQueued(t, g, Bulk, bulk-3)
	call(Interactive)
	call(Interactive)
	wg.Wait()
	last := 0
	for i, p := range order {
		if p == Interactive {
			last = i
		}
	}
	// Ahead of them finish only the first call, the two slot holders and perhaps one more
	// released meanwhile; a first-come token bucket would finish them last (positions 8 and 9).
	if len(order) != bulk+2 || last > 5 {
		t.Errorf("completion order %v; want both interactive calls among the first six", order)
	}
	if s := g.Stats(); s.MaxInFlight > 2 {
		t.Errorf("max in flight %d; want at most the cap 2", s.MaxInFlight)
	}
}
