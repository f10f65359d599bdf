// Package governor puts every outbound vendor connection behind the same guard: a concurrency
// cap, a rate budget, a circuit breaker that also parks work through a vendor's maintenance
// window (503 + Retry-After), and two priority lanes so customer-facing work (a refund, an RMA)
// goes before bulk work (reconciliation, catalogue and inventory syncs) when slots are scarce.
// It is an http.RoundTripper, so it sits under any connector's own protocol logic.
package governor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/retailbridge/retailbridge/pkg/errs"
	"github.com/retailbridge/retailbridge/pkg/vendorhttp"
)

// Priority is a request's lane.
type Priority int

// Lanes: Interactive work takes a free slot before any waiting Bulk work.
const (
	Interactive Priority = iota
	Bulk
)

type priorityKey struct{}

// WithPriority marks ctx's outbound calls as p.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf returns ctx's lane (Interactive unless marked).
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// Config is one vendor's guard. Zero fields take defaults; Rate 0 means no rate budget.
type Config struct {
	// MaxConcurrent caps requests in flight (default 16).
	MaxConcurrent int
	// Rate is the request budget per second, Burst its bucket (default Burst = max(1, Rate)).
	Rate  float64
	Burst int
	// BreakerFailures consecutive failures (transport errors, 5xx) open the breaker (default 5);
	// it stays open BreakerCooldown (default 10 s), then lets one probe through.
	BreakerFailures int
	BreakerCooldown time.Duration
}

// ParseConfig reads "concurrency=10,rate=50,burst=20,breaker=5,cooldown=10s", naming a bad
// field; an empty string is the defaults.
func ParseConfig(s string) (Config, error) {
	var c Config
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return c, fmt.Errorf("governor: %q is not key=value", kv)
		}
		var err error
		switch k {
		case "concurrency":
			c.MaxConcurrent, err = strconv.Atoi(v)
		case "rate":
			c.Rate, err = strconv.ParseFloat(v, 64)
		case "burst":
			c.Burst, err = strconv.Atoi(v)
		case "breaker":
			c.BreakerFailures, err = strconv.Atoi(v)
		case "cooldown":
			c.BreakerCooldown, err = time.ParseDuration(v)
		default:
			return c, fmt.Errorf("governor: unknown setting %q (concurrency, rate, burst, breaker, cooldown)", k)
		}
		if err != nil {
			return c, fmt.Errorf("governor: %s: %q is not valid", k, v)
		}
	}
	if c.MaxConcurrent < 0 || c.Rate < 0 || c.Burst < 0 || c.BreakerFailures < 0 || c.BreakerCooldown < 0 {
		return c, fmt.Errorf("governor: settings must not be negative")
	}
	return c, nil
}

func (c Config) withDefaults() Config {
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = 16
	}
	if c.Burst == 0 {
		c.Burst = max(1, int(c.Rate))
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.BreakerCooldown == 0 {
		c.BreakerCooldown = 10 * time.Second
	}
	return c
}

// Stats are what a governor did.
type Stats struct {
	// MaxInFlight counts calls holding a slot, including those waiting for a rate token: an
	// upper bound of the vendor's concurrency.
	Calls, Rejected, MaxInFlight int64
	// Open says whether the breaker is open now.
	Open bool
}

// Governor guards one vendor. It is safe for concurrent use.
type Governor struct {
	name    string
	cfg     Config
	next    http.RoundTripper
	limiter *rate.Limiter
	now     func() time.Time

	slots *Slots

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
	stats     Stats
}

// New guards next for vendor name.
func New(name string, cfg Config, next http.RoundTripper) *Governor {
	cfg = cfg.withDefaults()
	g := &Governor{name: name, cfg: cfg, next: next, now: time.Now, slots: NewSlots(cfg.MaxConcurrent)}
	if cfg.Rate > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst)
	}
	return g
}

// Stats returns the counters.
func (g *Governor) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Open = g.now().Before(g.openUntil)
	s.MaxInFlight = int64(g.slots.MaxInUse())
	return s
}

// Limit is how many calls the guard lets run at once (Config.MaxConcurrent).
func (g *Governor) Limit() int { return g.slots.Size() }

// Free is how many more calls the guard would start at once now without making any wait: its
// free slots, and none while the rate budget has no token left. Admission control reads it (a
// workflow runner takes a step for this vendor only while the vendor can take its call) so that
// work for a saturated vendor waits in its queue rather than in front of the guard.
func (g *Governor) Free() int {
	free := g.slots.Free()
	if free > 0 && g.limiter != nil && g.limiter.TokensAt(g.now()) < 1 {
		return 0
	}
	return free
}

// RoundTrip sends req within the vendor's budget, or refuses it without calling the vendor
// (errs.Unavailable with a retry hint) while the breaker is open or the budget cannot be met
// before the request's deadline.
func (g *Governor) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := g.admit(); err != nil {
		return nil, err
	}
	// The slot first, in lane order, then the rate budget: a bucket reserved first come, first
	// served would let a queued bulk backlog take every token ahead of a customer's call; behind
	// a slot at most MaxConcurrent calls compete for tokens.
	if err := g.slots.Acquire(ctx); err != nil {
		g.release(false, false)
		return nil, err
	}
	if err := g.spend(ctx); err != nil {
		g.slots.Release()
		g.release(false, false)
		return nil, err
	}
	resp, err := g.next.RoundTrip(req)
	g.slots.Release()
	failed := err != nil || (resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented)
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
		if ra := vendorhttp.ParseRetryAfter(resp.Header.Get("Retry-After"), g.now()); ra > 0 {
			// A maintenance window: park everything until it ends instead of probing it.
			g.mu.Lock()
			g.openUntil, g.failures = g.now().Add(ra), 0
			g.probing = false
			g.mu.Unlock()
			return resp, err
		}
	}
	g.release(true, failed)
	return resp, err
}

// spend waits for the rate budget's next token, or refuses at once when it cannot come before
// ctx's deadline.
func (g *Governor) spend(ctx context.Context) error {
	if g.limiter == nil {
		return nil
	}
	r := g.limiter.Reserve()
	delay := r.Delay()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
		r.Cancel()
		return g.refuse("rate_budget", delay)
	}
	if delay <= 0 {
		return nil
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		r.Cancel()
		return ctx.Err()
	}
}

// admit checks the breaker: closed lets everything through; open refuses; after the cooldown
// one probe goes through while the rest keep being refused.
func (g *Governor) admit() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if now.Before(g.openUntil) {
		g.stats.Rejected++
		return g.refuseLocked("circuit_open", g.openUntil.Sub(now))
	}
	if !g.openUntil.IsZero() {
		if g.probing {
			g.stats.Rejected++
			return g.refuseLocked("circuit_half_open", time.Second)
		}
		g.probing = true
	}
	g.stats.Calls++
	return nil
}

// release records an outcome: a success closes the breaker; enough consecutive failures (or a
// failed probe) open it for the cooldown.
func (g *Governor) release(called, failed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	wasProbe := g.probing
	g.probing = false
	if !called {
		return
	}
	if !failed {
		g.failures, g.openUntil = 0, time.Time{}
		return
	}
	g.failures++
	if wasProbe || g.failures >= g.cfg.BreakerFailures {
		g.openUntil = g.now().Add(g.cfg.BreakerCooldown)
	}
}

func (g *Governor) refuse(reason string, after time.Duration) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stats.Rejected++
	return g.refuseLocked(reason, after)
}

func (g *Governor) refuseLocked(reason string, after time.Duration) error {
	return errs.E(errs.Unavailable, reason, g.name+" is not taking calls now; retry later").WithRetryAfter(after)
}
