package e2e

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const tightLimits = `policies:
  storefront/default: {rate: 100000, period: 1s, burst: 100000}
  storefront/eligibility: {rate: 50, period: 1s, burst: 25}
  support/default: {rate: 100000, period: 1s, burst: 100000}
  partner/default: {rate: 100000, period: 1s, burst: 100000}
`

// RL-1: two gateway replicas on one Redis share the limit: no per-replica doubling.
//
// It runs alone (not in parallel with the package's other tests): its load generator must keep
// the limit overloaded for the whole measurement.
func TestRateLimitIsSharedByReplicas(t *testing.T) {
	a := newStack(t, withRateLimits(t, tightLimits))
	b := newStack(t, withRateLimits(t, tightLimits))
	customer := a.Demo.Customers[33].ID
	order := a.Demo.OrdersOf(customer)[0].ID
	tokA, tokB := a.token(t, customer), b.token(t, customer)
	// Warm both read models first, on another route class, so every limited request is cheap.
	for _, h := range []*harness{a, b} {
		if resp := h.do(t, http.MethodGet, "/v1/storefront/orders/"+order, h.token(t, customer), nil); resp.Status != http.StatusOK {
			t.Fatalf("warm-up: %d %s", resp.Status, resp.Body)
		}
	}
	const duration = 3 * time.Second
	var allowed, refused atomic.Int64
	// first is the first send; last the last allowed send, lastAnswer the last allowed answer.
	// Every decision the limiter made lies between a request's send and its answer.
	var first, last, lastAnswer atomic.Int64
	var sendsMu sync.Mutex
	var sends, answers []int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(duration)
	for w := range 16 {
		h, tok := a, tokA
		if w%2 == 1 {
			h, tok = b, tokB
		}
		wg.Go(func() {
			for time.Now().Before(deadline) {
				sent := time.Now().UnixNano()
				first.CompareAndSwap(0, sent)
				sendsMu.Lock()
				sends = append(sends, sent)
				sendsMu.Unlock()
				resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(order))
				answered := time.Now().UnixNano()
				sendsMu.Lock()
				answers = append(answers, answered)
				sendsMu.Unlock()
				switch resp.Status {
				case http.StatusOK:
					allowed.Add(1)
					raise(&last, sent)
					raise(&lastAnswer, answered)
				case http.StatusTooManyRequests:
					refused.Add(1)
				default:
					t.Errorf("status %d: %s", resp.Status, resp.Body)
					return
				}
			}
		})
	}
	wg.Wait()
	window := time.Duration(last.Load() - first.Load())
	want := 25 + 50*window.Seconds()
	got := float64(allowed.Load())
	dev := math.Abs(got-want) / want
	t.Logf("RL-1: two replicas, %v of overload: allowed %d, refused %d; policy allows %.1f (burst 25 + 50/s × %.3fs); deviation %.2f%%",
		duration, allowed.Load(), refused.Load(), want, window.Seconds(), 100*dev)
	// The upper bound is judged over the longest span the decisions can have taken: from the
	// first send to the last allowed answer (the last allowed send would understate it by one
	// round trip, 50/s × a slow answer under -race is a request or two).
	most := 25 + 50*time.Duration(lastAnswer.Load()-first.Load()).Seconds()
	if got > math.Max(most*1.01, most+2) {
		t.Errorf("allowed %v, policy allows at most %.1f by the last allowed answer: replicas exceed the shared limit", got, most)
	}
	if refused.Load() < allowed.Load() {
		// The machine could not produce the overload (another heavy job on its two cores): the
		// upper bound above held, the rest cannot be judged.
		t.Skipf("refused %d < allowed %d: the load did not sustain an overload on this machine now", refused.Load(), allowed.Load())
	}
	// Above the policy is the failure that matters (replicas doubling the limit), checked above:
	// +1% (and two requests of rounding).
	// Below the policy can only be judged if the overload never paused longer than the burst
	// covers: a starved load generator (a busy CI machine) leaves allowance unused.
	// Answers are watched too: a gateway that stalls (GC, a starved CPU) with requests queued in
	// front of it leaves a gap in the answers that the send times cannot see.
	maxGap := max(largestGap(sends), largestGap(answers))
	if maxGap > 400*time.Millisecond {
		t.Logf("the load paused for %v (> the 0.5 s the burst covers): the lower bound is not judged in this run", maxGap)
	} else if got < want*0.95 {
		// Allowance is also lost while the gateway itself stalls (GC, a starved CPU) with the
		// requests queued in front of it, which the send times cannot see; 5% absorbs that.
		t.Errorf("allowed %v, policy allows %.1f: more than 5%% below (limit enforced too hard)", got, want)
	}
}

// raise sets v to x when x is larger.
func raise(v *atomic.Int64, x int64) {
	for {
		prev := v.Load()
		if x <= prev || v.CompareAndSwap(prev, x) {
			return
		}
	}
}

// largestGap is the longest pause between consecutive instants (unix nanoseconds).
func largestGap(instants []int64) time.Duration {
	slices.Sort(instants)
	var gap time.Duration
	for i := 1; i < len(instants); i++ {
		gap = max(gap, time.Duration(instants[i]-instants[i-1]))
	}
	return gap
}

// RL-2: limited responses carry the IETF headers; a 429 carries a Retry-After that matches.
func TestRateLimitHeadersAndRetryAfter(t *testing.T) {
	t.Parallel()
	h := newStack(t, withRateLimits(t, `policies:
  storefront/default: {rate: 100000, period: 1s, burst: 100000}
  storefront/eligibility: {rate: 1, period: 4s, burst: 2}
  support/default: {rate: 1, period: 1s, burst: 1}
  partner/default: {rate: 1, period: 1s, burst: 1}
`))
	customer := h.Demo.Customers[34].ID
	tok := h.token(t, customer)
	order := h.Demo.OrdersOf(customer)[0].ID
	var statuses []int
	var last429 *http.Header
	for range 4 {
		resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(order))
		statuses = append(statuses, resp.Status)
		if resp.Header.Get("RateLimit-Policy") != `"storefront-eligibility";q=2;w=8` {
			t.Errorf("RateLimit-Policy = %q", resp.Header.Get("RateLimit-Policy"))
		}
		if !strings.HasPrefix(resp.Header.Get("RateLimit"), `"storefront-eligibility";r=`) {
			t.Errorf("RateLimit = %q", resp.Header.Get("RateLimit"))
		}
		if resp.Status == http.StatusTooManyRequests {
			p := resp.Problem(t)
			if p.Reason != "rate_limited" {
				t.Errorf("429 reason %q", p.Reason)
			}
			last429 = &resp.Header
		}
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 || statuses[3] != 429 {
		t.Fatalf("statuses %v, want 200 200 429 429 (burst 2)", statuses)
	}
	retry, err := strconv.Atoi(last429.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 4 {
		t.Fatalf("Retry-After %q, want 1..4 s for 1 request per 4 s", last429.Get("Retry-After"))
	}
	time.Sleep(time.Duration(retry) * time.Second)
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(order)); resp.Status != http.StatusOK {
		t.Errorf("after waiting Retry-After (%d s): %d", retry, resp.Status)
	}
	// Another customer has their own allowance.
	other := h.Demo.Customers[35].ID
	if resp := h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", h.token(t, other), eligibility(h.Demo.OrdersOf(other)[0].ID)); resp.Status != http.StatusOK {
		t.Errorf("another customer refused: %d", resp.Status)
	}
}

// RL-3: with Redis unreachable the gateway keeps protecting the backends with a local limiter.
func TestRateLimitFallsBackWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	h := newStack(t, withRedis("redis://127.0.0.1:1/0"), withRateLimits(t, `policies:
  storefront/default: {rate: 100000, period: 1s, burst: 100000}
  storefront/eligibility: {rate: 1, period: 10s, burst: 3}
  support/default: {rate: 1, period: 1s, burst: 1}
  partner/default: {rate: 1, period: 1s, burst: 1}
`))
	customer := h.Demo.Customers[36].ID
	tok := h.token(t, customer)
	order := h.Demo.OrdersOf(customer)[0].ID
	counts := map[int]int{}
	for range 10 {
		counts[h.do(t, http.MethodPost, "/v1/storefront/returns/eligibility", tok, eligibility(order)).Status]++
	}
	t.Logf("RL-3: Redis down, 10 requests against burst 3: %v", counts)
	if counts[http.StatusOK] != 3 || counts[http.StatusTooManyRequests] != 7 {
		t.Errorf("statuses %v, want 3 × 200 and 7 × 429 from the local limiter", counts)
	}
	if resp := h.do(t, http.MethodGet, "/readyz", "", nil); resp.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d, want 503", resp.Status)
	}
}
