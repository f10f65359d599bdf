package shopify

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"time"
)

// Shopify throttles by a leaky bucket of query-cost points shared by every caller using the same
// app and shop. budget is this process's model of that bucket, so the connector waits for
// points instead of being told THROTTLED:
//
//   - The model is the last extensions.cost.throttleStatus Shopify sent (currentlyAvailable,
//     maximumAvailable, restoreRate, and when it was read), restored at restoreRate since.
//   - Each query's cost is estimated as the requestedQueryCost Shopify last reported for it
//     (Shopify reserves the requested cost up front and refunds the unused part afterwards), or
//     the operation's static cost until one has been seen.
//   - Callers queue first in, first out. The head of the queue waits until the model holds its
//     estimate, then deducts it and sends, so concurrent callers queue here instead of all
//     firing at Shopify. A caller whose wait would outlast its context deadline gives up at
//     once with errBudget (mapped to vendor_throttled with a retry hint) rather than sleeping.
//   - Until the first answer there is no model: one request goes out alone to read the bucket.
//   - Every answer resets the model to what Shopify said minus the estimates of requests still
//     in flight (which Shopify may not have charged yet); an answer older than the last one used
//     only refunds its own unused points. A request that got no cost back gives its estimate
//     back, as it most likely never ran.
type budget struct {
	now func() time.Time

	mu       sync.Mutex
	known    bool      // a throttleStatus has been seen
	max      float64   // maximumAvailable
	rate     float64   // restoreRate, points per second
	avail    float64   // currentlyAvailable as modelled at `at`; negative while over-committed
	at       time.Time // when avail was last brought up to date
	probing  bool      // a request is out to read an unknown bucket
	queue    []*budgetWaiter
	inflight map[uint64]ticket  // admitted requests without an answer yet
	seq      uint64             // admission counter
	synced   uint64             // admission number of the answer the model was last set from
	costs    map[string]float64 // last requestedQueryCost per operation key
	spent    map[string]float64 // last actualQueryCost per operation key
	wake     chan struct{}      // closed and replaced whenever the model or queue changes
}

type budgetWaiter struct {
	key  string
	cost float64 // static cost, used until Shopify reports one
}

// ticket is one admitted request.
type ticket struct {
	seq   uint64
	key   string
	est   float64
	probe bool
}

// errBudget says the points would not be there before the caller's deadline.
type errBudget struct {
	wait time.Duration // how long until the model expects them
}

func (e *errBudget) Error() string {
	return "query cost budget would not be available before the deadline (needs " + e.wait.String() + ")"
}

// errTooCostly says a query costs more than the whole bucket and can never run.
var errTooCostly = errors.New("query cost exceeds the bucket size")

func newBudget(now func() time.Time) *budget {
	return &budget{now: now, inflight: map[uint64]ticket{}, costs: map[string]float64{},
		spent: map[string]float64{}, wake: make(chan struct{})}
}

// cost is what a throttled or answered query told us.
type cost struct {
	requested        float64
	actual           *float64 // nil when throttled
	max, avail, rate float64
}

// acquire waits for the points key needs and deducts them. It fails with *errBudget when they
// would come after ctx's deadline, errTooCostly when they never can, or ctx's error.
func (b *budget) acquire(ctx context.Context, key string, staticCost float64) (ticket, error) {
	w := &budgetWaiter{key: key, cost: staticCost}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	b.notify()
	for {
		b.refill()
		head := b.queue[0] == w
		var wait time.Duration // how long the model expects this caller to wait
		switch {
		case head && !b.known && !b.probing:
			b.probing = true
			return b.admit(w, 0, true), nil
		case head && b.known:
			est := b.estimate(w)
			if est > b.max {
				b.leave(w)
				return ticket{}, errTooCostly
			}
			if b.avail >= est {
				b.avail -= est
				return b.admit(w, est, false), nil
			}
			wait = seconds((est - b.avail) / b.rate)
		case b.known:
			wait = b.predict(w)
		}
		if b.known {
			if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
				b.leave(w)
				return ticket{}, &errBudget{wait: wait}
			}
		}
		wake := b.wake
		b.mu.Unlock()

		var timer *time.Timer
		var fire <-chan time.Time
		if head && wait > 0 {
			timer = time.NewTimer(wait)
			fire = timer.C
		}
		select {
		case <-wake:
		case <-fire:
		case <-ctx.Done():
		}
		if timer != nil {
			timer.Stop()
		}
		b.mu.Lock()
		if err := ctx.Err(); err != nil {
			b.leave(w)
			if errors.Is(err, context.DeadlineExceeded) && b.known {
				return ticket{}, &errBudget{wait: b.predict(w)}
			}
			return ticket{}, err
		}
	}
}

// admit takes w off the head of the queue as an in-flight request; the caller holds mu and
// admit releases it.
func (b *budget) admit(w *budgetWaiter, est float64, probe bool) ticket {
	b.queue = b.queue[1:]
	b.seq++
	t := ticket{seq: b.seq, key: w.key, est: est, probe: probe}
	b.inflight[t.seq] = t
	b.notify()
	b.mu.Unlock()
	return t
}

// leave drops w from the queue and releases mu.
func (b *budget) leave(w *budgetWaiter) {
	if i := slices.Index(b.queue, w); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
	b.notify()
	b.mu.Unlock()
}

// settle records a request's answer; c is nil when the answer carried no cost.
func (b *budget) settle(t ticket, c *cost) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.inflight, t.seq)
	if t.probe {
		b.probing = false
	}
	defer b.notify()
	if c == nil || c.max <= 0 {
		if b.known {
			b.refill()
			b.avail = math.Min(b.max, b.avail+t.est)
		}
		return
	}
	b.costs[t.key] = c.requested
	actual := 0.0 // a throttled query was not charged
	if c.actual != nil {
		actual = *c.actual
		b.spent[t.key] = actual
	}
	b.max, b.rate = c.max, c.rate
	if !b.known || t.seq > b.synced {
		pending := 0.0
		for _, f := range b.inflight {
			pending += f.est
		}
		b.avail, b.at, b.synced, b.known = c.avail-pending, b.now(), t.seq, true
		return
	}
	b.refill()
	b.avail = math.Min(b.max, b.avail+t.est-actual)
}

// estimate is the points w's query will ask for.
func (b *budget) estimate(w *budgetWaiter) float64 {
	if c, ok := b.costs[w.key]; ok {
		return c
	}
	if w.cost > 0 {
		return w.cost
	}
	return b.max
}

// predict guesses how long w, somewhere in the queue, will wait: the points everyone ahead will
// keep (their last actual cost; the estimate when unknown), plus w's own estimate, less what the
// bucket holds and in-flight requests will refund, at the restore rate.
func (b *budget) predict(w *budgetWaiter) time.Duration {
	need := 0.0
	for _, q := range b.queue {
		if q == w {
			need += b.estimate(q)
			break
		}
		need += b.keeps(q.key, b.estimate(q))
	}
	credit := b.avail
	for _, f := range b.inflight {
		credit += f.est - b.keeps(f.key, f.est) // what its answer will refund
	}
	return seconds((need - credit) / b.rate)
}

// keeps is what a query of key is expected to cost in the end.
func (b *budget) keeps(key string, est float64) float64 {
	if a, ok := b.spent[key]; ok {
		return a
	}
	return est
}

// refill restores points for the time passed; the caller holds mu.
func (b *budget) refill() {
	if !b.known {
		return
	}
	now := b.now()
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.avail = math.Min(b.max, b.avail+dt*b.rate)
	}
	b.at = now
}

// notify wakes every waiter to look again; the caller holds mu.
func (b *budget) notify() {
	close(b.wake)
	b.wake = make(chan struct{})
}

func seconds(s float64) time.Duration {
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	if math.IsInf(s, 1) || s > 1e6 {
		return time.Duration(1e6 * float64(time.Second))
	}
	return time.Duration(math.Ceil(s * float64(time.Second)))
}
