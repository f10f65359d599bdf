package shopify

import (
	"math"
	"sync"
	"time"
)

// throttleStatus is Shopify's extensions.cost.throttleStatus.
type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// bucket is Shopify's leaky bucket: it holds up to size points and restores rate points per
// second. A query takes its requested cost up front and gets back what it did not use.
type bucket struct {
	mu    sync.Mutex
	now   func() time.Time
	size  float64
	rate  float64
	avail float64
	at    time.Time
	// low is the least the bucket ever held after a take (size - low is the most of the budget
	// a client ever had in use); refused counts the takes refused (THROTTLED answers).
	low     float64
	refused int64
}

func newBucket(size, rate float64, now func() time.Time) *bucket {
	return &bucket{now: now, size: size, rate: rate, avail: size, at: now(), low: size}
}

// CostStats is what a client did to the shop's cost bucket.
type CostStats struct {
	// Size is the bucket's capacity in points.
	Size float64
	// MaxUsed is the most of the bucket ever in use at once (Size less the lowest level a query
	// left it at).
	MaxUsed float64
	// Throttled is how many queries were refused for want of points.
	Throttled int64
}

func (b *bucket) stats() CostStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return CostStats{Size: b.size, MaxUsed: b.size - b.low, Throttled: b.refused}
}

// refill brings avail up to date; the caller holds mu.
func (b *bucket) refill() {
	now := b.now()
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.avail = math.Min(b.size, b.avail+dt*b.rate)
	}
	b.at = now
}

func (b *bucket) statusLocked() throttleStatus {
	return throttleStatus{MaximumAvailable: b.size, CurrentlyAvailable: math.Floor(b.avail), RestoreRate: b.rate}
}

// take removes cost points if the bucket holds them.
func (b *bucket) take(cost float64) (throttleStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	if cost > b.avail {
		b.refused++
		return b.statusLocked(), false
	}
	b.avail -= cost
	b.low = math.Min(b.low, b.avail)
	return b.statusLocked(), true
}

// give returns unused points.
func (b *bucket) give(points float64) throttleStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	b.avail = math.Min(b.size, b.avail+points)
	return b.statusLocked()
}

func (b *bucket) status() throttleStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill()
	return b.statusLocked()
}

// reset changes the plan and fills the bucket.
func (b *bucket) reset(size, rate float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.size, b.rate, b.avail, b.at, b.low, b.refused = size, rate, size, b.now(), size, 0
}
